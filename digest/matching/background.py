"""Papers in general: what a topic scores on them, so one day's score can be judged against it.

A raw cosine means different things for different topics: "retrieval-augmented generation" sits
at 0.3 with almost any machine-learning abstract, "protein structure prediction" at 0.1. So a
topic's closeness to a paper is read against its closeness to a background of past papers (the
median and the spread of that distribution, both robust to the few background papers that are
truly on the topic), and a word's weight against how often it occurs in that background (a day
of 40 papers is too few to know that "generation" or "augmented" are common words).

The background is the history in the database (the newest past papers), or, on a fresh install
with too little history, a bundled sample: 285 real Hugging Face Daily Papers from 75 days
between May 2024 and June 2026 (background_papers.json), none from the evaluation days.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from digest.matching import semantic
from digest.matching.text import PaperLike, tokens

BUNDLED = Path(__file__).with_name("background_papers.json")
# The sample's vectors for the default model (float16), so a fresh process need not encode
# 285 papers and their 2,300 sentences before its first ranking: store_bundled_vectors() writes it.
BUNDLED_VECTORS = Path(__file__).with_name("background_vectors.npz")
SIZE = 300  # past papers read from the database
MIN_HISTORY = 150  # below this (a fresh install), the bundled sample is the background
# A spread under this is a topic the background barely varies on: do not divide by near zero.
MIN_SPREAD = 0.03
MAD_TO_SIGMA = 1.4826  # the median absolute deviation of a normal distribution, in sigmas


@dataclass(frozen=True)
class Background:
    papers: tuple[PaperLike, ...]
    vectors: np.ndarray  # whole-paper vectors
    sentences: semantic.SentenceVectors | None  # None when ranking is lexical only
    document_frequency: Counter[str]  # stemmed word -> background papers holding it

    def __len__(self) -> int:
        return len(self.papers)

    @classmethod
    def of(cls, papers: Sequence[PaperLike]) -> Background:
        frequency: Counter[str] = Counter()
        for paper in papers:
            frequency.update(set(paper_words(paper)))
        sentences = semantic.sentence_vectors(papers) if semantic.is_semantic() else None
        return cls(tuple(papers), semantic.paper_vectors(papers), sentences, frequency)


def paper_words(paper: PaperLike) -> list[str]:
    return tokens(f"{paper.title} {paper.abstract} {' '.join(paper.ai_keywords)}")


def null_distribution(closeness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per topic (row), the median and a robust spread (MAD in sigmas) of its background scores."""
    median = np.median(closeness, axis=1)
    spread = MAD_TO_SIGMA * np.median(np.abs(closeness - median[:, None]), axis=1)
    return median.astype(np.float32), np.maximum(spread, MIN_SPREAD).astype(np.float32)


@cache
def bundled_papers() -> tuple[PaperLike, ...]:
    from digest.sources import parse_hf_items

    return tuple(parse_hf_items(json.loads(BUNDLED.read_bytes())))


_bundled: dict[str, Background] = {}


def bundled() -> Background:
    """The bundled sample, its vectors loaded (or computed) once per process and vector kind."""
    kind = semantic.vector_kind()
    if kind not in _bundled:
        _bundled[kind] = stored_bundled(kind) or Background.of(bundled_papers())
    return _bundled[kind]


def stored_bundled(kind: str) -> Background | None:
    """The sample with its stored vectors, if they are of this kind and of these papers."""
    if not BUNDLED_VECTORS.exists():
        return None
    with np.load(BUNDLED_VECTORS) as stored:
        if str(stored["kind"]) != kind or str(stored["papers"]) != papers_digest():
            return None
        whole, sentences, starts = (stored[k].astype(np.float32) for k in ("whole", "sentences", "starts"))
    papers = bundled_papers()
    frequency: Counter[str] = Counter()
    for paper in papers:
        frequency.update(set(paper_words(paper)))
    return Background(papers, whole, semantic.SentenceVectors(sentences, starts.astype(np.int64)), frequency)


def papers_digest() -> str:
    return hashlib.sha256(BUNDLED.read_bytes()).hexdigest()


def store_bundled_vectors() -> Path:
    """Encode the bundled sample with the current model and store its vectors beside it."""
    computed = Background.of(bundled_papers())
    if computed.sentences is None:
        raise RuntimeError("the semantic extra is needed to store the background's vectors")
    np.savez_compressed(
        BUNDLED_VECTORS,
        kind=np.array(semantic.vector_kind()),
        papers=np.array(papers_digest()),
        whole=computed.vectors.astype(np.float16),
        sentences=computed.sentences.vectors.astype(np.float16),
        starts=computed.sentences.starts,
    )
    return BUNDLED_VECTORS


def from_database(excluding: Sequence[str] = ()) -> Background:
    """The newest SIZE past papers in the database (not the edition's own), else the bundled sample."""
    from digest.models import Paper

    history = list(Paper.objects.exclude(arxiv_id__in=list(excluding)).order_by("-id")[:SIZE])
    if len(history) < MIN_HISTORY:
        return bundled()
    return Background.of(history)
