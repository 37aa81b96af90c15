"""The issue-6 data migration renames the old delivery states on existing rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("digest", "0001_initial"), ("subscriptions", "0003_max_papers_cap")]
AFTER = [("digest", "0002_delivery_states"), ("subscriptions", "0004_hard_bounces")]


@pytest.fixture(autouse=True)
def back_to_the_latest_schema():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_old_states_become_the_new_ones_and_stuck_rows_fall_under_the_crash_rule():
    old = migrate(BEFORE)
    subscriber = old.get_model("subscriptions", "Subscriber").objects.create(email="ada@example.com")
    Delivery = old.get_model("digest", "Delivery")
    created = dt.datetime(2025, 9, 3, 8, tzinfo=dt.UTC)
    for n, status in enumerate(["failed", "gave_up", "sending", "sent"]):
        Delivery.objects.create(
            subscriber=subscriber,
            edition_date=dt.date(2025, 9, n + 1),
            status=status,
            message_id=f"<{n}@example.com>",
            created_at=created,
        )

    new = migrate(AFTER)

    rows = new.get_model("digest", "Delivery").objects.order_by("edition_date")
    assert [r.status for r in rows] == ["failed_temporary", "failed_permanent", "sending", "sent"]
    assert rows[2].claimed_at == created  # so its claim can expire under the crash rule
    assert new.get_model("subscriptions", "Subscriber").objects.get().hard_bounces == 0


def test_the_items_of_each_delivery_move_onto_its_row_in_order_and_back():
    old = migrate([("digest", "0005_bounces")])
    subscriber = old.get_model("subscriptions", "Subscriber").objects.create(email="ada@example.com")
    Paper = old.get_model("digest", "Paper")
    papers = [
        Paper.objects.create(arxiv_id=f"2509.0000{n}", title=f"Paper {n}", edition_date=dt.date(2025, 9, 3))
        for n in range(3)
    ]
    Delivery = old.get_model("digest", "Delivery")
    DeliveryItem = old.get_model("digest", "DeliveryItem")
    planned = Delivery.objects.create(subscriber=subscriber, edition_date=dt.date(2025, 9, 3), message_id="<a@x>")
    empty = Delivery.objects.create(subscriber=subscriber, edition_date=dt.date(2025, 9, 4), message_id="<b@x>")
    for position, (paper, score, interest, why) in enumerate(
        [
            (papers[2], 0.812345678, "robots", "Matches your topic \u201crobots\u201d"),
            (papers[0], 0.5, "robots", "Partly matches your topic \u201crobots\u201d"),
            (papers[1], 0.0, "", "Trending today: 12 upvotes"),
        ]
    ):
        DeliveryItem.objects.create(
            delivery=planned, paper=paper, position=position, score=score, matched_interest=interest, why=why
        )

    new = migrate([("digest", "0006_delivery_carried")])

    rows = new.get_model("digest", "Delivery").objects
    assert rows.get(pk=planned.pk).carried == {
        "papers": [papers[2].pk, papers[0].pk, papers[1].pk],
        "scores": [0.8123, 0.5, 0],
        "whys": [
            "Matches your topic \u201crobots\u201d",
            "Partly matches your topic \u201crobots\u201d",
            "Trending today: 12 upvotes",
        ],
        "why_of": "012",
        "interests": ["robots", ""],
        "interest_of": "001",
    }
    assert rows.get(pk=empty.pk).carried == {}
    assert "digest_deliveryitem" not in connection.introspection.table_names()

    back = migrate([("digest", "0005_bounces")])

    items = back.get_model("digest", "DeliveryItem").objects.filter(delivery_id=planned.pk).order_by("position")
    assert [(i.paper_id, i.score, i.matched_interest, i.why[:7]) for i in items] == [
        (papers[2].pk, 0.8123, "robots", "Matches"),
        (papers[0].pk, 0.5, "robots", "Partly "),
        (papers[1].pk, 0.0, "", "Trendin"),
    ]
