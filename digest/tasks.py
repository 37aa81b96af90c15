"""Thin Celery tasks: each takes plain values and calls the day's steps (see digest/day.py).

Settings (config/settings.py) make sending safe to repeat: acks_late with reject_on_worker_lost
(a killed worker's task comes back), prefetch 1 (a worker holds no queue of tasks it may never
run), a hard time limit on sends (which the crash rule in digest/deliver.py relies on). Plan
and housekeeping tasks are routed to their own queue (CELERY_PLAN_QUEUE).
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

from digest import carried, day, deliver
from digest.bounces import imap
from digest.reconnect import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)


@shared_task
def ingest_papers(edition_date: str | None = None) -> str:
    """Fetch and store a day's papers (today's, for the beat schedule)."""
    date = dt.date.fromisoformat(edition_date) if edition_date else timezone.now().date()
    result = day.ingest_day(date)
    day.prepare_matching(date)
    return str(result)


@shared_task(time_limit=settings.PAPERBOY_PLAN_TIME_LIMIT)
def plan_due_digests(edition_date: str | None = None) -> int:
    """Beat, every PAPERBOY_PLAN_EVERY_MINUTES: the newest edition for subscribers whose send
    hour has come, planned as PAPERBOY_PLANNING says; returns the chunks handed out."""
    return plan(dt.date.fromisoformat(edition_date) if edition_date else None, respect_send_hour=True)


@shared_task(time_limit=settings.PAPERBOY_PLAN_TIME_LIMIT)
def send_edition_now(edition_date: str) -> int:
    """Staff's "send now": everyone taking the edition, whatever their send hour."""
    return plan(dt.date.fromisoformat(edition_date), respect_send_hour=False)


def plan(edition_date: dt.date | None, respect_send_hour: bool) -> int:
    if settings.PAPERBOY_PLANNING == "shard":  # the workers plan, a chunk each
        _, result = day.shard_day(edition_date, None, respect_send_hour, shard_out=queue_shard)
    else:  # this task plans everyone and fans out the send batches
        _, result = day.plan_day(edition_date, respect_send_hour=respect_send_hour, fan_out=queue_sends)
    return result.chunks


def queue_shard(edition_date: dt.date, frequency: str, subscriber_ids: list[int]) -> None:
    transaction.on_commit(partial(plan_and_send.delay, edition_date.isoformat(), frequency, subscriber_ids))


@shared_task(bind=True, max_retries=None, time_limit=settings.PAPERBOY_SEND_TIME_LIMIT)
def plan_and_send(self, edition_date: str, frequency: str, subscriber_ids: list[int]) -> dict:
    """Plan one chunk of due subscribers with this worker's indexes of the edition, then send
    their deliveries; what a refusal or an outage leaves goes on as a send_batch retry."""
    try:
        _, ids = deliver.plan_and_send_shard(dt.date.fromisoformat(edition_date), frequency, subscriber_ids)
        result = deliver.send_batch(ids)
    except DATABASE_UNAVAILABLE as error:
        log.warning("Database unavailable, the chunk is planned and sent again later: %s", error)
        raise self.retry(countdown=deliver.retry_delay(self.request.retries)) from error
    if result.relay_error:
        send_later(deliver.still_sendable(ids), outages=1)
    elif result.retry_ids:
        send_later(result.retry_ids, outages=0)
    return dataclasses.asdict(result)


def send_later(delivery_ids: list[int], outages: int) -> None:
    """A send_batch for these after the first retry's backoff, their rows told when it is due."""
    if delivery_ids:
        countdown = deliver.retry_delay(0)
        deliver.expect_task(delivery_ids, countdown)
        send_batch.apply_async([sorted(delivery_ids)], {"outages": outages}, countdown=countdown)


@shared_task(time_limit=settings.PAPERBOY_PLAN_TIME_LIMIT)
def recover_deliveries() -> int:
    """Beat, every minute: resend what a crash left uncertain, requeue what the broker lost."""
    ids = deliver.reconcile_stale_sending() + deliver.lost_deliveries()
    for batch in deliver.in_batches(ids):
        queue_sends(batch)
    return len(ids)


@shared_task(time_limit=settings.PAPERBOY_PLAN_TIME_LIMIT)
def compact_old_plans() -> int:
    """Beat, daily: what deliveries older than PAPERBOY_KEEP_DELIVERY_DETAIL_DAYS carried is
    compacted to paper ids and scores (digest/carried.py); returns how many rows."""
    return carried.compact_old()


def queue_sends(delivery_ids: list[int]) -> None:
    transaction.on_commit(partial(send_batch.delay, delivery_ids))


@shared_task(bind=True, max_retries=None, time_limit=settings.PAPERBOY_SEND_TIME_LIMIT)
def send_batch(self, delivery_ids: list[int], outages: int = 0) -> dict:
    """Send one chunk; retry, after a backoff, only the deliveries that were refused for now,
    or, if the relay or the database was unavailable, all of the chunk still to send (for
    PAPERBOY_RELAY_MAX_RETRIES outages in a row; then the recovery run requeues them)."""
    try:
        result = deliver.send_batch(delivery_ids)
        if result.relay_error:
            retry_later(self, deliver.still_sendable(delivery_ids), outages + 1)
        elif result.retry_ids:
            retry_later(self, result.retry_ids, 0)
    except DATABASE_UNAVAILABLE as error:
        # What the server accepted is still known to this process (claims.PROCESS_ACCEPTED).
        log.warning("Database unavailable, the batch is retried: %s", error)
        retry_later(self, delivery_ids, outages + 1, update_rows=False)
        return {"database_error": str(error)}
    return dataclasses.asdict(result)


def retry_later(task, delivery_ids: list[int], outages: int, update_rows: bool = True) -> None:
    """Raise the task's retry for these ids after a backoff, first telling their rows when the
    retry is due (so the recovery run does not requeue them meanwhile)."""
    if not delivery_ids:
        return
    if outages > settings.PAPERBOY_RELAY_MAX_RETRIES:
        log.error("Still unavailable after %d retries: the recovery run requeues the rest later", outages - 1)
        return
    countdown = deliver.retry_delay(task.request.retries)
    if update_rows:
        deliver.expect_task(delivery_ids, countdown)
    raise task.retry(args=[sorted(delivery_ids)], kwargs={"outages": outages}, countdown=countdown)


@shared_task(time_limit=settings.PAPERBOY_PLAN_TIME_LIMIT)
def read_bounce_mailbox() -> int:
    """Beat, every PAPERBOY_BOUNCE_POLL_MINUTES when PAPERBOY_BOUNCE_IMAP_HOST is set: read the
    bounce mailbox and act on what came back (digest/bounces/)."""
    return imap.read_mailbox().read
