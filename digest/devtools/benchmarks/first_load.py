"""Time the reader-facing pages a freshly started web process serves first.

The first preference center after start-up is the page that used to wait for the model and the
edition's vectors (ingest now prepares them, and PAPERBOY_WARM_UP loads the model before the
process serves). This starts a real `runserver` process on the configured database, opens the
pages as a reader would and prints how long each took. The target (a second) is shown here,
not asserted by a test: timings depend on the machine's load.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from digest.day import latest_edition
from digest.management.commands.ingest_papers import iso_date
from subscriptions import links
from subscriptions.models import Interest, Subscriber

PROJECT = Path(settings.BASE_DIR)
TARGET_SECONDS = 1.0
START_TIMEOUT_SECONDS = 300
PREVIEW_HEADING = "Your next digest would hold"
TOPICS = ("reinforcement learning", "robot manipulation")


def database_url() -> str:
    """This process's database as a DATABASE_URL, for the server process (a test's database too)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, float, str]:
    started = time.perf_counter()
    with urlopen(url, timeout=120) as response:
        body = response.read().decode()
        return response.status, time.perf_counter() - started, body


def answers(url: str) -> bool:
    try:
        urlopen(url, timeout=2).read()
    except OSError:
        return False
    return True


class FirstLoadBenchmark(BaseCommand):
    """Run by `manage.py benchmark_first_load`."""

    help = (
        "Start a web process (with PAPERBOY_WARM_UP, as Procfile.dev does) on this database and time "
        "the first preference center it serves, a second one and the signup page, for a throwaway "
        "reader who is removed afterwards. Needs an ingested day (make sample-day)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_date, help="the edition, YYYY-MM-DD (default: the newest)")

    def handle(self, *args, date, **options) -> None:
        edition = latest_edition(date)
        if edition is None:
            raise CommandError("No edition with papers: ingest a day first (make sample-day or ingest_papers).")
        reader = Subscriber.objects.create(
            email=f"first-load-{uuid.uuid4().hex[:12]}@example.invalid", status=Subscriber.Status.ACTIVE
        )
        Interest.objects.bulk_create(Interest(subscriber=reader, value=topic) for topic in TOPICS)
        try:
            started = time.perf_counter()
            pages, start_up = self.time_pages(reader, started)
        finally:
            reader.delete()
        for name, figures in pages.items():
            self.stdout.write(f"{name}: {figures['seconds']:.2f} s (HTTP {figures['status']})")
        slowest = max(figures["seconds"] for figures in pages.values())
        verdict = "under" if slowest < TARGET_SECONDS else "OVER"
        self.stdout.write(f"slowest page {slowest:.2f} s: {verdict} the {TARGET_SECONDS:.0f} s target")
        summary = {
            "edition": edition.date.isoformat(),
            "papers": edition.papers().count(),
            "server_start_seconds": round(start_up, 2),
            "pages": {name: {**figures, "seconds": round(figures["seconds"], 3)} for name, figures in pages.items()},
            "slowest_seconds": round(slowest, 3),
            "target_seconds": TARGET_SECONDS,
        }
        self.stdout.write(json.dumps(summary))

    def time_pages(self, reader: Subscriber, started: float) -> tuple[dict[str, dict], float]:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url(), "PAPERBOY_WARM_UP": "true"}
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        manage = urlsplit(links.manage_url(reader.pk)).path
        try:
            while not answers(f"{base}/healthz?check=database"):
                if server.poll() is not None or time.perf_counter() - started > START_TIMEOUT_SECONDS:
                    raise CommandError(f"The web process did not start (exit code {server.poll()})")
                time.sleep(0.2)
            start_up = time.perf_counter() - started
            pages = {}
            for name, path, expected in [
                ("preference center, first", manage, PREVIEW_HEADING),
                ("preference center, again", manage, PREVIEW_HEADING),
                ("signup page", "/", "Sign up"),
            ]:
                status, seconds, body = fetch(base + path)
                pages[name] = {"status": status, "seconds": seconds, "shows": expected, "shown": expected in body}
            return pages, start_up
        finally:
            server.terminate()
            server.wait(30)
