"""Sending takes rows a group at a time and records the accepted ones in the same statement
(digest/claims.py): one statement per PAPERBOY_SEND_GROUP emails, each row still with its own
send time and attempt entry, and rows another worker holds are left to it."""

from __future__ import annotations

import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from digest.day import plan_day
from digest.deliver import send_batch, sendable_batches
from digest.models import Delivery
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db


def claim_statements(queries: CaptureQueriesContext) -> int:
    return sum("RETURNING id, status" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize("group", [10, 1])
def test_a_batch_costs_one_statement_per_group_and_each_row_keeps_its_own_outcome(smtp, settings, group):
    settings.PAPERBOY_SEND_GROUP = group
    load_day()
    readers = [make_subscriber(f"reader{n}@example.com", "reinforcement learning") for n in range(25)]
    plan_day(EDITION_DATE, respect_send_hour=False)
    (ids,) = list(sendable_batches(EDITION_DATE))

    with CaptureQueriesContext(connection) as queries:
        result = send_batch(ids)

    assert result.sent == 25 and sorted(m["To"] for m in smtp.messages) == sorted(r.email for r in readers)
    assert claim_statements(queries) == math.ceil(25 / group) + 1  # the groups, then the last outcomes
    deliveries = list(Delivery.objects.order_by("pk"))
    assert {(d.status, d.attempts, d.last_error) for d in deliveries} == {(Delivery.Status.SENT, 1, "")}
    assert all(len(d.attempt_log) == 1 and d.attempt_log[0]["result"] == "sent" for d in deliveries)
    sent_at = [d.sent_at for d in deliveries]
    assert sent_at == sorted(sent_at) and len(set(sent_at)) > 1  # each when the server took it
    by_address = {m["To"]: m["Message-ID"] for m in smtp.messages}
    assert all(by_address[d.subscriber.email] == d.message_id for d in deliveries)


def test_rows_another_worker_holds_are_left_to_it(smtp, settings):
    settings.PAPERBOY_SEND_GROUP = 10
    load_day()
    for n in range(6):
        make_subscriber(f"reader{n}@example.com", "reinforcement learning")
    plan_day(EDITION_DATE, respect_send_hour=False)
    (ids,) = list(sendable_batches(EDITION_DATE))
    theirs = ids[2:4]
    Delivery.objects.filter(pk__in=theirs).update(status=Delivery.Status.SENDING, attempts=1)

    result = send_batch(ids)

    assert (result.sent, result.skipped) == (4, 0)  # not even loaded: they are not sendable
    assert len(smtp.messages) == 4
    assert set(Delivery.objects.filter(status=Delivery.Status.SENDING).values_list("pk", flat=True)) == set(theirs)
