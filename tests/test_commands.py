"""The ingest_papers and rank_papers management commands, as an operator runs them."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from digest.management.commands.ingest_papers import SAMPLE_DATE, SAMPLE_DAY, SAMPLE_WEEK
from digest.models import Edition, Paper
from tests.conftest import DAY, FIXTURES, PROJECT, SAMPLE_WEEK_DIR

EDITION = dt.date.fromisoformat(DAY)
pytestmark = pytest.mark.usefixtures("on_the_recorded_day")
HF_DAY = FIXTURES / f"hf-{DAY}-p0.json"
SEED_DAY = SAMPLE_WEEK_DIR / "hf-daily-papers.json"  # the evaluation's labelled day, which rank_papers tests rank
ATOM_FEED = FIXTURES / "arxiv-cs.CL.atom"


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def ingest_file(path: Path) -> str:
    return run("ingest_papers", "--file", str(path), "--date", DAY)


def manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PROJECT / ".venv" / "bin" / "python"), "manage.py", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def rank_json(*args: str) -> list[dict]:
    return json.loads(run("rank_papers", "--papers", str(SEED_DAY), *args, "--json"))


# --- ingest_papers --file ---------------------------------------------------------------


@pytest.mark.django_db
def test_ingest_papers_loads_a_saved_hf_json_day():
    output = ingest_file(HF_DAY)

    assert f"50 papers read from {HF_DAY} (hf); 50 new, 0 updated, 0 unchanged" in output
    assert Paper.objects.filter(edition_date=EDITION).count() == 50
    assert Paper.objects.get(arxiv_id="2509.00001").upvotes == 85
    assert Edition.objects.get(date=EDITION).source_report == {f"file:{HF_DAY.name}": {"papers": 50}}


@pytest.mark.django_db
def test_ingest_papers_loads_a_saved_atom_feed():
    output = ingest_file(ATOM_FEED)

    assert f"55 papers read from {ATOM_FEED} (arxiv); 55 new" in output
    assert Paper.objects.count() == 55
    paper = Paper.objects.get(arxiv_id="2509.00001")
    assert paper.sources == ["arxiv"]
    assert paper.categories == ["cs.RO", "cs.CV", "cs.CL", "cs.LG"]


@pytest.mark.django_db
def test_ingest_papers_loads_a_saved_rss_feed():
    output = ingest_file(FIXTURES / "arxiv-cs.CV.rss")

    assert "24 papers read" in output
    assert "(arxiv); 24 new" in output
    assert Paper.objects.count() == 24


@pytest.mark.django_db
def test_ingest_papers_with_the_same_file_twice_reports_nothing_new():
    ingest_file(HF_DAY)
    before = dict(Paper.objects.values_list("arxiv_id", "updated_at"))

    output = ingest_file(HF_DAY)

    assert "0 new, 0 updated, 50 unchanged" in output
    assert dict(Paper.objects.values_list("arxiv_id", "updated_at")) == before


@pytest.mark.django_db
def test_ingest_papers_of_a_broken_json_file_fails_clearly_and_stores_nothing(tmp_path):
    broken = tmp_path / "hf-day.json"
    broken.write_bytes(HF_DAY.read_bytes()[:5000])

    with pytest.raises(CommandError, match=r"hf-day\.json is not a paper list we can read: invalid JSON"):
        ingest_file(broken)

    assert Paper.objects.count() == 0
    assert Edition.objects.count() == 0


@pytest.mark.django_db
def test_ingest_papers_of_a_malformed_feed_fails_clearly_and_stores_nothing():
    with pytest.raises(CommandError, match=r"arxiv-malformed\.atom is not a paper list we can read"):
        ingest_file(FIXTURES / "arxiv-malformed.atom")

    assert Paper.objects.count() == 0


@pytest.mark.django_db
def test_ingest_papers_of_a_file_in_another_format_fails_clearly(tmp_path):
    csv = tmp_path / "papers.csv"
    csv.write_text("arxiv_id,title\n2509.00001,EMAC+\n")

    with pytest.raises(CommandError, match="neither a Hugging Face JSON day nor an RSS/Atom feed"):
        ingest_file(csv)

    assert Paper.objects.count() == 0


@pytest.mark.django_db
def test_ingest_papers_of_a_missing_file_fails_clearly(tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.json: No such file or directory"):
        ingest_file(tmp_path / "missing.json")


@pytest.mark.parametrize("bad_date", ["2025-13-45", "03/09/2025", "yesterday"])
def test_ingest_papers_rejects_a_bad_date_with_the_expected_format(bad_date):
    with pytest.raises(CommandError, match=f"argument --date: must look like 2025-09-03, not '{bad_date}'"):
        run("ingest_papers", "--date", bad_date, "--file", str(HF_DAY))


def test_ingest_papers_on_the_command_line_rejects_a_bad_date_without_a_traceback():
    result = manage("ingest_papers", "--date", "2025-13-45")

    assert result.returncode != 0
    assert "argument --date: must look like 2025-09-03, not '2025-13-45'" in result.stderr
    assert "Traceback" not in result.stderr


# --- ingest_papers from the sources -----------------------------------------------------


@pytest.mark.django_db
def test_ingest_papers_fetches_the_day_from_the_sources(feed_server):
    output = run("ingest_papers", "--date", DAY, "--sample-if-offline")

    assert output.startswith(f"{DAY}: 98 new, ")
    assert "sample day" not in output
    assert Paper.objects.count() == 98
    assert Paper.objects.get(arxiv_id="2509.00001").sources == ["arxiv", "hf"]


@pytest.mark.django_db
def test_ingest_papers_loads_the_sample_day_when_no_source_has_papers(feed_server, settings):
    feed_server.hf_days.clear()
    settings.PAPERBOY_ARXIV_CATEGORIES = ["nope"]

    with time_machine.travel(dt.datetime(2025, 9, 10, 21, 0, tzinfo=dt.UTC)):  # a week later, still offline
        output = run("ingest_papers", "--sample-if-offline")

    assert "2025-09-10: 0 new, 0 updated, 0 unchanged" in output
    assert (
        "No source gave any papers: loading the bundled sample week instead, real Hugging Face days "
        "from 7 May to Wednesday 13 May 2026 (the newest edition)." in output
    )
    assert f"2026-05-13: 50 papers read from {SAMPLE_DAY} (hf); 50 new" in output
    # The real week, each day its own edition, as Hugging Face listed them.
    days = dict(Edition.objects.filter(date__in=SAMPLE_WEEK).values_list("date", "source_report"))
    assert [days[day] for day in SAMPLE_WEEK] == [
        {f"file:hf-{day}.json": {"papers": count}} for day, count in zip(SAMPLE_WEEK, [16, 27, 41, 50, 50], strict=True)
    ]
    assert Paper.objects.filter(edition_date=SAMPLE_DATE).count() == 50
    top = Paper.objects.filter(edition_date=SAMPLE_DATE).order_by("-upvotes").first()
    assert top.arxiv_id == "2605.12500"  # a real arXiv id: its links lead to the real paper
    assert top.title == "SenseNova-U1: Unifying Multimodal Understanding and Generation with NEO-unify Architecture"
    assert top.ai_keywords[:2] == ["vision-language models", "multimodal intelligence"]
    assert top.thumbnail_url == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2605.12500.png"
    assert "404" in Edition.objects.get(date=dt.date(2025, 9, 10)).source_report["arxiv:nope"]["error"]


@pytest.mark.django_db
def test_ingest_papers_without_sample_flag_stores_nothing_when_offline(feed_server, settings):
    feed_server.hf_days.clear()
    settings.PAPERBOY_ARXIV_CATEGORIES = ["nope"]

    output = run("ingest_papers", "--date", DAY)

    lines = output.splitlines()
    assert lines[0] == f"{DAY}: 0 new, 0 updated, 0 unchanged"
    assert lines[1].startswith("  arxiv:nope: FAILED (") and "404" in lines[1]
    assert lines[2] == "  hf: 0 papers"
    assert "sample day" not in output
    assert Paper.objects.count() == 0


@pytest.mark.django_db
def test_ingest_papers_of_one_source_skips_the_other(feed_server):
    run("ingest_papers", "--date", DAY, "--source", "hf")

    assert Paper.objects.count() == 98
    assert not Paper.objects.exclude(sources=["hf"]).exists()
    assert not any(path.startswith("/atom/") for path in feed_server.requests)


# --- rank_papers (touches no database: these tests have no django_db) --------------------


def test_rank_papers_json_lists_the_best_matches_first():
    rows = rank_json("--topic", "reinforcement learning", "--topic", "robot manipulation", "--limit", "5")

    assert 0 < len(rows) <= 5
    assert all(set(row) == {"id", "title", "score", "why"} for row in rows)
    assert [row["score"] for row in rows] == sorted((row["score"] for row in rows), reverse=True)
    assert rows[0]["id"] == "2509.00086"
    assert rows[0]["title"].startswith("Inverse Reinforcement Learning Meets Large Language Model")
    assert rows[0]["why"] == "Matches your topic \u201creinforcement learning\u201d"
    by_id = {row["id"]: row for row in rows}
    assert by_id["2509.00012"]["why"] == "Matches your topic \u201crobot manipulation\u201d"


def test_rank_papers_json_of_a_topic_nobody_wrote_about_is_an_empty_list():
    assert rank_json("--topic", "quokka husbandry") == []


def test_rank_papers_prints_a_numbered_list_with_scores_and_reasons():
    output = run("rank_papers", "--papers", str(SEED_DAY), "--topic", "robots", "--limit", "2")
    mode, *lines = output.splitlines()

    assert mode.startswith("Ranking: ")  # semantic + lexical, or lexical only without the extra
    assert len(lines) == 4
    assert re.match(r" 1\. 0\.\d{3}  2509\.00091  Redefining Robot Generalization", lines[0])
    assert lines[1].strip() == "Matches your topic \u201crobots\u201d"
    assert lines[2].startswith(" 2. ")


def test_rank_papers_takes_interests_as_a_subscriber_types_them():
    rows = rank_json(
        "--interest", "continual learning", "--interest", "not: medical", "--interest", "2509.00010", "--limit", "40"
    )
    by_id = {row["id"]: row for row in rows}

    assert "2509.00082" not in by_id  # Towards General Purpose Medical AI: Continual Learning ...
    assert "2509.00010" not in by_id  # the seed paper itself
    assert by_id["2509.00035"]["why"] == "Matches your topic \u201ccontinual learning\u201d"
    assert by_id["2509.00012"]["why"].startswith("Similar to a paper you follow: \u201cLearning Diverse Bimanual")


def test_rank_papers_rejects_a_bad_interest_line():
    with pytest.raises(CommandError, match="'attention' is not an arXiv id"):
        rank_json("--interest", "paper: attention")


def test_rank_papers_says_so_when_nothing_matches():
    output = run("rank_papers", "--papers", str(SEED_DAY), "--topic", "quokka husbandry")

    assert output.strip().splitlines()[-1] == "No paper scored above the threshold."


def test_rank_papers_rejects_a_file_that_is_not_hf_json():
    with pytest.raises(CommandError, match=r"arxiv-cs\.CL\.atom is not a Hugging Face daily papers JSON file"):
        run("rank_papers", "--papers", str(ATOM_FEED), "--topic", "robots")


def test_rank_papers_of_a_missing_file_fails_clearly(tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*nope\.json: No such file or directory"):
        run("rank_papers", "--papers", str(tmp_path / "nope.json"), "--topic", "robots")


def test_rank_papers_copes_with_papers_whose_upvotes_are_null():
    output = run("rank_papers", "--papers", str(FIXTURES / "hf-optional-fields.json"), "--topic", "language models")

    assert "2509.00002" in output  # Bidirectional Language Models ..., upvotes: null


# --- --help -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "mentions"),
    [
        ("ingest_papers", ["--date", "--source", "--file", "--sample-if-offline", "YYYY-MM-DD", "RSS/Atom"]),
        ("rank_papers", ["--papers", "--topic", "--limit", "--json", "repeat for several", "id, title, score, why"]),
    ],
)
def test_help_describes_every_option(command, mentions):
    result = manage(command, "--help")

    assert result.returncode == 0, result.stderr
    help_text = " ".join(result.stdout.split())  # argparse wraps lines
    assert [m for m in mentions if m not in help_text] == []
