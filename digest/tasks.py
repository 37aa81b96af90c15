"""Thin Celery tasks: each takes plain values and calls the day's steps (see digest/day.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import partial

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from digest import day


@shared_task
def ingest_papers(edition_date: str | None = None) -> str:
    """Fetch and store a day's papers (today's, for the beat schedule)."""
    date = dt.date.fromisoformat(edition_date) if edition_date else timezone.now().date()
    return str(day.ingest_day(date))


@shared_task
def send_due_digests(edition_date: str | None = None) -> int:
    """Plan the newest edition for subscribers whose send hour has come, then queue its
    batches, with yesterday's retries."""
    edition, _ = day.plan_day(dt.date.fromisoformat(edition_date) if edition_date else None)
    if edition is None:
        return 0
    return queue_batches(edition.date, edition.date - dt.timedelta(days=1))


@shared_task
def send_edition_now(edition_date: str) -> int:
    """Staff's "send now": everyone taking the edition, whatever their send hour."""
    edition, _ = day.plan_day(dt.date.fromisoformat(edition_date), respect_send_hour=False)
    return queue_batches(edition.date) if edition else 0


def queue_batches(*edition_dates: dt.date) -> int:
    batches = list(day.sendable_batches(*edition_dates))
    for ids in batches:
        transaction.on_commit(partial(send_batch.delay, ids))
    return len(batches)


# acks_late + reject_on_worker_lost (settings): a batch whose worker dies is redelivered, and
# the per-row claim in deliver.send_one keeps the redelivery from sending anything twice.
@shared_task
def send_batch(delivery_ids: list[int]) -> dict:
    return dataclasses.asdict(day.send_batch(delivery_ids))
