"""Planning as a fan-out: the beat task hands out chunks of due subscribers, and whichever
worker takes one plans, matches and sends it, with the edition's matchers built once per
worker process (digest/deliver.py shard_edition, plan_and_send_shard)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from digest import deliver
from digest.day import shard_day
from digest.models import Delivery
from tests.conftest import hf_day_items
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db


def test_the_day_is_handed_out_in_chunks_of_subscriber_ids_and_nothing_is_planned_yet(settings):
    settings.PAPERBOY_BATCH_SIZE = 2
    load_day()
    readers = [make_subscriber(f"reader{n}@example.com", "reinforcement learning") for n in range(5)]
    handed: list[tuple] = []

    _, result = shard_day(EDITION_DATE, timezone.now(), False, lambda *shard: handed.append(shard))

    assert [(date, len(pks)) for date, _, pks in handed] == [(EDITION_DATE, 2), (EDITION_DATE, 2), (EDITION_DATE, 1)]
    assert sorted(pk for _, _, pks in handed for pk in pks) == sorted(r.pk for r in readers)
    assert result.chunks == 3 and not Delivery.objects.exists()


def test_a_shard_plans_its_subscribers_once_even_when_redelivered(smtp):
    load_day()
    readers = [make_subscriber(f"reader{n}@example.com", "reinforcement learning") for n in range(3)]
    pks = [r.pk for r in readers]

    first, ids = deliver.plan_and_send_shard(EDITION_DATE, "daily", pks)
    again, ids_again = deliver.plan_and_send_shard(EDITION_DATE, "daily", pks)  # the task came back

    assert first.planned == 3 and again.planned == 0
    assert ids_again == ids == sorted(Delivery.objects.values_list("pk", flat=True))
    deliver.send_batch(ids)
    assert sorted(m["To"] for m in smtp.messages) == sorted(r.email for r in readers)
    assert deliver.plan_and_send_shard(EDITION_DATE, "daily", pks)[1] == []  # sent: nothing left


def test_a_worker_builds_the_editions_matchers_once_and_again_after_a_late_ingest():
    items = hf_day_items()
    load_day(items=items[:50])
    first = deliver.process_indexes(EDITION_DATE)
    assert len(first["daily"].papers) == 50
    assert deliver.process_indexes(EDITION_DATE) is first
    load_day(items=items)  # the rest of the day arrives
    rebuilt = deliver.process_indexes(EDITION_DATE)
    assert rebuilt is not first and len(rebuilt["daily"].papers) == len(items) > 50
