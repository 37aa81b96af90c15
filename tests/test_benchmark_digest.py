"""benchmark_digest runs a small day through the real pipeline (planner, a Celery worker on
Redis, PostgreSQL, an SMTP server) and prints figures that agree with the rows it left."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection

from digest.devtools.benchmarks.digest import BENCHMARK_DATE, SMTP_SOURCE
from digest.models import Delivery
from tests.conftest import database_url_of_test_db, require_mail_tool

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]


@pytest.fixture
def on_postgresql_and_redis(settings, monkeypatch) -> None:
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("the benchmark runs on PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
    monkeypatch.setenv("DATABASE_URL", database_url_of_test_db())  # the workers' database: this test's


def test_the_figures_agree_with_the_rows_and_compare_with_smtp_source(on_postgresql_and_redis, capsys):
    require_mail_tool(SMTP_SOURCE, "postfix")
    call_command(
        "benchmark_digest", "--subscribers", "300", "--papers", "30", "--workers", "1", "--concurrency", "1",
        "--smtp-source-messages", "2000", "--planning", "shard",
    )  # fmt: skip
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    deliveries = Delivery.objects.filter(edition_date=BENCHMARK_DATE)
    assert figures["sent"] == deliveries.filter(status=Delivery.Status.SENT).count() > 250
    assert figures["failed"] == 0
    assert figures["emails_per_s"] == round(figures["sent"] / figures["seconds"]["total"], 1)
    assert figures["smtp_source_per_s"] > 0
    assert figures["ratio_to_smtp_source"] == round(figures["emails_per_s"] / figures["smtp_source_per_s"], 3)
    # Rows are claimed and recorded ten at a time (digest/claims.py), and each email writes rows of its own.
    assert 0 < figures["postgres_per_email"]["xact_commit"] < 1
    # Planning writes one row per email (what it carried is on it), sending updates them.
    assert figures["postgres_per_email"]["tup_inserted"] >= deliveries.count() / figures["sent"]
    assert figures["redis_commands_per_email"] > 0
    plan_mb = figures["plan_mb_per_100k_deliveries"]
    table = Delivery._meta.db_table
    assert set(plan_mb) == {f"{table} rows", f"{table} total"}
    assert plan_mb[f"{table} total"] >= plan_mb[f"{table} rows"] > 0  # with its TOAST, indexes and free space
    assert figures["mean_message_bytes"] > 10_000
