"""Step 5 of the day: plan one Delivery per due subscriber, then send them in batches.

Planning matches every due subscriber against the edition (one index per edition) and writes
a Delivery row with its papers; the unique (subscriber, edition_date) row is what makes a rerun
send nothing new. Sending claims each row atomically just before its message goes out
(pending/failed -> sending), so a batch that is redelivered after a crash skips what was sent,
and at most the one message in flight is left in `sending` for staff to check. Those rows are
never resent by themselves: SMTP cannot tell us whether the server took the message.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F, Prefetch
from django.utils import timezone

from digest.match import EditionMatcher, Match, edition_matcher, subscriber_profiles
from digest.models import Delivery, DeliveryItem, Edition, Paper
from digest.render import DigestItem, renderer_for
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

WEEKLY_WINDOW_DAYS = 7
PLAN_CHUNK = 500


@dataclass
class PlanResult:
    planned: int = 0
    not_due: int = 0
    nothing_matched: int = 0
    already_planned: int = 0
    previews: list[tuple[str, list[Match]]] = field(default_factory=list)


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0


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
    edition: Edition, now: dt.datetime, respect_send_hour: bool = True, dry_run: bool = False
) -> PlanResult:
    """Create the edition's deliveries for subscribers who take it and are due.

    With respect_send_hour, a subscriber is due once their local send hour has come round
    since the edition arrived; without it (an operator's manual run) everyone taking it is.
    """
    result = PlanResult()
    indexes = EditionIndexes(edition.date)
    if not indexes[Subscriber.Frequency.DAILY].papers:
        # Ranking an empty index matches nothing, so no email goes out empty; weekly
        # subscribers may still have the rest of their week.
        log.error("Edition %s has no papers: no daily digests today", edition.date)
    subscribers = (
        Subscriber.objects.taking_edition(edition.date)
        .exclude(deliveries__edition_date=edition.date)
        .prefetch_related("interests")
        .order_by("pk")
    )
    due: list[Subscriber] = []
    for subscriber in subscribers.iterator(chunk_size=PLAN_CHUNK):
        if respect_send_hour and not is_due(subscriber, edition, now):
            result.not_due += 1
            continue
        due.append(subscriber)
        if len(due) >= PLAN_CHUNK:
            save_plans(edition.date, rank_chunk(indexes, due, result), result, dry_run)
            due = []
    save_plans(edition.date, rank_chunk(indexes, due, result), result, dry_run)
    return result


def rank_chunk(
    indexes: EditionIndexes, subscribers: list[Subscriber], result: PlanResult
) -> list[tuple[Subscriber, list[Match]]]:
    """Rank a chunk of subscribers at once (match.py); those with nothing to send are counted."""
    planned = []
    for frequency in sorted({s.frequency for s in subscribers}):
        group = [s for s in subscribers if s.frequency == frequency]
        for subscriber, ranking in zip(group, indexes[frequency].rank_many(subscriber_profiles(group)), strict=True):
            if ranking.matches:
                planned.append((subscriber, ranking.matches))
            else:
                result.nothing_matched += 1
    return planned


def is_due(subscriber: Subscriber, edition: Edition, now: dt.datetime) -> bool:
    # From the hour the papers first arrived: ingest at 05:00:40 still makes 05:00 a send slot.
    arrived = (edition.ingested_at or edition.created_at).replace(minute=0, second=0, microsecond=0)
    return subscriber.last_send_slot(now) >= arrived


def save_plans(
    edition_date: dt.date, planned: list[tuple[Subscriber, list[Match]]], result: PlanResult, dry_run: bool
) -> None:
    if dry_run:
        result.previews.extend((s.email, m) for s, m in planned)
        result.planned += len(planned)
        return
    with transaction.atomic():
        deliveries = [
            Delivery(subscriber=s, edition_date=edition_date, message_id=make_msgid("digest", settings.SITE_DOMAIN))
            for s, _ in planned
        ]
        # A concurrent planner may have claimed some subscribers first: theirs win, ours are dropped.
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        saved = dict(
            Delivery.objects.filter(message_id__in=[d.message_id for d in deliveries]).values_list("message_id", "pk")
        )
        items = [
            DeliveryItem(
                delivery_id=saved[delivery.message_id],
                paper=match.paper,
                position=position,
                score=match.score,
                matched_interest=match.interest,
                why=match.why[:300],
            )
            for delivery, (_, matches) in zip(deliveries, planned, strict=True)
            if delivery.message_id in saved
            for position, match in enumerate(matches)
        ]
        DeliveryItem.objects.bulk_create(items)
    result.planned += len(saved)
    result.already_planned += len(planned) - len(saved)


def sendable_batches(*edition_dates: dt.date) -> Iterator[list[int]]:
    """These editions' deliveries that still need sending (new, or failed and worth retrying)."""
    ids = list(
        Delivery.objects.sendable()
        .filter(edition_date__in=edition_dates, attempts__lt=settings.PAPERBOY_MAX_ATTEMPTS)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), settings.PAPERBOY_BATCH_SIZE):
        yield ids[start : start + settings.PAPERBOY_BATCH_SIZE]


# --- Sending ----------------------------------------------------------------------------


class RelayUnavailableError(Exception):
    """The SMTP server cannot be reached: stop the batch and leave its rows for the next run."""


def send_batch(delivery_ids: Sequence[int]) -> SendResult:
    """Send these deliveries over one SMTP connection. Safe to run twice on the same ids."""
    result = SendResult()
    deliveries = (
        Delivery.objects.sendable()
        .filter(pk__in=delivery_ids)
        .select_related("subscriber")
        .prefetch_related(Prefetch("items", queryset=DeliveryItem.objects.select_related("paper")))
        .order_by("pk")
    )
    connection = get_connection()
    try:
        for delivery in deliveries:
            outcome = send_one(delivery, connection)
            setattr(result, outcome, getattr(result, outcome) + 1)
    except RelayUnavailableError as error:
        # No attempt is used up: an outage of the relay is not the subscriber's failure.
        log.error("SMTP server unavailable, batch left for the next run: %s", error)
        Delivery.objects.sendable().filter(pk__in=delivery_ids).update(last_error=f"SMTP server unavailable: {error}")
    finally:
        connection.close()
    log.info(
        "Batch of %d: %d sent, %d failed, %d outcome unknown, %d skipped",
        len(delivery_ids),
        result.sent,
        result.failed,
        result.unknown,
        result.skipped,
    )
    return result


def send_one(delivery: Delivery, connection: BaseEmailBackend) -> str:
    """Send one delivery: 'sent', 'failed' (will retry), 'unknown' (left in sending) or 'skipped'."""
    if delivery.subscriber.status != Subscriber.Status.ACTIVE:
        # Unsubscribed (or paused) after planning: it takes effect at once.
        Delivery.objects.filter(pk=delivery.pk, status__in=Delivery.SENDABLE).update(status=Delivery.Status.SKIPPED)
        return "skipped"
    try:
        message = render(delivery)
    except Exception as error:
        log.exception("Could not render delivery %s", delivery.pk)
        record_failure(delivery, error, attempts=delivery.attempts + 1)
        return "failed"
    open_connection(connection)
    if not claim(delivery):
        return "skipped"  # another worker has it, or already sent it
    try:
        connection.send_messages([message])
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException, BadHeaderError) as error:
        # The server answered no, or the message could not be built: nothing was accepted.
        record_failure(delivery, error, attempts=delivery.attempts + 1)
        connection.close()
        return "failed"
    except Exception as error:
        # The conversation broke off: the server may have accepted the message. Leave the row
        # in `sending` for staff rather than risk a duplicate (REFERENCE: delivery semantics).
        record_unknown(delivery, error)
        connection.close()
        return "unknown"
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SENT, sent_at=timezone.now(), last_error="")
    return "sent"


def open_connection(connection: BaseEmailBackend) -> None:
    try:
        connection.open()  # a no-op while open; reconnects after a dropped connection
    except (smtplib.SMTPException, OSError) as error:
        connection.close()
        raise RelayUnavailableError(f"{type(error).__name__}: {error}") from error


def render(delivery: Delivery) -> EmailMultiAlternatives:
    items = [DigestItem(i.paper, i.why, i.matched_interest) for i in delivery.items.all()]
    return renderer_for(delivery.edition_date).message(delivery.subscriber, items, delivery.message_id)


def claim(delivery: Delivery) -> bool:
    claimed = Delivery.objects.filter(pk=delivery.pk, status__in=Delivery.SENDABLE).update(
        status=Delivery.Status.SENDING, attempts=F("attempts") + 1
    )
    return claimed == 1


def record_failure(delivery: Delivery, error: Exception, attempts: int) -> None:
    refused_for_good = isinstance(error, smtplib.SMTPRecipientsRefused) or (
        isinstance(error, smtplib.SMTPResponseException) and 500 <= error.smtp_code < 600
    )
    status = (
        Delivery.Status.GAVE_UP
        if refused_for_good or attempts >= settings.PAPERBOY_MAX_ATTEMPTS
        else Delivery.Status.FAILED
    )
    log.warning("Delivery %s to %s failed (attempt %d): %r", delivery.pk, delivery.subscriber.email, attempts, error)
    Delivery.objects.filter(pk=delivery.pk, status__in=[*Delivery.SENDABLE, Delivery.Status.SENDING]).update(
        status=status, attempts=attempts, last_error=f"{type(error).__name__}: {error}"[:2000]
    )


def record_unknown(delivery: Delivery, error: Exception) -> None:
    log.error("Delivery %s to %s: outcome unknown (%r); left for staff", delivery.pk, delivery.subscriber.email, error)
    Delivery.objects.filter(pk=delivery.pk).update(
        last_error=f"Outcome unknown, not resent automatically: {type(error).__name__}: {error}"[:2000]
    )
