"""Small helpers that build the rows a test needs."""

from __future__ import annotations

import datetime as dt

from digest.ingest import ingest_records
from digest.models import Edition
from digest.sources import parse_hf_items
from subscriptions.models import Subscriber
from tests.conftest import DAY, hf_day_items

EDITION_DATE = dt.date.fromisoformat(DAY)


def load_day(date: dt.date = EDITION_DATE, items: list[dict] | None = None) -> Edition:
    """The 98 real papers of the recorded day, ingested as `date`'s edition."""
    ingest_records(parse_hf_items(items if items is not None else hf_day_items()), date)
    return Edition.objects.get(date=date)


def make_subscriber(email: str, *topics: str, status: str = Subscriber.Status.ACTIVE, **fields) -> Subscriber:
    subscriber = Subscriber.objects.create(email=email, status=status, **fields)
    for topic in topics:
        subscriber.interests.create(value=topic)
    return subscriber
