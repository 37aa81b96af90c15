"""DKIM (RFC 6376) with dkimpy, on the final bytes of a message, relaxed/relaxed.

The signed headers are those receivers check, with List-Unsubscribe and List-Unsubscribe-Post
as RFC 8058 asks (so nobody can swap the one-click address on the way). Headers a message lacks
are signed as absent too: nobody can add them afterwards without breaking the signature.
"""

from __future__ import annotations

import dkim
from django.conf import settings

SIGNED_HEADERS = [
    b"From",
    b"Sender",
    b"Reply-To",
    b"To",
    b"Cc",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"MIME-Version",
    b"Content-Type",
    b"Content-Transfer-Encoding",
    b"List-Id",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
]


def enabled() -> bool:
    return bool(
        settings.PAPERBOY_DKIM_SELECTOR and settings.PAPERBOY_DKIM_DOMAIN and settings.PAPERBOY_DKIM_PRIVATE_KEY
    )


def sign(data: bytes) -> bytes:
    """The message with its DKIM-Signature header first; unchanged when DKIM is not configured."""
    if not enabled():
        return data
    signature = dkim.sign(
        data,
        settings.PAPERBOY_DKIM_SELECTOR.encode(),
        settings.PAPERBOY_DKIM_DOMAIN.encode(),
        settings.PAPERBOY_DKIM_PRIVATE_KEY.encode(),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=SIGNED_HEADERS,
    )
    return signature + data
