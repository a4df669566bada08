from enum import StrEnum


class WebhookErrorCode(StrEnum):
    URL_NOT_ALLOWED = "webhook_url_not_allowed"
    URL_UNRESOLVABLE = "webhook_url_unresolvable"
    NOT_ACTIVE = "webhook_not_active"
