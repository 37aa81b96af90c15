"""The envelope sender of each digest: bounces+<delivery token>@PAPERBOY_BOUNCE_DOMAIN.

The token is the delivery's id and an HMAC of it, so a bounce or complaint names exactly one
delivery without our trusting its text, and a made-up or altered token names none. Lower-case
hex only: some relays fold the case of local parts.
"""

from __future__ import annotations

import hmac
import re

from django.conf import settings
from django.utils.crypto import salted_hmac

SALT = "paperboy.bounces.verp"
MAC_LENGTH = 20  # hex digits: 80 bits
LOCAL_PART = "bounces"
# Anywhere in a message: the envelope recipient, a Delivered-To, or the Return-Path of the
# original quoted inside a bounce or a complaint.
TOKEN_PATTERN = re.compile(rf"{LOCAL_PART}\+d(\d{{1,18}})-([0-9a-f]{{{MAC_LENGTH}}})@", re.IGNORECASE)


def mac(delivery_id: int, secret: str | None = None) -> str:
    return salted_hmac(SALT, str(delivery_id), secret=secret, algorithm="sha256").hexdigest()[:MAC_LENGTH]


def envelope_sender(delivery_id: int) -> str:
    return f"{LOCAL_PART}+d{delivery_id}-{mac(delivery_id)}@{settings.PAPERBOY_BOUNCE_DOMAIN}"


def is_genuine(delivery_id: int, token_mac: str) -> bool:
    """Signed by our key, or by one it replaced (DJANGO_SECRET_KEY_FALLBACKS)."""
    token_mac = token_mac.lower()
    return any(
        hmac.compare_digest(mac(delivery_id, secret), token_mac)
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    )


def deliveries_named(text: str) -> set[int]:
    """The ids of the deliveries whose genuine VERP addresses appear in `text`."""
    return {int(pk) for pk, token_mac in TOKEN_PATTERN.findall(text) if is_genuine(int(pk), token_mac)}


def forged_tokens(text: str) -> list[str]:
    """VERP-shaped addresses in `text` that we did not sign: worth showing staff."""
    return [f"d{pk}-{token_mac}" for pk, token_mac in TOKEN_PATTERN.findall(text) if not is_genuine(int(pk), token_mac)]
