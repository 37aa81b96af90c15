"""The first preference center after start-up does not wait: ingest prepares what ranking needs
(paper vectors on the rows, sentence vectors in the shared cache) and a web process started with
PAPERBOY_WARM_UP (as Procfile.dev sets it) loads the model before it serves. How long the pages
take is shown by `benchmark_first_load`, which a test here runs against a real server process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command

from digest.management.commands.ingest_papers import SAMPLE_DATE, SAMPLE_DAY
from digest.matching import semantic
from digest.models import Paper
from subscriptions.models import Subscriber
from tests.conftest import PROJECT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]


@pytest.fixture
def cache_shared_with_other_processes(settings, tmp_path: Path, monkeypatch) -> None:
    """The configured cache without conftest's per-test KEY_PREFIX: where ingest leaves the
    sentence vectors for another process to find."""
    shared = {k: v for k, v in django_settings.CACHES["default"].items() if k != "KEY_PREFIX"}
    if shared["BACKEND"].endswith("FileBasedCache"):
        shared["LOCATION"] = str(tmp_path / "cache")
        monkeypatch.setenv("PAPERBOY_VAR_DIR", str(tmp_path))
    settings.CACHES = {"default": shared}


def ingest_sample_day() -> list[Paper]:
    call_command("ingest_papers", "--file", str(SAMPLE_DAY), "--date", SAMPLE_DATE.isoformat())
    return list(Paper.objects.filter(edition_date=SAMPLE_DATE))


def missing_sentence_vectors(papers: list[Paper]) -> list[str]:
    kind = semantic.vector_kind()
    keys = {semantic.cache_key(kind, s): s for p in papers for s in semantic.abstract_sentences(p)}
    found = cache.get_many(list(keys))
    return [sentence for key, sentence in keys.items() if key not in found]


def test_ingest_leaves_every_vector_the_first_preview_needs(cache_shared_with_other_processes, settings):
    papers = ingest_sample_day()
    assert len(papers) == 50
    kind = semantic.vector_kind()
    assert {p.vector_kind for p in papers} == {kind}
    assert all(len(p.vector) == semantic.dimensions() * 4 for p in papers)  # float32 rows
    if not kind.startswith("st:"):
        pytest.skip(f"sentence vectors are cached only for the sentence model (this process: {semantic.status()})")
    assert sum(len(semantic.abstract_sentences(p)) for p in papers) > len(papers)
    assert missing_sentence_vectors(papers) == []

    # A shared cache that has lost them (evicted, restarted) gets them again on the next ingest,
    # though this process still holds them in memory.
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"emptied-{time.time_ns()}"}}
    assert len(missing_sentence_vectors(papers)) > len(papers)
    ingest_sample_day()
    assert missing_sentence_vectors(papers) == []


@pytest.mark.parametrize("warm_up, loaded", [("true", "1"), ("false", "0")])
def test_a_process_started_with_warm_up_has_its_model_loaded_before_it_serves(warm_up: str, loaded: str):
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from digest.matching import semantic;"
         " print(semantic.load_encoder.cache_info().currsize)"],
        cwd=PROJECT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PAPERBOY_WARM_UP": warm_up},
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    assert started.stdout.split()[-1] == loaded


@pytest.mark.worker
def test_benchmark_first_load_times_each_page_on_a_real_server(cache_shared_with_other_processes, capsys):
    ingest_sample_day()
    capsys.readouterr()
    call_command("benchmark_first_load")
    lines = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(lines[-1])
    with capsys.disabled():
        print("\n  " + "\n  ".join(lines[:-1]))
    assert figures["edition"] == SAMPLE_DATE.isoformat()
    assert figures["papers"] == 50
    assert list(figures["pages"]) == ["preference center, first", "preference center, again", "signup page"]
    for name, page in figures["pages"].items():
        assert page["status"] == 200, name
        assert page["shown"], f"{name} does not show {page['shows']!r}"
        assert any(line.startswith(f"{name}: ") and line.endswith(" s (HTTP 200)") for line in lines), lines
    slowest = max(page["seconds"] for page in figures["pages"].values())
    assert figures["slowest_seconds"] == round(slowest, 3)
    assert not Subscriber.objects.exists()  # the throwaway reader is gone
