"""Database writes that outlive a lost connection.

A sending worker learns things only it knows: that the server has just accepted a message.
If the database connection breaks (PostgreSQL restarted, the backend terminated, a network
blip) that knowledge must not go with it, or the row stays `sending` and is resent by the
crash rule: a second copy. So such writes are retried on a fresh connection for up to
PAPERBOY_DB_RETRY_SECONDS; if the database is still unreachable the error goes up to the send
task, which retries later (the outcomes stay in the process meanwhile: claims.Accepted).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db import connection as database

log = logging.getLogger(__name__)

# The database could not be reached (or the connection broke): worth retrying, unlike a bad query.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)

T = TypeVar("T")


def drop_broken_connection() -> None:
    """Close the connection if it no longer works, so the next query opens a new one."""
    if database.connection is not None and not database.is_usable():
        database.close()


def written(write: Callable[[], T], what: str = "a delivery's outcome") -> T:
    """Run `write` (one idempotent statement, in autocommit), reconnecting and retrying while
    the database is unreachable, for up to PAPERBOY_DB_RETRY_SECONDS."""
    deadline = time.monotonic() + settings.PAPERBOY_DB_RETRY_SECONDS
    pause = 0.1
    while True:
        try:
            return write()
        except DATABASE_UNAVAILABLE as error:
            drop_broken_connection()
            if time.monotonic() + pause > deadline:
                raise
            log.warning("Database unavailable while writing %s, retrying in %.1f s: %s", what, pause, error)
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
