"""Step 5 of the day: plan one Delivery per due subscriber, fan them out in chunks, send them.

Planning walks the due subscribers in chunks of PAPERBOY_BATCH_SIZE: each chunk is ranked
against the edition (one index per edition), its Delivery rows are written in one INSERT, and
the new rows' ids are handed to `fan_out` (the Celery task queues one send task per chunk), so
sending starts while planning goes on. The unique (subscriber, edition_date) row is what makes
a second planner, running at the same time or later, create and queue nothing twice.

Sending claims each row atomically just before its message goes out (pending or
failed_temporary -> sending), so a redelivered or duplicated send task skips what another has
taken. States:

    pending -> sending -> sent
                       -> failed_temporary  a 4xx, or an outcome we cannot know (below); retried
                                            with backoff until PAPERBOY_MAX_ATTEMPTS, then
                       -> failed_permanent  a 5xx (the subscriber is bounced after
                                            PAPERBOY_BOUNCES_BEFORE_DISABLE hard bounces)
    pending -> skipped                      the subscriber left after planning

THE CRASH RULE. SMTP has no exactly-once: if a worker dies, or the connection breaks, after the
server may have accepted a message and before the row says `sent`, nobody can know whether it
went. Such a row is resent, but never blindly:
  * only once its sender is certainly gone: a row still `sending` longer than
    PAPERBOY_SENDING_STALE_SECONDS (longer than the send task's hard time limit, after which
    Celery kills the process holding it; claimed_at and the check both use the database clock),
    or at once when the sending process itself saw the connection break;
  * with the same Message-ID, fixed at planning, so the copy is recognisable as the same email;
  * as a counted attempt, with "Outcome unknown" in last_error for staff to see.
Each worker process has at most one row in `sending` at a time, so a crash leaves at most one
uncertain message per killed process: nothing is lost, and at most those may arrive twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import make_msgid
from functools import cache

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection as database
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone

from digest.bounces import verp
from digest.matching.ranker import EditionMatcher, Match, edition_matcher, subscriber_profiles
from digest.models import Delivery, DeliveryItem, Edition, Paper
from digest.render import DigestItem, delivery_items, renderer_for
from digest.send_rate import wait_for_slot
from mailing.backend import set_envelope_sender
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

WEEKLY_WINDOW_DAYS = 7

FanOut = Callable[[list[int]], None]


@dataclass
class PlanResult:
    planned: int = 0
    not_due: int = 0
    nothing_matched: int = 0
    already_planned: int = 0
    chunks: int = 0
    match_seconds: float = 0.0
    previews: list[tuple[str, list[Match]]] = field(default_factory=list)


@dataclass
class SendResult:
    sent: int = 0
    failed_temporary: int = 0
    failed_permanent: int = 0
    uncertain: int = 0
    skipped: int = 0
    bounced: int = 0
    retry_ids: list[int] = field(default_factory=list)  # refused for now: retry these, only these
    relay_error: str = ""  # the relay could not be reached: the batch's unsent rows are still sendable


# --- Planning ---------------------------------------------------------------------------


class EditionIndexes(dict):
    """The edition's matcher per frequency (the day's papers, or the week's), built on
    first use: once per planning run, shared by every subscriber."""

    def __init__(self, edition_date: dt.date) -> None:
        super().__init__()
        self.edition_date = edition_date

    def __missing__(self, frequency: str) -> EditionMatcher:
        days = WEEKLY_WINDOW_DAYS if frequency == Subscriber.Frequency.WEEKLY else 1
        start = self.edition_date - dt.timedelta(days=days - 1)
        self[frequency] = edition_matcher(list(Paper.objects.filter(edition_date__range=(start, self.edition_date))))
        return self[frequency]


def plan_edition(
    edition: Edition,
    now: dt.datetime,
    respect_send_hour: bool = True,
    dry_run: bool = False,
    fan_out: FanOut | None = None,
) -> PlanResult:
    """Create the edition's deliveries for subscribers who take it and are due, chunk by
    chunk, handing each chunk's new delivery ids to `fan_out` as soon as they are saved.

    With respect_send_hour, a subscriber is due once their local send hour has come round
    since the edition arrived; without it (an operator's manual run) everyone taking it is.
    """
    result = PlanResult()
    indexes = EditionIndexes(edition.date)
    if not indexes[Subscriber.Frequency.DAILY].papers:
        # Ranking an empty index matches nothing, so no email goes out empty; weekly
        # subscribers may still have the rest of their week.
        log.error("Edition %s has no papers: no daily digests today", edition.date)
    for frequency, subscribers in due_subscriber_chunks(edition, now, respect_send_hour, result):
        started = time.perf_counter()
        matches = rank_chunk(indexes[frequency], subscribers)
        result.match_seconds += time.perf_counter() - started
        planned = [(s, m) for s, m in zip(subscribers, matches, strict=True) if m]
        result.nothing_matched += len(subscribers) - len(planned)
        ids = save_plans(edition.date, planned, result, dry_run)
        if ids and fan_out:
            fan_out(ids)
            result.chunks += 1
    return result


def due_subscriber_chunks(
    edition: Edition, now: dt.datetime, respect_send_hour: bool, result: PlanResult
) -> Iterator[tuple[str, list[Subscriber]]]:
    """(frequency, subscribers) chunks of at most PAPERBOY_BATCH_SIZE who are due and have
    no delivery of this edition yet, with their interests loaded."""
    for frequency in Subscriber.Frequency.values:
        candidates = (
            Subscriber.objects.taking_edition(edition.date)
            .filter(frequency=frequency)
            .exclude(deliveries__edition_date=edition.date)
            .order_by("pk")
            .values_list("pk", "timezone", "send_hour")
        )
        due = []
        for pk, zone, send_hour in candidates.iterator(chunk_size=5000):
            if respect_send_hour and not is_due(Subscriber(timezone=zone, send_hour=send_hour), edition, now):
                result.not_due += 1
            else:
                due.append(pk)
        size = settings.PAPERBOY_BATCH_SIZE
        for start in range(0, len(due), size):
            chunk = (
                Subscriber.objects.filter(pk__in=due[start : start + size]).prefetch_related("interests").order_by("pk")
            )
            yield frequency, list(chunk)


def rank_chunk(matcher: EditionMatcher, subscribers: Sequence[Subscriber]) -> list[list[Match]]:
    """Each subscriber's matches, in order (an empty list when nothing scores high enough),
    the whole chunk scored at once (match.py)."""
    return [ranking.matches for ranking in matcher.rank_many(subscriber_profiles(subscribers))]


def matches_for(subscriber: Subscriber, edition_date: dt.date) -> list[Match]:
    """One subscriber ranked exactly as planning ranks them: for previews, never for sending."""
    return rank_chunk(EditionIndexes(edition_date)[subscriber.frequency], [subscriber])[0]


def digest_items(subscriber: Subscriber, edition_date: dt.date, delivery: Delivery | None = None) -> list[DigestItem]:
    """For previews: the papers of the subscriber's delivery of this edition if it is planned
    (pass it when already read), else the papers planning would choose now."""
    delivery = delivery or subscriber.deliveries.filter(edition_date=edition_date).first()
    if delivery is not None:
        return delivery_items(delivery)
    return [DigestItem(m.paper, m.why, m.interest) for m in matches_for(subscriber, edition_date)]


def is_due(subscriber: Subscriber, edition: Edition, now: dt.datetime) -> bool:
    # From the hour the papers first arrived: ingest at 05:00:40 still makes 05:00 a send slot.
    arrived = (edition.ingested_at or edition.created_at).replace(minute=0, second=0, microsecond=0)
    return subscriber.last_send_slot(now) >= arrived


def save_plans(
    edition_date: dt.date, planned: list[tuple[Subscriber, list[Match]]], result: PlanResult, dry_run: bool
) -> list[int]:
    """Insert the chunk's deliveries and their items; the ids of the rows this call created."""
    if dry_run:
        result.previews.extend((s.email, m) for s, m in planned)
        result.planned += len(planned)
        return []
    if not planned:
        return []
    with transaction.atomic():
        deliveries = [
            Delivery(subscriber=s, edition_date=edition_date, message_id=new_message_id()) for s, _ in planned
        ]
        # A concurrent planner may have claimed some subscribers first: theirs win, ours are dropped.
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        saved = dict(
            Delivery.objects.filter(message_id__in=[d.message_id for d in deliveries]).values_list("message_id", "pk")
        )
        items = [
            (saved[delivery.message_id], match.paper.pk, position, match.score, match.interest, match.why[:300])
            for delivery, (_, matches) in zip(deliveries, planned, strict=True)
            if delivery.message_id in saved
            for position, match in enumerate(matches)
        ]
        insert_items(items)
    result.planned += len(saved)
    result.already_planned += len(planned) - len(saved)
    return sorted(saved.values())


ITEM_COLUMNS = ("delivery_id", "paper_id", "position", "score", "matched_interest", "why")


def insert_items(rows: list[tuple]) -> None:
    """Write DeliveryItems, about ten per delivery: on PostgreSQL with COPY, which at 100,000
    deliveries saves most of the planning time that building a million model objects and one
    giant INSERT would take; elsewhere (SQLite in development) with bulk_create."""
    if database.vendor != "postgresql":
        DeliveryItem.objects.bulk_create(DeliveryItem(**dict(zip(ITEM_COLUMNS, row, strict=True))) for row in rows)
        return
    sql = f"COPY {DeliveryItem._meta.db_table} ({', '.join(ITEM_COLUMNS)}) FROM STDIN"
    with database.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def new_message_id() -> str:
    return make_msgid("digest", settings.SITE_DOMAIN)


def sendable_batches(*edition_dates: dt.date) -> Iterator[list[int]]:
    """These editions' deliveries that still need sending (new, or refused for now)."""
    ids = list(
        Delivery.objects.sendable().filter(edition_date__in=edition_dates).order_by("pk").values_list("pk", flat=True)
    )
    yield from in_batches(ids)


def in_batches(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), settings.PAPERBOY_BATCH_SIZE):
        yield list(ids[start : start + settings.PAPERBOY_BATCH_SIZE])


# --- Recovery: what a crash or a lost task left behind -------------------------------------


def reconcile_stale_sending() -> list[int]:
    """Apply the crash rule (module docstring) to rows whose sender is certainly gone: each
    becomes failed_temporary, to be resent with its own Message-ID, or failed_permanent if it
    has used its attempts. Returns the ids to resend."""
    stale = Delivery.objects.stale_sending(dt.timedelta(seconds=settings.PAPERBOY_SENDING_STALE_SECONDS))
    note = "Outcome unknown: its worker died while sending; resent with the same Message-ID"
    out_of_attempts = stale.filter(attempts__gte=settings.PAPERBOY_MAX_ATTEMPTS)
    out_of_attempts.update(status=Delivery.Status.FAILED_PERMANENT, last_error=f"{note} (no attempts left)")
    ids = list(stale.values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.FAILED_TEMPORARY, last_error=note, retry_at=Now()
    )
    if ids:
        log.warning("%d deliveries left in sending by a dead worker will be resent: %s", len(ids), ids)
    return ids


def lost_deliveries() -> list[int]:
    """Sendable rows whose send task is long overdue (the broker lost it, or a worker was
    killed by the time limit): each is requeued, and its clock restarted so it is not again."""
    lost = Delivery.objects.lost(dt.timedelta(seconds=settings.PAPERBOY_REQUEUE_AFTER_SECONDS))
    ids = list(lost.order_by("pk").values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=ids).update(retry_at=Now())
    if ids:
        log.warning("%d deliveries had no send task in time and are queued again", len(ids))
    return ids


def retry_delay(retries: int) -> int:
    """Seconds before the next try: exponential backoff with full jitter, so a relay that
    refused many workers at once is not hit by all of them again at the same moment."""
    return get_exponential_backoff_interval(
        settings.PAPERBOY_RETRY_BACKOFF_SECONDS, retries, settings.PAPERBOY_RETRY_BACKOFF_MAX_SECONDS, full_jitter=True
    )


# --- Sending ----------------------------------------------------------------------------


class RelayUnavailableError(Exception):
    """The SMTP server cannot be reached: stop the batch and leave its rows sendable."""


def send_batch(delivery_ids: Sequence[int]) -> SendResult:
    """Send these deliveries over one SMTP connection. Safe to run twice on the same ids."""
    result = SendResult()
    deliveries = (
        Delivery.objects.sendable()
        .filter(pk__in=delivery_ids)
        .select_related("subscriber")
        .prefetch_related("items")
        .order_by("pk")
    )
    # The batch's emails share a few hundred papers: read each once, not once per email.
    papers = Paper.objects.in_bulk({item.paper_id for delivery in deliveries for item in delivery.items.all()})
    connection = get_connection()
    last_sent = LastSent()
    try:
        for delivery in deliveries:
            outcome = send_one(delivery, papers, connection, result, last_sent)
            setattr(result, outcome, getattr(result, outcome) + 1)
    except RelayUnavailableError as error:
        # No attempt is used up: an outage of the relay is not the subscriber's failure.
        result.relay_error = str(error)
        log.error("SMTP server unavailable, the rest of the batch waits: %s", error)
        Delivery.objects.filter(pk__in=delivery_ids, status=Delivery.Status.PENDING).update(
            last_error=f"SMTP server unavailable: {error}"
        )
    finally:
        last_sent.record()
        connection.close()
    log.info(
        "Batch of %d: %d sent, %d to retry, %d failed for good, %d outcome unknown, %d skipped",
        len(delivery_ids),
        result.sent,
        result.failed_temporary,
        result.failed_permanent,
        result.uncertain,
        result.skipped,
    )
    return result


def unsent_ids(delivery_ids: Sequence[int]) -> list[int]:
    """Those of these deliveries that still wait for a first try (after a relay outage)."""
    return list(
        Delivery.objects.filter(pk__in=delivery_ids, status=Delivery.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass
class LastSent:
    """The message the server has just accepted. Its row is marked sent by the same UPDATE that
    claims the next row (`claim`): one statement and one commit per email, where separate
    statements in a transaction cost four extra round trips (BEGIN, a second UPDATE, COMMIT),
    which were most of a worker's waiting on PostgreSQL. A worker killed in between leaves just
    that row in `sending`: still at most one uncertain message per process (the crash rule)."""

    pk: int | None = None
    at: dt.datetime | None = None

    def record(self) -> None:
        if self.pk is not None:
            Delivery.objects.filter(pk=self.pk, status=Delivery.Status.SENDING).update(
                status=Delivery.Status.SENT, sent_at=self.at, last_error=""
            )
            self.pk = None


def send_one(
    delivery: Delivery, papers: dict[int, Paper], connection: BaseEmailBackend, result: SendResult, last_sent: LastSent
) -> str:
    """Send one delivery; returns the SendResult counter its outcome adds to."""
    if delivery.subscriber.status != Subscriber.Status.ACTIVE:
        # Unsubscribed (or bounced) after planning: it takes effect at once.
        Delivery.objects.filter(pk=delivery.pk, status__in=Delivery.SENDABLE).update(status=Delivery.Status.SKIPPED)
        return "skipped"
    attempt = delivery.attempts + 1
    try:
        message = render(delivery, papers)
    except Exception as error:
        log.exception("Could not render delivery %s", delivery.pk)
        return record_refusal(delivery, error, attempt, result, permanent=False)
    wait_for_slot()
    open_connection(connection)
    if not claim(delivery, last_sent):
        return "skipped"  # another worker has it, or already sent it
    try:
        connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as error:
        code, _ = next(iter(error.recipients.values()))
        return record_refusal(delivery, error, attempt, result, permanent=code >= 500, bounce=code >= 500)
    except smtplib.SMTPSenderRefused as error:
        # Our own From refused: the relay's setup, not this subscriber. Stop the batch rather
        # than fail every delivery in it; this one counts as tried and is retried.
        record_refusal(delivery, error, attempt, result, permanent=False)
        result.failed_temporary += 1
        raise RelayUnavailableError(f"sender refused: {error}") from error
    except smtplib.SMTPResponseException as error:
        if error.smtp_code == 421:
            connection.close()  # the server is closing this session; the next message reconnects
        permanent = error.smtp_code >= 500
        return record_refusal(delivery, error, attempt, result, permanent, bounce=permanent and is_address_error(error))
    except BadHeaderError as error:
        return record_refusal(delivery, error, attempt, result, permanent=True)
    except Exception as error:
        # The conversation broke off: the server may have taken the message. We are the
        # sender and have stopped, so by the crash rule it is resent with the same Message-ID.
        connection.close()
        record_refusal(delivery, error, attempt, result, permanent=False, note="Outcome unknown (connection lost)")
        return "uncertain"
    last_sent.pk, last_sent.at = delivery.pk, timezone.now()
    return "sent"


def is_address_error(error: smtplib.SMTPResponseException) -> bool:
    # Enhanced status 5.1.x: the mailbox or address is bad (RFC 3463), not the message.
    message = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else str(error)
    return message.startswith("5.1.")


def open_connection(connection: BaseEmailBackend) -> None:
    """Open the batch's connection, or reconnect once after it dropped."""
    session = getattr(connection, "connection", None)  # the smtplib.SMTP of Django's SMTP backend
    if session is not None and getattr(session, "sock", True) is None:
        connection.close()  # smtplib closed it (a dropped link, a 421): Django must start afresh
    try:
        connection.open()  # a no-op while open
    except (smtplib.SMTPException, OSError) as error:
        connection.close()
        raise RelayUnavailableError(f"{type(error).__name__}: {error}") from error


def render(delivery: Delivery, papers: dict[int, Paper] | None = None) -> EmailMultiAlternatives:
    if papers is None:
        papers = Paper.objects.in_bulk({i.paper_id for i in delivery.items.all()})
    items = [DigestItem(papers[i.paper_id], i.why, i.matched_interest) for i in delivery.items.all()]
    message = renderer_for(delivery.edition_date).message(delivery.subscriber, items, delivery.message_id)
    # VERP: a bounce or complaint of this email names this delivery (digest/bounces/).
    set_envelope_sender(message, verp.envelope_sender(delivery.pk))
    return message


def claim(delivery: Delivery, last_sent: LastSent) -> bool:
    """Take this row for sending (pending or failed_temporary -> sending) and, in the same
    statement, mark the previous message sent. True if the row is ours to send now."""
    previous, last_sent.pk = last_sent.pk, None
    sent_at = database.ops.adapt_datetimefield_value(last_sent.at) if previous else None
    Status = Delivery.Status  # noqa: N806
    params = [previous, Status.SENT, Status.SENDING, previous, sent_at, previous, previous, previous]
    params += [previous, Status.SENDING, delivery.pk, *Delivery.SENDABLE]
    with database.cursor() as cursor:
        cursor.execute(claim_sql(database.vendor), params)
        return delivery.pk in {pk for (pk,) in cursor.fetchall()}


@cache
def claim_sql(vendor: str) -> str:
    """The claim as one UPDATE: written once, as building it with the ORM (Case/When) took
    more time per email than running it. The row `previous` is ours, in `sending`; `vendor`
    keys the cache, as Now() is written differently per database."""
    now, _ = Delivery.objects.none().query.get_compiler(connection=database).compile(Now())
    return f"""
        UPDATE {Delivery._meta.db_table} SET
            status = CASE WHEN id = %s THEN %s ELSE %s END,
            sent_at = CASE WHEN id = %s THEN %s ELSE sent_at END,
            last_error = CASE WHEN id = %s THEN '' ELSE last_error END,
            attempts = CASE WHEN id = %s THEN attempts ELSE attempts + 1 END,
            claimed_at = CASE WHEN id = %s THEN claimed_at ELSE {now} END
        WHERE (id = %s AND status = %s) OR (id = %s AND status IN (%s, %s))
        RETURNING id
    """


def record_refusal(
    delivery: Delivery,
    error: Exception,
    attempt: int,
    result: SendResult,
    permanent: bool,
    bounce: bool = False,
    note: str = "",
) -> str:
    """Mark a failed try: failed_permanent if final or out of attempts (counting a hard bounce
    against the address), else failed_temporary, queued in `result` to be retried."""
    final = permanent or attempt >= settings.PAPERBOY_MAX_ATTEMPTS
    status = Delivery.Status.FAILED_PERMANENT if final else Delivery.Status.FAILED_TEMPORARY
    text = f"{note + ': ' if note else ''}{type(error).__name__}: {error}"[:2000]
    log.warning("Delivery %s to %s failed (attempt %d): %s", delivery.pk, delivery.subscriber.email, attempt, text)
    Delivery.objects.filter(pk=delivery.pk, status__in=[*Delivery.SENDABLE, Delivery.Status.SENDING]).update(
        status=status, attempts=attempt, last_error=text, retry_at=Now()
    )
    if bounce and delivery.subscriber.record_hard_bounce(settings.PAPERBOY_BOUNCES_BEFORE_DISABLE):
        log.warning("%s bounced: no more digests to this address", delivery.subscriber.email)
        result.bounced += 1
    if not final:
        result.retry_ids.append(delivery.pk)
    return "failed_permanent" if final else "failed_temporary"
