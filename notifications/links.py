"""Signed links to the consent page: line id, promise version and action, time-stamped."""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "notifications.consent.v1"
ACTIONS = ("view", "accept", "cancel", "withdraw")


@dataclass(frozen=True)
class ConsentToken:
    line_id: int
    version: int
    action: str


def consent_token(*, line_id: int, version: int, action: str) -> str:
    """Return a signed, time-stamped token for one answer to one promise version."""
    if action not in ACTIONS:
        raise ValueError(f"unknown consent action {action!r}")
    return signing.dumps({"l": line_id, "v": version, "a": action}, salt=SALT, compress=True)


def link_max_age() -> int | None:
    """Return how long a link works, in seconds; None (the default): until its line ships or
    closes, since cancelling and withdrawing stay open to the customer until then."""
    days = int(settings.BACKORDER_DESK.get("LINK_MAX_AGE_DAYS", 0) or 0)
    return days * 86400 if days > 0 else None


def consent_token_read(token: str) -> ConsentToken:
    """Return the token's content; raise signing.SignatureExpired or signing.BadSignature."""
    data = signing.loads(token, salt=SALT, max_age=link_max_age())
    try:
        token = ConsentToken(int(data["l"]), int(data["v"]), str(data["a"]))
    except (KeyError, TypeError, ValueError):
        raise signing.BadSignature("malformed consent token") from None
    if token.action not in ACTIONS:
        raise signing.BadSignature("unknown action")
    return token


def consent_url(*, line_id: int, version: int, action: str = "view") -> str:
    """Return the absolute URL of the consent page for this line, version and action."""
    token = consent_token(line_id=line_id, version=version, action=action)
    return settings.SITE_URL + reverse("notifications:consent", args=[token])
