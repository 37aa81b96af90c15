"""Real days end to end: fetched from a server playing Hugging Face and arXiv with real
responses (some broken on purpose), ingested from saved files and folders, and shown to people."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import shutil
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from digest import deliver, sources
from digest.ingest import ingest_day, ingest_records
from digest.models import Edition, Paper
from digest.sources import parse_arxiv_feed, parse_hf_items
from subscriptions.models import Interest
from tests.conftest import REAL, SAMPLE_DATE, SAMPLE_WEEK_DIR, real_bytes, real_hf_day
from tests.digest_mail import html_part, send_edition, text_part
from tests.factories import make_subscriber

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 8, 20)  # a real day both sources have: HF's list and the (truncated) cs.AI feed
TODAY = dt.datetime(2025, 8, 20, 21, 0, tzinfo=dt.UTC)


@pytest.fixture
def real_day_server(feed_server):
    """The feed server playing 2025-08-20 with real responses: HF's day and arXiv's cs.AI feed
    (cut off as it was stored) and stat feed, on the day they were published."""
    feed_server.hf_days = {DAY.isoformat(): real_hf_day(DAY.isoformat())}
    feed_server.feeds = {
        "cs.AI": real_bytes("arxiv/arxiv_atom_cs.AI_2025-08-20_TRUNCATED.xml"),
        "stat": real_bytes("arxiv/arxiv_rss2_stat_2024-03-26.xml"),
        "astroph": real_bytes("arxiv/arxiv_rss2_error_bad-archive_2024-11-28.xml"),
    }
    with time_machine.travel(TODAY, tick=False):
        yield feed_server


def report(day: dt.date = DAY) -> dict:
    return Edition.objects.get(date=day).source_report


def atom_requests(feed_server) -> list[str]:
    return [path for path in feed_server.requests if path.startswith("/atom/")]


# --- A real day from both sources --------------------------------------------------------


def test_the_same_real_paper_from_hf_and_the_arxiv_feed_is_one_row(real_day_server, settings):
    settings.PAPERBOY_ARXIV_CATEGORIES = ["cs.AI"]

    result = ingest_day(DAY)

    assert result.created == 14 + 86 - 1
    paper = Paper.objects.get(arxiv_id="2508.13167")
    assert paper.sources == ["arxiv", "hf"]
    assert paper.title == (
        "Chain-of-Agents: End-to-End Agent Foundation Models via Multi-Agent Distillation and Agentic RL"
    )
    assert "cs.AI" in paper.categories
    assert paper.upvotes == 37
    assert report()["arxiv:cs.AI"] == {
        "papers": 86,
        "problems": [
            "feed cut off (at byte 178,723, line 1,233): kept its 86 complete entries; "
            "lost 2508.13435 and any entries after it"
        ],
    }


def test_the_probes_bad_first_item_costs_only_itself_and_arxiv_is_still_read(real_day_server, settings):
    settings.PAPERBOY_ARXIV_CATEGORIES = ["cs.AI"]
    real_day_server.hf_days[DAY.isoformat()].insert(0, {"paper": "oops"})

    ingest_day(DAY)

    assert len([p for p in Paper.objects.all() if "hf" in p.sources]) == 14
    assert report()["hf"] == {
        "papers": 14,
        "items_skipped": 1,
        "problems": ["item 1: paper: Input should be a valid dictionary"],
    }
    assert atom_requests(real_day_server) == ["/atom/cs.AI"]
    assert Paper.objects.filter(arxiv_id="2508.13167", sources=["arxiv", "hf"]).exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "sent invalid JSON: nested too deeply"),
        (real_bytes("hf-api-error-404.json"), "got an object (error): Sorry, we can't find the page"),
        (json.dumps([{"paper": "oops"}]).encode(), "none of its 1 items is a paper"),
    ],
)
def test_a_broken_hf_answer_is_recorded_on_the_edition_and_arxiv_still_ingests(real_day_server, settings, body, error):
    settings.PAPERBOY_ARXIV_CATEGORIES = ["cs.AI"]
    real_day_server.hf_bodies[DAY.isoformat()] = body

    ingest_day(DAY)

    assert error in report()["hf"]["error"]
    assert report()["arxiv:cs.AI"]["papers"] == 86
    assert Paper.objects.count() == 86


def test_an_unexpected_exception_in_one_source_is_recorded_and_the_others_still_run(
    real_day_server, settings, monkeypatch
):
    settings.PAPERBOY_ARXIV_CATEGORIES = ["cs.AI"]

    def broken_fetch(day, session=None):
        raise KeyError("a fault nobody foresaw")

    monkeypatch.setattr(sources, "fetch_hf_day", broken_fetch)

    ingest_day(DAY)

    assert report()["hf"]["error"] == "unexpected KeyError: 'a fault nobody foresaw'"
    assert report()["hf"]["at"].startswith("2025-08-20T21:00:00")
    assert report()["arxiv:cs.AI"]["papers"] == 86


def test_arxivs_error_feed_is_a_source_error_shown_in_the_admin_not_an_empty_day(
    real_day_server, settings, staff_client
):
    settings.PAPERBOY_ARXIV_CATEGORIES = ["astroph", "stat"]

    ingest_day(DAY, ["arxiv"])

    assert report()["arxiv:astroph"]["error"].startswith("arXiv feed error: Bad archive 'astroph'.")
    assert report()["arxiv:stat"] == {"papers": 62}
    page = staff_client.get("/admin/digest/edition/").content.decode()
    assert "arxiv:astroph: FAILED (arXiv feed error: Bad archive &#x27;astroph&#x27;." in page
    assert "arxiv:stat: 62 papers" in page


def test_skipped_items_are_counted_on_the_edition_and_shown_in_the_admin(real_day_server, staff_client):
    items = real_day_server.hf_days[DAY.isoformat()]
    items[3]["paper"]["upvotes"] = 10**30
    items[5]["paper"]["authors"] = 12

    ingest_day(DAY, ["hf"])

    assert report()["hf"]["papers"] == 12
    assert report()["hf"]["items_skipped"] == 2
    page = staff_client.get("/admin/digest/edition/").content.decode()
    assert re.search(r"hf: 12 papers, 2 items skipped \(item 4 \(\d{4}\.\d{5}\): paper\.upvotes: Input should be", page)


def test_a_nul_byte_in_a_real_title_is_stored_without_it():
    items = real_hf_day(SAMPLE_DATE)
    items[0]["title"] = "SenseNova-U1:\x00 Unifying Multimodal Understanding"

    ingest_records(parse_hf_items(items), dt.date(2026, 5, 13))

    assert Paper.objects.get(arxiv_id="2605.12500").title == "SenseNova-U1: Unifying Multimodal Understanding"
    assert Paper.objects.count() == 50


# --- Paging -------------------------------------------------------------------------------


def hf_pages(feed_server) -> list[str]:
    return [re.search(r"[?&]p=(\d+)", p).group(1) for p in feed_server.requests if p.startswith("/api/daily_papers")]


def test_a_first_page_of_50_is_followed_by_a_second_request(feed_server):
    feed_server.page_cap = 50  # an API that keeps to its default page whatever limit says
    feed_server.hf_days = {SAMPLE_DATE: real_hf_day(SAMPLE_DATE)}

    records = sources.fetch_hf_day(dt.date.fromisoformat(SAMPLE_DATE))

    assert len(records) == 50
    assert hf_pages(feed_server) == ["0", "1"]


def test_a_day_longer_than_the_servers_page_is_read_to_its_end(feed_server):
    feed_server.page_cap = 50
    day = real_hf_day(SAMPLE_DATE) + real_hf_day("2026-05-12")[:10]
    feed_server.hf_days = {SAMPLE_DATE: day}

    records = sources.fetch_hf_day(dt.date.fromisoformat(SAMPLE_DATE))

    assert len({r.arxiv_id for r in records}) == len(records) == 60
    assert hf_pages(feed_server) == ["0", "1"]


def test_a_server_that_ignores_the_page_number_does_not_loop(feed_server):
    feed_server.page_cap = 50
    feed_server.hf_days = {SAMPLE_DATE: real_hf_day(SAMPLE_DATE)}
    served = feed_server.hf_days[SAMPLE_DATE]
    feed_server.hf_days[SAMPLE_DATE] = served * 3  # every page the same 50 papers: p is ignored

    records = sources.fetch_hf_day(dt.date.fromisoformat(SAMPLE_DATE))

    assert len(records) == 50
    assert hf_pages(feed_server) == ["0", "1"]


# --- Saved files: the day comes from the file, not the clock ----------------------------


def ingest(*args: str) -> str:
    out = io.StringIO()
    call_command("ingest_papers", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC), tick=False)
def test_ingesting_a_saved_day_today_creates_that_days_edition(tmp_path):
    output = ingest("--file", str(REAL / "hf-daily/2024-05-27.json"))

    assert output.startswith("2024-05-27: 13 papers read from ")
    assert list(Edition.objects.values_list("date", flat=True)) == [dt.date(2024, 5, 27)]
    assert Paper.objects.filter(edition_date=dt.date(2024, 5, 27)).count() == 13


@time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC), tick=False)
def test_a_saved_day_without_a_date_in_its_name_is_filed_by_its_content(tmp_path):
    shutil.copy(SAMPLE_WEEK_DIR / f"hf-{SAMPLE_DATE}.json", tmp_path / "today.json")

    ingest("--file", str(tmp_path / "today.json"))

    assert list(Edition.objects.values_list("date", flat=True)) == [dt.date(2026, 5, 13)]


@time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC), tick=False)
def test_a_saved_truncated_feed_is_filed_under_its_announcement_day_with_the_warning(tmp_path):
    shutil.copy(REAL / "arxiv/arxiv_atom_cs.AI_2025-08-20_TRUNCATED.xml", tmp_path / "cs.AI.xml")

    output = ingest("--file", str(tmp_path / "cs.AI.xml"))

    assert "2025-08-20: 86 papers read from" in output
    assert "warning: feed cut off (at byte 178,723, line 1,233)" in output
    assert Paper.objects.filter(edition_date=DAY).count() == 86


def test_date_overrides_what_the_file_says():
    ingest("--file", str(REAL / "hf-daily/2024-05-27.json"), "--date", "2024-06-01")

    assert list(Edition.objects.values_list("date", flat=True)) == [dt.date(2024, 6, 1)]


# --- A backfill of saved days --------------------------------------------------------------


@pytest.fixture
def saved_folder(tmp_path) -> Path:
    """Real saved days: fine ones, a paper listed twice, two the archiver broke, and one with an
    item broken on purpose."""
    folder = tmp_path / "hf-daily"
    folder.mkdir()
    for day in ("2024-05-27", "2024-12-11", "2025-01-10", "2026-08-14", "2026-08-20"):
        shutil.copy(REAL / f"hf-daily/{day}.json", folder)
    items = real_hf_day(SAMPLE_DATE)
    items[7]["paper"]["ai_keywords"] = 42
    (folder / f"{SAMPLE_DATE}.json").write_text(json.dumps(items))
    (folder / "notes.txt").write_text("not a day")
    return folder


def test_a_backfill_ingests_each_day_into_its_edition_and_sums_it_up(saved_folder):
    output = ingest("--dir", str(saved_folder))

    lines = output.splitlines()
    assert re.fullmatch(
        r"6 files: 4 ingested \(1 with skipped items or warnings\), 2 refused; 100 papers read, 1 skipped; "
        r"99 new, 1 updated, 0 unchanged in \d+\.\ds",
        lines[-1],
    )
    assert lines[0].startswith("  partly skipped: 2026-05-13.json: 49 papers kept; item 8 (2605.")
    assert lines[0].endswith("paper.ai_keywords: Input should be a valid list")
    assert lines[1].startswith("  refused: 2024-12-11.json is not a paper list we can read: none of its 26 items")
    assert lines[2] == (
        "  refused: 2025-01-10.json is not a paper list we can read: "
        "expected a JSON list of papers, got an object (status, date, count, data)"
    )
    editions = dict(Edition.objects.values_list("date", "source_report"))
    assert sorted(editions) == [dt.date(2024, 5, 27), dt.date(2026, 5, 13), dt.date(2026, 8, 14), dt.date(2026, 8, 20)]
    assert editions[dt.date(2026, 5, 13)][f"file:{SAMPLE_DATE}.json"]["items_skipped"] == 1
    assert Paper.objects.count() == 99


def test_a_paper_listed_on_two_days_is_one_paper_in_its_first_days_edition_with_the_later_upvotes(saved_folder):
    ingest("--dir", str(saved_folder))

    paper = Paper.objects.get(arxiv_id="2608.13558")
    assert paper.edition_date == dt.date(2026, 8, 14)
    assert paper.upvotes == 54  # 2 on 14 Aug, 54 when listed again on 20 Aug


def test_a_second_backfill_of_the_same_folder_changes_nothing(saved_folder):
    ingest("--dir", str(saved_folder))
    before = dict(Paper.objects.values_list("arxiv_id", "updated_at"))

    output = ingest("--dir", str(saved_folder))

    assert "100 papers read, 1 skipped; 0 new, 0 updated, 100 unchanged" in output  # one per reading
    assert dict(Paper.objects.values_list("arxiv_id", "updated_at")) == before


# --- Shown readably ---------------------------------------------------------------------------


def test_latex_in_a_real_title_is_readable_in_the_email_and_kept_as_written_for_search(smtp):
    stat = parse_arxiv_feed(real_bytes("arxiv/arxiv_rss2_stat_2024-03-26.xml"))
    day = dt.date(2024, 3, 26)
    ingest_records(stat, day)
    make_subscriber("ada@example.com", "frequency bin interval in FFT", max_papers=3)

    send_edition(day)

    (message,) = smtp.to("ada@example.com")
    for part in (html_part(message), text_part(message)):
        assert "Adaptive Frequency Bin Interval in FFT via Dense Sampling Factor α" in part
        assert "Factor $\\alpha$" not in part
    assert Paper.objects.get(arxiv_id="2403.16665").title.endswith(r"Dense Sampling Factor $\alpha$")


def test_the_home_page_shows_the_sample_days_titles_readably(client):
    items = real_hf_day(SAMPLE_DATE)
    items[0]["title"] = r"SenseNova-U1: $\alpha$-unified \textbf{multimodal} models"
    ingest_records(parse_hf_items(items), dt.date(2026, 5, 13))

    with time_machine.travel(dt.datetime(2026, 5, 13, 22, 0, tzinfo=dt.UTC)):
        page = client.get("/").content.decode()

    assert "SenseNova-U1: α-unified multimodal models" in page
    assert "\\textbf" not in page


def test_reloading_an_older_day_never_winds_a_papers_upvotes_back():
    ingest_records(parse_hf_items(real_hf_day("2026-08-20")), dt.date(2026, 8, 20))

    ingest_records(parse_hf_items(real_hf_day("2026-08-14")), dt.date(2026, 8, 14))

    assert Paper.objects.get(arxiv_id="2608.13558").upvotes == 54


def test_the_bundled_sample_week_gives_a_weekly_reader_the_whole_real_week(smtp, lexical_only):
    from digest.management.commands.ingest_papers import SAMPLE_WEEK
    from subscriptions.models import Subscriber

    for day in SAMPLE_WEEK:
        ingest_records(parse_hf_items(real_hf_day(day.isoformat())), day)
    first_days_paper = Paper.objects.filter(edition_date=dt.date(2026, 5, 7)).order_by("-upvotes").first()
    make_subscriber(
        "weekly@example.com",
        first_days_paper.title,
        frequency=Subscriber.Frequency.WEEKLY,
        weekly_day=Subscriber.Weekday.WEDNESDAY,
    )

    send_edition(SAMPLE_WEEK[-1])

    (message,) = smtp.to("weekly@example.com")
    assert first_days_paper.display_title in text_part(message)
    assert "this week" in text_part(message)


def test_following_an_author_finds_their_papers_from_both_sources_however_the_name_was_written(lexical_only):
    # The real stat feed writes "Jos\'e M. F. Moura" in TeX; a copy of a real HF item credits him
    # in decomposed Unicode (e + combining accent), which some systems publish.
    day = dt.date(2024, 3, 26)
    ingest_records(parse_arxiv_feed(real_bytes("arxiv/arxiv_rss2_stat_2024-03-26.xml")), day)
    [item] = copy.deepcopy(real_hf_day(SAMPLE_DATE)[1:2])
    item["paper"]["authors"][0]["name"] = "Jose\u0301 M. F. Moura"
    ingest_records(parse_hf_items([item]), day)
    reader = make_subscriber("ada@example.org")
    reader.interests.create(kind=Interest.Kind.AUTHOR, value="José M. F. Moura")  # as the form stores it

    matches = deliver.matches_for(reader, day)

    assert {m.paper.arxiv_id for m in matches} == {"2403.16163", item["paper"]["id"]}
    assert {m.why for m in matches} == {"By an author you follow: José M. F. Moura"}
