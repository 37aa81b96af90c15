"""Taking deliveries for sending a group at a time, and recording what the server accepted.

One UPDATE marks `sent` the messages the server has accepted since the last statement and takes
the next PAPERBOY_SEND_GROUP rows of the batch (pending or failed_temporary -> sending): one
statement and one commit per group of emails, where one per email was a third of a sending
worker's time (py-spy, benchmark_digest). By the crash rule (digest/deliver.py) a killed worker
leaves its group in `sending`, to be resent with the same Message-ID: at most
PAPERBOY_SEND_GROUP messages per killed process may arrive twice, and none is lost.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from django.db import connection as database
from django.db.models import Case, F, Value, When
from django.db.models.functions import Now
from django.utils import timezone

from digest import attempt_log
from digest.models import Delivery

MAYBE_TWICE = "Sent; an earlier attempt's outcome is unknown, so it may have arrived twice (same Message-ID)"


@dataclass
class Accepted:
    """Messages the server has accepted whose rows do not say so yet. They are forgotten only
    once written: a broken database connection keeps them here, for the retried write or the
    next task of this process (PROCESS_ACCEPTED), so none is resent."""

    messages: list[tuple[int, dt.datetime]] = field(default_factory=list)

    def add(self, pk: int) -> None:
        self.messages.append((pk, timezone.now()))

    def record(self) -> None:
        if self.messages:
            run_claim(self, [])


# One per worker process: a task that ended on a database error leaves its accepted messages here.
PROCESS_ACCEPTED = Accepted()


class Claims:
    """The rows of one batch this process holds (taken, not finished) and those still to take."""

    def __init__(self, pks: Iterable[int], group_size: int) -> None:
        self.ahead = deque(pks)
        self.held: set[int] = set()
        self.group_size = group_size

    def next_group(self, pk: int) -> list[int]:
        """`pk` and the batch's next rows not yet taken, up to a group."""
        group = [pk]
        while self.ahead and len(group) < self.group_size:
            candidate = self.ahead.popleft()
            if candidate != pk and candidate not in self.held:
                group.append(candidate)
        return group

    def take(self, pk: int, group: list[int], accepted: Accepted) -> bool:
        """Take `group` (from next_group) and record `accepted` in one statement. True if row
        `pk` is ours to send now; rows another worker has (or has sent) are not held."""
        self.held |= run_claim(accepted, group)
        return pk in self.held

    def holds(self, pk: int) -> bool:
        return pk in self.held

    def done(self, pk: int) -> None:
        """The row's outcome is known to this process (accepted, refused or given back)."""
        self.held.discard(pk)

    def release_unsent(self) -> None:
        """Give back the rows taken but not sent (the relay went away): sendable again, as
        they were, the claim's attempt not counted."""
        if self.held:
            Delivery.objects.filter(pk__in=self.held, status=Delivery.Status.SENDING).update(
                status=Case(
                    When(attempts__lte=1, then=Value(Delivery.Status.PENDING)),
                    default=Value(Delivery.Status.FAILED_TEMPORARY),
                ),
                attempts=F("attempts") - 1,
                retry_at=Now(),
            )
            self.held.clear()


def run_claim(accepted: Accepted, group: list[int]) -> set[int]:
    """Mark `accepted` sent and take `group`, in one UPDATE; the ids of the group now ours.

    `accepted` is cleared only once the statement has run: if the connection breaks, what the
    server accepted is still known to this process and the statement can run again
    (reconnect.written). Run again after a first run that committed unseen, it marks nothing
    twice and returns none of the group (already `sending`), whose rows then wait for the crash
    rule: late, never doubled, as they were not sent."""
    sent = accepted.messages[:]
    ids = [pk for pk, _ in sent]
    sent_at = [p for pk, at in sent for p in (pk, database.ops.adapt_datetimefield_value(at))]
    entries = [p for pk, at in sent for p in (pk, attempt_log.entry(attempt_log.SENT, at=at))]
    Status = Delivery.Status  # noqa: N806
    # In the order of claim_sql's placeholders: status, sent_at, last_error, attempts,
    # attempt_log, claimed_at, then the WHERE clause.
    params = [*ids, Status.SENT, Status.SENDING, *sent_at, *ids, MAYBE_TWICE, *ids, *entries, *ids]
    params += [*ids, Status.SENDING, *group, *Delivery.SENDABLE]
    with database.cursor() as cursor:
        cursor.execute(claim_sql(database.vendor, len(sent), len(group)), params)
        taken = {pk for pk, status in cursor.fetchall() if status == Status.SENDING}
    del accepted.messages[: len(sent)]
    return taken


@cache
def claim_sql(vendor: str, sent: int, taken: int) -> str:
    """The claim as one UPDATE, written once per vendor and group shape: building it with the
    ORM (Case/When) took more time per email than running it. The rows in `sent` are ours, in
    `sending`; `vendor` keys the cache, as Now() and the JSON append differ per database."""
    now, _ = Delivery.objects.none().query.get_compiler(connection=database).compile(Now())
    sent_ids = ", ".join(["%s"] * sent) or "NULL"
    taken_ids = ", ".join(["%s"] * taken) or "NULL"

    def per_sent_row(then: str, otherwise: str) -> str:
        return f"CASE id {' '.join([f'WHEN %s THEN {then}'] * sent)} ELSE {otherwise} END" if sent else otherwise

    return f"""
        UPDATE {Delivery._meta.db_table} SET
            status = CASE WHEN id IN ({sent_ids}) THEN %s ELSE %s END,
            sent_at = {per_sent_row("%s", "sent_at")},
            last_error = CASE WHEN id IN ({sent_ids}) THEN (CASE WHEN uncertain_attempts > 0 THEN %s ELSE '' END)
                ELSE last_error END,
            attempts = CASE WHEN id IN ({sent_ids}) THEN attempts ELSE attempts + 1 END,
            attempt_log = {per_sent_row(attempt_log.append_sql(vendor), "attempt_log")},
            claimed_at = CASE WHEN id IN ({sent_ids}) THEN claimed_at ELSE {now} END
        WHERE (id IN ({sent_ids}) AND status = %s) OR (id IN ({taken_ids}) AND status IN (%s, %s))
        RETURNING id, status
    """
