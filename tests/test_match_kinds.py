"""Every kind of interest, the semantic part, chunked ranking and the trending fallback, on the
98 real papers of 3 Sep 2025."""

from __future__ import annotations

import dataclasses

import pytest

from digest.matching import semantic
from digest.matching.ranker import (
    AUTHOR,
    CATEGORY,
    EXCLUDE,
    PAPER,
    TOPIC,
    EditionMatcher,
    Interest,
    Profile,
    rank_papers,
)
from tests.test_match import THRESHOLD, by_id, ids, sample_papers

EVERYTHING = 1000


def rank(*interests: Interest, limit: int = EVERYTHING, threshold: float = THRESHOLD, **options) -> list:
    seeds = {p.arxiv_id: p for p in sample_papers()}
    return rank_papers(
        sample_papers(),
        list(interests),
        limit,
        threshold,
        seed_lookup=lambda i: {x: seeds[x] for x in i if x in seeds},
        **options,
    )


def topic(text: str) -> Interest:
    return Interest(TOPIC, text)


semantic_installed = pytest.mark.skipif(
    not semantic.is_semantic(), reason="the semantic extra is not installed: pip install '.[semantic]'"
)


# --- Exclusions ---------------------------------------------------------------------------


def test_an_exclusion_removes_the_papers_it_matches_and_only_those():
    everything = by_id(rank(topic("continual learning")))
    without_medical = by_id(rank(topic("continual learning"), Interest(EXCLUDE, "medical")))

    medical = "2509.00082"  # Towards General Purpose Medical AI: Continual Learning Medical Foundation Model
    assert medical in everything
    assert medical not in without_medical
    assert set(everything) - set(without_medical) == {medical}


def test_an_exclusion_alone_sends_the_trending_papers_it_does_not_exclude():
    matches = rank(Interest(EXCLUDE, "bidirectional"), limit=5)

    assert matches and all(m.why.startswith("Trending today") for m in matches)
    assert "2509.00016" not in ids(matches)  # BiPO: Bidirectional ..., the most upvoted paper
    assert not any("bidirectional" in m.paper.title.lower() for m in matches)


# --- Authors and categories -----------------------------------------------------------------


def test_a_followed_author_brings_their_papers_first_and_says_so():
    author = sample_papers()[40].authors[0]
    theirs = {p.arxiv_id for p in sample_papers() if author in p.authors}

    matches = rank(topic("reinforcement learning"), Interest(AUTHOR, author.upper()))

    assert set(ids(matches[: len(theirs)])) == theirs
    assert matches[0].why == f"By an author you follow: {author.upper()}"


def test_a_followed_category_brings_its_papers_and_says_so():
    papers = [
        dataclasses.replace(p, categories=["cs.RO"] if "Robot" in p.title else ["cs.CL"]) for p in sample_papers()
    ]
    robotics = {p.arxiv_id for p in papers if "Robot" in p.title}

    matches = rank_papers(papers, [Interest(CATEGORY, "cs.ro")], 10, THRESHOLD)

    assert set(ids(matches)) == robotics
    assert matches[0].why == "In cs.ro, a category you follow"


# --- Seed papers ------------------------------------------------------------------------------


def test_a_seed_paper_brings_papers_like_it_but_not_itself():
    seed = "2509.00010"  # Learning Diverse Bimanual Dexterous Manipulation Skills from Human Demonstrations

    matches = rank(Interest(PAPER, seed), limit=3)

    assert seed not in ids(matches)
    assert "2509.00012" in ids(matches)  # You Only Teach Once: ... Bimanual Robotic Manipulation ...
    assert matches[0].why.startswith("Similar to a paper you follow: \u201cLearning Diverse Bimanual")


def test_an_unknown_seed_paper_matches_nothing_and_breaks_nothing():
    assert rank(Interest(PAPER, "2401.99999")) == []
    assert ids(rank(Interest(PAPER, "2401.99999"), topic("reversal curse"))) == ids(rank(topic("reversal curse")))


# --- The semantic part ------------------------------------------------------------------------


PARAPHRASE = "sequentially acquiring skills without erasing earlier ones"  # continual learning
CONTINUAL_LEARNING = {"2509.00088", "2509.00071", "2509.00035", "2509.00009", "2509.00042"}  # titled so


@semantic_installed
def test_a_paraphrase_sharing_no_word_with_the_titles_finds_the_papers():
    matches = rank(topic(PARAPHRASE), limit=5)

    assert len(set(ids(matches)) & CONTINUAL_LEARNING) >= 3
    assert all(
        not set(m.paper.title.lower().split()) & set(PARAPHRASE.split())
        for m in matches
        if m.paper.arxiv_id in CONTINUAL_LEARNING
    )
    assert by_id(matches)["2509.00071"].why == f"Close in meaning to your topic \u201c{PARAPHRASE}\u201d"


@semantic_installed
def test_the_semantic_mode_is_reported():
    assert semantic.status().mode == semantic.SEMANTIC
    assert str(semantic.status()) == "semantic + lexical (all-MiniLM-L6-v2)"


def test_without_the_semantic_part_ranking_is_lexical_and_says_so(lexical_only, caplog):
    matches = rank(topic(PARAPHRASE))

    assert semantic.status().mode == semantic.LEXICAL
    assert str(semantic.status()) == "lexical only (PAPERBOY_SEMANTIC=off)"
    assert matches == []
    assert set(ids(rank(topic("machine unlearning"), limit=2))) == {"2509.00028", "2509.00089"}


def test_paper_vectors_are_computed_once_and_kept_on_the_paper():
    papers = [dataclasses.replace(p) for p in sample_papers()[:5]]

    first = semantic.paper_vectors(papers)
    kept = [p.vector for p in papers]
    again = semantic.paper_vectors(papers)

    assert [p.vector for p in papers] == kept
    assert (first == again).all()
    assert all(p.vector_kind == semantic.vector_kind() for p in papers)


def test_an_abstract_is_split_into_sentences_without_fragments():
    paper = dataclasses.replace(
        sample_papers()[0],
        abstract="We study continual learning in robots, e.g. arms. Fig. 2 shows the whole setup. It works.",
    )

    assert semantic.abstract_sentences(paper) == [
        "We study continual learning in robots, e.g. arms.",
        "2 shows the whole setup.",
    ]
    assert semantic.abstract_sentences(dataclasses.replace(paper, abstract="")) == [paper.title]


@semantic_installed
def test_each_paper_scores_by_its_closest_abstract_sentence():
    papers = sample_papers()[:6]
    sentence = semantic.abstract_sentences(papers[3])[2]

    best = semantic.sentence_vectors(papers).best(semantic.encode([sentence]))

    assert best.shape == (1, 6)
    assert best[0, 3] == pytest.approx(1.0, abs=1e-3)
    assert best[0].argmax() == 3
    assert (best[0, [0, 1, 2, 4, 5]] < 0.95).all()


# --- Many subscribers at once ------------------------------------------------------------------


def test_ranking_a_chunk_gives_each_subscriber_what_ranking_them_alone_gives():
    profiles = [
        Profile([topic("reinforcement learning")], 5),
        Profile([topic("continual learning"), Interest(EXCLUDE, "medical")], 7),
        Profile([], 3),
        Profile([topic("reversal curse"), topic("machine unlearning")], 10),
        Profile([topic("quokka husbandry")], 10),
    ]
    together = EditionMatcher(sample_papers(), THRESHOLD).rank_many(profiles)

    for profile, ranking in zip(profiles, together, strict=True):
        alone = EditionMatcher(sample_papers(), THRESHOLD).rank_many([profile])[0]
        assert [(m.paper.arxiv_id, m.score, m.why) for m in ranking.matches] == [
            (m.paper.arxiv_id, m.score, m.why) for m in alone.matches
        ]
        assert len(ranking.matches) <= profile.limit
    assert [len(r.matches) for r in together][2:] == [3, len(together[3].matches), 0]


# --- A weak day -------------------------------------------------------------------------------


def test_a_topic_with_no_match_gets_nothing_by_default():
    ranking = EditionMatcher(sample_papers(), THRESHOLD).rank_many([Profile([topic("quokka husbandry")], 10)])[0]

    assert ranking.matches == [] and not ranking.trending_fallback


def test_with_the_setting_a_topic_with_no_match_gets_a_short_trending_list():
    matcher = EditionMatcher(sample_papers(), THRESHOLD, send_trending_when_empty=True)

    ranking = matcher.rank_many([Profile([topic("quokka husbandry")], 10)])[0]

    assert ranking.trending_fallback
    assert [m.paper.upvotes for m in ranking.matches] == sorted((p.upvotes for p in sample_papers()), reverse=True)[:3]
    assert all(m.why.startswith("Trending today") and m.interest == "" for m in ranking.matches)


# --- What staff see ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_editions_page_in_the_admin_says_how_matching_ranks(admin_client, lexical_only):
    page = admin_client.get("/admin/digest/edition/")

    assert "Matching: lexical only (PAPERBOY_SEMANTIC=off)" in page.content.decode()


@semantic_installed
@pytest.mark.django_db
def test_the_editions_page_names_the_embedding_model_when_semantic(admin_client):
    page = admin_client.get("/admin/digest/edition/")

    assert "Matching: semantic + lexical (all-MiniLM-L6-v2)" in page.content.decode()
