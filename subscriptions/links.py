"""Signed links in emails. One salt per purpose, so a token made for one job opens no other."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

UNSUBSCRIBE_SALT = "paperboy.unsubscribe"


def unsubscribe_token(subscriber_id: int) -> str:
    # No timestamp, no expiry: the link in a year-old email must still work, and every email
    # to one subscriber carries the same link.
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object(subscriber_id)


def subscriber_id_from_unsubscribe_token(token: str) -> int:
    """Raises signing.BadSignature for a forged or truncated token."""
    value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    if not isinstance(value, int):
        raise signing.BadSignature("unexpected payload")
    return value


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def unsubscribe_url(subscriber_id: int) -> str:
    return absolute(reverse("subscriptions:unsubscribe", args=[unsubscribe_token(subscriber_id)]))
