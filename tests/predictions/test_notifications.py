"""An inference run and an evaluation submitted with `notify: true` e-mail their submitter
when they end, through the real SMTP server the workers' EMAIL_URL names."""

from tests.predictions.conftest import ROWS, evaluate, inferred


def _body(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def test_an_inference_run_and_an_evaluation_asking_for_it_mail_their_results(
    celery_worker, mailbox, tenant, editor, digits, digits_version
):
    run = inferred(editor, digits_version["id"], digits["id"], notify=True)
    assert (run["status"], run["notify"]) == ("succeeded", True)
    body = _body(mailbox.wait_for(f"[Loupe] inference run {run['id']} succeeded"))
    assert f"Inference run {run['id']} in {tenant.name} succeeded." in body
    source = f"over snapshot {run['snapshot']} of slice {digits['id']} ({ROWS:,} rows)"
    assert f"Model: digits-lr version 1, {source}" in body
    assert f"predictions written: {run['predictions_written']:,}" in body
    assert f"/api/v1/inference-runs/{run['id']}/" in body

    response = evaluate(
        editor, digits_version["id"], digits["id"], snapshot=run["snapshot"], notify=True
    )
    assert response.status_code == 201, response.content
    evaluation = response.json()
    body = _body(mailbox.wait_for(f"[Loupe] evaluation {evaluation['id']} succeeded"))
    assert f"  accuracy: {evaluation['metrics']['accuracy']:.4g}" in body
    assert f"/api/v1/evaluations/{evaluation['id']}/" in body
