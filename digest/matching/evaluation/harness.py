"""How good is the ranking? Graded judgments over one real day, and the metrics.

judgments.json holds interest profiles with graded relevance (0-3) of the 98 papers of
3 Sep 2025 (the bundled sample day, built from daily-papers-page.txt beside this file). Each
ranker ranks the whole day for each profile; we report nDCG@10 (graded) and P@5 (a paper
counts as relevant from grade 2). The baselines are plain tf-idf (cosine) and plain BM25
(Okapi over title and abstract), both with the same stemming and, for several interests, the
same max over interests as ours.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from digest.matching import feedback, semantic
from digest.matching.ranker import EditionMatcher, Interest, Profile, meaning_of
from digest.matching.text import PaperLike, tokens
from digest.sources import PaperRecord, parse_hf_items

HERE = Path(__file__).parent
JUDGMENTS = HERE / "judgments.json"
SAMPLE_DAY = HERE.parents[1] / "sample_day" / "hf-daily-papers.json"
ID_PREFIX = "2509.00"
RELEVANT = 2
K_NDCG = 10
K_PRECISION = 5

Ranker = Callable[[Sequence[PaperLike], Sequence[str]], list[str]]  # -> arXiv ids, best first


@dataclass(frozen=True)
class Judged:
    name: str
    interests: tuple[str, ...]
    grades: dict[str, int]  # arXiv id -> grade; absent means 0
    paraphrase: bool = False


@dataclass(frozen=True)
class Scores:
    ndcg: float
    precision: float


@cache
def papers() -> tuple[PaperRecord, ...]:
    return tuple(parse_hf_items(json.loads(SAMPLE_DAY.read_bytes())))


@cache
def profiles() -> tuple[Judged, ...]:
    data = json.loads(JUDGMENTS.read_text())
    return tuple(
        Judged(
            p["name"],
            tuple(p["interests"]),
            {ID_PREFIX + short: grade for short, grade in p["judgments"].items()},
            p.get("paraphrase", False),
        )
        for p in data["profiles"]
    )


# --- Metrics ---------------------------------------------------------------------------


def ndcg(ranked: Sequence[str], grades: dict[str, int], k: int = K_NDCG) -> float:
    gains = [2 ** grades.get(arxiv_id, 0) - 1 for arxiv_id in ranked[:k]]
    ideal = sorted((2**g - 1 for g in grades.values()), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains)) / best if best else 0.0


def precision(ranked: Sequence[str], grades: dict[str, int], k: int = K_PRECISION) -> float:
    return sum(grades.get(arxiv_id, 0) >= RELEVANT for arxiv_id in ranked[:k]) / k


def evaluate(ranker: Ranker, judged: Sequence[Judged] | None = None) -> dict[str, Scores]:
    results = {}
    for profile in judged or profiles():
        ranked = ranker(papers(), profile.interests)
        results[profile.name] = Scores(ndcg(ranked, profile.grades), precision(ranked, profile.grades))
    return results


def mean(results: dict[str, Scores]) -> Scores:
    return Scores(
        float(np.mean([s.ndcg for s in results.values()])), float(np.mean([s.precision for s in results.values()]))
    )


# --- Rankers ---------------------------------------------------------------------------


def ours(day: Sequence[PaperLike], interests: Sequence[str]) -> list[str]:
    """The digest's own ordering, every paper with any score (no threshold, no limit, and no
    rule that a paper needs a reason to be sent: real_days.py measures what is sent)."""
    profile = Profile([Interest("topic", i) for i in interests], len(day))
    return [m.paper.arxiv_id for m in matcher_for(day).rank_many([profile])[0].matches]


_matchers: dict[int, tuple[Sequence[PaperLike], EditionMatcher]] = {}


def matcher_for(day: Sequence[PaperLike]) -> EditionMatcher:
    """One matcher per day ranked, as planning builds one per edition."""
    if id(day) not in _matchers:
        _matchers[id(day)] = (day, EditionMatcher(day, threshold=0.0, require_reason=False))
    return _matchers[id(day)][1]


def by_max_score(day: Sequence[PaperLike], scores: np.ndarray) -> list[str]:
    order = np.lexsort((np.arange(len(day)), -scores))
    return [day[i].arxiv_id for i in order if scores[i] > 0]


def tfidf(day: Sequence[PaperLike], interests: Sequence[str]) -> list[str]:
    """Plain tf-idf over title and abstract, cosine with the interest."""
    docs = [Counter(tokens(f"{p.title} {p.abstract}")) for p in day]
    frequency = Counter(term for doc in docs for term in doc)
    idf = {t: math.log(len(docs) / n) + 1 for t, n in frequency.items()}
    weights = [{t: (1 + math.log(c)) * idf[t] for t, c in doc.items()} for doc in docs]
    norms = [math.sqrt(sum(w * w for w in doc.values())) or 1.0 for doc in weights]
    scores = np.zeros(len(day))
    for interest in interests:
        query = {t: idf.get(t, 0.0) for t in set(tokens(interest))}
        query_norm = math.sqrt(sum(w * w for w in query.values())) or 1.0
        for i, doc in enumerate(weights):
            cosine = sum(w * doc.get(t, 0.0) for t, w in query.items()) / (norms[i] * query_norm)
            scores[i] = max(scores[i], cosine)
    return by_max_score(day, scores)


def bm25(day: Sequence[PaperLike], interests: Sequence[str], k1: float = 1.2, b: float = 0.75) -> list[str]:
    """Plain Okapi BM25 over title and abstract."""
    docs = [Counter(tokens(f"{p.title} {p.abstract}")) for p in day]
    lengths = [sum(d.values()) for d in docs]
    average = sum(lengths) / len(lengths)
    frequency = Counter(term for doc in docs for term in doc)
    n = len(docs)
    scores = np.zeros(n)
    for interest in interests:
        row = np.zeros(n)
        for term in set(tokens(interest)):
            idf = math.log(1 + (n - frequency[term] + 0.5) / (frequency[term] + 0.5))
            for i, doc in enumerate(docs):
                tf = doc.get(term, 0)
                row[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[i] / average)) if tf else 0.0
        scores = np.maximum(scores, row)
    return by_max_score(day, scores)


RANKERS: dict[str, Ranker] = {"paperboy": ours, "tf-idf": tfidf, "bm25": bm25}


def one_part_of_ours(part: str) -> Ranker:
    """Our topic score with only one of its two fused parts ("lexical": BM25 with stemming and
    the phrase bonus; "semantic": the calibrated closeness of the embeddings), to show what each
    part brings and where the fused ranking is held back."""

    def ranker(day: Sequence[PaperLike], interests: Sequence[str]) -> list[str]:
        matcher = EditionMatcher(day, threshold=0.0)
        scores = np.zeros(len(day))
        for interest in interests:
            if part == "lexical":
                row = matcher.index.score_topic(interest)[0]
            else:
                row = meaning_of(matcher.closeness([interest])[0])
            scores = np.maximum(scores, row)
        return by_max_score(day, scores)

    return ranker


PARTS: dict[str, Ranker] = {"lexical part": one_part_of_ours("lexical"), "semantic part": one_part_of_ours("semantic")}


# --- Feedback simulation ---------------------------------------------------------------

BROAD_INTEREST = "large language models"
SHOWN = 10
EMAILS = 3


@dataclass(frozen=True)
class FeedbackRun:
    name: str
    before: float  # P@5 on day 2 from the stated interest alone
    after: float  # P@5 on day 2 once day 1's ratings are learnt
    liked: int
    disliked: int


def simulate_feedback(threshold: float = 0.0) -> list[FeedbackRun]:
    """Simulated subscribers state only a broad interest; their hidden interest is a judged
    profile. The day's papers are split in two: the even ones stand for the past (EMAILS emails
    of SHOWN papers, each ranked with the ratings given so far, none shown twice, every paper
    rated by the hidden interest: 👍 from grade 2, else 👎), the odd ones for the next day, where
    we compare P@5 without and with those ratings."""
    past = [p for i, p in enumerate(papers()) if i % 2 == 0]
    day2 = [p for i, p in enumerate(papers()) if i % 2 == 1]
    next_day = EditionMatcher(day2, threshold)
    stated = [Interest("topic", BROAD_INTEREST)]
    runs = []
    for judged in unique_hidden_interests():
        liked: list[PaperLike] = []
        disliked: list[PaperLike] = []
        for _ in range(EMAILS):
            unseen = [p for p in past if p not in liked and p not in disliked]
            ratings = as_ratings(liked, disliked) if liked or disliked else None
            for match in EditionMatcher(unseen, threshold).rank_many([Profile(stated, SHOWN, ratings)])[0].matches:
                relevant = judged.grades.get(match.paper.arxiv_id, 0) >= RELEVANT
                (liked if relevant else disliked).append(match.paper)
        before = next_day.rank_many([Profile(stated, K_PRECISION)])[0].matches
        after = next_day.rank_many([Profile(stated, K_PRECISION, as_ratings(liked, disliked))])[0].matches
        runs.append(
            FeedbackRun(
                judged.name,
                precision([m.paper.arxiv_id for m in before], judged.grades),
                precision([m.paper.arxiv_id for m in after], judged.grades),
                len(liked),
                len(disliked),
            )
        )
    return runs


def as_ratings(liked: Sequence[PaperLike], disliked: Sequence[PaperLike]) -> feedback.Ratings:
    return feedback.Ratings(semantic.paper_vectors(liked), semantic.paper_vectors(disliked))


def unique_hidden_interests() -> list[Judged]:
    """One per distinct set of judgments (a paraphrase has the same hidden interest), with
    enough relevant papers on both days to measure."""
    seen, chosen = set(), []
    for judged in profiles():
        key = frozenset(judged.grades.items())
        relevant = [i for i, g in judged.grades.items() if g >= RELEVANT]
        if key not in seen and len(relevant) >= 4:
            seen.add(key)
            chosen.append(judged)
    return chosen
