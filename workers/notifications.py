"""E-mail to a job's submitter, on the default queue: retried with backoff while the mail
server cannot be reached or answers "try again later" (4xx); a permanent refusal (5xx: the
address, or the credentials) is logged and not retried."""

from __future__ import annotations

import logging
import smtplib

from apps.jobs.mail import MAIL_TASK, job_result_mail
from loupe.celery import app

logger = logging.getLogger(__name__)


@app.task(name=MAIL_TASK, bind=True, acks_late=True, max_retries=8)
def mail_job_result(self, kind: str, job_id: int) -> bool:
    """Send the ended job's e-mail; False when it has no one to go to, or was refused."""
    message = job_result_mail(kind, job_id)
    if message is None:
        return False
    try:
        message.send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        logger.error("job mail refused", extra={"kind": kind, "id": job_id, "reason": str(exc)})
        return False
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            logger.error("job mail refused", extra={"kind": kind, "id": job_id, "reason": str(exc)})
            return False
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    except OSError as exc:  # unreachable, disconnected, timed out (SMTPException is one too)
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return True


def _backoff(retries: int) -> int:
    """5 s, then doubling, at most 5 minutes apart."""
    return min(5 * 2**retries, 300)
