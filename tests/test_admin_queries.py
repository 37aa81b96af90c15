"""Every changelist costs the same few queries whatever its length: counts are annotated and
related rows selected, never fetched per row. Each page here shows 50 rows with related data."""

from __future__ import annotations

import datetime as dt
from email.utils import make_msgid

import pytest

from digest import carried
from digest.models import Delivery, Edition, Paper
from subscriptions.models import Interest, Subscriber

pytestmark = pytest.mark.django_db

ROWS = 50
START = dt.date(2025, 7, 1)
# Session, user, the count (twice: filtered and total), the rows, the date hierarchy's dates,
# and a list filter's choices; what matters is that none of it grows with the rows.
MAX_QUERIES = 8


@pytest.fixture
def fifty_of_everything() -> None:
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{n}@example.com", status=Subscriber.Status.ACTIVE) for n in range(ROWS)
    )
    Interest.objects.bulk_create(Interest(subscriber=s, value=f"topic {s.pk}") for s in subscribers)
    Edition.objects.bulk_create(
        Edition(date=START + dt.timedelta(days=n), source_report={"hf": {"papers": 1}}) for n in range(ROWS)
    )
    papers = Paper.objects.bulk_create(
        Paper(arxiv_id=f"2509.{n:05d}", title=f"Paper {n}", edition_date=START + dt.timedelta(days=n), sources=["hf"])
        for n in range(ROWS)
    )
    Delivery.objects.bulk_create(
        Delivery(
            subscriber=s,
            edition_date=p.edition_date,
            status=Delivery.Status.SENT,
            message_id=make_msgid(),
            carried=carried.pack([(p.pk, 1.0, "", "")]),
        )
        for s, p in zip(subscribers, papers, strict=True)
    )


@pytest.mark.parametrize(
    ("url", "row_marker"),
    [
        ("/admin/subscriptions/subscriber/", 'class="field-email"'),
        ("/admin/subscriptions/interest/", 'class="field-value"'),
        ("/admin/digest/edition/", 'class="field-date nowrap"'),
        ("/admin/digest/paper/", 'class="field-arxiv_id"'),
        ("/admin/digest/delivery/", 'class="field-subscriber nowrap"'),
    ],
)
def test_a_changelist_of_fifty_rows_costs_a_fixed_number_of_queries(
    staff_client, fifty_of_everything, django_assert_max_num_queries, url, row_marker
):
    with django_assert_max_num_queries(MAX_QUERIES):
        page = staff_client.get(url).content.decode()

    assert page.count(row_marker) == ROWS


def test_the_counts_in_the_changelists_are_right(staff_client, fifty_of_everything):
    subscribers = staff_client.get("/admin/subscriptions/subscriber/").content.decode()
    assert subscribers.count('<td class="field-interest_count">1</td>') == ROWS
    assert subscribers.count('<td class="field-sent_count">1</td>') == ROWS
    editions = staff_client.get("/admin/digest/edition/").content.decode()
    assert editions.count('<td class="field-papers_listed">1</td>') == ROWS
    assert editions.count('<td class="field-sent_count">1</td>') == ROWS
    papers = staff_client.get("/admin/digest/paper/").content.decode()
    assert papers.count('<td class="field-times_sent">1</td>') == ROWS
    deliveries = staff_client.get("/admin/digest/delivery/").content.decode()
    assert deliveries.count('<td class="field-paper_count">1</td>') == ROWS
