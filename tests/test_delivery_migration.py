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
