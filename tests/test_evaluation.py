"""The labelled day, the harness that scores the ranking against it, and the benchmark command."""

from __future__ import annotations

import re

import pytest
from django.core.management import CommandError, call_command

from digest.matching import semantic
from digest.matching.evaluation import harness
from digest.matching.text import tokens

semantic_installed = pytest.mark.skipif(
    not semantic.is_semantic(), reason="the semantic extra is not installed: pip install '.[semantic]'"
)


def test_the_labelled_set_has_fifteen_profiles_or_more_graded_over_the_98_papers():
    ids = {p.arxiv_id for p in harness.papers()}

    assert len(ids) == 98
    assert len(harness.profiles()) >= 15
    for profile in harness.profiles():
        assert set(profile.grades) <= ids, profile.name
        assert set(profile.grades.values()) <= {1, 2, 3}
        assert 3 in profile.grades.values()


def test_paraphrased_profiles_share_no_word_with_the_titles_of_their_best_papers():
    titles = {p.arxiv_id: set(tokens(p.title)) for p in harness.papers()}
    paraphrased = [p for p in harness.profiles() if p.paraphrase]

    assert len(paraphrased) >= 5
    for profile in paraphrased:
        words = {w for interest in profile.interests for w in tokens(interest)}
        for arxiv_id in (i for i, grade in profile.grades.items() if grade == 3):
            assert not words & titles[arxiv_id], (profile.name, arxiv_id)


def test_the_metrics_on_known_rankings():
    grades = {"a": 3, "b": 1}

    assert harness.ndcg(["a", "b", "c"], grades) == 1.0
    assert harness.ndcg(["c", "d"], grades) == 0.0
    assert 0 < harness.ndcg(["b", "a"], grades) < 1
    assert harness.precision(["a", "b", "c", "d", "e"], grades) == 0.2  # grade 1 is not relevant


@semantic_installed
def test_our_ranking_beats_tf_idf_and_bm25_on_the_labelled_day():
    ours = harness.mean(harness.evaluate(harness.ours))

    for baseline in (harness.tfidf, harness.bm25):
        theirs = harness.mean(harness.evaluate(baseline))
        assert ours.ndcg > theirs.ndcg
        assert ours.precision > theirs.precision


@semantic_installed
def test_ratings_that_follow_a_hidden_interest_raise_precision_at_5():
    runs = harness.simulate_feedback()

    before = sum(r.before for r in runs) / len(runs)
    after = sum(r.after for r in runs) / len(runs)
    assert after > before + 0.1


@semantic_installed
def test_the_evaluate_command_prints_each_profile_and_the_means(capsys):
    call_command("evaluate_matching")

    out = capsys.readouterr().out
    assert out.startswith("Ranking: semantic + lexical (all-MiniLM-L6-v2)")
    for profile in harness.profiles():
        assert profile.name[:46] in out
    assert re.search(r"MEAN \(21 profiles\)\s+0\.\d{3}\s+0\.\d\d\s+0\.\d{3}", out)
    assert re.search(r"MEAN \(\d+ subscribers\)\s+P@5 before 0\.\d\d  after 0\.\d\d", out)


@semantic_installed
def test_the_fused_score_beats_each_of_its_parts_alone(capsys):
    call_command("evaluate_matching", "--parts", "--no-feedback")

    out = capsys.readouterr().out
    assert "lexical part nDCG@10" in out and "semantic part nDCG@10" in out
    means = [float(x) for x in re.search(r"MEAN \(21 profiles\)((?:\s+[\d.]+){10})", out).group(1).split()]
    ours, lexical, semantic_part = means[0], means[6], means[8]
    assert ours > lexical and ours > semantic_part


@pytest.mark.usefixtures("lexical_only")
def test_asking_for_the_parts_without_the_semantic_part_is_a_clear_error():
    with pytest.raises(CommandError, match=r"--parts needs the semantic part: pip install '\.\[semantic\]'"):
        call_command("evaluate_matching", "--parts")


def test_the_benchmark_command_prints_seconds_and_peak_memory(capsys):
    call_command("benchmark_matching", "--subscribers", "300", "--papers", "60")

    out = capsys.readouterr().out
    assert re.search(r"\d+\.\d\d s  matching 300 subscribers x 60 papers", out)
    assert re.search(r"\d+ matched, \d+ got the trending fallback", out)
    assert re.search(r"peak memory \(RSS\): [\d,]+ MiB", out)
