from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from digest import sources
from digest.day import latest_edition
from digest.ingest import ingest_records
from digest.management.commands.ingest_papers import SAMPLE_DATE, SAMPLE_DAY, iso_date
from digest.models import Paper
from digest.render import TRENDING_COUNT, DigestItem, EditionRenderer, stats
from mailing import wire
from subscriptions.models import DEFAULT_MAX_PAPERS, Subscriber

WARM_UP = 100  # by then every paper the benchmark uses has been inlined


class RenderBenchmark(BaseCommand):
    """Run by `manage.py benchmark_render`."""

    help = (
        "Render one edition's digest for many made-up subscribers, in memory (nothing is saved or "
        "sent), and print the time per email and how many times premailer ran. Uses the newest "
        "edition, or the bundled sample day when there is none (loaded and rolled back)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subscribers", type=int, default=10_000, help="default: %(default)s")
        parser.add_argument("--papers", type=int, default=DEFAULT_MAX_PAPERS, help="per email; default: %(default)s")
        parser.add_argument("--date", type=iso_date, help="the edition, YYYY-MM-DD (default: the newest)")

    def handle(self, *args, subscribers: int, papers: int, date: dt.date | None, **options) -> None:
        if subscribers < 1 or papers < 1:
            raise CommandError("--subscribers and --papers must be at least 1")
        with transaction.atomic():
            edition = latest_edition(date)
            if edition is None:
                self.stdout.write(f"No edition in the database: using the bundled sample day ({SAMPLE_DATE}).")
                ingest_records(sources.parse_file(SAMPLE_DAY.read_bytes())[1], SAMPLE_DATE)
                edition = latest_edition(SAMPLE_DATE)
            self.run(edition.date, list(edition.papers().order_by("-upvotes", "arxiv_id")), subscribers, papers)
            transaction.set_rollback(True)

    def run(self, edition_date: dt.date, papers: list[Paper], count: int, per_email: int) -> None:
        renderer = EditionRenderer(edition_date)  # a fresh one: the first emails pay for the inlining
        readers = [Subscriber(pk=1_000_000 + n, email=f"reader{n}@example.com") for n in range(count)]
        calls_before = stats.premailer_calls
        calls_after_warm_up = None
        sizes = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        for n, reader in enumerate(readers):
            message = renderer.message(reader, picks(papers, n, per_email), f"<bench-{n}@example.org>")
            sizes += len(message.alternatives[0][0])
            if n + 1 == min(WARM_UP, count):
                calls_after_warm_up = stats.premailer_calls - calls_before
                warm_started, warm_cpu_started = time.perf_counter(), time.process_time()
        finished, cpu_finished = time.perf_counter(), time.process_time()
        calls = stats.premailer_calls - calls_before
        steady = count - min(WARM_UP, count)
        django_ms, wire_ms = time_serialising(renderer, readers[: min(500, count)], papers, per_email)
        self.stdout.write(
            f"Edition {edition_date}: {len(papers)} papers; {count} subscribers, {per_email} papers each "
            f"(+ up to {TRENDING_COUNT} trending)\n"
            f"render time per email: {(finished - started) * 1000 / count:.3f} ms over all {count} "
            f"(inlining included)"
            + (f", {(finished - warm_started) * 1000 / steady:.3f} ms after the first {WARM_UP}" if steady else "")
            + "\n"
            f"CPU time per email (this process only, not time spent waiting for a shared core): "
            f"{(cpu_finished - cpu_started) * 1000 / count:.3f} ms over all"
            + (
                f", {(cpu_finished - warm_cpu_started) * 1000 / steady:.3f} ms after the first {WARM_UP}"
                if steady
                else ""
            )
            + "\n"
            f"premailer calls: {calls} in all ({calls_after_warm_up} after the first {min(WARM_UP, count)} emails: "
            f"it grows with the edition's papers, not with subscribers)\n"
            f"average HTML size: {sizes / count / 1000:.1f} KB\n"
            f"message bytes (the SMTP backend's work at send time, not rendering): {wire_ms:.3f} ms per email "
            f"written directly (mailing/wire.py), {django_ms:.3f} ms through Django's email.message tree"
        )


def picks(papers: list[Paper], n: int, per_email: int) -> list[DigestItem]:
    """A different slice of the edition for each reader, as matching would give."""
    start = (n * 7) % len(papers)
    chosen = (papers[start:] + papers[:start])[:per_email]
    return [DigestItem(p, f"Matches your topic \u201ctopic {n % 50}\u201d", f"topic {n % 50}") for p in chosen]


def time_serialising(
    renderer: EditionRenderer, readers: list[Subscriber], papers: list[Paper], per_email: int
) -> tuple[float, float]:
    """Milliseconds per message to turn it into bytes: Django's way, and mailing/wire.py's."""
    messages = [renderer.message(r, picks(papers, n, per_email), f"<s-{n}@example.org>") for n, r in enumerate(readers)]
    started = time.perf_counter()
    for message in messages:
        message.message().as_bytes(linesep="\r\n")
    django_done = time.perf_counter()
    for message in messages:
        wire.message_bytes(message)
    wire_done = time.perf_counter()
    return (django_done - started) * 1000 / len(messages), (wire_done - django_done) * 1000 / len(messages)
