"""BM25 over one edition's papers: the lexical half of a topic's score.

A word's weight (IDF) is counted over the edition and a background of past papers together
(background.py): one day's 40 papers cannot tell a generic word ("generation", "augmented")
from a rare one, a few hundred papers can."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from digest.matching.text import PaperLike, query_terms, tokens

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 2
PHRASE_BONUS_TITLE = 0.25
PHRASE_BONUS_ABSTRACT = 0.1


@dataclass(frozen=True)
class Hit:
    """Which of a topic's words a paper has."""

    words: tuple[str, ...]  # as the subscriber typed them
    share: float  # the share of the topic's weight (IDF) these words carry
    every_word: bool  # all the topic's words occur in the paper
    together: bool  # ... as the phrase the subscriber typed (stopwords aside)


class PaperIndex:
    """BM25 over one edition's papers, phrase-aware; build once, score every topic against it."""

    def __init__(
        self,
        papers: Sequence[PaperLike],
        background_frequency: Counter[str] | None = None,
        background_size: int = 0,
    ) -> None:
        self.papers = list(papers)
        self.postings: dict[str, dict[int, int]] = {}
        self.title_text: list[str] = []
        self.body_text: list[str] = []
        lengths = []
        for i, paper in enumerate(self.papers):
            title, abstract = tokens(paper.title), tokens(paper.abstract)
            words = title * TITLE_WEIGHT + abstract + tokens(" ".join(paper.ai_keywords))
            lengths.append(len(words))
            self.title_text.append(f" {' '.join(title)} ")
            self.body_text.append(f" {' '.join(abstract)} ")
            for term, count in Counter(words).items():
                self.postings.setdefault(term, {})[i] = count
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        self.length_norm = [K1 * (1 - B + B * n / average) for n in lengths]
        self.background = background_frequency or Counter()
        self.documents = len(self.papers) + background_size
        self.unseen_idf = math.log(1 + (self.documents + 0.5) / 0.5)

    def idf(self, term: str) -> float:
        """A word no paper uses counts as a missing rare word, so "zebra husbandry" is not
        matched by "zebra" alone."""
        frequency = len(self.postings.get(term, ())) + self.background.get(term, 0)
        if not frequency:
            return self.unseen_idf
        return math.log(1 + (self.documents - frequency + 0.5) / (frequency + 0.5))

    def score_topic(self, topic: str) -> tuple[np.ndarray, dict[int, Hit]]:
        """Normalised scores of every paper (in [0, 1]) and, per paper hit, the words that hit."""
        scores = np.zeros(len(self.papers), dtype=np.float32)
        terms = query_terms(topic)
        weights = {term: self.idf(term) for term in terms}
        total = sum(weights.values())
        ceiling = total * (K1 + 1)
        if not ceiling:
            return scores, {}
        hits: dict[int, list[str]] = {}
        for term in terms:
            for doc, tf in self.postings.get(term, {}).items():
                scores[doc] += weights[term] * tf * (K1 + 1) / (tf + self.length_norm[doc])
                hits.setdefault(doc, []).append(term)
        scores /= ceiling
        phrase = f" {' '.join(terms)} "
        found: dict[int, Hit] = {}
        for doc, hit_terms in hits.items():
            every = len(hit_terms) == len(terms)
            together = every and (phrase in self.title_text[doc] or phrase in self.body_text[doc])
            if together and len(terms) > 1:
                scores[doc] += PHRASE_BONUS_TITLE if phrase in self.title_text[doc] else PHRASE_BONUS_ABSTRACT
            share = sum(weights[t] for t in hit_terms) / total
            found[doc] = Hit(tuple(terms[t] for t in hit_terms), share, every, together)
        np.clip(scores, 0.0, 1.0, out=scores)
        return scores, found
