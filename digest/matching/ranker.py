"""Step 3 of the day: rank the edition's papers for each subscriber.

Everything is built once per edition (`EditionMatcher`): a BM25 index with Snowball stemming
over title (counted twice), abstract and HF keywords, and one vector per paper (sentence
embeddings with the `semantic` extra, see semantic.py). Each distinct interest is scored once
against every paper and kept as one row of a matrix, since many subscribers share topics; a
chunk of subscribers is then ranked with matrix operations (the max over their interests'
rows, exclusions masked out, a per-subscriber model from their 👍/👎 blended in).

Scores are in [0, 1], so one threshold (PAPERBOY_MATCH_THRESHOLD) means the same for every
kind of interest:
- topic: lexical and semantic scores fused as a probabilistic OR, 1 - (1 - lex)(1 - sem), so
  either strong signal carries a paper and both together carry it further. The lexical score
  is BM25 divided by the topic's ceiling, plus a bonus when the whole phrase appears. The
  semantic score mixes the cosine with the whole paper and with its closest abstract sentence
  (SENTENCE_SHARE), so a topic worded unlike the title still finds the sentence that says it.
- author: an exact (case-insensitive) author name scores 1; topics top out at TOPIC_CEILING.
- category: a paper in a followed arXiv category scores CATEGORY_SCORE.
- seed paper: the calibrated cosine between the seed paper and each paper.
- exclusion ("not: medical imaging"): papers it scores above the threshold are dropped.
With several interests a paper takes its best one (max, not sum) and remembers it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digest.matching import background, feedback, semantic
from digest.matching.lexical import Hit, PaperIndex
from digest.matching.text import PaperLike, normalise_name

log = logging.getLogger(__name__)

# Cosines of all-MiniLM-L6-v2: unrelated papers sit below ~0.25, clearly related ones above ~0.5.
# Used for seed papers; a topic's closeness is judged against its background instead.
COSINE_FLOOR = 0.25
COSINE_SPAN = 0.35
# A topic's closeness to a paper, in robust standard deviations above what the topic scores on
# papers in general (background.py): under MEANING_FLOOR it says nothing, and it counts 63% at
# MEANING_FLOOR + MEANING_SPAN. "Close in meaning" is said from CLOSE_LEVEL, and never under
# the absolute ABSOLUTE_FLOOR of the raw closeness (a topic far from every paper).
# A normal null puts 3 sigmas at about 1 paper in 1,000 (CLOSE_LEVEL); the other levels were
# chosen on the seed day (evaluation/judgments.json), never on the real days.
MEANING_FLOOR = 1.5
MEANING_SPAN = 2.5
CLOSE_LEVEL = 3.0  # all-MiniLM-L6-v2's, and any model's without its own below
ABSOLUTE_FLOOR = 0.25
# A model's cosines have their own tail: all-mpnet-base-v2's is heavier (on the seed day 2.7% of
# the papers graded 0 reach 3 robust SDs of a topic, against 1.3% with MiniLM), so it says "close
# in meaning" from 4, the lowest level at which its seed-day sent precision (0.625) is at least
# MiniLM's at 3 (0.615). Chosen on the seed day only; the other levels suit both models there.
CLOSE_LEVELS = {"all-minilm-l6-v2": 3.0, "all-mpnet-base-v2": 4.0}
# "Partly matches" needs the shared words to carry this share of the topic's weight (IDF over
# the background): "generation" alone does not stand for "retrieval-augmented generation".
PARTIAL_SHARE = 0.6
# The share of a topic's closeness that comes from the paper's closest abstract sentence, the
# rest from the whole paper's vector. On the labelled day (manage.py evaluate_matching) 0.2-0.3
# lifts both the topics worded like titles and the paraphrased ones; the whole vector alone
# misses paraphrases, the best sentence alone is noisy (one generic sentence can match anything).
SENTENCE_SHARE = 0.25
# Paper-to-paper cosines run higher (a day's papers share a field): on the sample day the median
# pair is 0.45 and a paper's closest neighbours 0.7-0.8. Hashed word vectors run lower.
SEED_FLOOR_SPAN = {True: (0.55, 0.30), False: (0.2, 0.35)}
# An exact author is the surest sign: it ranks above even a perfect topic match.
TOPIC_CEILING = 0.95
AUTHOR_SCORE = 1.0
CATEGORY_SCORE = 0.6
TRENDING_FALLBACK_PAPERS = 3

TOPIC = "topic"
AUTHOR = "author"
CATEGORY = "category"
PAPER = "paper"
EXCLUDE = "exclude"
LIKED = "liked"

# Why a topic brought a paper; a paper with none of these is not sent for that topic.
TOGETHER = "together"  # the topic's words, together as typed
EVERY_WORD = "every word"  # all of them, apart
PARTLY = "partly"  # the words that carry most of its meaning
CLOSE = "close"  # close in meaning (calibrated)


@dataclass(frozen=True)
class Match:
    paper: PaperLike
    score: float
    interest: str = ""  # the interest that brought it, as the subscriber entered it; "" when trending
    terms: tuple[str, ...] = ()
    kind: str = TOPIC
    note: str = ""  # for a seed paper: its title
    evidence: str = ""  # for a topic: TOGETHER, EVERY_WORD, PARTLY or CLOSE

    @property
    def why(self) -> str:
        """The one line the email shows under the paper."""
        if not self.interest:
            return f"Trending today: {self.paper.upvotes or 0} upvotes"
        if self.kind == AUTHOR:
            return f"By an author you follow: {self.interest}"
        if self.kind == CATEGORY:
            return f"In {self.interest}, a category you follow"
        if self.kind == PAPER:
            return f"Similar to a paper you follow: \u201c{self.note or self.interest}\u201d"
        if self.kind == LIKED:
            return "Similar to papers you liked"
        if self.evidence == TOGETHER:
            return f"Matches your topic \u201c{self.interest}\u201d"
        if self.evidence == EVERY_WORD:
            return f"Has every word of your topic \u201c{self.interest}\u201d, not together"
        if self.evidence == PARTLY:
            return f"Partly matches your topic \u201c{self.interest}\u201d: {', '.join(self.terms)}"
        return f"Close in meaning to your topic \u201c{self.interest}\u201d"


@dataclass(frozen=True)
class Interest:
    kind: str
    value: str


@dataclass
class Profile:
    """What one subscriber asked for, in the form the matcher needs."""

    interests: Sequence[Interest]
    limit: int
    ratings: feedback.Ratings | None = None


@dataclass
class Ranking:
    matches: list[Match] = field(default_factory=list)
    trending_fallback: bool = False  # nothing passed the threshold; these are the day's trending papers


def calibrate(cosines: np.ndarray, floor: float = COSINE_FLOOR, span: float = COSINE_SPAN) -> np.ndarray:
    return np.clip((cosines - floor) / span, 0.0, 1.0)


def meaning_of(levels: np.ndarray) -> np.ndarray:
    """The semantic half of a topic's score, in [0, 1), from its calibrated closeness: it rises
    from MEANING_FLOOR and never saturates, so the closest papers keep their order."""
    return (1 - np.exp(-np.clip((levels - MEANING_FLOOR) / MEANING_SPAN, 0.0, None))).astype(np.float32)


def mixed_closeness(queries: np.ndarray, vectors: np.ndarray, sentences: semantic.SentenceVectors | None) -> np.ndarray:
    """queries x papers: cosine with the whole paper mixed with its closest abstract sentence."""
    whole = queries @ vectors.T
    if sentences is None:
        return whole
    return (1 - SENTENCE_SHARE) * whole + SENTENCE_SHARE * sentences.best(queries)


def close_level() -> float:
    """The level from which this process's model says "close in meaning" (CLOSE_LEVELS)."""
    name = semantic.model_name().lower().removeprefix("sentence-transformers/")
    return CLOSE_LEVELS.get(name, CLOSE_LEVEL)


def evidence_for(hit: Hit | None, level: float, close: float = CLOSE_LEVEL) -> tuple[tuple[str, ...], str] | None:
    """The true reason a topic brings a paper (the words to name, and which reason), or None."""
    if hit is not None and hit.together:
        return hit.words, TOGETHER
    if hit is not None and hit.every_word:
        return hit.words, EVERY_WORD
    if hit is not None and hit.share >= PARTIAL_SHARE:
        return hit.words, PARTLY
    if level >= close:
        return (), CLOSE
    return None


# --- One edition -----------------------------------------------------------------------


SeedLookup = Callable[[Sequence[str]], dict[str, Any]]


class EditionMatcher:
    """Everything about one edition's papers that does not depend on the subscriber, built
    once per edition and shared by every subscriber ranked against it."""

    def __init__(
        self,
        papers: Sequence[PaperLike],
        threshold: float,
        send_trending_when_empty: bool = False,
        seed_lookup: SeedLookup | None = None,
        past: background.Background | None = None,
        require_reason: bool = True,
    ) -> None:
        self.papers = list(papers)
        self.threshold = threshold
        self.send_trending_when_empty = send_trending_when_empty
        self.seed_lookup = seed_lookup or (lambda ids: {})
        # Send a paper for a topic only with a true reason (the evaluation turns it off to
        # measure the ordering alone).
        self.require_reason = require_reason
        self.background = past if past is not None else background.bundled()
        self.index = PaperIndex(self.papers, self.background.document_frequency, len(self.background))
        self.semantic = semantic.is_semantic()
        self.close_level = close_level() if self.semantic else CLOSE_LEVEL
        self.vectors = semantic.paper_vectors(self.papers)
        self.sentences = semantic.sentence_vectors(self.papers) if self.semantic else None
        self.upvotes = np.array([p.upvotes or 0 for p in self.papers], dtype=np.int64)
        self.trending_order = sorted(range(len(self.papers)), key=lambda i: (-self.upvotes[i], self.papers[i].title))
        self.tiebreak = np.empty(len(self.papers), dtype=np.float64)
        self.tiebreak[self.trending_order] = np.arange(len(self.papers), 0, -1)
        self.by_arxiv_id = {p.arxiv_id: i for i, p in enumerate(self.papers)}
        self.authors = self.author_index()
        self.rows: dict[Interest, int] = {}
        self.interests: list[Interest] = []
        self.row_terms: list[dict[int, tuple[tuple[str, ...], str]]] = []  # paper -> (words, evidence)
        self.row_notes: list[str] = []
        self.buffer = np.zeros((64, len(self.papers)), dtype=np.float32)  # grows by doubling

    @property
    def matrix(self) -> np.ndarray:
        """One row per distinct interest seen so far: its score for every paper."""
        return self.buffer[: len(self.interests)]

    def author_index(self) -> dict[str, np.ndarray]:
        papers_by_author: dict[str, list[int]] = {}
        for i, paper in enumerate(self.papers):
            for name in paper.authors:
                papers_by_author.setdefault(normalise_name(name), []).append(i)
        return {name: np.array(ids) for name, ids in papers_by_author.items()}

    # Interest rows: one per distinct interest, scored once per edition.

    def ensure_rows(self, interests: Sequence[Interest]) -> None:
        new = [i for i in dict.fromkeys(interests) if i not in self.rows]
        if not new:
            return
        topics = list(dict.fromkeys(i.value for i in new if i.kind in (TOPIC, EXCLUDE)))
        closeness = dict(zip(topics, self.closeness(topics), strict=True)) if self.semantic and topics else {}
        seeds = self.seed_lookup([i.value for i in new if i.kind == PAPER])
        if len(self.interests) + len(new) > len(self.buffer):
            grown = np.zeros((2 * (len(self.interests) + len(new)), len(self.papers)), dtype=np.float32)
            grown[: len(self.interests)] = self.matrix
            self.buffer = grown
        for interest in new:
            scores, terms, note = self.score_interest(interest, closeness.get(interest.value), seeds)
            self.buffer[len(self.interests)] = scores
            self.rows[interest] = len(self.interests)
            self.interests.append(interest)
            self.row_terms.append(terms)
            self.row_notes.append(note)

    def closeness(self, topics: Sequence[str]) -> np.ndarray:
        """topics x papers: how far above its background each topic's closeness to each paper
        is, in robust standard deviations; under ABSOLUTE_FLOOR of raw closeness, 0."""
        vectors = semantic.interest_vectors.get(topics)
        raw = mixed_closeness(vectors, self.vectors, self.sentences)
        median, spread = background.null_distribution(
            mixed_closeness(vectors, self.background.vectors, self.background.sentences)
        )
        levels = (raw - median[:, None]) / spread[:, None]
        return np.where(raw >= ABSOLUTE_FLOOR, levels, 0.0).astype(np.float32)

    def score_interest(
        self, interest: Interest, closeness: np.ndarray | None, seeds: dict[str, Any]
    ) -> tuple[np.ndarray, dict[int, tuple[tuple[str, ...], str]], str]:
        scores = np.zeros(len(self.papers), dtype=np.float32)
        if interest.kind in (TOPIC, EXCLUDE):
            lexical, hits = self.index.score_topic(interest.value)
            levels = np.zeros(len(self.papers), dtype=np.float32) if closeness is None else closeness
            meaning = meaning_of(levels)
            close = self.close_level
            candidates = set(hits).union(np.flatnonzero(levels >= close).tolist())  # the rest have no reason
            evidence = {doc: found for doc in candidates if (found := evidence_for(hits.get(doc), levels[doc], close))}
            scores = TOPIC_CEILING * (1 - (1 - lexical) * (1 - meaning))
            # Only a paper the topic truly brings is sent for it: one with a reason that is true.
            gate = np.zeros(len(self.papers), dtype=bool)
            gate[list(evidence)] = True
            if not self.require_reason:
                gate[:] = True
            return np.where(gate, scores, 0.0).astype(np.float32), evidence, ""
        if interest.kind == AUTHOR:
            scores[self.authors.get(normalise_name(interest.value), [])] = AUTHOR_SCORE
        elif interest.kind == CATEGORY:
            wanted = interest.value.strip().lower()
            scores[[i for i, p in enumerate(self.papers) if wanted in (c.lower() for c in p.categories)]] = (
                CATEGORY_SCORE
            )
        elif interest.kind == PAPER:
            seed = seeds.get(interest.value)
            if seed is None:
                log.info("Seed paper %s is not known yet: skipped", interest.value)
                return scores, {}, ""
            cosines = self.vectors @ semantic.paper_vectors([seed])[0]
            scores = calibrate(cosines, *SEED_FLOOR_SPAN[self.semantic]).astype(np.float32)
            if interest.value in self.by_arxiv_id:
                scores[self.by_arxiv_id[interest.value]] = 0.0  # they know it already
            return scores, {}, seed.title
        return scores, {}, ""

    # Ranking.

    def rank_many(self, profiles: Sequence[Profile]) -> list[Ranking]:
        """Rank a chunk of subscribers at once, with array operations over the whole chunk."""
        self.ensure_rows([i for p in profiles for i in p.interests])  # new texts encoded in one batch
        if not self.papers or not profiles:
            return [Ranking() for _ in profiles]
        wanted = [[self.rows[i] for i in p.interests if i.kind != EXCLUDE] for p in profiles]
        unwanted = [[self.rows[i] for i in p.interests if i.kind == EXCLUDE] for p in profiles]
        best, best_row = self.max_over_rows(wanted, with_argmax=True)
        unwanted_scores, _ = self.max_over_rows(unwanted)
        excluded = (unwanted_scores > 0) & (unwanted_scores >= self.threshold)
        liked = self.liked_scores(profiles)
        if liked is not None:
            weights = liked[1][:, None]
            best = (1 - weights) * best + liked[0]
        # Best first; ties (at the 4 decimals a Match keeps) go to the more upvoted paper. One
        # exact key per paper, so the top `limit` are always the first `limit` of the whole list.
        passing = (best > 0) & (best >= self.threshold) & ~excluded
        keys = np.where(passing, np.round(best.astype(np.float64), 4) * 1e4 * (len(self.papers) + 1), -np.inf)
        keys += self.tiebreak
        k = min(max(p.limit for p in profiles), len(self.papers))
        top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, 1), axis=1, kind="stable"), 1)
        rankings = []
        for n, profile in enumerate(profiles):
            chosen = top[n, : profile.limit]
            chosen = chosen[passing[n, chosen]]
            scores = np.round(best[n, chosen].astype(np.float64), 4).tolist()
            rows = best_row[n, chosen].tolist()
            has_model = liked is not None and liked[1][n] > 0
            if has_model:
                # Mostly the ratings' doing: their share of the score beats the interest's.
                by_ratings = (2 * liked[0][n, chosen] > best[n, chosen]).tolist()
            else:
                by_ratings = [False] * len(rows)
            matches = [
                self.explain(int(i), score, row, rated)
                for i, score, row, rated in zip(chosen, scores, rows, by_ratings, strict=True)
            ]
            if not wanted[n] and not has_model:
                rankings.append(Ranking(self.trending(profile.limit, excluded[n])))
            elif not matches and self.send_trending_when_empty:
                rankings.append(Ranking(self.trending(min(profile.limit, TRENDING_FALLBACK_PAPERS), excluded[n]), True))
            else:
                rankings.append(Ranking(matches))
        return rankings

    def max_over_rows(self, rows_per_profile: list[list[int]], with_argmax: bool = False) -> tuple[np.ndarray, Any]:
        """Per profile, the max over its rows of the interest matrix (0 where it has none) and,
        if asked, which row gave it (-1 where none)."""
        shape = (len(rows_per_profile), len(self.papers))
        result = np.zeros(shape, dtype=np.float32)
        which = np.full(shape, -1, dtype=np.int64) if with_argmax else None
        having = [n for n, rows in enumerate(rows_per_profile) if rows]
        if not having:
            return result, which
        flat = np.concatenate([rows_per_profile[n] for n in having])
        counts = np.array([len(rows_per_profile[n]) for n in having])
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        gathered = self.matrix[flat]
        maxima = np.maximum.reduceat(gathered, starts, axis=0)
        result[having] = maxima
        if with_argmax:
            # The first of a profile's rows that reaches its max: mark the rows at the max with
            # their position from the end of the segment, and take the largest mark.
            owner = np.repeat(np.arange(len(having)), counts)
            ends = (starts + counts).astype(np.int32)
            from_end = (np.repeat(ends, counts) - np.arange(len(flat), dtype=np.int32))[:, None]
            marks = np.where(gathered == maxima[owner], from_end, np.int32(0))
            first = ends[:, None] - np.maximum.reduceat(marks, starts, axis=0)
            which[having] = flat[first]
        return result, which

    def liked_scores(self, profiles: Sequence[Profile]) -> tuple[np.ndarray, np.ndarray] | None:
        """Per profile, the weighted probability its ratings model gives each paper, and the
        weight; None when nobody in the chunk has a model yet."""
        models = feedback.PreferenceModel.fit_many([p.ratings for p in profiles], self.vectors)
        if not any(models):
            return None
        liked = np.zeros((len(profiles), len(self.papers)), dtype=np.float32)
        weights = np.zeros(len(profiles), dtype=np.float32)
        having = [n for n, model in enumerate(models) if model is not None]
        weights[having] = [models[n].weight for n in having]
        liked[having] = weights[having, None] * feedback.predict_many([models[n] for n in having], self.vectors)
        return liked, weights

    def explain(self, paper: int, score: float, row: int, by_ratings: bool) -> Match:
        """The interest that brought the paper (its best row), or the subscriber's ratings."""
        if row < 0 or by_ratings:
            return Match(self.papers[paper], score, "papers you liked", kind=LIKED)
        interest = self.interests[row]
        terms, evidence = self.row_terms[row].get(paper, ((), ""))
        return Match(self.papers[paper], score, interest.value, terms, interest.kind, self.row_notes[row], evidence)

    def trending(self, limit: int, excluded: np.ndarray | None = None) -> list[Match]:
        top = [i for i in self.trending_order if excluded is None or not excluded[i]][:limit]
        return [Match(self.papers[i], 0.0) for i in top]


# --- The digest's side: subscribers and papers from the database ----------------------------


def edition_matcher(papers: Sequence[PaperLike]) -> EditionMatcher:
    """The matcher the digest plans with, configured from settings."""
    from django.conf import settings

    return EditionMatcher(
        papers,
        settings.PAPERBOY_MATCH_THRESHOLD,
        settings.PAPERBOY_SEND_TRENDING_WHEN_EMPTY,
        seed_papers_from_database,
        background.from_database(excluding=[p.arxiv_id for p in papers]),
    )


def seed_papers_from_database(arxiv_ids: Sequence[str]) -> dict[str, Any]:
    from digest.models import Paper

    return {p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=arxiv_ids)} if arxiv_ids else {}


def subscriber_profiles(subscribers: Sequence[Any]) -> list[Profile]:
    """Profiles of a chunk of subscribers (interests prefetched), their ratings in one query."""
    ratings = feedback.ratings_of([s.pk for s in subscribers])
    return [
        Profile([Interest(i.kind, i.value) for i in s.interests.all()], s.max_papers, ratings.get(s.pk))
        for s in subscribers
    ]


def rank_papers(
    papers: Sequence[PaperLike],
    interests: Sequence[str | Interest],
    limit: int,
    threshold: float,
    send_trending_when_empty: bool = False,
    seed_lookup: SeedLookup | None = None,
) -> list[Match]:
    """Rank papers for one reader, through the same EditionMatcher the digest uses."""
    profile = Profile([i if isinstance(i, Interest) else Interest(TOPIC, i) for i in interests], limit)
    matcher = EditionMatcher(papers, threshold, send_trending_when_empty, seed_lookup)
    return matcher.rank_many([profile])[0].matches
