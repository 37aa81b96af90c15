"""Time the staff pages on a large made-up list, inside a transaction that is rolled back."""

from __future__ import annotations

import datetime as dt
import time
from email.utils import make_msgid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from digest import carried
from digest.models import Delivery, Edition, Paper
from digest.staff import dashboard
from subscriptions.models import Interest, Subscriber

STATUSES = [Delivery.Status.SENT] * 17 + [
    Delivery.Status.FAILED_TEMPORARY,
    Delivery.Status.PENDING,
    Delivery.Status.FAILED_PERMANENT,
]


class RollbackError(Exception):
    """Raised on purpose so the benchmark's rows are never kept."""


class DashboardBenchmark(BaseCommand):
    """Run by `manage.py benchmark_dashboard`."""

    help = "Build a large list in a rolled-back transaction and time the dashboard and changelists."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subscribers", type=int, default=10_000)
        parser.add_argument("--days", type=int, default=14, help="Editions, each delivered to every subscriber")

    def handle(self, *args, subscribers: int, days: int, **options) -> None:
        try:
            with transaction.atomic():
                self.populate(subscribers, days)
                self.measure()
                raise RollbackError
        except RollbackError:
            self.stdout.write("(all rows rolled back)")

    def populate(self, count: int, days: int) -> None:
        started = time.perf_counter()
        today = timezone.now().date()
        people = Subscriber.objects.bulk_create(
            Subscriber(email=f"bench{n}@example.com", status=Subscriber.Status.ACTIVE, confirmed_at=timezone.now())
            for n in range(count)
        )
        Interest.objects.bulk_create(Interest(subscriber=s, value=f"topic {s.pk % 50}") for s in people)
        for back in range(days):
            date = today - dt.timedelta(days=back)
            Edition.objects.create(date=date, ingested_at=timezone.now(), source_report={"hf": {"papers": 10}})
            papers = Paper.objects.bulk_create(
                Paper(arxiv_id=f"bench.{back}.{n}", title=f"Paper {n}", edition_date=date) for n in range(10)
            )
            Delivery.objects.bulk_create(
                Delivery(
                    subscriber=s,
                    edition_date=date,
                    status=STATUSES[i % 20],
                    message_id=make_msgid("bench"),
                    carried=carried.pack([(papers[i % 10].pk, 1.0, "", "")]),
                )
                for i, s in enumerate(people)
            )
        self.stdout.write(
            f"{count} subscribers, {count * days} deliveries over {days} days "
            f"(made in {time.perf_counter() - started:.1f} s)"
        )

    def measure(self) -> None:
        self.timed("dashboard figures (digest.staff.dashboard.build)", dashboard.build)
        client = Client(headers={"host": "localhost"}, secure=True)
        client.force_login(get_user_model().objects.create_superuser("bench-staff", "bench@example.com", "x"))
        for name in [
            "dashboard",
            "dashboard-progress",
            "subscriptions_subscriber_changelist",
            "digest_delivery_changelist",
        ]:
            url = reverse(f"admin:{name}")
            self.timed(f"GET {url}", lambda url=url: client.get(url).status_code)

    def timed(self, label: str, work) -> None:
        work()  # warm caches and templates
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            work()
            elapsed = time.perf_counter() - started
        self.stdout.write(f"{label}: {elapsed * 1000:.0f} ms, {len(queries)} queries")
