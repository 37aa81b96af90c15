"""Ranking the seed day's 98 papers (real titles and abstracts of 3 Sep 2025, made-up ids: the
matching evaluation's labelled set) for a reader's topics."""

from __future__ import annotations

import json
from functools import cache, partial

import pytest

from digest.matching.ranker import Match, rank_papers
from digest.sources import PaperRecord, parse_hf_items
from tests.conftest import SAMPLE_WEEK_DIR

SEED_DAY = SAMPLE_WEEK_DIR / "hf-daily-papers.json"
THRESHOLD = 0.4  # PAPERBOY_MATCH_THRESHOLD's default
EVERYTHING = 1000
SCORE_STEP = 1e-4  # a Match keeps 4 decimals


@cache
def sample_papers() -> tuple[PaperRecord, ...]:
    return tuple(parse_hf_items(json.loads(SEED_DAY.read_bytes())))


def rank(*topics: str, limit: int = EVERYTHING, threshold: float = THRESHOLD) -> list[Match]:
    return rank_papers(sample_papers(), list(topics), limit, threshold)


def ids(matches: list[Match]) -> list[str]:
    return [m.paper.arxiv_id for m in matches]


def by_id(matches: list[Match]) -> dict[str, Match]:
    return {m.paper.arxiv_id: m for m in matches}


def test_sample_day_holds_the_98_papers():
    assert len(sample_papers()) == 98


def test_papers_with_the_phrase_in_the_title_rank_at_the_top():
    matches = rank("reinforcement learning")
    titled = {p.arxiv_id for p in sample_papers() if "reinforcement learning" in p.title.lower()}

    assert len(titled) == 7
    assert all("reinforcement learning" in m.paper.title.lower() for m in matches[:4])
    assert titled <= set(ids(matches[:10]))
    assert matches[0].paper.title.startswith("Inverse Reinforcement Learning Meets Large Language Model")


def test_matches_come_best_first():
    scores = [m.score for m in rank("reinforcement learning")]

    assert len(scores) > 10
    assert scores == sorted(scores, reverse=True)


def test_limit_keeps_only_the_best():
    everything = rank("reinforcement learning")

    assert ids(rank("reinforcement learning", limit=3)) == ids(everything)[:3]


def test_every_match_reaches_the_threshold():
    matches = rank("reinforcement learning")

    assert all(m.score >= THRESHOLD for m in matches)
    assert len(rank("reinforcement learning", threshold=0.0)) > len(matches)


def test_a_higher_threshold_keeps_only_the_stronger_matches():
    strong = rank("reinforcement learning", threshold=0.75)

    assert strong
    assert all(m.score >= 0.75 for m in strong)
    assert ids(strong) == ids(rank("reinforcement learning"))[: len(strong)]


def test_a_topic_with_no_word_in_any_paper_matches_nothing():
    assert rank("quokka husbandry") == []
    assert rank("quokka husbandry", threshold=0.0) == []


def test_a_nonsense_topic_sharing_one_rare_word_with_a_paper_matches_nothing():
    # One paper mentions "Zebra Puzzles"; "husbandry" is in none, and must count against the match.
    assert [p.arxiv_id for p in sample_papers() if "zebra" in p.abstract.lower()] == ["2509.00047"]
    assert rank("zebra husbandry") == []


def test_a_topic_of_only_stopwords_matches_nothing():
    assert rank("the of and with") == []


def test_with_two_topics_each_paper_remembers_the_topic_that_brought_it():
    matches = by_id(rank("reinforcement learning", "robot manipulation"))

    assert matches["2509.00086"].interest == "reinforcement learning"  # Inverse Reinforcement Learning Meets ...
    assert matches["2509.00012"].interest == "robot manipulation"  # ... Bimanual Robotic Manipulation ...


def test_with_two_topics_a_paper_takes_its_best_single_topic_score_not_the_sum():
    rl = by_id(rank("reinforcement learning", threshold=0.0))
    robots = by_id(rank("robot manipulation", threshold=0.0))
    both = by_id(rank("reinforcement learning", "robot manipulation", threshold=0.0))

    # A text's vector can differ in its last bit with the texts it was encoded beside (padding
    # changes the shapes of the matrix products), so a rounded score may differ by one in the
    # fourth decimal between separate rankings.
    same = partial(pytest.approx, abs=SCORE_STEP)
    # "Robot Fine-Tuning Made Easy: ... Real-World Reinforcement Learning" matches both topics.
    assert rl["2509.00080"].score > robots["2509.00080"].score > 0.5
    assert both["2509.00080"].score == same(rl["2509.00080"].score)
    assert both["2509.00080"].interest == "reinforcement learning"
    for arxiv_id, match in both.items():
        singles = [m for m in (rl.get(arxiv_id), robots.get(arxiv_id)) if m]
        best = max(m.score for m in singles)
        assert match.score == same(best)
        assert match.interest in {m.interest for m in singles if m.score == same(best)}


def test_two_topics_bring_the_best_papers_of_each():
    matches = ids(rank("reinforcement learning", "robot manipulation", limit=10))

    assert "2509.00086" in matches  # the best for reinforcement learning
    assert "2509.00012" in matches  # the best for robot manipulation
    assert len(matches) == 10


def test_without_topics_the_most_upvoted_papers_come_first():
    matches = rank(limit=5)
    upvotes = sorted((p.upvotes for p in sample_papers()), reverse=True)

    assert [m.paper.upvotes for m in matches] == upvotes[:5]
    assert matches[0].paper.title.startswith("BiPO: Bidirectional Partial Occlusion Network")
    assert matches[0].why == "Trending today: 96 upvotes"
    assert all(m.why == f"Trending today: {m.paper.upvotes} upvotes" for m in matches)


def test_stemming_lets_robots_match_robot_and_robotic_titles():
    matches = by_id(rank("robots"))

    assert matches["2509.00091"].paper.title.startswith("Redefining Robot Generalization")
    assert matches["2509.00080"].paper.title.startswith("Robot Fine-Tuning Made Easy")
    assert "Robotic Manipulation" in matches["2509.00012"].paper.title
    assert ids(rank("robots"))[:3] == ["2509.00091", "2509.00080", "2509.00012"]


def test_stemming_matches_the_same_papers_for_singular_and_plural():
    # The same papers by their words; their order, and what is close in meaning, may differ a
    # little, since "robot" and "robots" are not the same point in the embedding space.
    assert {i for i, m in by_id(rank("robots")).items() if m.terms} == {
        i for i, m in by_id(rank("robot")).items() if m.terms
    }
    assert ids(rank("robots"))[:5] == ids(rank("robot"))[:5]


def test_why_names_the_topic_when_every_word_matched():
    match = by_id(rank("robot manipulation"))["2509.00012"]

    assert match.why == "Matches your topic \u201crobot manipulation\u201d"


def test_why_names_the_topic_as_the_reader_typed_it():
    match = rank("Robots")[0]

    assert match.why == "Matches your topic \u201cRobots\u201d"


def test_why_names_only_the_words_a_paper_contains():
    matches = by_id(rank("robot manipulation", threshold=0.0))
    emac = matches["2509.00001"]  # EMAC+: "... robotics control ...", close in meaning too

    assert "manipulation" not in f"{emac.paper.title} {emac.paper.abstract}".lower()
    assert emac.why in (
        "Partly matches your topic \u201crobot manipulation\u201d: robot",
        "Close in meaning to your topic \u201crobot manipulation\u201d",
    )
    # Thinking with Images has "manipulation" (of images) and nothing of robots: half the topic's
    # weight, in another sense, is no reason to send it.
    assert "2509.00029" not in matches
