"""An SMTP server a relay can forward bounces and complaints to (`manage.py receive_bounces
--smtp HOST:PORT`), on aiosmtpd. A message is answered 250 only once it is stored and acted on;
if that fails the relay gets a 451 and tries again later, so nothing is lost."""

from __future__ import annotations

import logging

from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.db import connections

from digest.bounces import actions
from digest.models import ReturnedMessage

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 10_000_000


class BounceHandler:
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        try:
            await sync_to_async(store)(envelope.original_content or envelope.content, list(envelope.rcpt_tos))
        except Exception:
            log.exception("Bounce endpoint: could not store a message from %s", envelope.mail_from)
            return "451 4.3.0 Could not store the message, try again later"
        return "250 OK"


def store(raw: bytes, recipients: list[str]) -> None:
    try:
        actions.receive(raw, ReturnedMessage.Source.SMTP, recipients)
    finally:
        # Bounces come now and then: hold no database connection open between them.
        connections.close_all()


def endpoint(host: str, port: int) -> Controller:
    """Started by the caller (controller.start(), .stop())."""
    return Controller(BounceHandler(), hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES)
