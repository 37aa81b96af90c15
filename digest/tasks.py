"""Thin Celery tasks: each takes plain values and calls the day's steps (see digest/day.py).

Settings (config/settings.py) make sending safe to repeat: acks_late with reject_on_worker_lost
(a killed worker's task comes back), prefetch 1 (a worker holds no queue of tasks it may never
run), a hard time limit on sends (which the crash rule in digest/deliver.py relies on).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from digest import day, deliver
from digest.bounces import imap

log = logging.getLogger(__name__)


@shared_task
def ingest_papers(edition_date: str | None = None) -> str:
    """Fetch and store a day's papers (today's, for the beat schedule)."""
    date = dt.date.fromisoformat(edition_date) if edition_date else timezone.now().date()
    return str(day.ingest_day(date))


@shared_task(time_limit=settings.PAPERBOY_PLAN_TIME_LIMIT)
def plan_due_digests(edition_date: str | None = None) -> int:
    """Beat, every PAPERBOY_PLAN_EVERY_MINUTES: resend what a crash left uncertain, requeue what
    the broker lost, then plan the newest edition for subscribers whose send hour has come,
    fanning each chunk out to a send task as it is saved."""
    recover_deliveries()
    _, result = day.plan_day(dt.date.fromisoformat(edition_date) if edition_date else None, fan_out=queue_sends)
    return result.planned


@shared_task(time_limit=settings.PAPERBOY_PLAN_TIME_LIMIT)
def send_edition_now(edition_date: str) -> int:
    """Staff's "send now": everyone taking the edition, whatever their send hour."""
    _, result = day.plan_day(dt.date.fromisoformat(edition_date), respect_send_hour=False, fan_out=queue_sends)
    return result.planned


def recover_deliveries() -> None:
    for ids in deliver.in_batches(deliver.reconcile_stale_sending() + deliver.lost_deliveries()):
        queue_sends(ids)


def queue_sends(delivery_ids: list[int]) -> None:
    transaction.on_commit(partial(send_batch.delay, delivery_ids))


@shared_task(bind=True, max_retries=None, time_limit=settings.PAPERBOY_SEND_TIME_LIMIT)
def send_batch(self, delivery_ids: list[int]) -> dict:
    """Send one chunk; retry, after a backoff, only the deliveries that were refused for now,
    plus the whole unsent rest if the relay was down (PAPERBOY_RELAY_MAX_RETRIES times)."""
    result = deliver.send_batch(delivery_ids)
    again = list(result.retry_ids)
    if result.relay_error:
        if self.request.retries < settings.PAPERBOY_RELAY_MAX_RETRIES:
            again += deliver.unsent_ids(delivery_ids)
        else:
            log.error("Relay still down after %d retries: the plan run requeues the rest later", self.request.retries)
    if again:
        raise self.retry(args=[sorted(again)], countdown=deliver.retry_delay(self.request.retries))
    return dataclasses.asdict(result)


@shared_task(time_limit=settings.PAPERBOY_PLAN_TIME_LIMIT)
def read_bounce_mailbox() -> int:
    """Beat, every PAPERBOY_BOUNCE_POLL_MINUTES when PAPERBOY_BOUNCE_IMAP_HOST is set: read the
    bounce mailbox and act on what came back (digest/bounces/)."""
    return imap.read_mailbox().read
