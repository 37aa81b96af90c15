"""Storing the sources' papers: one Paper per arXiv id, idempotent, a failing source isolated."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from digest.ingest import IngestResult, ingest_day, ingest_records
from digest.models import Edition, Paper
from digest.sources import parse_arxiv_feed, parse_hf_items
from tests.conftest import DAY, fixture_bytes, hf_day_items

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_the_recorded_day")]

EDITION = dt.date.fromisoformat(DAY)


def hf_records():
    return parse_hf_items(hf_day_items())


def arxiv_records(feed: str = "arxiv-cs.CL.atom"):
    return parse_arxiv_feed(fixture_bytes(feed))


def updated_at_by_id() -> dict[str, dt.datetime]:
    return dict(Paper.objects.values_list("arxiv_id", "updated_at"))


def edition_report() -> dict:
    return Edition.objects.get(date=EDITION).source_report


# --- ingest_records ---------------------------------------------------------------------


def test_ingesting_the_hf_day_stores_one_paper_per_id():
    result = ingest_records(hf_records(), EDITION)

    assert result == IngestResult(created=98, updated=0, unchanged=0)
    assert Paper.objects.count() == 98
    paper = Paper.objects.get(arxiv_id="2509.00001")
    assert paper.upvotes == 85
    assert paper.comments == 4
    assert paper.sources == ["hf"]
    assert paper.edition_date == EDITION
    assert Edition.objects.get(date=EDITION).ingested_at is not None


def test_ingesting_the_same_records_again_writes_nothing():
    ingest_records(hf_records() + arxiv_records(), EDITION)
    before = updated_at_by_id()

    again = ingest_records(hf_records() + arxiv_records(), EDITION)

    assert (again.created, again.updated) == (0, 0)
    assert again.unchanged == 98
    assert str(again) == "0 new, 0 updated, 98 unchanged"
    assert updated_at_by_id() == before


def test_second_ingest_does_not_touch_the_edition():
    ingest_records(hf_records(), EDITION)
    ingested_at = Edition.objects.get(date=EDITION).ingested_at

    ingest_records(hf_records(), EDITION)

    assert Edition.objects.get(date=EDITION).ingested_at == ingested_at


def test_same_paper_from_hf_then_arxiv_merges_into_one_row():
    ingest_records(hf_records(), EDITION)

    result = ingest_records(arxiv_records(), EDITION)

    assert result.created == 0
    assert result.updated == 55  # every paper of the cs.CL feed gains its categories and the arxiv source
    assert Paper.objects.count() == 98
    paper = Paper.objects.get(arxiv_id="2509.00001")
    assert paper.sources == ["arxiv", "hf"]
    assert paper.categories == ["cs.RO", "cs.CV", "cs.CL", "cs.LG"]
    assert paper.upvotes == 85
    assert paper.github_url == "https://github.com/example-lab/2509-00001"


def test_same_paper_from_arxiv_then_hf_merges_into_one_row():
    ingest_records(arxiv_records(), EDITION)

    ingest_records(hf_records(), EDITION)

    paper = Paper.objects.get(arxiv_id="2509.00001")
    assert paper.sources == ["arxiv", "hf"]
    assert paper.categories == ["cs.RO", "cs.CV", "cs.CL", "cs.LG"]
    assert paper.upvotes == 85
    assert paper.comments == 4
    assert paper.ai_keywords == ["emac+", "embodied", "multimodal"]
    assert paper.thumbnail_url == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2509.00001.png"


def test_both_sources_in_one_batch_make_one_row():
    result = ingest_records(arxiv_records() + hf_records(), EDITION)

    assert result.created == 98
    paper = Paper.objects.get(arxiv_id="2509.00003")
    assert paper.sources == ["arxiv", "hf"]
    assert paper.categories == ["cs.CL", "cs.LG"]
    assert paper.upvotes == 68


def test_new_upvote_count_from_hf_replaces_the_old_one():
    ingest_records(hf_records(), EDITION)
    items = hf_day_items()
    items[0]["paper"]["upvotes"] = 120

    result = ingest_records(parse_hf_items(items), EDITION)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 97)
    assert Paper.objects.get(arxiv_id="2509.00001").upvotes == 120


def test_paper_listed_again_on_a_later_day_keeps_its_first_day():
    ingest_records(hf_records(), EDITION)

    ingest_records(hf_records(), EDITION + dt.timedelta(days=1))

    assert set(Paper.objects.values_list("edition_date", flat=True)) == {EDITION}


def test_paper_with_null_counts_is_stored_with_zero():
    ingest_records(parse_hf_items(json.loads(fixture_bytes("hf-optional-fields.json"))), EDITION)

    paper = Paper.objects.get(arxiv_id="2509.00002")
    assert (paper.upvotes, paper.comments, paper.authors, paper.github_url) == (0, 0, [], "")


def test_html_in_a_title_is_stored_as_is():
    ingest_records(parse_hf_items(json.loads(fixture_bytes("hf-optional-fields.json"))), EDITION)

    assert Paper.objects.get(arxiv_id="2509.00003").title == (
        "Attention <b>Is</b> All You Need & <script>alert(1)</script>"
    )


# --- ingest_day -------------------------------------------------------------------------


def test_ingest_day_stores_hf_papers_with_arxiv_categories(feed_server):
    result = ingest_day(EDITION)

    assert result.created == 98
    assert Paper.objects.count() == 98
    paper = Paper.objects.get(arxiv_id="2509.00001")
    assert paper.sources == ["arxiv", "hf"]
    assert paper.categories == ["cs.RO", "cs.CV", "cs.CL", "cs.LG"]
    assert paper.upvotes == 85
    assert edition_report() == {"hf": {"papers": 98}, "arxiv:cs.CL": {"papers": 55}, "arxiv:cs.CV": {"papers": 24}}


def test_ingest_day_twice_changes_nothing_the_second_time(feed_server):
    ingest_day(EDITION)
    before = updated_at_by_id()

    again = ingest_day(EDITION)

    assert (again.created, again.updated) == (0, 0)
    assert updated_at_by_id() == before


def test_ingest_day_of_one_source_reads_only_that_source(feed_server):
    ingest_day(EDITION, ["arxiv"])

    assert not any(path.startswith("/api/daily_papers") for path in feed_server.requests)
    assert set(edition_report()) == {"arxiv:cs.CL", "arxiv:cs.CV"}
    assert Paper.objects.filter(sources=["arxiv"]).count() == Paper.objects.count() > 0


def hf_times_out(feed_server, settings) -> None:
    feed_server.slow_paths.add("/api/daily_papers")


def arxiv_category_is_missing(feed_server, settings) -> None:
    settings.PAPERBOY_ARXIV_CATEGORIES = ["nope", "cs.CL"]


def arxiv_category_is_malformed(feed_server, settings) -> None:
    settings.PAPERBOY_ARXIV_CATEGORIES = ["cs.AI", "cs.CL"]


@pytest.mark.parametrize(
    ("break_a_source", "failed", "working", "error_words"),
    [
        (hf_times_out, "hf", {"arxiv:cs.CL": 55, "arxiv:cs.CV": 24}, "timed out"),
        (arxiv_category_is_missing, "arxiv:nope", {"hf": 98, "arxiv:cs.CL": 55}, "404"),
        pytest.param(
            arxiv_category_is_malformed,
            "arxiv:cs.AI",
            {"hf": 98, "arxiv:cs.CL": 55},
            "does not parse",
        ),
    ],
    ids=["hf-slow", "arxiv-404", "arxiv-malformed"],
)
def test_a_failing_source_is_reported_and_the_others_still_ingest(
    feed_server, settings, caplog, break_a_source, failed, working, error_words
):
    break_a_source(feed_server, settings)

    with caplog.at_level(logging.INFO, logger="digest"):
        result = ingest_day(EDITION)

    report = edition_report()
    assert error_words in report[failed]["error"]
    assert {label: report[label]["papers"] for label in working} == working
    assert set(report) == {failed, *working}
    assert result.created == Paper.objects.count() > 0
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert failed in errors[0]
    assert DAY in errors[0]
    assert error_words in errors[0]


def test_papers_of_a_failed_hf_still_arrive_from_arxiv_without_upvotes(feed_server):
    feed_server.slow_paths.add("/api/daily_papers")

    ingest_day(EDITION)

    paper = Paper.objects.get(arxiv_id="2509.00001")
    assert paper.sources == ["arxiv"]
    assert paper.upvotes == 0
    assert Paper.objects.count() == len({r.arxiv_id for r in arxiv_records() + arxiv_records("arxiv-cs.CV.rss")})


def test_every_source_failing_stores_nothing_but_reports_each_error(feed_server, settings):
    feed_server.slow_paths.add("/api/daily_papers")
    settings.PAPERBOY_ARXIV_CATEGORIES = ["nope"]

    result = ingest_day(EDITION)

    assert result == IngestResult()
    assert Paper.objects.count() == 0
    assert set(edition_report()) == {"hf", "arxiv:nope"}
    assert all("error" in entry for entry in edition_report().values())


def test_a_later_successful_run_replaces_the_error_in_the_report(feed_server):
    feed_server.slow_paths.add("/api/daily_papers")
    ingest_day(EDITION)
    feed_server.slow_paths.clear()

    ingest_day(EDITION)

    assert edition_report()["hf"] == {"papers": 98}
    assert Paper.objects.get(arxiv_id="2509.00001").upvotes == 85


def test_arxiv_is_skipped_for_a_day_other_than_today(feed_server):
    earlier = EDITION - dt.timedelta(days=1)
    feed_server.hf_days[earlier.isoformat()] = hf_day_items()[:5]

    result = ingest_day(earlier)

    assert result.created == 5
    assert Edition.objects.get(date=earlier).source_report["arxiv"] == {"skipped": "the feeds list only today's papers"}
    assert not any(path.startswith("/atom/") for path in feed_server.requests)
