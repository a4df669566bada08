"""A real SMTP server (aiosmtpd) in the test process, where the workers' mail arrives."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Mailbox:
    """What the server received, for tests to wait on; an SMTP handler (aiosmtpd)."""

    def __init__(self):
        self._messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self._messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted"

    def wait_for(
        self, subject_part: str, timeout: float = 60.0, *, to: str | None = None
    ) -> EmailMessage:
        """The first message whose subject holds `subject_part` (sent `to` that address, when
        given: jobs of other tenants have the same ids), once it has arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for message in self._messages:
                    if subject_part in message["Subject"] and to in (None, message["To"]):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    subjects = [m["Subject"] for m in self._messages]
                    raise AssertionError(f"no mail about {subject_part!r}; got {subjects}")
                self._arrived.wait(left)

    def about(self, subject_part: str) -> list[EmailMessage]:
        with self._arrived:
            return [m for m in self._messages if subject_part in m["Subject"]]


def smtp_server(port: int) -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox
