"""No reader-facing page takes more than a second on the sample day, the first request after
start-up included: ingest prepares what ranking needs, and a web process loads the model before
it serves (PAPERBOY_WARM_UP, as Procfile.dev sets it). Measured on a real server process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from digest.management.commands.ingest_papers import SAMPLE_DATE, SAMPLE_DAY
from subscriptions import links
from tests.conftest import PROJECT, database_url_of_test_db, free_port, wait_until
from tests.factories import make_subscriber

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]

LIMIT_SECONDS = 1.0


def timed_get(url: str) -> tuple[int, float, str]:
    started = time.perf_counter()
    with urlopen(url, timeout=60) as response:
        body = response.read().decode()
        return response.status, time.perf_counter() - started, body


def answers(url: str) -> bool:
    try:
        urlopen(url, timeout=2).read()
    except OSError:
        return False
    return True


def test_the_first_preference_center_after_start_up_takes_under_a_second(settings, tmp_path: Path, capsys):
    # One cache for this process and the server, without the per-test KEY_PREFIX of conftest:
    # where ingest leaves the vectors for the server to find.
    shared = {k: v for k, v in django_settings.CACHES["default"].items() if k != "KEY_PREFIX"}
    if shared["BACKEND"].endswith("FileBasedCache"):
        shared["LOCATION"] = str(tmp_path / "cache")
    settings.CACHES = {"default": shared}
    call_command("ingest_papers", "--file", str(SAMPLE_DAY), "--date", SAMPLE_DATE.isoformat())
    reader = make_subscriber("ada@example.com", "reinforcement learning", "robot manipulation", "cs.CV")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_test_db(),
        "PAPERBOY_VAR_DIR": str(tmp_path),
        "PAPERBOY_WARM_UP": "true",
        "SITE_URL": django_settings.SITE_URL,
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{base}/healthz?check=database"), 300, "the server to answer")
        timings = {}
        for name, path in [
            ("preference center, first", urlsplit(links.manage_url(reader.pk)).path),
            ("preference center, again", urlsplit(links.manage_url(reader.pk)).path),
            ("signup page", "/"),
        ]:
            status, seconds, _ = timed_get(base + path)
            assert status == 200
            timings[name] = seconds
        assert "Your next digest would hold" in timed_get(base + urlsplit(links.manage_url(reader.pk)).path)[2]
    finally:
        server.terminate()
        server.wait(30)
    with capsys.disabled():
        print("\n" + "\n".join(f"  {name}: {seconds:.2f} s" for name, seconds in timings.items()))
    assert max(timings.values()) < LIMIT_SECONDS, timings
