"""Step 5 of the day: plan one Delivery per due subscriber, fan them out in chunks, send them.

Planning walks the due subscribers in chunks of PAPERBOY_BATCH_SIZE: each chunk is ranked
against the edition (one index per edition), its Delivery rows are written in one INSERT, and
the new rows' ids are handed to `fan_out` (the Celery task queues one send task per chunk), so
sending starts while planning goes on. The unique (subscriber, edition_date) row is what makes
a second planner, running at the same time or later, create and queue nothing twice.

Sending claims rows atomically, a group of PAPERBOY_SEND_GROUP at a time just before their
messages go out (pending or failed_temporary -> sending; digest/claims.py), so a redelivered or
duplicated send task skips what another has taken. States:

    pending -> sending -> sent
                       -> failed_temporary  a 4xx, retried with backoff for PAPERBOY_RETRY_FOR_HOURS;
                                            or an outcome we cannot know (below), retried until
                                            PAPERBOY_MAX_ATTEMPTS such; then
                       -> failed_permanent  also at once for a 5xx (the subscriber is bounced after
                                            PAPERBOY_BOUNCES_BEFORE_DISABLE hard bounces)
    sending -> failed_temporary             a 421: the session closed; resent at once on a new one,
                                            the attempt not counted
    pending -> skipped                      the subscriber left after planning

Every attempt is appended to the row's attempt_log (digest/attempt_log.py).

THE CRASH RULE. SMTP has no exactly-once: if a worker dies, or the connection breaks, after the
server may have accepted a message and before the row says `sent`, nobody can know whether it
went. Such a row is resent, but never blindly:
  * only once its sender is certainly gone: a row still `sending` longer than
    PAPERBOY_SENDING_STALE_SECONDS (longer than the send task's hard time limit, after which
    Celery kills the process holding it; claimed_at and the check both use the database clock),
    or at once when the sending process itself saw the connection break;
  * with the same Message-ID, fixed at planning, so the copy is recognisable as the same email;
  * as a counted attempt, with "Outcome unknown" in its attempt log, and once sent, "may have
    arrived twice" in last_error for staff to see.
A broken database connection is not a crash: what the server accepted stays in the process
until it is written (LastSent, digest/reconnect.py), so it is never resent.
Each worker process has at most PAPERBOY_SEND_GROUP rows in `sending` at a time (its group), so a
crash leaves at most that many uncertain messages per killed process: nothing is lost, and at
most those may arrive twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import make_msgid

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import sanitize_address
from django.db.models import Count, F, Max
from django.db.models.functions import Now
from django.utils import timezone

from digest import attempt_log, carried
from digest.attempt_log import Appended
from digest.bounces import verp
from digest.claims import PROCESS_ACCEPTED, Accepted, Claims
from digest.matching.ranker import EditionMatcher, Match, edition_matcher, subscriber_profiles
from digest.models import Delivery, Edition, Paper
from digest.reconnect import DATABASE_UNAVAILABLE, written
from digest.render import DigestItem, EditionRenderer, delivery_items, renderer_for
from digest.send_rate import wait_for_slot
from mailing.backend import set_envelope_sender
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

WEEKLY_WINDOW_DAYS = 7

FanOut = Callable[[list[int]], None]
ShardOut = Callable[[dt.date, str, list[int]], None]  # (edition date, frequency, subscriber ids)


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
    for frequency, pks in due_subscriber_ids(edition, now, respect_send_hour, result):
        ids = plan_chunk(indexes, frequency, load_subscribers(edition.date, pks), result, dry_run)
        if ids and fan_out:
            fan_out(ids)
            result.chunks += 1
    return result


def shard_edition(edition: Edition, now: dt.datetime, respect_send_hour: bool, shard_out: ShardOut) -> PlanResult:
    """Planning as a fan-out: hand each chunk of due subscribers (their ids only) to `shard_out`,
    so that whichever worker takes it plans, matches and sends it (plan_and_send_shard), with
    the edition's shared work done once per worker process. N machines then plan N-fold faster
    where one planner did everyone before."""
    result = PlanResult()
    for frequency, pks in due_subscriber_ids(edition, now, respect_send_hour, result):
        shard_out(edition.date, frequency, pks)
        result.chunks += 1
    return result


def plan_and_send_shard(edition_date: dt.date, frequency: str, pks: Sequence[int]) -> tuple[PlanResult, list[int]]:
    """Plan these subscribers' deliveries of the edition (those not planned yet: a redelivered
    shard plans nothing twice), then return the shard's deliveries still to send."""
    result = PlanResult()
    plan_chunk(process_indexes(edition_date), frequency, load_subscribers(edition_date, pks), result, dry_run=False)
    sendable = Delivery.objects.sendable().filter(edition_date=edition_date, subscriber_id__in=list(pks))
    return result, list(sendable.order_by("pk").values_list("pk", flat=True))


def due_subscriber_ids(
    edition: Edition, now: dt.datetime, respect_send_hour: bool, result: PlanResult
) -> Iterator[tuple[str, list[int]]]:
    """(frequency, subscriber ids) chunks of at most PAPERBOY_BATCH_SIZE who are due and have
    no delivery of this edition yet."""
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
            yield frequency, due[start : start + size]


def load_subscribers(edition_date: dt.date, pks: Sequence[int]) -> list[Subscriber]:
    """These subscribers with their interests, those still taking the edition and not yet planned."""
    return list(
        Subscriber.objects.taking_edition(edition_date)
        .filter(pk__in=list(pks))
        .exclude(deliveries__edition_date=edition_date)
        .prefetch_related("interests")
        .order_by("pk")
    )


def plan_chunk(
    indexes: EditionIndexes, frequency: str, subscribers: list[Subscriber], result: PlanResult, dry_run: bool
) -> list[int]:
    """Rank a chunk of subscribers and save their plans; the ids of the deliveries created."""
    started = time.perf_counter()
    matches = rank_chunk(indexes[frequency], subscribers)
    result.match_seconds += time.perf_counter() - started
    planned = [(s, m) for s, m in zip(subscribers, matches, strict=True) if m]
    result.nothing_matched += len(subscribers) - len(planned)
    return save_plans(indexes.edition_date, planned, result, dry_run)


# One per worker process: the edition's matchers, built on the first shard that needs them.
_process_indexes: dict[dt.date, tuple[tuple, EditionIndexes]] = {}


def process_indexes(edition_date: dt.date) -> EditionIndexes:
    """This process's EditionIndexes of the edition, built again only if its papers changed
    (a late ingest): paper vectors come from the rows, sentence vectors from the shared cache."""
    window = Paper.objects.filter(
        edition_date__range=(edition_date - dt.timedelta(days=WEEKLY_WINDOW_DAYS - 1), edition_date)
    )
    key = tuple(window.aggregate(Count("pk"), Max("pk"), Max("updated_at")).values())
    cached = _process_indexes.get(edition_date)
    if cached is None or cached[0] != key:
        _process_indexes.clear()  # yesterday's edition is done with
        _process_indexes[edition_date] = (key, EditionIndexes(edition_date))
    return _process_indexes[edition_date][1]


def rank_chunk(matcher: EditionMatcher, subscribers: Sequence[Subscriber]) -> list[list[Match]]:
    """Each subscriber's matches, in order (an empty list when nothing scores high enough),
    the whole chunk scored at once (match.py)."""
    return [ranking.matches for ranking in matcher.rank_many(subscriber_profiles(subscribers))]


def matches_for(subscriber: Subscriber, edition_date: dt.date) -> list[Match]:
    """One subscriber ranked exactly as planning ranks them: for previews, never for sending."""
    return rank_chunk(process_indexes(edition_date)[subscriber.frequency], [subscriber])[0]


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
    """Insert the chunk's deliveries, each with the papers it carries; the ids of the rows this call created."""
    if dry_run:
        result.previews.extend((s.email, m) for s, m in planned)
        result.planned += len(planned)
        return []
    if not planned:
        return []
    renderer = renderer_for(edition_date)
    deliveries = [
        Delivery(
            subscriber=s,
            edition_date=edition_date,
            message_id=new_message_id(),
            carried=carried.pack(item_rows(renderer, s, matches)),
        )
        for s, matches in planned
    ]
    # One INSERT writes the rows with what each email carries. A concurrent planner may have
    # claimed some subscribers first: theirs win, ours are dropped.
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    saved = dict(
        Delivery.objects.filter(message_id__in=[d.message_id for d in deliveries]).values_list("message_id", "pk")
    )
    result.planned += len(saved)
    result.already_planned += len(planned) - len(saved)
    return sorted(saved.values())


def item_rows(renderer: EditionRenderer, subscriber: Subscriber, matches: list[Match]) -> Iterator[tuple]:
    """(paper id, score, interest, why) of every paper the email will hold, in order: the
    matches, then the trending papers the renderer lists under them (score 0: not matched)."""
    scores = {match.paper.pk: match.score for match in matches}
    items = renderer.with_trending([DigestItem(m.paper, m.why, m.interest) for m in matches], subscriber)
    for item in items:
        yield item.paper.pk, scores.get(item.paper.pk, 0.0), item.interest, item.why


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

UNKNOWN_NOTE = "Outcome unknown: its worker died while sending; resent with the same Message-ID"


def reconcile_stale_sending() -> list[int]:
    """Apply the crash rule (module docstring) to rows whose sender is certainly gone: each
    becomes failed_temporary, to be resent with its own Message-ID, or failed_permanent if it
    has had PAPERBOY_MAX_ATTEMPTS outcomes unknown. Returns the ids to resend."""
    stale = Delivery.objects.stale_sending(dt.timedelta(seconds=settings.PAPERBOY_SENDING_STALE_SECONDS))
    unknown = {
        "uncertain_attempts": F("uncertain_attempts") + 1,
        "attempt_log": Appended(attempt_log.UNKNOWN, UNKNOWN_NOTE),
    }
    stale.filter(uncertain_attempts__gte=settings.PAPERBOY_MAX_ATTEMPTS - 1).update(
        status=Delivery.Status.FAILED_PERMANENT, last_error=f"{UNKNOWN_NOTE} (no attempts left)", **unknown
    )
    ids = list(stale.values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.FAILED_TEMPORARY, last_error=UNKNOWN_NOTE, retry_at=Now(), **unknown
    )
    if ids:
        log.warning("%d deliveries left in sending by a dead worker will be resent: %s", len(ids), ids)
    return ids


def lost_deliveries() -> list[int]:
    """Sendable rows whose send task is overdue by PAPERBOY_REQUEUE_AFTER_SECONDS: no task is
    queued, running or waiting to retry them (the broker lost it). Each is requeued, and its
    clock restarted so it is not again. retry_at says when a row's task is due: set when it is
    queued, pushed to the time limit when a task starts on it, to the countdown on a retry."""
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


def expect_task(delivery_ids: Sequence[int], within_seconds: float) -> None:
    """Their send task is alive and will run (or end) within this: the sweep leaves them alone."""
    Delivery.objects.sendable().filter(pk__in=list(delivery_ids)).update(
        retry_at=Now() + dt.timedelta(seconds=within_seconds)
    )


def still_sendable(delivery_ids: Sequence[int]) -> list[int]:
    """Those of these deliveries that still need sending (after a relay outage): new ones and
    ones refused for now alike."""
    return list(Delivery.objects.sendable().filter(pk__in=delivery_ids).order_by("pk").values_list("pk", flat=True))


# --- Sending ----------------------------------------------------------------------------


class RelayUnavailableError(Exception):
    """The SMTP server cannot be reached: stop the batch and leave its rows sendable."""


# A 421 ends the session, not the delivery: reconnect and send that message again, this often
# in a row before treating the server as unavailable (it is shutting down).
SESSION_TRIES = 3


def send_batch(delivery_ids: Sequence[int]) -> SendResult:
    """Send these deliveries over one SMTP connection. Safe to run twice on the same ids.
    Raises a reconnect.DATABASE_UNAVAILABLE error if the database stays unreachable (the
    caller retries the batch later); nothing the server accepted is then forgotten."""
    result = SendResult()
    accepted = PROCESS_ACCEPTED
    written(accepted.record)  # outcomes a previous task of this process could not write
    deliveries = list(
        Delivery.objects.sendable().filter(pk__in=delivery_ids).select_related("subscriber").order_by("pk")
    )
    expect_task(delivery_ids, settings.PAPERBOY_SEND_TIME_LIMIT)
    # The batch's emails share a few hundred papers: read each once, not once per email; each
    # delivery keeps its carried papers, which render() then reads.
    carried.prefetch(deliveries)
    active = [d.pk for d in deliveries if d.subscriber.status == Subscriber.Status.ACTIVE]
    claims = Claims(active, settings.PAPERBOY_SEND_GROUP)
    connection = get_connection()
    try:
        for delivery in deliveries:
            outcome = send_one(delivery, connection, result, claims, accepted)
            setattr(result, outcome, getattr(result, outcome) + 1)
    except RelayUnavailableError as error:
        # No attempt is used up: an outage of the relay is not the subscriber's failure.
        result.relay_error = str(error)
        log.error("SMTP server unavailable, the rest of the batch waits: %s", error)
        note = f"SMTP server unavailable: {error}"
        written(accepted.record)
        written(claims.release_unsent)
        written(
            lambda: Delivery.objects.filter(pk__in=delivery_ids, status=Delivery.Status.PENDING).update(last_error=note)
        )
    finally:
        connection.close()
        written(accepted.record)
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


def send_one(
    delivery: Delivery,
    connection: BaseEmailBackend,
    result: SendResult,
    claims: Claims,
    accepted: Accepted,
) -> str:
    """Send one delivery; returns the SendResult counter its outcome adds to."""
    if delivery.subscriber.status != Subscriber.Status.ACTIVE:
        # Unsubscribed (or bounced) after planning: it takes effect at once.
        written(
            lambda: Delivery.objects.filter(pk=delivery.pk, status__in=Delivery.SENDABLE).update(
                status=Delivery.Status.SKIPPED
            )
        )
        return "skipped"
    try:
        message = render(delivery)
        check_buildable(message)
    except BadHeaderError as error:
        # This message can never be built (its address or a header): trying again changes nothing.
        return finished(claims, delivery, record_failure(delivery, error, result, Failure.REFUSED))
    except DATABASE_UNAVAILABLE:
        raise
    except Exception as error:
        log.exception("Could not render delivery %s", delivery.pk)
        return finished(claims, delivery, record_failure(delivery, error, result, Failure.ERROR))
    for _ in range(SESSION_TRIES):
        wait_for_slot()
        open_connection(connection)
        if not claims.holds(delivery.pk):
            group = claims.next_group(delivery.pk)
            if not written(lambda group=group: claims.take(delivery.pk, group, accepted)):
                return "skipped"  # another worker has it, or already sent it
        try:
            connection.send_messages([message])
        except (BadHeaderError, ValueError, UnicodeError) as error:
            # Raised while Django builds the message, before a byte of it is sent: no lost connection.
            return finished(claims, delivery, record_failure(delivery, error, result, Failure.REFUSED))
        except Exception as error:
            code = reply_code(error)
            if code == 421:
                # "Closing the session": about the connection, not this recipient.
                connection.close()
                written(lambda error=error: release(delivery, error))
                claims.done(delivery.pk)
                continue
            if code is not None:
                return finished(claims, delivery, record_refusal(delivery, error, result))
            # The conversation broke off without a reply: the server may have taken the message.
            # We are the sender and have stopped, so by the crash rule it is resent with the same
            # Message-ID.
            connection.close()
            record_failure(delivery, error, result, Failure.UNKNOWN, note="Outcome unknown (connection lost)")
            return finished(claims, delivery, "uncertain")
        accepted.add(delivery.pk)
        return finished(claims, delivery, "sent")
    raise RelayUnavailableError(f"the server closed {SESSION_TRIES} sessions in a row with 421")


def finished(claims: Claims, delivery: Delivery, outcome: str) -> str:
    """This row's outcome is known (or in `accepted`): this process no longer holds it for sending."""
    claims.done(delivery.pk)
    return outcome


def reply_code(error: Exception) -> int | None:
    """The SMTP reply code of a refusal (at MAIL, RCPT or DATA), None for other failures."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return next(iter(error.recipients.values()))[0]
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code
    return None


def record_refusal(delivery: Delivery, error: Exception, result: SendResult) -> str:
    """The server answered with a refusal (not 421): how it counts depends on its code and stage."""
    code = reply_code(error)
    if isinstance(error, smtplib.SMTPSenderRefused):
        # Our own From refused: the relay's setup, not this subscriber. Stop the batch rather
        # than fail every delivery in it; this one counts as tried and is retried.
        record_failure(delivery, error, result, Failure.REFUSED_FOR_NOW)
        result.failed_temporary += 1
        raise RelayUnavailableError(f"sender refused: {error}") from error
    if code < 500:
        return record_failure(delivery, error, result, Failure.REFUSED_FOR_NOW)
    # A 5xx at RCPT is the address; after DATA only an enhanced status 5.1.x is (not spam, size).
    bounce = isinstance(error, smtplib.SMTPRecipientsRefused) or is_address_error(error)
    return record_failure(delivery, error, result, Failure.REFUSED, bounce=bounce)


def is_address_error(error: smtplib.SMTPResponseException) -> bool:
    # Enhanced status 5.1.x: the mailbox or address is bad (RFC 3463), not the message.
    message = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else str(error)
    return message.startswith("5.1.")


def open_connection(connection: BaseEmailBackend) -> None:
    """Open the batch's connection, or reconnect after it dropped or was closed by a 421."""
    session = getattr(connection, "connection", None)  # the smtplib.SMTP of Django's SMTP backend
    if session is not None and getattr(session, "sock", True) is None:
        connection.close()  # smtplib closed it (a dropped link, a 421): Django must start afresh
    try:
        connection.open()  # a no-op while open
    except (smtplib.SMTPException, OSError) as error:
        connection.close()
        raise RelayUnavailableError(f"{type(error).__name__}: {error}") from error


def render(delivery: Delivery) -> EmailMultiAlternatives:
    items = delivery_items(delivery)  # read with carried.prefetch when sending a batch
    message = renderer_for(delivery.edition_date).message(delivery.subscriber, items, delivery.message_id)
    # VERP: a bounce or complaint of this email names this delivery (digest/bounces/).
    set_envelope_sender(message, verp.envelope_sender(delivery.pk))
    return message


def check_buildable(message: EmailMultiAlternatives) -> None:
    """Raise BadHeaderError if the SMTP backend would fail to build the envelope of this message:
    it would do so mid-batch, after the row is claimed, where any error looks like a lost link."""
    encoding = message.encoding or settings.DEFAULT_CHARSET
    try:
        for address in (message.from_email, *message.recipients()):
            sanitize_address(address, encoding)
    except (ValueError, IndexError) as error:  # IndexError: what the email package raises on some
        raise BadHeaderError(f"An address of the message cannot be written: {error}") from error


def release(delivery: Delivery, error: smtplib.SMTPException) -> None:
    """Give back a row the server refused with 421: the session ended, not this delivery's
    chance, so the attempt the claim counted is taken back."""
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.FAILED_TEMPORARY,
        attempts=delivery.attempts,
        last_error=describe(error)[:2000],
        attempt_log=Appended(attempt_log.SESSION_CLOSED, smtp_reply(error)),
    )


class Failure:
    """How a failed try counts (record_failure)."""

    REFUSED = "refused"  # a 5xx or a message that cannot be sent: final
    REFUSED_FOR_NOW = "refused for now"  # a 4xx: retried until retry_until (PAPERBOY_RETRY_FOR_HOURS)
    UNKNOWN = "unknown"  # the server may have taken it: resent, at most PAPERBOY_MAX_ATTEMPTS such
    ERROR = "error"  # our side failed (rendering): retried until PAPERBOY_MAX_ATTEMPTS attempts


def record_failure(
    delivery: Delivery, error: Exception, result: SendResult, kind: str, bounce: bool = False, note: str = ""
) -> str:
    """Mark a failed try: failed_permanent if final (counting a hard bounce against the address),
    else failed_temporary, queued in `result` to be retried. Logged in the attempt log."""
    now = timezone.now()
    attempt = delivery.attempts + 1
    text = f"{note + ': ' if note else ''}{describe(error)}"
    changes: dict = {"attempts": attempt}
    if kind == Failure.REFUSED:
        final, logged = True, attempt_log.REFUSED
    elif kind == Failure.REFUSED_FOR_NOW:
        hours = settings.PAPERBOY_RETRY_FOR_HOURS
        retry_until = delivery.retry_until or now + dt.timedelta(hours=hours)
        changes["retry_until"] = retry_until
        final = now >= retry_until
        logged = attempt_log.GAVE_UP if final else attempt_log.REFUSED_FOR_NOW
        if final:
            text = f"Gave up after {hours:g} hours of refusals for now; the last: {text}"
    elif kind == Failure.UNKNOWN:
        changes["uncertain_attempts"] = F("uncertain_attempts") + 1
        final = delivery.uncertain_attempts + 1 >= settings.PAPERBOY_MAX_ATTEMPTS
        logged = attempt_log.UNKNOWN
    else:
        final = attempt >= settings.PAPERBOY_MAX_ATTEMPTS
        logged = attempt_log.ERROR
    status = Delivery.Status.FAILED_PERMANENT if final else Delivery.Status.FAILED_TEMPORARY
    log.warning("Delivery %s to %s failed (attempt %d): %s", delivery.pk, delivery.subscriber.email, attempt, text)
    written(
        lambda: Delivery.objects.filter(
            pk=delivery.pk, status__in=[*Delivery.SENDABLE, Delivery.Status.SENDING]
        ).update(
            status=status,
            last_error=text[:2000],
            attempt_log=Appended(logged, smtp_reply(error) or describe(error), at=now),
            **changes,
        )
    )
    if bounce and written(lambda: delivery.subscriber.record_hard_bounce(settings.PAPERBOY_BOUNCES_BEFORE_DISABLE)):
        log.warning("%s bounced: no more digests to this address", delivery.subscriber.email)
        result.bounced += 1
    if not final:
        result.retry_ids.append(delivery.pk)
    return "failed_permanent" if final else "failed_temporary"


def describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def smtp_reply(error: Exception) -> str:
    """The server's reply as it said it ("451 4.3.0 Try again later"), or "" if it said none."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
    elif isinstance(error, smtplib.SMTPResponseException):
        code, text = error.smtp_code, error.smtp_error
    else:
        return ""
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
