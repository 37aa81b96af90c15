"""The bounce mailbox, read over IMAP with TLS by a beat task (digest.tasks.read_bounce_mailbox).

Each message is fetched without marking it seen, stored and acted on (actions.receive, which
commits), then moved to PAPERBOY_BOUNCE_IMAP_PROCESSED_FOLDER, or deleted when that is empty, so
it is never read again. If the move is lost (a dropped connection), the next poll reads it once
more and receive() recognises it: it acts once. A message that cannot be stored stays where it
is, logged, and the rest go on.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from dataclasses import dataclass

from django.conf import settings

from digest.bounces import actions
from digest.models import ReturnedMessage

log = logging.getLogger(__name__)

MESSAGES_PER_POLL = 500  # a backlog is read over several polls rather than in one long task


@dataclass
class MailboxResult:
    read: int = 0
    failed: int = 0


class MailboxError(Exception):
    """The mailbox cannot be reached or refused us: nothing was read."""


def read_mailbox(limit: int = MESSAGES_PER_POLL) -> MailboxResult:
    result = MailboxResult()
    if not settings.PAPERBOY_BOUNCE_IMAP_HOST:
        return result
    try:
        imap = connect()
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(f"cannot read {settings.PAPERBOY_BOUNCE_IMAP_HOST}: {error}") from error
    try:
        processed = settings.PAPERBOY_BOUNCE_IMAP_PROCESSED_FOLDER
        if processed:
            imap.create(quoted(processed))  # answers NO when it exists: fine
        status, _ = imap.select(quoted(settings.PAPERBOY_BOUNCE_IMAP_FOLDER))
        if status != "OK":
            raise MailboxError(f"no folder {settings.PAPERBOY_BOUNCE_IMAP_FOLDER!r}")
        _, found = imap.uid("SEARCH", None, "UNDELETED")
        can_move = "MOVE" in server_capabilities(imap)
        for uid in found[0].split()[:limit]:
            if read_one(imap, uid):
                put_away(imap, uid, processed, can_move)
                result.read += 1
            else:
                result.failed += 1
        imap.expunge()
    finally:
        try:
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    if result.read or result.failed:
        log.info("Bounce mailbox: %d messages read, %d left for the next poll", result.read, result.failed)
    return result


def connect() -> imaplib.IMAP4_SSL:
    context = ssl.create_default_context(cafile=settings.PAPERBOY_BOUNCE_IMAP_CA_FILE or None)
    imap = imaplib.IMAP4_SSL(
        settings.PAPERBOY_BOUNCE_IMAP_HOST,
        settings.PAPERBOY_BOUNCE_IMAP_PORT,
        ssl_context=context,
        timeout=settings.PAPERBOY_BOUNCE_IMAP_TIMEOUT,
    )
    imap.login(settings.PAPERBOY_BOUNCE_IMAP_USER, settings.PAPERBOY_BOUNCE_IMAP_PASSWORD)
    return imap


def read_one(imap: imaplib.IMAP4, uid: bytes) -> bool:
    try:
        _, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
        raw = next(part[1] for part in parts if isinstance(part, tuple))
        actions.receive(raw, ReturnedMessage.Source.IMAP)
    except Exception:
        log.exception("Bounce mailbox: message UID %s could not be read; it stays for the next poll", uid.decode())
        return False
    return True


def put_away(imap: imaplib.IMAP4, uid: bytes, processed: str, can_move: bool) -> None:
    if processed and can_move:
        imap.uid("MOVE", uid, quoted(processed))
        return
    if processed:
        imap.uid("COPY", uid, quoted(processed))
    imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")


def server_capabilities(imap: imaplib.IMAP4) -> set[str]:
    """Asked again after login: servers list more (MOVE) once we are in."""
    _, lines = imap.capability()
    return {word.upper() for line in lines for word in line.decode().split()}


def quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
