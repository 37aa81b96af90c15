"""What each returned message does, once, however often it is read:

hard bounce   the delivery fails for good with the reason; the address is bounced after
              PAPERBOY_BOUNCES_BEFORE_DISABLE of them (the count the SMTP-time 5xx uses too)
soft bounce   the delivery fails for good; PAPERBOY_SOFT_BOUNCES_BEFORE_DISABLE digests soft-
              bounced within PAPERBOY_SOFT_BOUNCE_WINDOW_DAYS bounce the address
refused       the delivery fails for good; the address is not counted (it was the message)
complaint     the subscriber is unsubscribed at once, with why
delay warning, auto-reply   nothing changes
not recognised, or no genuine VERP token   nothing changes; kept for staff (needs_review)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from digest.bounces import parse, verp
from digest.models import Delivery, ReturnedMessage
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

Kind = ReturnedMessage.Kind
MAX_STORED_BYTES = 1_000_000
ACTS_ON_DELIVERY = {Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE, Kind.REFUSED, Kind.COMPLAINT}


def receive(raw: bytes, source: str, envelope_recipients: Sequence[str] = ()) -> ReturnedMessage:
    """Store one returned message and act on it. The same bytes received again act no more."""
    fingerprint = hashlib.sha256(raw).hexdigest()
    known = ReturnedMessage.objects.filter(fingerprint=fingerprint).first()
    if known is not None:
        return known
    message = parse.parse(raw)
    report = parse.classify(message)
    delivery, note = delivery_named(message, envelope_recipients)
    row = ReturnedMessage(
        source=source,
        kind=report.kind,
        recipient=report.recipient,
        status=report.status,
        reason=report.reason[:2000],
        sender=parse.header(message, "From")[:300],
        subject=parse.header(message, "Subject")[:300],
        raw=raw[:MAX_STORED_BYTES],
        fingerprint=fingerprint,
    )
    try:
        with transaction.atomic():
            if delivery is not None:
                delivery = Delivery.objects.select_for_update().select_related("subscriber").get(pk=delivery.pk)
                row.delivery, row.subscriber = delivery, delivery.subscriber
            row.outcome = act(row, delivery, note)[:300]
            row.needs_review = report.kind == Kind.UNKNOWN or (report.kind in ACTS_ON_DELIVERY and delivery is None)
            row.save()
    except IntegrityError:
        # Another reader stored the same message a moment ago: theirs is the one that acted.
        return ReturnedMessage.objects.get(fingerprint=fingerprint)
    log.info("Returned message %s: %s; %s", row.pk, row.get_kind_display(), row.outcome)
    return row


def delivery_named(message, envelope_recipients: Sequence[str]) -> tuple[Delivery | None, str]:
    """The one delivery whose signed VERP address the message was sent to or quotes."""
    ids = verp.deliveries_named(" ".join(envelope_recipients))
    if not ids:
        text = parse.searchable_text(message)
        ids = verp.deliveries_named(text)
        if not ids:
            forged = verp.forged_tokens(" ".join(envelope_recipients) + "\n" + text)
            return None, f"forged VERP token {forged[0]}" if forged else "no VERP token"
    if len(ids) > 1:
        return None, f"names {len(ids)} deliveries"
    delivery = Delivery.objects.filter(pk__in=ids).first()
    return delivery, "" if delivery else "its delivery no longer exists"


def act(row: ReturnedMessage, delivery: Delivery | None, note: str) -> str:
    if row.kind in (Kind.DELAYED, Kind.AUTO_REPLY):
        return "Nothing to do"
    if row.kind == Kind.UNKNOWN:
        return "Not recognised: kept for staff"
    if delivery is None:
        return f"Nothing changed: {note}"
    subscriber = delivery.subscriber
    if row.kind == Kind.COMPLAINT:
        return record_complaint(subscriber, row)
    fail_delivery(delivery, row)
    if row.kind == Kind.REFUSED:
        return "Delivery failed for good (the message was refused, not the address)"
    if row.kind == Kind.HARD_BOUNCE:
        if delivery.returned_messages.filter(kind=Kind.HARD_BOUNCE).exists():
            return "Delivery failed for good (this delivery's bounce was counted already)"
        if subscriber.record_hard_bounce(settings.PAPERBOY_BOUNCES_BEFORE_DISABLE):
            stop(subscriber, f"Hard bounce {row.status or ''} on {today()}: {row.reason}")
            return "Delivery failed for good; subscriber bounced"
        return "Delivery failed for good; hard bounce counted"
    return record_soft_bounce(subscriber, delivery, row)


def fail_delivery(delivery: Delivery, row: ReturnedMessage) -> None:
    text = f"{row.get_kind_display()} after sending ({row.status or 'no status'}): {row.reason or row.subject}"
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED_PERMANENT, last_error=text[:2000])


def record_soft_bounce(subscriber: Subscriber, delivery: Delivery, row: ReturnedMessage) -> str:
    since = timezone.now() - dt.timedelta(days=settings.PAPERBOY_SOFT_BOUNCE_WINDOW_DAYS)
    earlier = (
        ReturnedMessage.objects.filter(subscriber=subscriber, kind=Kind.SOFT_BOUNCE, received_at__gte=since)
        .exclude(delivery=delivery)
        .values("delivery")
        .distinct()
        .count()
    )
    count = earlier + 1  # digests soft-bounced in the window, this one included
    limit = settings.PAPERBOY_SOFT_BOUNCES_BEFORE_DISABLE
    if count >= limit and subscriber.status == Subscriber.Status.ACTIVE:
        moved = Subscriber.objects.filter(pk=subscriber.pk, status=Subscriber.Status.ACTIVE).update(
            status=Subscriber.Status.BOUNCED
        )
        if moved:
            days = settings.PAPERBOY_SOFT_BOUNCE_WINDOW_DAYS
            stop(subscriber, f"{count} soft bounces in {days} days, the last on {today()}: {row.reason}")
            return f"Delivery failed for good; subscriber bounced ({count} soft bounces in {days} days)"
    return f"Delivery failed for good; soft bounce {count} of {limit}"


def record_complaint(subscriber: Subscriber, row: ReturnedMessage) -> str:
    was = subscriber.status
    subscriber.unsubscribe()
    stop(subscriber, f"Complaint on {today()}: {row.reason}")
    if was == Subscriber.Status.UNSUBSCRIBED:
        return "Complaint recorded; subscriber had already unsubscribed"
    return "Subscriber unsubscribed at once (complaint)"


def stop(subscriber: Subscriber, reason: str) -> None:
    Subscriber.objects.filter(pk=subscriber.pk).update(status_reason=" ".join(reason.split())[:300])


def today() -> str:
    return timezone.now().date().isoformat()
