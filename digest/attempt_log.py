"""Each delivery's history: one compact entry per attempt (time, result, SMTP reply) in
Delivery.attempt_log, shown in the admin.

Entries are appended by the database in the same UPDATE that records the outcome, so the
history costs no extra round trip per email and no read-modify-write race between workers.
"""

from __future__ import annotations

import datetime as dt
import json

from django.db.models import Func, JSONField, Value
from django.utils import timezone

SENT = "sent"
REFUSED_FOR_NOW = "refused for now"
REFUSED = "refused"
SESSION_CLOSED = "session closed (421), not counted"
UNKNOWN = "outcome unknown"
ERROR = "error"
GAVE_UP = "gave up"


def entry(result: str, reply: str = "", at: dt.datetime | None = None) -> str:
    """One attempt as the JSON text the database appends."""
    at = at or timezone.now()
    item = {"at": at.astimezone(dt.UTC).isoformat(timespec="seconds"), "result": result}
    if reply:
        item["reply"] = reply[:300]
    return json.dumps(item)


def append_sql(vendor: str) -> str:
    """SQL for attempt_log with one more entry, the entry's JSON text as its one parameter."""
    if vendor == "postgresql":
        return "(COALESCE(attempt_log, '[]'::jsonb) || jsonb_build_array(%s::jsonb))"
    # SQLite (development): JSON is text; append at index json_array_length.
    log = "COALESCE(attempt_log, '[]')"
    return f"json_insert({log}, '$[' || json_array_length({log}) || ']', json(%s))"


class Appended(Func):
    """attempt_log with this entry appended, for QuerySet.update(attempt_log=Appended(...))."""

    output_field = JSONField()

    def __init__(self, result: str, reply: str = "", at: dt.datetime | None = None) -> None:
        super().__init__(Value(entry(result, reply, at)))

    def as_sql(self, compiler, connection, **extra):
        entry_sql, params = compiler.compile(self.source_expressions[0])
        return append_sql(connection.vendor).replace("%s", entry_sql), params
