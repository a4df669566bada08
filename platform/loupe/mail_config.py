"""Django's mail settings from one URL (EMAIL_URL), as the databases' come from theirs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
# scheme: (use STARTTLS, use TLS from the first byte, default port)
_SMTP_SCHEMES = {
    "smtp": (False, False, 25),
    "smtp+starttls": (True, False, 587),
    "smtps": (False, True, 465),
}


@dataclass(frozen=True)
class MailSettings:
    backend: str
    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False


def mail_settings(url: str) -> MailSettings:
    """`smtp://[user:password@]host[:port]` (STARTTLS with `smtp+starttls://`, TLS with
    `smtps://`), or `console://`: each message printed to the process's output."""
    parts = urlsplit(url.strip())
    if parts.scheme == "console":
        return MailSettings(backend=CONSOLE_BACKEND)
    if parts.scheme not in _SMTP_SCHEMES or not parts.hostname:
        raise ImproperlyConfigured(
            f"EMAIL_URL must be smtp://[user:password@]host[:port] (or smtp+starttls://, "
            f"smtps://) or console://, got {url!r}"
        )
    starttls, tls, default_port = _SMTP_SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise ImproperlyConfigured(f"EMAIL_URL has a bad port: {url!r}") from exc
    return MailSettings(
        backend=SMTP_BACKEND,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_tls=starttls,
        use_ssl=tls,
    )
