"""A run submitted with `notify: true` e-mails its submitter when it ends, through the real
SMTP server the workers' EMAIL_URL names: its status, final metrics, links to it and, once it
has epochs, the PNG of its metric curves."""

import io

import pytest
from django_tenants.utils import tenant_context
from PIL import Image

from apps.jobs.mail import job_result_mail
from tenants.models import Membership
from tenants.roles import Role
from tests.conftest import host_of
from tests.training.conftest import make_slice, started, wait_for_run


@pytest.fixture
def submitter(tenant, make_member):
    return make_member(tenant, Role.EDITOR)


@pytest.fixture
def submitter_client(tenant, submitter, client_for):
    return client_for(tenant, submitter)


def test_a_finished_run_mails_its_result_and_curves_to_its_submitter(
    celery_worker, gpu_worker, mailbox, tenant, submitter, submitter_client, digits
):
    run = started(
        submitter_client, digits["id"], name="told", notify=True, hyperparameters={"epochs": 2}
    )
    finished = wait_for_run(submitter_client, run["id"])
    assert finished["status"] == "succeeded", finished["error"]

    mail = mailbox.wait_for(f'training run {run["id"]} "told" succeeded')
    assert mail["To"] == submitter.email
    body = mail.get_body(("plain",)).get_content()
    assert f'Training run {run["id"]} "told" in {tenant.name} succeeded.' in body
    assert "Model: small_cnn version 1" in body
    accuracy = finished["metrics"]["val_accuracy"]
    assert f"val_accuracy: {accuracy:.4g}" in body
    link = f"http://{host_of(tenant)}:8000/admin/training/trainingrun/{run['id']}/change/"
    assert link in body
    assert f"http://{host_of(tenant)}:8000/api/v1/training-runs/{run['id']}/" in body
    (curves,) = [part for part in mail.iter_attachments() if part.get_filename() == "curves.png"]
    image = Image.open(io.BytesIO(curves.get_content()))
    assert (image.format, image.size) == ("PNG", (560, 150 * len(finished["metrics"])))


def test_a_failed_run_mails_its_error_without_curves_and_a_run_not_asking_mails_nothing(
    celery_worker, gpu_worker, mailbox, tenant, submitter, submitter_client, digits
):
    fours = make_slice(submitter_client, digits["dataset"], "fours", "label(class = '4')")
    quiet = started(submitter_client, fours["id"], name="quiet")
    assert wait_for_run(submitter_client, quiet["id"])["status"] == "failed"
    run = started(submitter_client, fours["id"], name="one class", notify=True)
    finished = wait_for_run(submitter_client, run["id"])
    assert finished["status"] == "failed"

    mail = mailbox.wait_for(f'training run {run["id"]} "one class" failed')
    body = mail.get_body(("plain",)).get_content()
    assert f"Error: {finished['error']}" in body
    assert finished["error"].startswith("too_few_classes")
    assert list(mail.iter_attachments()) == []
    assert mailbox.about('"quiet"') == []  # its end was committed, and sent, before this one's

    Membership.objects.filter(user=submitter, tenant=tenant).delete()
    with tenant_context(tenant):
        assert job_result_mail("training_run", run["id"]) is None  # no mail to a past member
