"""What staff do from the admin: ingest a day now, resend failed deliveries, send a test digest.

The admin actions and dashboard forms call these; each is the same code path the day's run
uses (digest.tasks, digest.deliver, digest.render), so a test digest looks exactly like the real one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from email.utils import make_msgid
from functools import partial

from django.conf import settings
from django.db import transaction

from digest import deliver, tasks
from digest.models import Delivery, Edition
from digest.render import renderer_for
from subscriptions.models import Subscriber

# Every "failed" state, in one place.
FAILED_STATUSES: tuple[str, ...] = (Delivery.Status.FAILED_TEMPORARY, Delivery.Status.FAILED_PERMANENT)


class NothingToSendError(Exception):
    """A test digest that would be empty: the same case in which the day's run sends nothing."""


def queue_ingest(day: dt.date) -> None:
    """Ingest a day on a worker: reading HF's pages and arXiv's feeds (3 s apart, by their terms)
    takes longer than a web request should, and the worker's run is the one beat schedules."""
    transaction.on_commit(partial(tasks.ingest_papers.delay, day.isoformat()))


@transaction.atomic
def resend_failed(delivery_ids: Iterable[int]) -> int:
    """Put these deliveries back to pending with fresh attempts, if they failed, and queue them.
    Rows in `sending` are left alone: the server may have taken them."""
    rows = Delivery.objects.filter(pk__in=list(delivery_ids), status__in=FAILED_STATUSES)
    ids = sorted(rows.values_list("pk", flat=True))
    count = Delivery.objects.filter(pk__in=ids).update(
        status=Delivery.Status.PENDING, attempts=0, retry_at=None, retry_until=None, last_error=""
    )
    for batch in deliver.in_batches(ids):
        tasks.queue_sends(batch)
    return count


def send_test_digest(subscriber: Subscriber, address: str, edition: Edition) -> str:
    """Send the subscriber's digest of this edition to another address, marked as a test.
    Records no Delivery: it is not the subscriber's email. Returns the subject sent."""
    items = deliver.digest_items(subscriber, edition.date)
    if not items:
        raise NothingToSendError(f"Nothing in the edition of {edition.date} matches {subscriber.email}'s topics.")
    message = renderer_for(edition.date).message(subscriber, items, make_msgid("test", settings.SITE_DOMAIN))
    message.to = [address]
    message.subject = f"[Test] {message.subject}"
    # A mail client's Unsubscribe button on the copy must not unsubscribe the real subscriber.
    for header in ("List-Unsubscribe", "List-Unsubscribe-Post"):
        message.extra_headers.pop(header, None)
    message.send()
    return message.subject
