import httpx

from tests.support import processes


def test_healthz_answers_while_the_process_lives(asgi_server):
    response = httpx.get(f"{asgi_server.url}/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_reports_every_component_up(asgi_server):
    response = httpx.get(f"{asgi_server.url}/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["components"]) == {"primary", "replica", "redis", "elasticsearch"}
    assert all(component["ok"] for component in body["components"].values())
    assert body["components"]["replica"]["in_recovery"] is True
    assert body["components"]["elasticsearch"]["configured"] is True


def test_readyz_says_elasticsearch_is_not_configured_where_it_is_not(tmp_path):
    with processes.asgi_server(tmp_path / "server.log", env={"ELASTICSEARCH_URL": ""}) as server:
        response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 200, response.json()
    search = response.json()["components"]["elasticsearch"]
    assert (search["ok"], search["configured"]) == (True, False)
    assert "ELASTICSEARCH_URL" in search["detail"]
