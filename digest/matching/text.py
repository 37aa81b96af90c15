"""What matching reads: a paper's fields, and the words of a topic or a paper as both lexical
and semantic scoring see them (lowercased, stopwords dropped, Snowball-stemmed)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Protocol

import snowballstemmer

WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or our that the their this to "
    "towards via we with without using based new".split()
)
_stemmer = snowballstemmer.stemmer("english")


class PaperLike(Protocol):
    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    ai_keywords: list[str]
    upvotes: int | None


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def tokens(text: str) -> list[str]:
    return [stem(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS]


def query_terms(topic: str) -> dict[str, str]:
    """Stemmed term -> the word the subscriber typed, in order."""
    words = [w for w in WORD.findall(topic.lower()) if w not in STOPWORDS]
    return {stem(w): w for w in words}


def normalise_name(name: str) -> str:
    """One form for a name however it was typed or published: composed Unicode (a decomposed
    "José" is the same person), case and initials' dots ignored."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().replace(".", " ").split())
