"""Reading real days as the sources published them (tests/fixtures/real/, the bundled sample
week), with their quirks, and copies of them with one item broken: a bad item is skipped with its
reason, never the day."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import pytest

from digest.readable import readable
from digest.sources import SourceError, parse_arxiv_feed, parse_file, parse_hf_items
from tests.conftest import SAMPLE_DATE, real_bytes, real_hf_day


def by_id(records) -> dict:
    return {record.arxiv_id: record for record in records}


def sample_day() -> list[dict]:
    return real_hf_day(SAMPLE_DATE)


# --- The real sample day ------------------------------------------------------------------


def test_the_sample_day_is_a_full_real_day_with_its_real_ids_and_fields():
    records = parse_hf_items(sample_day())

    assert len(records) == len(by_id(records)) == 50
    assert records.skipped == [] and records.warnings == []
    assert records.listed_day() == dt.date(2026, 5, 13)
    top = records[0]
    assert top.arxiv_id == "2605.12500"
    assert top.title == "SenseNova-U1: Unifying Multimodal Understanding and Generation with NEO-unify Architecture"
    assert top.authors[:3] == ["Haiwen Diao", "Penghao Wu", "Hanming Deng"]
    assert len(top.authors) == 58
    assert (top.upvotes, top.comments, top.github_stars) == (97, 1, 1576)
    assert top.github_url == "https://github.com/OpenSenseNova/SenseNova-U1"
    assert top.thumbnail_url == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2605.12500.png"
    assert top.ai_summary.startswith("Unified vision-language models treat understanding and generation")
    assert top.ai_keywords[:2] == ["vision-language models", "multimodal intelligence"]
    assert top.published_at == dt.datetime(2026, 5, 12, tzinfo=dt.UTC)
    assert all(r.ai_summary and r.ai_keywords for r in records)


# --- Quirks of the real data -------------------------------------------------------------


def test_a_day_from_before_the_optional_fields_existed_reads_them_as_empty():
    # 2024-05-27: no thumbnail, ai_*, github or project fields at all (absent, not null).
    records = by_id(parse_hf_items(real_hf_day("2024-05-27")))

    paper = records["2405.15738"]
    assert paper.title == "ConvLLaVA: Hierarchical Backbones as Visual Encoder for Large Multimodal Models"
    assert (paper.thumbnail_url, paper.ai_summary, paper.ai_keywords, paper.github_url) == ("", "", [], "")
    assert (paper.upvotes, paper.comments, paper.github_stars) == (32, 3, None)
    assert len(records) == 13


def test_a_hard_wrapped_title_is_one_line():
    raw = next(i for i in real_hf_day("2025-11-12") if i["paper"]["id"] == "2511.06221")
    assert "\n  " in raw["paper"]["title"] and "\n  " in raw["title"]  # as HF sent it

    paper = by_id(parse_hf_items(real_hf_day("2025-11-12")))["2511.06221"]

    assert paper.title == (
        "Tiny Model, Big Logic: Diversity-Driven Optimization Elicits Large-Model Reasoning Ability in VibeThinker-1.5B"
    )


def test_the_items_own_clean_title_is_preferred_to_the_papers():
    item = copy.deepcopy(sample_day()[0])
    item["paper"]["title"] = "SenseNova-U1: Unifying Multimodal Understanding and\n  Generation"

    [record] = parse_hf_items([item])

    assert record.title == item["title"]


def test_a_hidden_author_is_still_an_author_in_their_place():
    raw = next(i for i in real_hf_day("2025-09-22") if i["paper"]["id"] == "2509.15937")
    assert raw["paper"]["authors"][4] == {**raw["paper"]["authors"][4], "name": "Haoran Zhang", "hidden": True}

    paper = by_id(parse_hf_items(real_hf_day("2025-09-22")))["2509.15937"]

    assert paper.authors[3:6] == ["Fuxian Huang", "Haoran Zhang", "Ming Zhou"]


def test_a_link_with_a_leading_space_is_kept_trimmed():
    paper = by_id(parse_hf_items(real_hf_day("2025-03-17")))["2503.11646"]

    assert paper.project_url == "https://sites.google.com/view/adc-robot"


def test_tex_accents_in_arxiv_authors_become_the_names_people_write():
    papers = by_id(parse_arxiv_feed(real_bytes("arxiv/arxiv_rss2_stat_2024-03-26.xml")))

    assert [p.authors for p in papers.values() if "Moura" in " ".join(p.authors)] == [
        ["Oren Wright", "Yorie Nakahira", "José M. F. Moura"]
    ]
    assert not [a for p in papers.values() for a in p.authors if "\\" in a or "{" in a]


def test_other_tex_accents_and_affiliations_from_real_feeds_are_converted_and_split_off():
    # The real stat feed with one entry's creators replaced by names seen in other real feeds.
    feed = real_bytes("arxiv/arxiv_rss2_stat_2024-03-26.xml").decode()
    original = re.search(r"<dc:creator>(Oren Wright[^<]*)</dc:creator>", feed).group(1)
    names = r"Pawe{\l} Nowak, Jaros{\l}aw \.Zygierewicz, Mohammed Riadh Berramdane (IFPEN), Ann Roe (MIT, CSAIL)"
    papers = parse_arxiv_feed(feed.replace(original, names).encode())

    [paper] = [p for p in papers if p.authors and p.authors[0] == "Paweł Nowak"]
    assert paper.authors == ["Paweł Nowak", "Jarosław Żygierewicz", "Mohammed Riadh Berramdane", "Ann Roe"]


@pytest.mark.parametrize(
    ("arxiv_id", "written", "shown"),
    [
        (
            "2403.16688",
            "Optimal convex $M$-estimation via score matching",
            "Optimal convex M-estimation via score matching",
        ),
        (
            "2403.16665",
            r"Adaptive Frequency Bin Interval in FFT via Dense Sampling Factor $\alpha$",
            "Adaptive Frequency Bin Interval in FFT via Dense Sampling Factor α",
        ),
    ],
)
def test_latex_in_a_real_title_is_stored_as_written_and_shown_readably(arxiv_id, written, shown):
    paper = by_id(parse_arxiv_feed(real_bytes("arxiv/arxiv_rss2_stat_2024-03-26.xml")))[arxiv_id]

    assert paper.title == written
    assert readable(paper.title) == shown


def test_math_that_is_not_simple_is_left_as_written_not_half_converted():
    paper = by_id(parse_arxiv_feed(real_bytes("arxiv/arxiv_rss2_stat_2024-03-26.xml")))["2403.15999"]

    shown = readable(paper.abstract)
    assert "rank-r matrix $M \\in \\RR^{d_1\\times d_2}$ under" in shown  # \RR is no standard macro
    assert "complexity of 𝒪(n^3)" in readable(
        by_id([paper, *parse_arxiv_feed(real_bytes("arxiv/arxiv_rss2_stat_2024-03-26.xml"))])["2403.15670"].abstract
    )


def test_text_macros_in_a_real_hf_abstract_are_unwrapped():
    paper = by_id(parse_hf_items(real_hf_day("2025-12-03")))["2511.22146"]

    assert r"\textbf{C}ausal \textbf{C}oncept-Guided" in paper.abstract  # kept for search
    assert "we propose a Causal Concept-Guided Diffusion Language Model (C^2DLM)." in readable(paper.abstract)


@pytest.mark.parametrize(
    ("arxiv_id", "money"),
    [("2608.11924", "costs $8.1 per manuscript"), ("2608.10450", "incurred only US$44 in model-token charges")],
)
def test_dollars_meaning_money_stay_as_written(arxiv_id, money):
    paper = by_id(parse_hf_items(real_hf_day("2026-08-13")))[arxiv_id]

    assert money in readable(paper.abstract)


def test_escaped_specials_and_text_macros_read_as_text():
    # In the feed's XML `\&amp;` is TeX's `\&`: feedparser unescapes the XML, we the TeX.
    feed = real_bytes("arxiv/arxiv_rss2_stat_2024-03-26.xml")
    entry = re.search(rb"<title>Optimal convex \$M\$-estimation via score matching</title>", feed).group(0)
    edited = feed.replace(entry, rb"<title>Retrieval \&amp; Ranking with \textit{sparse} codes</title>")

    paper = by_id(parse_arxiv_feed(edited))["2403.16688"]

    assert paper.title == r"Retrieval \& Ranking with \textit{sparse} codes"
    assert readable(paper.title) == "Retrieval & Ranking with sparse codes"


def test_escaped_percent_in_real_math_reads_as_text():
    paper = by_id(parse_arxiv_feed(real_bytes("arxiv/arxiv_atom_cs.AI_2025-08-20_TRUNCATED.xml")))["2508.13465"]

    assert r"($<26\%$ pass rates)" in paper.abstract
    assert "(<26% pass rates)" in readable(paper.abstract)


def test_the_export_apis_indented_titles_are_one_line_and_its_names_unicode():
    papers = by_id(parse_arxiv_feed(real_bytes("arxiv/arxiv_api_query_math.NT_2026-06-29_newapi.atom.xml")))

    assert len(papers) == 5
    assert papers["2606.28227"].authors == [
        "Andrzej Dąbrowski",
        "Salah Eddine Rihane",
        "Gökhan Soydan",
        "Paul M. Voutier",
    ]
    assert readable(papers["2606.28091"].title) == "Stability of the exterior cube γ-factors for GL(6)"
    assert len(parse_arxiv_feed(real_bytes("arxiv/arxiv_api_query_cs.RO_neural_2025-10-17.atom.xml"))) == 2


# --- Real arXiv feeds: error, empty, truncated -------------------------------------------


def test_arxivs_error_feed_is_a_source_error_not_an_empty_day():
    with pytest.raises(SourceError, match=r"arXiv feed error: Bad archive 'astroph'\. Valid archive names are"):
        parse_arxiv_feed(real_bytes("arxiv/arxiv_rss2_error_bad-archive_2024-11-28.xml"))


@pytest.mark.parametrize(
    "name", ["arxiv/arxiv_rss2_test-archive_2024-11-28_empty.xml", "arxiv/arxiv_atom_cs_2025-11-23_empty_weekend.xml"]
)
def test_real_empty_feeds_are_empty_days(name):
    papers = parse_arxiv_feed(real_bytes(name))

    assert papers == [] and papers.warnings == []


def test_a_truncated_feed_keeps_its_complete_entries_and_names_what_was_lost():
    content = real_bytes("arxiv/arxiv_atom_cs.AI_2025-08-20_TRUNCATED.xml")
    whole_entries = content.count(b"</entry>")

    papers = parse_arxiv_feed(content)

    assert whole_entries == 86
    assert len(papers) == 86  # all of them new or cross-listed
    assert "2508.13435" not in by_id(papers)  # the entry cut in half
    assert papers.warnings == [
        "feed cut off (at byte 178,723, line 1,233): kept its 86 complete entries; "
        "lost 2508.13435 and any entries after it"
    ]
    assert papers.listed_day() == dt.date(2025, 8, 20)


def test_a_feed_broken_in_the_middle_is_still_refused():
    content = real_bytes("arxiv/arxiv_rss2_stat_2024-03-26.xml").replace(b"</title>", b"</titel>", 5)

    with pytest.raises(SourceError, match="feed does not parse"):
        parse_arxiv_feed(content)


def test_replacements_are_dropped_from_the_real_feed():
    content = real_bytes("arxiv/arxiv_rss2_stat_2024-03-26.xml").decode()
    types = re.findall(r"<arxiv:announce_type>([\w-]+)</arxiv:announce_type>", content)

    papers = parse_arxiv_feed(content)

    assert len(types) == 123
    assert len(papers) == types.count("new") + types.count("cross") == 62
    assert all(re.fullmatch(r"\d{4}\.\d{5}", p.arxiv_id) for p in papers)  # no version suffix
    assert "2305.18699" in by_id(papers)  # an older paper cross-listed that day (oai:arXiv.org:2305.18699v1)


# --- Real files that are refused, with their one-line reason -----------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("hf-daily/2025-01-10.json", "expected a JSON list of papers, got an object (status, date, count, data)"),
        (
            "hf-daily/2024-12-11.json",
            "none of its 26 items is a paper; item 1: an item must be a JSON object, not a string "
            "(this one holds a Python repr)",
        ),
        (
            "hf-api-error-404.json",
            "expected a JSON list of papers, got an object (error): Sorry, we can't find the page",
        ),
    ],
)
def test_real_files_that_hold_no_papers_are_refused_with_a_reason(name, reason):
    with pytest.raises(SourceError) as refused:
        parse_file(real_bytes(name))

    assert reason in str(refused.value)
    assert "\n" not in str(refused.value)


# --- One bad item never costs the day ----------------------------------------------------


def broken(field_path: str, value: object) -> object:
    def apply(item: dict) -> dict:
        item = copy.deepcopy(item)
        *parents, last = field_path.split(".")
        target = item
        for name in parents:
            target = target[name]
        target[last] = value
        return item

    return apply


BAD_ITEMS = {
    "paper a string": (broken("paper", "oops"), "paper: Input should be a valid dictionary"),
    "paper a list": (broken("paper", ["2605.12500"]), "paper: Input should be a valid dictionary"),
    "authors an integer": (broken("paper.authors", 7), "paper.authors: Input should be a valid list"),
    "an author an integer": (broken("paper.authors", [7]), "paper.authors.0: Input should be a valid dictionary"),
    "keywords an integer": (broken("paper.ai_keywords", 3), "paper.ai_keywords: Input should be a valid list"),
    "upvotes 10**30": (broken("paper.upvotes", 10**30), "paper.upvotes: Input should be less than or equal to"),
    "upvotes negative": (broken("paper.upvotes", -4), "paper.upvotes: Input should be greater than or equal to 0"),
    "upvotes a string": (broken("paper.upvotes", "97"), "paper.upvotes: Input should be a valid integer"),
    "no id": (broken("paper.id", ""), "paper.id: '' is not an arXiv id"),
    "id a number": (broken("paper.id", 2605.125), "paper.id: Input should be a valid string"),
    "item a string": (lambda item: "not a paper", "an item must be a JSON object, not a string"),
    "item null": (lambda item: None, "an item must be a JSON object, not null"),
}


@pytest.mark.parametrize("case", BAD_ITEMS)
def test_one_bad_item_is_skipped_with_its_reason_and_the_rest_of_the_day_kept(case):
    make_bad, reason = BAD_ITEMS[case]
    items = sample_day()
    items[2] = make_bad(items[2])

    records = parse_hf_items(items)

    assert len(records) == 49
    assert "2605.12500" in by_id(records)
    [skipped] = records.skipped
    assert skipped.startswith("item 3")
    assert reason in skipped


def test_the_probe_oops_item_before_a_good_one_costs_only_itself():
    records = parse_hf_items([{"paper": "oops"}, sample_day()[0]])

    assert [r.arxiv_id for r in records] == ["2605.12500"]
    assert records.skipped == ["item 1: paper: Input should be a valid dictionary"]


def test_nul_bytes_in_a_title_are_removed_and_the_paper_kept():
    items = sample_day()
    items[0]["title"] = items[0]["paper"]["title"] = "SenseNova-U1:\x00 Unifying\x00 Multimodal"

    records = parse_hf_items(items)

    assert by_id(records)["2605.12500"].title == "SenseNova-U1: Unifying Multimodal"
    assert len(records) == 50


def test_a_link_over_500_characters_is_dropped_with_a_note_and_the_paper_kept():
    items = sample_day()
    items[0]["paper"]["githubRepo"] = "https://github.com/" + "a" * 600

    records = parse_hf_items(items)

    assert len(records) == 50
    assert by_id(records)["2605.12500"].github_url == ""
    assert records.warnings == ["item 1 (2605.12500): githubRepo dropped: URL longer than 500 characters (619)"]


def test_deeply_nested_json_is_refused_with_a_reason_not_a_recursion_error():
    content = json.dumps(sample_day()[:2])[:-1].encode() + b", " + b"[" * 100_000 + b"]" * 100_000 + b"]"

    with pytest.raises(SourceError, match="invalid JSON: nested too deeply"):
        parse_file(content)


def test_a_deeply_nested_field_costs_only_its_item():
    items = sample_day()
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    items[1]["paper"]["ai_keywords"] = nested

    records = parse_hf_items(items)

    assert len(records) == 49
    assert records.skipped[0].startswith("item 2 (")


def test_a_day_in_which_no_item_is_a_paper_is_an_error_not_an_empty_day():
    with pytest.raises(SourceError, match=r"none of its 2 items is a paper; item 1: paper: Input should be"):
        parse_hf_items([{"paper": "oops"}, {"paper": []}])
