"""BM25 over one edition's papers: the lexical half of a topic's score."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from digest.matching.text import PaperLike, query_terms, tokens

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 2
PHRASE_BONUS_TITLE = 0.25
PHRASE_BONUS_ABSTRACT = 0.1


class PaperIndex:
    """BM25 over one edition's papers, phrase-aware; build once, score every topic against it."""

    def __init__(self, papers: Sequence[PaperLike]) -> None:
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
        n = len(self.papers)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}
        self.unseen_idf = math.log(1 + (n + 0.5) / 0.5)

    def score_topic(self, topic: str) -> tuple[np.ndarray, dict[int, tuple[str, ...]]]:
        """Normalised scores of every paper (in [0, 1]) and, per paper hit, the typed words that hit."""
        scores = np.zeros(len(self.papers), dtype=np.float32)
        terms = query_terms(topic)
        # A word no paper uses counts as a missing rare word, so "zebra husbandry" is not
        # matched by "zebra" alone.
        ceiling = sum(self.idf.get(t, self.unseen_idf) for t in terms) * (K1 + 1)
        if not ceiling:
            return scores, {}
        hits: dict[int, list[str]] = {}
        for term, word in terms.items():
            idf = self.idf.get(term, 0.0)
            for doc, tf in self.postings.get(term, {}).items():
                scores[doc] += idf * tf * (K1 + 1) / (tf + self.length_norm[doc])
                hits.setdefault(doc, []).append(word)
        scores /= ceiling
        if len(terms) > 1:
            phrase = f" {' '.join(terms)} "
            for doc, words in hits.items():
                if len(words) == len(terms):
                    if phrase in self.title_text[doc]:
                        scores[doc] += PHRASE_BONUS_TITLE
                    elif phrase in self.body_text[doc]:
                        scores[doc] += PHRASE_BONUS_ABSTRACT
        np.clip(scores, 0.0, 1.0, out=scores)
        return scores, {doc: tuple(words) for doc, words in hits.items()}
