"""The tenant admin's live pages, driven in headless Chromium against the real server while
the real gpu worker trains: a run's chart gains a point per finished epoch as it trains, a
reload mid-run shows the history and keeps going, the jobs page's bar moves, an experiment's
page overlays its runs beside their comparison; someone not of the tenant gets nothing.
Screenshots of each page go to test-artifacts/screenshots/."""

import asyncio
import json

import pytest
import websockets
from django.test import Client
from selenium.common.exceptions import WebDriverException

from tenants.roles import Role
from tests.conftest import host_of
from tests.support.chromium import chromium, screenshot, wait_until
from tests.support.database import wait_for_replica_catch_up
from tests.training.conftest import started, wait_for_run

EPOCHS = 6
RUN = {"epochs": EPOCHS, "batch_size": 16}


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def _signed_in(tenant, user) -> Client:
    """A browser signed in to the tenant's admin, as its login leaves one."""
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(user)
    return client


def _session_cookie(tenant, user) -> str:
    return _signed_in(tenant, user).cookies["sessionid"].value


def _open_as(browser, server, tenant, cookie: str, path: str) -> None:
    origin = f"http://{host_of(tenant)}:{server.port}"
    browser.get(f"{origin}/healthz")  # a page of the host first: its cookie can then be set
    browser.delete_all_cookies()
    browser.add_cookie({"name": "sessionid", "value": cookie, "path": "/"})
    browser.get(f"{origin}{path}")


def _epochs_drawn(browser) -> int:
    """The epochs the page's chart holds a point for (-1 while the page is not there: a
    reload under way)."""
    try:
        return int(browser.find_element("id", "curves").get_attribute("data-epochs"))
    except WebDriverException:
        return -1


def _text(browser, element_id: str) -> str:
    try:
        return browser.find_element("id", element_id).text
    except WebDriverException:
        return ""


@pytest.fixture
def admin(tenant, make_member):
    return make_member(tenant, Role.ADMIN)


def test_a_runs_page_grows_a_point_per_epoch_and_a_reload_keeps_the_history(
    asgi_server, celery_worker, gpu_worker, browser, tenant, admin, editor, all_digits
):
    cookie = _session_cookie(tenant, admin)
    run = started(editor, all_digits["id"], hyperparameters=RUN, experiment="live")
    _open_as(browser, asgi_server, tenant, cookie, f"/admin/live/training-runs/{run['id']}/")
    assert wait_until(lambda: _text(browser, "connection") == "live")

    seen = set()
    wait_until(lambda: seen.add(_epochs_drawn(browser)) or _epochs_drawn(browser) >= 2)
    before_reload = _epochs_drawn(browser)
    assert before_reload < EPOCHS, "the run ended before the page could watch it train"
    screenshot(browser, "run-page-mid-run")
    browser.refresh()
    # The stored events come first: the history is back at once, then it keeps going.
    assert wait_until(lambda: _epochs_drawn(browser) >= before_reload, timeout=10)

    def finished() -> bool:
        seen.add(_epochs_drawn(browser))
        return _text(browser, "status") == "succeeded"

    wait_until(finished, timeout=300)
    assert _epochs_drawn(browser) == EPOCHS
    assert len({count for count in seen if 0 < count < EPOCHS}) >= 2, seen  # it grew live
    log = [item.text for item in browser.find_elements("css selector", "#events li")]
    assert sum(" epoch.finished " in line for line in log) == EPOCHS
    assert any(" run.succeeded" in line for line in log)
    points = browser.execute_script(
        "return [...document.querySelectorAll('.live-chart')].map(c => c.dataset.group)"
    )
    assert sorted(points) == ["accuracy and other metrics", "loss"]
    screenshot(browser, "run-page-succeeded")
    assert wait_for_run(editor, run["id"])["status"] == "succeeded"


def test_the_jobs_page_moves_a_running_jobs_bar_and_the_experiment_page_overlays_its_runs(
    asgi_server, celery_worker, gpu_worker, browser, tenant, admin, editor, all_digits
):
    cookie = _session_cookie(tenant, admin)
    first = started(editor, all_digits["id"], hyperparameters=RUN, experiment="lr")
    wait_for_run(editor, first["id"])
    second = started(
        editor, all_digits["id"], experiment="lr",
        hyperparameters={**RUN, "learning_rate": 0.003},
    )  # fmt: skip
    wait_for_replica_catch_up()
    _open_as(browser, asgi_server, tenant, cookie, "/admin/live/jobs/")
    row = f"tr.job[data-kind='training_run'][data-id='{second['id']}']"

    def bar() -> float:
        try:
            found = browser.find_elements("css selector", f"#active {row} progress")
            return float(found[0].get_attribute("value")) if found else -1.0
        except WebDriverException:  # the table swapped under it
            return -1.0

    values = set()
    wait_until(lambda: values.add(bar()) or len({v for v in values if v > 0}) >= 2, timeout=300)
    screenshot(browser, "jobs-page-running")
    # Its end moves it to the recently ended, through the tenant's event feed.
    ended = wait_until(
        lambda: browser.execute_script(
            "const found = document.querySelector(arguments[0]); return found?.dataset.status",
            f"#ended {row}",
        ),
        timeout=300,
    )
    assert ended == "succeeded"
    screenshot(browser, "jobs-page-ended")

    _open_as(browser, asgi_server, tenant, cookie, "/admin/live/experiments/lr/")
    wait_until(lambda: _epochs_drawn(browser) == EPOCHS)
    legend = browser.execute_script(
        "return [...document.querySelectorAll('.u-legend .u-series th')].map(t => t.innerText)"
    )
    for run in (first, second):
        assert any(f"val_accuracy · run {run['id']}" in label for label in legend), legend
    differs = browser.find_element("css selector", "tr[data-hyperparameter='learning_rate'] th")
    assert "(differs)" in differs.get_attribute("textContent")
    columns = browser.find_elements("css selector", "#comparison thead th a")
    assert [c.get_attribute("textContent") for c in columns] == [
        f"run {first['id']}",
        f"run {second['id']}",
    ]
    screenshot(browser, "experiment-page")


def test_someone_not_of_the_tenant_gets_neither_the_page_nor_its_socket(
    asgi_server, browser, tenant, other_tenant, make_member, editor, digits
):
    run = started(editor, digits["id"], hyperparameters={"epochs": 1})
    stranger = make_member(other_tenant, Role.OWNER)
    _open_as(
        browser, asgi_server, tenant, _session_cookie(tenant, stranger),
        f"/admin/live/training-runs/{run['id']}/",
    )  # fmt: skip
    assert "/admin/login/" in browser.current_url
    assert "curves" not in browser.page_source
    closed = browser.execute_async_script(
        """const [run, done] = arguments;
        const socket = new WebSocket(`ws://${location.host}/ws/training-runs/${run}/?after=0`);
        const got = [];
        socket.onmessage = (m) => got.push(m.data);
        socket.onclose = (c) => done({code: c.code, got});""",
        run["id"],
    )
    assert closed == {"code": 4401, "got": []}
    screenshot(browser, "run-page-stranger")


def _session_socket(server, host: str, cookie: str, run_id: int, origin: str | None = None):
    """A socket to the run's events, opened as a page of `host` (tenant host:port) does."""
    return websockets.connect(
        f"ws://127.0.0.1:{server.port}/ws/training-runs/{run_id}/?after=0",
        additional_headers={
            "Host": host,
            "Origin": origin or f"http://{host}",
            "Cookie": f"sessionid={cookie}",
        },
    )


def test_a_session_socket_from_another_origin_is_refused(
    asgi_server, tenant, admin, digits, editor
):
    run = started(editor, digits["id"], hyperparameters={"epochs": 1})
    cookie = _session_cookie(tenant, admin)
    host = f"{host_of(tenant)}:{asgi_server.port}"

    async def first_message(origin: str | None):
        async with _session_socket(asgi_server, host, cookie, run["id"], origin) as socket:
            try:
                return json.loads(await asyncio.wait_for(socket.recv(), 10))
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code

    assert asyncio.run(first_message("http://evil.example")) == 4401
    assert asyncio.run(first_message(None))["type"] == "run.queued"


def test_signing_out_closes_the_sockets_the_session_opened(
    asgi_server, tenant, admin, digits, editor
):
    run = started(editor, digits["id"], hyperparameters={"epochs": 1})
    browser_session = _signed_in(tenant, admin)
    cookie = browser_session.cookies["sessionid"].value
    host = f"{host_of(tenant)}:{asgi_server.port}"

    async def followed_until_closed():
        async with _session_socket(asgi_server, host, cookie, run["id"]) as socket:
            assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "run.queued"
            await asyncio.to_thread(browser_session.post, "/admin/logout/")
            try:
                while True:
                    await asyncio.wait_for(socket.recv(), 10)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code

    assert asyncio.run(followed_until_closed()) == 4401
