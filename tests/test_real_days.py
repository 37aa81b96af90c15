"""The labelled real days (digest/matching/evaluation/real_days) and what evaluate_matching prints for them."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command

from digest.matching import semantic
from digest.matching.background import bundled_papers
from digest.matching.evaluation import real_days
from digest.matching.text import tokens

semantic_installed = pytest.mark.skipif(
    not semantic.is_semantic(), reason="the semantic extra is not installed: pip install '.[semantic]'"
)
CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def title_words(title: str) -> set[str]:
    """The title's words as matching stems them, with SwanVoice or FSVideo also split in two."""
    return set(tokens(title)) | set(tokens(CAMEL.sub(" ", title)))


def test_three_real_days_each_grade_every_paper_for_twelve_profiles_or_more():
    assert [day.date for day in real_days.days()] == ["2025-05-30", "2026-02-03", "2026-06-01"]
    for day in real_days.days():
        ids = {p.arxiv_id for p in day.papers}
        assert len(ids) == len(day.papers) >= 40
        assert len(day.profiles) >= 12
        kinds = [p.kind for p in day.profiles]
        assert set(kinds) == set(real_days.KINDS) and kinds.count(real_days.ABSENT) >= 3
        for profile in day.profiles:
            assert profile.id.startswith(day.date)
            assert set(profile.grades) == ids, profile.id  # every paper graded, none from elsewhere
            assert set(profile.grades.values()) <= {0, 1, 2, 3}
            relevant = [g for g in profile.grades.values() if g >= 2]
            if profile.kind == real_days.ABSENT:
                assert not relevant, profile.id
            else:
                assert 3 in profile.grades.values() and len(relevant) >= 2, profile.id


def test_paraphrased_profiles_share_no_word_with_the_titles_of_their_papers_graded_2_or_more():
    checked = 0
    for day in real_days.days():
        titles = {p.arxiv_id: title_words(p.title) for p in day.papers}
        for profile in (p for p in day.profiles if p.kind == real_days.PARAPHRASED):
            words = {w for topic in profile.topics for w in tokens(topic)}
            for arxiv_id in (i for i, grade in profile.grades.items() if grade >= 2):
                assert not words & titles[arxiv_id], (profile.id, arxiv_id, words & titles[arxiv_id])
                checked += 1
    assert checked >= 30


def test_the_check_is_not_vacuous_most_worded_profiles_share_a_title_word():
    worded = [(day, p) for day in real_days.days() for p in day.profiles if p.kind == real_days.WORDED]
    sharing = 0
    for day, profile in worded:
        titles = {p.arxiv_id: title_words(p.title) for p in day.papers}
        words = {w for topic in profile.topics for w in tokens(topic)}
        sharing += any(words & titles[i] for i, grade in profile.grades.items() if grade >= 2)
    assert sharing >= len(worded) * 0.75


def test_the_bundled_background_holds_no_paper_of_the_evaluation_days():
    evaluated = {p.arxiv_id for day in real_days.days() for p in day.papers}
    background = {p.arxiv_id for p in bundled_papers()}

    assert len(background) >= 250
    assert not background & evaluated


def test_the_day_files_are_the_hugging_face_json_as_fetched():
    for day in real_days.days():
        items = json.loads((real_days.HERE / f"hf-{day.date}.json").read_bytes())
        assert [i["paper"]["id"] for i in items] == [p.arxiv_id for p in day.papers]


def test_figures_count_what_is_sent():
    day = real_days.days()[0]
    absent = next(p for p in day.profiles if p.kind == real_days.ABSENT)
    worded = next(p for p in day.profiles if p.kind == real_days.WORDED)
    best = [i for i, g in sorted(worded.grades.items(), key=lambda kv: -kv[1])]
    results = [
        real_days.ProfileResult(worded, (best[0], best[-1]), 1.0),  # one relevant, one not
        real_days.ProfileResult(absent, tuple(best[:3]), 0.0),  # three false alarms
    ]

    figures = real_days.Figures.of(results)
    assert figures.sent == 5
    assert figures.sent_precision == pytest.approx(1 / 5)  # the absent profile's three are all graded 0
    assert figures.absent_false_alarms == 3.0 and figures.absent_most == 3
    assert figures.sent_nothing == {real_days.WORDED: 0, real_days.PARAPHRASED: 0}


@semantic_installed
def test_the_evaluate_command_prints_the_real_days_for_each_ranker(capsys):
    call_command("evaluate_matching", "--no-feedback")

    out = capsys.readouterr().out
    assert "Real days" in out
    rows = re.findall(r"^(paperboy|tf-idf|bm25)\s+(\S+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)", out, re.M)
    assert {(r[0], r[1]) for r in rows} == {
        (name, day) for name in ("paperboy", "tf-idf", "bm25") for day in (*real_days.DATES, "overall")
    }
    overall = {r[0]: (float(r[3]), float(r[4])) for r in rows if r[1] == "overall"}
    # Ours sends a larger share of relevant papers, and far fewer to absent topics, than either baseline.
    for baseline in ("tf-idf", "bm25"):
        assert overall["paperboy"][0] > overall[baseline][0] + 0.2
        assert overall["paperboy"][1] < overall[baseline][1] / 5
