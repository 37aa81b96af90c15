"""Reading papers from Hugging Face Daily Papers (JSON) and arXiv feeds (Atom and RSS 2.0)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import pytest

from digest import sources
from digest.sources import SourceError, fetch_arxiv_feeds, fetch_hf_day, parse_arxiv_feed, parse_file, parse_hf_items
from tests.conftest import DAY, fixture_bytes, hf_day_items

EDITION = dt.date.fromisoformat(DAY)


def by_id(records: list[sources.PaperRecord]) -> dict[str, sources.PaperRecord]:
    return {record.arxiv_id: record for record in records}


def announce_types_in(feed_name: str) -> list[str]:
    """The announce type of every entry, read straight from the XML text."""
    return re.findall(r"<arxiv:announce_type>(\w+)</arxiv:announce_type>", fixture_bytes(feed_name).decode())


def hf_paths(feed_server) -> list[str]:
    return [path for path in feed_server.requests if path.startswith("/api/daily_papers")]


# --- Hugging Face JSON ------------------------------------------------------------------


def test_hf_day_parses_every_paper_of_both_recorded_pages():
    records = parse_hf_items(hf_day_items())

    assert len(records) == 98
    assert len(by_id(records)) == 98
    assert {r.source for r in records} == {"hf"}
    assert records[0].arxiv_id == "2509.00001"
    assert records[-1].arxiv_id == "2509.00098"


def test_hf_item_is_normalised_into_a_paper_record():
    paper = by_id(parse_hf_items(hf_day_items()))["2509.00001"]

    assert paper.title == "EMAC+: Embodied Multimodal Agent for Collaborative Planning with VLM+LLM"
    assert paper.abstract.startswith("Although LLMs demonstrate proficiency in several text-based reasoning")
    assert paper.authors == ["Nora Sato", "Mei Sato", "Sofia Rossi", "Lena Zhang", "Lena Bello"]
    assert paper.upvotes == 85
    assert paper.comments == 4
    assert paper.ai_keywords == ["emac+", "embodied", "multimodal"]
    assert paper.github_url == "https://github.com/example-lab/2509-00001"
    assert paper.github_stars == 538
    assert paper.project_url == "https://example-lab.github.io/2509.00001"
    assert paper.thumbnail_url == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2509.00001.png"
    assert paper.published_at == dt.datetime(2025, 9, 2, tzinfo=dt.UTC)
    assert paper.categories == []


@pytest.mark.parametrize("raw_id", ["2509.00001v3", "https://arxiv.org/abs/2509.00001v2", " 2509.00001 "])
def test_hf_paper_id_loses_its_version_and_url(raw_id):
    item = copy.deepcopy(hf_day_items()[0])
    item["paper"]["id"] = raw_id

    [record] = parse_hf_items([item])

    assert record.arxiv_id == "2509.00001"


def test_hf_item_without_optional_fields_gets_empty_defaults():
    records = by_id(parse_hf_items(json.loads(fixture_bytes("hf-optional-fields.json"))))
    missing = records["2509.00001"]  # ai fields, github, project page, thumbnail and comments left out

    assert missing.ai_summary == ""
    assert missing.ai_keywords == []
    assert missing.github_url == ""
    assert missing.project_url == ""
    assert missing.thumbnail_url == ""
    assert missing.comments is None
    assert missing.upvotes == 85


def test_hf_item_with_null_fields_gets_empty_defaults():
    nulls = by_id(parse_hf_items(json.loads(fixture_bytes("hf-optional-fields.json"))))["2509.00002"]

    assert nulls.title == "Bidirectional Language Models Are Also Few-shot Learners"
    assert nulls.upvotes is None
    assert nulls.comments is None
    assert nulls.ai_keywords == []
    assert nulls.github_url == ""
    assert nulls.thumbnail_url == ""
    assert nulls.authors == []


def test_hf_title_holding_html_is_kept_verbatim():
    html = by_id(parse_hf_items(json.loads(fixture_bytes("hf-optional-fields.json"))))["2509.00003"]

    assert html.title == "Attention <b>Is</b> All You Need & <script>alert(1)</script>"


def test_hf_items_without_id_or_title_are_skipped():
    good = hf_day_items()[0]
    no_id = copy.deepcopy(good)
    no_id["paper"]["id"] = ""
    no_title = copy.deepcopy(hf_day_items()[1])
    no_title["paper"]["title"] = None
    no_title["title"] = "  "

    records = parse_hf_items([no_id, "not a paper", good, no_title, None])

    assert [r.arxiv_id for r in records] == ["2509.00001"]


@pytest.mark.parametrize(
    ("payload", "kind"),
    [({"error": "Invalid date"}, r"an object \(error\): Invalid date"), ("2509.00001", "a string"), (None, "null")],
)
def test_hf_json_that_is_not_a_list_raises_source_error(payload, kind):
    with pytest.raises(SourceError, match=f"expected a JSON list of papers, got {kind}"):
        parse_hf_items(payload)


# --- arXiv feeds ------------------------------------------------------------------------


def test_atom_feed_keeps_new_and_cross_listed_papers_and_drops_replacements():
    types = announce_types_in("arxiv-cs.CL.atom")
    records = by_id(parse_arxiv_feed(fixture_bytes("arxiv-cs.CL.atom")))

    assert len(types) == 73
    assert len(records) == len([t for t in types if t in ("new", "cross")]) == 55
    assert "2509.00001" in records  # new
    assert "2509.00003" in records  # cross
    assert "2509.00004" not in records  # replace


def test_rss_feed_keeps_new_and_cross_listed_papers_and_drops_replacements():
    types = announce_types_in("arxiv-cs.CV.rss")
    records = by_id(parse_arxiv_feed(fixture_bytes("arxiv-cs.CV.rss")))

    assert len(types) == 32
    assert len(records) == len([t for t in types if t in ("new", "cross")]) == 24
    assert "2509.00004" in records  # new in this feed
    assert "2509.00005" in records  # cross


def test_atom_entry_is_normalised_into_a_paper_record():
    paper = by_id(parse_arxiv_feed(fixture_bytes("arxiv-cs.CL.atom")))["2509.00001"]

    assert paper.source == "arxiv"
    assert paper.title == "EMAC+: Embodied Multimodal Agent for Collaborative Planning with VLM+LLM"
    assert paper.abstract.startswith("Although LLMs demonstrate proficiency")
    assert "Announce Type" not in paper.abstract
    assert "arXiv:" not in paper.abstract
    assert paper.authors == ["Nora Sato", "Mei Sato", "Sofia Rossi", "Lena Zhang", "Lena Bello"]
    assert paper.categories == ["cs.RO", "cs.CV", "cs.CL", "cs.LG"]
    assert paper.published_at == dt.datetime(2025, 9, 3, 4, 0, tzinfo=dt.UTC)
    assert paper.upvotes is None


def test_rss_item_is_normalised_like_the_atom_entry():
    rss = by_id(parse_arxiv_feed(fixture_bytes("arxiv-cs.CV.rss")))["2509.00001"]
    atom = by_id(parse_arxiv_feed(fixture_bytes("arxiv-cs.CL.atom")))["2509.00001"]

    assert rss == atom


def test_arxiv_ids_have_no_oai_prefix_or_version():
    for feed in ("arxiv-cs.CL.atom", "arxiv-cs.CV.rss"):
        ids = [r.arxiv_id for r in parse_arxiv_feed(fixture_bytes(feed))]
        assert all(re.fullmatch(r"2509\.\d{5}", i) for i in ids), ids


def test_every_arxiv_abstract_has_its_announcement_prefix_stripped():
    records = parse_arxiv_feed(fixture_bytes("arxiv-cs.CL.atom")) + parse_arxiv_feed(fixture_bytes("arxiv-cs.CV.rss"))

    assert records
    assert not [r.arxiv_id for r in records if "Announce Type" in r.abstract or r.abstract.startswith("Abstract")]


def test_empty_weekend_feed_gives_no_papers():
    assert parse_arxiv_feed(fixture_bytes("arxiv-empty-weekend.atom")) == []


def test_malformed_feed_raises_source_error_saying_it_does_not_parse():
    with pytest.raises(SourceError, match="feed does not parse"):
        parse_arxiv_feed(fixture_bytes("arxiv-malformed.atom"))


def test_text_that_is_no_feed_at_all_raises_source_error():
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        parse_arxiv_feed(b"<html><body><p>Service unavailable</p></body></html>")


# --- Saved files ------------------------------------------------------------------------


def test_parse_file_reads_hf_json_as_hf():
    kind, records = parse_file(fixture_bytes(f"hf-{DAY}-p1.json"))

    assert kind == "hf"
    assert len(records) == 48


@pytest.mark.parametrize(("feed", "papers"), [("arxiv-cs.CL.atom", 55), ("arxiv-cs.CV.rss", 24)])
def test_parse_file_reads_atom_and_rss_as_arxiv(feed, papers):
    kind, records = parse_file(fixture_bytes(feed))

    assert kind == "arxiv"
    assert len(records) == papers


def test_parse_file_tolerates_leading_whitespace():
    kind, records = parse_file(b"\n  \n" + fixture_bytes(f"hf-{DAY}-p1.json"))

    assert (kind, len(records)) == ("hf", 48)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"arxiv_id,title\n2509.00001,EMAC+\n", "neither a Hugging Face JSON day nor an RSS/Atom feed"),
        (b"", "neither a Hugging Face JSON day nor an RSS/Atom feed"),
        (b'[{"paper": {"id": "2509.00001"', "invalid JSON"),
        (b'{"error": "Invalid date"}', "expected a JSON list of papers"),
    ],
)
def test_parse_file_rejects_other_content_with_a_reason(content, message):
    with pytest.raises(SourceError, match=re.escape(message)):
        parse_file(content)


# --- Fetching over HTTP -----------------------------------------------------------------


def test_fetch_hf_day_reads_all_98_papers_in_one_page_of_100(feed_server):
    # 98 < 100 and more than the default page of 50: the server honoured our limit, so that was all.
    records = fetch_hf_day(EDITION)

    assert len(records) == 98
    assert len(by_id(records)) == 98
    assert len(hf_paths(feed_server)) == 1
    assert f"date={DAY}" in hf_paths(feed_server)[0]
    assert "limit=100" in hf_paths(feed_server)[0]


def test_fetch_hf_day_follows_pages_until_a_short_one(feed_server, monkeypatch):
    monkeypatch.setattr(sources, "HF_PAGE_LIMIT", 40)

    records = fetch_hf_day(EDITION)

    assert len(records) == 98
    assert len(by_id(records)) == 98
    paths = hf_paths(feed_server)
    assert len(paths) == 3
    assert [re.search(r"[?&]p=(\d+)", path).group(1) for path in paths] == ["0", "1", "2"]


def test_fetch_hf_day_stops_on_an_empty_page_when_the_day_fills_whole_pages(feed_server, monkeypatch):
    monkeypatch.setattr(sources, "HF_PAGE_LIMIT", 49)

    records = fetch_hf_day(EDITION)

    assert len(records) == 98
    assert len(hf_paths(feed_server)) == 3  # 49 + 49 + an empty page


def test_fetch_hf_day_of_a_day_without_papers_gives_none(feed_server):
    assert fetch_hf_day(dt.date(2025, 9, 6)) == []
    assert len(hf_paths(feed_server)) == 1


def test_slow_hf_source_raises_source_error_saying_it_timed_out(feed_server):
    feed_server.slow_paths.add("/api/daily_papers")

    with pytest.raises(SourceError, match=r"timed out after 1s"):
        fetch_hf_day(EDITION)


def test_hf_error_status_raises_source_error(feed_server, settings):
    settings.PAPERBOY_HF_API_URL = f"{feed_server.url}/api/no_such_endpoint"

    with pytest.raises(SourceError, match="404"):
        fetch_hf_day(EDITION)


def test_fetch_arxiv_feeds_reports_a_broken_category_and_goes_on_to_the_next(feed_server):
    results = dict(fetch_arxiv_feeds(["nope", "cs.CL", "cs.LG", "cs.CV"]))

    assert list(results) == ["nope", "cs.CL", "cs.LG", "cs.CV"]
    assert isinstance(results["nope"], SourceError)
    assert "404" in str(results["nope"])
    assert len(results["cs.CL"]) == 55
    assert results["cs.LG"] == []
    assert len(results["cs.CV"]) == 24


def test_fetch_arxiv_feeds_reports_a_malformed_category_and_goes_on_to_the_next(feed_server):
    results = dict(fetch_arxiv_feeds(["cs.AI", "cs.CL"]))

    assert isinstance(results["cs.AI"], SourceError)
    assert len(results["cs.CL"]) == 55
