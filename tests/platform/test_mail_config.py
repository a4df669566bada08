"""EMAIL_URL read into Django's mail settings (loupe.mail_config)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from loupe.mail_config import CONSOLE_BACKEND, SMTP_BACKEND, MailSettings, mail_settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("console://", MailSettings(backend=CONSOLE_BACKEND)),
        ("smtp://mail.internal", MailSettings(backend=SMTP_BACKEND, host="mail.internal")),
        (
            "smtp+starttls://bot%40acme.com:p%2Fss@smtp.acme.com",
            MailSettings(
                backend=SMTP_BACKEND,
                host="smtp.acme.com",
                port=587,
                user="bot@acme.com",
                password="p/ss",
                use_tls=True,
            ),
        ),
        (
            "smtps://smtp.acme.com:2465",
            MailSettings(SMTP_BACKEND, "smtp.acme.com", 2465, use_ssl=True),
        ),
    ],
)
def test_an_email_url_gives_the_mail_settings(url, expected):
    assert mail_settings(url) == expected


@pytest.mark.parametrize(
    "url", ["", "mail.acme.com", "http://mail.acme.com", "smtp://", "smtp://h:x"]
)
def test_a_bad_email_url_is_refused_saying_what_fits(url):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        mail_settings(url)
