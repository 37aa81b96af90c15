"""Step 3 of the day: rank the edition's papers for each subscriber.

First version: Okapi BM25 over title (counted twice), abstract and HF keywords, with Snowball
stemming. The index is built once per edition and each subscriber is scored against it. With
several topics a paper takes its best topic's score (max, not sum), and remembers which topic
brought it. Scores are divided by the topic's ceiling (what a paper saturated with every term
would score) so one threshold means the same for a one-word and a five-word topic.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import snowballstemmer

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 2
WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or our that the their this to "
    "towards via we with without using based new".split()
)
_stemmer = snowballstemmer.stemmer("english")


class PaperLike(Protocol):
    title: str
    abstract: str
    ai_keywords: list[str]
    upvotes: int | None


@dataclass(frozen=True)
class Match:
    paper: PaperLike
    score: float
    interest: str = ""
    terms: tuple[str, ...] = ()

    @property
    def why(self) -> str:
        if not self.interest:
            return f"Trending today: {self.paper.upvotes or 0} upvotes"
        if set(self.terms) >= set(query_terms(self.interest).values()):
            return f"Matches your topic \u201c{self.interest}\u201d"
        return f"Partly matches your topic \u201c{self.interest}\u201d: {', '.join(self.terms)}"


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def tokens(text: str) -> list[str]:
    return [stem(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS]


def query_terms(topic: str) -> dict[str, str]:
    """Stemmed term -> the word the subscriber typed, in order."""
    words = [w for w in WORD.findall(topic.lower()) if w not in STOPWORDS]
    return {stem(w): w for w in words}


class PaperIndex:
    """BM25 over one edition's papers; build once, score every subscriber against it."""

    def __init__(self, papers: Sequence[PaperLike]) -> None:
        self.papers = list(papers)
        self.postings: dict[str, dict[int, int]] = {}
        lengths = []
        for i, paper in enumerate(self.papers):
            words = tokens(paper.title) * TITLE_WEIGHT + tokens(paper.abstract) + tokens(" ".join(paper.ai_keywords))
            lengths.append(len(words))
            for term, count in Counter(words).items():
                self.postings.setdefault(term, {})[i] = count
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        self.length_norm = [K1 * (1 - B + B * n / average) for n in lengths]
        n = len(self.papers)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}
        self.unseen_idf = math.log(1 + (n + 0.5) / 0.5)
        self.topic_scores: dict[str, dict[int, tuple[float, tuple[str, ...]]]] = {}

    def score_topic(self, topic: str) -> dict[int, tuple[float, tuple[str, ...]]]:
        """Paper index -> (normalised score, the typed words that hit) for one topic. Cached:
        many subscribers share topics, and each is scored once per edition."""
        if topic not in self.topic_scores:
            self.topic_scores[topic] = self.compute_topic_scores(topic)
        return self.topic_scores[topic]

    def compute_topic_scores(self, topic: str) -> dict[int, tuple[float, tuple[str, ...]]]:
        terms = query_terms(topic)
        # A word no paper uses counts as a missing rare word, so "zebra husbandry" is not
        # matched by "zebra" alone.
        ceiling = sum(self.idf.get(t, self.unseen_idf) for t in terms) * (K1 + 1)
        if not ceiling:
            return {}
        scores: dict[int, float] = {}
        hits: dict[int, list[str]] = {}
        for term, word in terms.items():
            idf = self.idf.get(term, 0.0)
            for doc, tf in self.postings.get(term, {}).items():
                scores[doc] = scores.get(doc, 0.0) + idf * tf * (K1 + 1) / (tf + self.length_norm[doc])
                hits.setdefault(doc, []).append(word)
        return {doc: (score / ceiling, tuple(hits[doc])) for doc, score in scores.items()}

    def rank(self, topics: Sequence[str], limit: int, threshold: float) -> list[Match]:
        """The best `limit` papers scoring at least `threshold` on some topic; with no topics,
        the most upvoted."""
        if not topics:
            return self.trending(limit)
        best: dict[int, Match] = {}
        for topic in topics:
            for doc, (score, words) in self.score_topic(topic).items():
                if score >= threshold and (doc not in best or score > best[doc].score):
                    best[doc] = Match(self.papers[doc], round(score, 4), topic, words)
        return sorted(best.values(), key=lambda m: (-m.score, -(m.paper.upvotes or 0), m.paper.title))[:limit]

    def trending(self, limit: int) -> list[Match]:
        top = sorted(self.papers, key=lambda p: (-(p.upvotes or 0), p.title))[:limit]
        return [Match(paper, 0.0) for paper in top]


def rank_papers(papers: Sequence[PaperLike], topics: Sequence[str], limit: int, threshold: float) -> list[Match]:
    """Rank papers for one reader; the digest does the same through a shared PaperIndex."""
    return PaperIndex(papers).rank(topics, limit, threshold)
