"""Matching measured on three real Hugging Face days, as a reader meets it: what is sent.

real_days/ holds, for 30 May 2025, 3 Feb 2026 and 1 Jun 2026, the day's Hugging Face JSON
(hf-<date>.json, unchanged) and <date>.json: 18-19 interest profiles graded 0-3 against every
paper of that day by reading each abstract (build.py keeps each grade's reason). Profiles are
"worded" (in the field's terms), "paraphrased" (sharing no content word with the titles of
their papers graded 2 or more) or "absent" (the day has nothing for them). Grades are never
edited to suit a ranker; nothing in matching is tuned on these days.

For each ranker we take what it would put in the email (SENT papers at most, the digest's
threshold applied for ours; the baselines send every paper sharing a word, best first) and
report: sent precision (share of sent papers graded 2 or more, pooled over every profile),
absent false alarms (papers sent to an absent profile, on average), and nDCG@10 of the sent
list by kind (a profile sent nothing scores 0), beside nDCG@10 of the whole ranking.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from digest.matching.evaluation.harness import RANKERS, RELEVANT, bm25, ndcg, tfidf
from digest.matching.ranker import TOPIC, EditionMatcher, Interest, Profile
from digest.matching.text import PaperLike
from digest.sources import PaperRecord, parse_hf_items

HERE = Path(__file__).parent / "real_days"
DATES = ("2025-05-30", "2026-02-03", "2026-06-01")
SENT = 10  # the test bed: rank_papers --json --limit 10
WORDED, PARAPHRASED, ABSENT = "worded", "paraphrased", "absent"
KINDS = (WORDED, PARAPHRASED, ABSENT)

# papers, topics, limit -> the arXiv ids sent, best first
Sender = Callable[[Sequence[PaperLike], Sequence[str], int], list[str]]


@dataclass(frozen=True)
class RealProfile:
    id: str
    kind: str
    topics: tuple[str, ...]
    grades: dict[str, int]  # every paper of the day


@dataclass(frozen=True)
class RealDay:
    date: str
    papers: tuple[PaperRecord, ...]
    profiles: tuple[RealProfile, ...]


@cache
def days() -> tuple[RealDay, ...]:
    return tuple(load_day(date) for date in DATES)


def load_day(date: str) -> RealDay:
    labels = json.loads((HERE / f"{date}.json").read_text())
    papers = tuple(parse_hf_items(json.loads((HERE / f"hf-{date}.json").read_bytes())))
    profiles = tuple(RealProfile(p["id"], p["kind"], tuple(p["topics"]), dict(p["grades"])) for p in labels["profiles"])
    return RealDay(date, papers, profiles)


# --- What each ranker sends ---------------------------------------------------------------


def sent_by_ours(threshold: float | None = None) -> Sender:
    """The digest's own ranking with its threshold (PAPERBOY_MATCH_THRESHOLD unless given),
    one EditionMatcher per day as planning builds it, and no trending fallback (it is not a match)."""
    matchers: dict[int, EditionMatcher] = {}

    def send(papers: Sequence[PaperLike], topics: Sequence[str], limit: int) -> list[str]:
        from django.conf import settings

        cut = settings.PAPERBOY_MATCH_THRESHOLD if threshold is None else threshold
        if id(papers) not in matchers:
            matchers[id(papers)] = EditionMatcher(papers, cut)
        profile = Profile([Interest(TOPIC, t) for t in topics], limit)
        return [m.paper.arxiv_id for m in matchers[id(papers)].rank_many([profile])[0].matches]

    return send


def sent_by_baseline(ranker: Callable[[Sequence[PaperLike], Sequence[str]], list[str]]) -> Sender:
    """A baseline has no threshold: it sends its best papers among those sharing a word."""

    def send(papers: Sequence[PaperLike], topics: Sequence[str], limit: int) -> list[str]:
        return ranker(papers, topics)[:limit]

    return send


def senders() -> dict[str, Sender]:
    return {"paperboy": sent_by_ours(), "tf-idf": sent_by_baseline(tfidf), "bm25": sent_by_baseline(bm25)}


# --- Figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileResult:
    profile: RealProfile
    sent: tuple[str, ...]
    ranked_ndcg: float  # of the whole ordering: no threshold, no limit

    @property
    def relevant_sent(self) -> int:
        return sum(self.profile.grades.get(i, 0) >= RELEVANT for i in self.sent)

    @property
    def ndcg(self) -> float:
        return ndcg(self.sent, self.profile.grades)


@dataclass(frozen=True)
class Figures:
    sent: int
    sent_precision: float
    absent_profiles: int
    absent_false_alarms: float  # papers sent per absent profile, on average
    absent_most: int
    ndcg: dict[str, float]  # kind -> mean nDCG@10 of what is sent
    ranked_ndcg: dict[str, float]  # kind -> mean nDCG@10 of the whole ranking
    sent_nothing: dict[str, int]  # kind -> profiles sent nothing

    @classmethod
    def of(cls, results: Sequence[ProfileResult]) -> Figures:
        sent = sum(len(r.sent) for r in results)
        absent = [r for r in results if r.profile.kind == ABSENT]
        by_kind = {k: [r for r in results if r.profile.kind == k] for k in (WORDED, PARAPHRASED)}
        return cls(
            sent=sent,
            sent_precision=sum(r.relevant_sent for r in results) / sent if sent else 0.0,
            absent_profiles=len(absent),
            absent_false_alarms=float(np.mean([len(r.sent) for r in absent])) if absent else 0.0,
            absent_most=max((len(r.sent) for r in absent), default=0),
            ndcg={k: float(np.mean([r.ndcg for r in rs])) if rs else 0.0 for k, rs in by_kind.items()},
            ranked_ndcg={k: float(np.mean([r.ranked_ndcg for r in rs])) if rs else 0.0 for k, rs in by_kind.items()},
            sent_nothing={k: sum(not r.sent for r in rs) for k, rs in by_kind.items()},
        )


def evaluate(name: str) -> dict[str, list[ProfileResult]]:
    """Per day, each profile's sent list by ranker `name`, and the nDCG of its whole ordering."""
    send, rank = senders()[name], RANKERS[name]
    results = {}
    for day in days():
        results[day.date] = [
            ProfileResult(p, tuple(send(day.papers, p.topics, SENT)), ndcg(rank(day.papers, p.topics), p.grades))
            for p in day.profiles
        ]
    return results
