"""The delivery benchmark (manage.py benchmark_digest): a synthetic day and synthetic readers,
sent through the real pipeline: plan (match + write rows + fan out), then render and send in
K Celery worker processes on Redis, to an SMTP server, with PostgreSQL as the database.

Everything it creates is marked (the day BENCHMARK_DATE, ids starting "bench.", addresses
@bench.paperboy.invalid) and removed before the next run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from digest import carried, day, deliver
from digest.ingest import ingest_records
from digest.models import Delivery, Edition, Paper
from digest.sources import PaperRecord, parse_hf_items
from subscriptions.models import Interest, Subscriber

BENCHMARK_DATE = dt.date(1999, 12, 31)
DOMAIN = "bench.paperboy.invalid"
SAMPLE_DAY = Path(__file__).resolve().parents[2] / "sample_day" / "hf-daily-papers.json"
PROJECT = Path(__file__).resolve().parents[3]
STALL_SECONDS = 120
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Asia/Kolkata", "America/Los_Angeles"]
# Broad interests many readers share, on top of the sample day's own keywords.
COMMON_TOPICS = [
    "large language models",
    "reinforcement learning",
    "diffusion models",
    "multimodal reasoning",
    "robot manipulation",
    "video generation",
    "retrieval augmented generation",
    "agents",
    "state space models",
    "speech recognition",
]


@dataclasses.dataclass
class Figures:
    subscribers: int
    papers: int
    workers: int
    concurrency: int
    smtp: str
    planning: str = "central"
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    emails_per_s: float = 0.0
    sent: int = 0
    failed: int = 0
    mean_message_bytes: int = 0
    peak_rss_mb: dict[str, float] = dataclasses.field(default_factory=dict)
    # The raw rate of the wire: Postfix's smtp-source against the same server, sessions and
    # message size, right after the run (None when smtp-source is not installed).
    smtp_source_per_s: float | None = None
    ratio_to_smtp_source: float | None = None
    # What the plan and the sending cost the shared services, per email sent.
    postgres_per_email: dict[str, float] = dataclasses.field(default_factory=dict)
    redis_commands_per_email: float = 0.0
    # The rows the plan wrote, scaled to 100,000 deliveries (plan_mb_per_100k_deliveries).
    plan_mb_per_100k_deliveries: dict[str, float] = dataclasses.field(default_factory=dict)

    def json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


@contextmanager
def timed(figures: Figures, stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    figures.seconds[stage] = round(time.perf_counter() - started, 2)


# --- The synthetic day and readers --------------------------------------------------------


def clear() -> None:
    Delivery.objects.filter(edition_date=BENCHMARK_DATE).delete()
    Subscriber.objects.filter(email__endswith=f"@{DOMAIN}").delete()
    Paper.objects.filter(edition_date=BENCHMARK_DATE).delete()
    Edition.objects.filter(date=BENCHMARK_DATE).delete()


def sample_records() -> list[PaperRecord]:
    return parse_hf_items(json.loads(SAMPLE_DAY.read_text()))


def make_day(count: int, rng: random.Random) -> Edition:
    """`count` papers: the sample day's, then variations of them (sentences shuffled, a
    qualifier in the title, other upvotes), so the ranking has real text to work on."""
    records = []
    for n, base in zip(range(count), cycle(sample_records()), strict=False):
        sentences = base.abstract.split(". ")
        if n >= 98:
            rng.shuffle(sentences)
        records.append(
            dataclasses.replace(
                base,
                arxiv_id=f"bench.{n:06d}",
                title=base.title if n < 98 else f"{base.title} ({rng.choice(['revisited', 'at scale', 'v2'])})",
                abstract=". ".join(sentences),
                upvotes=rng.randint(0, 300),
            )
        )
    ingest_records(records, BENCHMARK_DATE)
    return Edition.objects.get(date=BENCHMARK_DATE)


def cycle(records: list[PaperRecord]) -> Iterator[PaperRecord]:
    while True:
        yield from records


def topic_pool() -> list[str]:
    keywords = {k.lower() for r in sample_records() for k in r.ai_keywords if 1 <= len(k.split()) <= 4}
    return COMMON_TOPICS + sorted(keywords)


def make_subscribers(count: int, rng: random.Random) -> None:
    """Readers with overlapping interests: topics drawn with a Zipf-like skew, so popular
    topics are shared by many and the tail by few; one in ten follows no topic (trending)."""
    pool = topic_pool()
    weights = [1 / (rank + 1) for rank in range(len(pool))]
    weekday = BENCHMARK_DATE.weekday()
    for start in range(0, count, 5000):
        subscribers = Subscriber.objects.bulk_create(
            Subscriber(
                email=f"reader{n:07d}@{DOMAIN}",
                status=Subscriber.Status.ACTIVE,
                timezone=rng.choice(ZONES),
                send_hour=rng.randrange(24),
                frequency=Subscriber.Frequency.WEEKLY if n % 10 == 9 else Subscriber.Frequency.DAILY,
                weekly_day=weekday,
            )
            for n in range(start, min(count, start + 5000))
        )
        interests = [
            Interest(subscriber=s, value=topic)
            for s in subscribers
            if rng.random() >= 0.1
            for topic in set(rng.choices(pool, weights, k=rng.randint(1, 3)))
        ]
        Interest.objects.bulk_create(interests, ignore_conflicts=True)


# --- The SMTP server and the workers --------------------------------------------------------


class CountingSink:
    """A fast SMTP server of our own (aiosmtpd) when no --smtp is given: takes and discards."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # a line per SMTP command otherwise
        self.messages = 0
        self.bytes = 0
        self.lock = threading.Lock()
        with socket.socket() as probe:  # aiosmtpd needs a port number of its own
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        with self.lock:
            self.messages += 1
            self.bytes += len(envelope.original_content or b"")
        return "250 OK"

    def start(self) -> tuple[str, int]:
        self.controller.start()
        return "127.0.0.1", self.port

    def stop(self) -> None:
        self.controller.stop()


def celery_worker_command(queue: str, concurrency: int, loglevel: str) -> list[str]:
    """A `celery worker` on a queue of its own (CELERY_QUEUE=queue in its environment) and its
    plan queue (CELERY_PLAN_QUEUE's default), without the chatter between workers that a
    short-lived benchmark or test worker does not need."""
    return [
        *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork"),
        f"--concurrency={concurrency}",
        *("-Q", f"{queue},{queue}-plan", "--without-gossip", "--without-mingle", f"--loglevel={loglevel}"),
    ]


def start_workers(count: int, concurrency: int, host: str, port: int, queue: str) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "CELERY_QUEUE": queue,
        "EMAIL_HOST": host,
        "EMAIL_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "DATABASE_CONN_MAX_AGE": "600",
        **production_mode(),
    }
    command = celery_worker_command(queue, concurrency, "WARNING")
    workers = [
        subprocess.Popen(
            [*command, "-n", f"bench{n}-{os.getpid()}@%h"], cwd=PROJECT, env=env, stdout=subprocess.DEVNULL
        )
        for n in range(count)
    ]
    deadline = time.monotonic() + 120
    while not all(pool_pids(w) for w in workers):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            stop_workers(workers)
            raise RuntimeError("the Celery workers did not start")
        time.sleep(0.2)
    time.sleep(1)  # connected and consuming
    return workers


def production_mode() -> dict[str, str]:
    """Workers run as in production, DEBUG off (DEBUG keeps every query in memory), with the
    secret and https SITE_URL that then requires; the benchmark's own links go nowhere."""
    site_url = os.environ.get("SITE_URL", "")
    return {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        "SITE_URL": site_url if site_url.startswith("https://") else "https://paperboy.example",
    }


def pool_pids(worker: subprocess.Popen) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()]
    except OSError:
        return []


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()


# --- The run --------------------------------------------------------------------------------


def unfinished() -> int:
    return Delivery.objects.filter(
        edition_date=BENCHMARK_DATE, status__in=[*Delivery.SENDABLE, Delivery.Status.SENDING]
    ).count()


def mean_message_bytes(sample: int = 200) -> int:
    """The size on the wire of a sample of the emails sent, rendered again here."""
    deliveries = list(
        Delivery.objects.filter(edition_date=BENCHMARK_DATE, status=Delivery.Status.SENT)
        .select_related("subscriber")
        .order_by("?")[:sample]
    )
    carried.prefetch(deliveries)
    sizes = [len(deliver.render(d).message().as_bytes()) for d in deliveries]
    return round(sum(sizes) / len(sizes)) if sizes else 0


SMTP_SOURCE = Path("/usr/sbin/smtp-source")
SMTP_SOURCE_MESSAGES = 20_000


def smtp_source_rate(
    host: str, port: int, sessions: int, size: int, messages: int = SMTP_SOURCE_MESSAGES
) -> float | None:
    """Messages per second Postfix's smtp-source sends to the server (-s sessions in parallel,
    -l bytes each): the speed limit of the wire and the server, with no work per message."""
    if not SMTP_SOURCE.exists():
        return None
    started = time.perf_counter()
    subprocess.run(
        [str(SMTP_SOURCE), "-s", str(sessions), "-m", str(messages), "-l", str(max(size, 1)), f"{host}:{port}"],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return round(messages / (time.perf_counter() - started), 1)


POSTGRES_COUNTERS = ("xact_commit", "tup_inserted", "tup_updated", "tup_deleted")


def postgres_counters() -> dict[str, int]:
    """This database's cumulative commits and rows written (pg_stat_database), as of now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # this backend's own counts too
        cursor.execute(
            f"SELECT {', '.join(POSTGRES_COUNTERS)} FROM pg_stat_database WHERE datname = current_database()"
        )
        return dict(zip(POSTGRES_COUNTERS, cursor.fetchone(), strict=True))


def redis_commands() -> int:
    """Commands the broker's Redis has processed since it started (all its clients)."""
    import redis

    return int(redis.Redis.from_url(settings.CELERY_BROKER_URL).info("stats")["total_commands_processed"])


def plan_mb_per_100k_deliveries() -> dict[str, float]:
    """What the plan of the benchmark's edition takes, scaled to 100,000 deliveries: the Delivery
    rows' data (pg_column_size plus each tuple's header and line pointer; what each email
    carried is in them, digest/carried.py), and pg_total_relation_size of the table (with its
    TOAST and indexes, which also hold any other rows and free space: the benchmark's run
    removes the previous run's rows first)."""
    table = Delivery._meta.db_table
    deliveries = Delivery.objects.filter(edition_date=BENCHMARK_DATE).count()
    if not deliveries:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(pg_column_size(t.*) + 28), 0) FROM {table} t WHERE t.edition_date = %s",
            [BENCHMARK_DATE],
        )
        rows = cursor.fetchone()[0]
        cursor.execute("SELECT pg_total_relation_size(%s), (SELECT COUNT(*) FROM " + table + ")", [table])
        total, all_rows = cursor.fetchone()
    return {
        f"{table} rows": round(rows * 100_000 / deliveries / 2**20, 1),
        f"{table} total": round(total * 100_000 / max(all_rows, 1) / 2**20, 1),
    }


def plan(edition: Edition, queue: str, planning: str, figures: Figures) -> int:
    """Plan the day as production does: "shard" hands chunks of subscribers to the workers, who
    plan, match and send them (the beat task's way); "central" plans everyone here and fans out
    send batches (plan_day's). Returns how many deliveries to wait for."""
    from digest.tasks import plan_and_send, send_batch

    now = timezone.now()
    if planning == "shard":
        handed = []

        def shard_out(date: dt.date, frequency: str, pks: list[int]) -> None:
            handed.extend(pks)
            plan_and_send.apply_async([date.isoformat(), frequency, pks], queue=queue)

        deliver.shard_edition(edition, now, respect_send_hour=False, shard_out=shard_out)
        return len(handed)
    result = deliver.plan_edition(
        edition, now, respect_send_hour=False, fan_out=lambda ids: send_batch.apply_async([ids], queue=queue)
    )
    figures.seconds["match"] = round(result.match_seconds, 2)
    return result.planned


def wait_for_the_workers(expected: int, queue: str, progress, smtp: str) -> None:
    """Until every delivery is planned and finished, or nothing is left to do: the queue empty
    and no delivery finished for a while (subscribers with nothing matched get none)."""
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    done, moved_at = 0, time.monotonic()
    while True:
        rows = Delivery.objects.filter(edition_date=BENCHMARK_DATE)
        finished = rows.exclude(status__in=[*Delivery.SENDABLE, Delivery.Status.SENDING]).count()
        if finished > done:
            progress.advance(finished - done)
            done, moved_at = finished, time.monotonic()
        if finished >= expected or (not broker.llen(queue) and not unfinished() and time.monotonic() - moved_at > 10):
            return
        if time.monotonic() - moved_at > STALL_SECONDS:
            raise RuntimeError(f"No email sent for {STALL_SECONDS} s: is the SMTP server at {smtp} up?")
        time.sleep(0.5)


def check_setup() -> None:
    if connection.vendor != "postgresql":
        raise RuntimeError("The benchmark runs on PostgreSQL: set DATABASE_URL=postgres://...")
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        raise RuntimeError("The benchmark runs its workers on Redis: set REDIS_URL=redis://...")


def run(
    subscribers: int,
    papers: int,
    workers: int,
    concurrency: int,
    smtp: tuple[str, int] | None,
    progress_factory,
    smtp_source_messages: int = SMTP_SOURCE_MESSAGES,
    planning: str = "central",
) -> Figures:

    check_setup()
    settings.DEBUG = False  # as in production and in the workers: no query kept in memory
    rng = random.Random(2025)
    figures = Figures(
        subscribers,
        papers,
        workers,
        concurrency,
        smtp=f"{smtp[0]}:{smtp[1]}" if smtp else "aiosmtpd (built in)",
        planning=planning,
    )
    with timed(figures, "setup"):
        clear()
        edition = make_day(papers, rng)
        make_subscribers(subscribers, rng)
    with timed(figures, "prepare"):
        # Ingest's work, once per edition (hours before sending): the papers' vectors on their
        # rows, the sentence vectors in the shared cache. Not in "total".
        day.prepare_matching(BENCHMARK_DATE)
    sink = None if smtp else CountingSink()
    host, port = smtp or sink.start()
    queue = f"paperboy-benchmark-{os.getpid()}"
    processes = start_workers(workers, concurrency, host, port, queue)
    try:
        postgres_before, redis_before = postgres_counters(), redis_commands()
        started = time.perf_counter()
        with timed(figures, "plan"):
            expected = plan(edition, queue, planning, figures)
        with timed(figures, "send_after_plan"), progress_factory(expected) as progress:
            wait_for_the_workers(expected, queue, progress, f"{host}:{port}")
        figures.seconds["total"] = round(time.perf_counter() - started, 2)
        time.sleep(1.5)  # the workers' statistics reach pg_stat_database within a second
        postgres_after, redis_after = postgres_counters(), redis_commands()
        figures.peak_rss_mb = {"command": peak_rss_mb(os.getpid())}
        for n, worker in enumerate(processes):
            for pid in [worker.pid, *pool_pids(worker)]:
                label = f"worker{n + 1}" if pid == worker.pid else f"worker{n + 1}-pool"
                figures.peak_rss_mb[label] = peak_rss_mb(pid)
        figures.mean_message_bytes = mean_message_bytes()
        # The same server, as many sessions as the workers had, messages of the same size.
        if smtp_source_messages:
            figures.smtp_source_per_s = smtp_source_rate(
                host, port, workers * concurrency, figures.mean_message_bytes, smtp_source_messages
            )
    finally:
        stop_workers(processes)
        if sink:
            sink.stop()
    figures.sent = Delivery.objects.filter(edition_date=BENCHMARK_DATE, status=Delivery.Status.SENT).count()
    figures.failed = Delivery.objects.filter(edition_date=BENCHMARK_DATE).exclude(status=Delivery.Status.SENT).count()
    figures.emails_per_s = round(figures.sent / figures.seconds["total"], 1) if figures.seconds["total"] else 0.0
    if figures.sent:
        figures.postgres_per_email = {
            name: round((postgres_after[name] - postgres_before[name]) / figures.sent, 2) for name in POSTGRES_COUNTERS
        }
        figures.redis_commands_per_email = round((redis_after - redis_before) / figures.sent, 2)
    figures.plan_mb_per_100k_deliveries = plan_mb_per_100k_deliveries()
    if figures.smtp_source_per_s:
        figures.ratio_to_smtp_source = round(figures.emails_per_s / figures.smtp_source_per_s, 3)
    return figures
