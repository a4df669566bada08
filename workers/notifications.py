"""E-mail to a job's submitter, on the default queue, retried with backoff while the mail
server cannot be reached or refuses for now."""

from __future__ import annotations

import smtplib

from apps.jobs.mail import MAIL_TASK, job_result_mail
from loupe.celery import app


@app.task(
    name=MAIL_TASK,
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=8,
)
def mail_job_result(kind: str, job_id: int) -> bool:
    """Send the ended job's e-mail; False when it has no one to go to."""
    message = job_result_mail(kind, job_id)
    if message is None:
        return False
    message.send()
    return True
