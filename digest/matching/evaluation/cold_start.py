"""Cold start measured on the real days: does ticking "papers like these?" at signup raise
precision@5 of the first digest?

For each labelled profile of a real day (real_days.py), a simulated reader signs up the week
before: they are offered what the site offers (cold_start.papers_to_offer) from the real Hugging
Face days of the 7 days before the labelled day (real_days/signup_weeks/, unchanged copies),
and tick some. Nobody graded those weeks' papers for these profiles, so the ticks follow a
stated rule, never the labelled day's grades: a reader ticks an offered paper when its title or
abstract holds every content word of one of their topics (stemmed as matching stems them),
the way a researcher ticks what plainly names their subject. A paraphrased topic rarely names
its papers' words, so its reader ticks little: the rule is conservative, not tuned.

The first digest is then ranked on the labelled day without and with the ticks (as 👍 ratings,
what the site stores), and P@5 is read off the real grades (a paper counts from grade 2; fewer
than 5 sent count as misses). Absent profiles have nothing to find, so their P@5 is 0 either
way: they are reported by the papers sent to them instead.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from digest.matching import cold_start, semantic
from digest.matching.evaluation.harness import K_PRECISION, precision
from digest.matching.evaluation.real_days import ABSENT, RealDay, RealProfile, days
from digest.matching.feedback import Ratings
from digest.matching.ranker import PAPER, TOPIC, EditionMatcher, Interest, Profile
from digest.matching.text import PaperLike, tokens
from digest.sources import PaperRecord, parse_hf_items

WEEKS = Path(__file__).parent / "real_days" / "signup_weeks"


@dataclass(frozen=True)
class ColdStartRun:
    profile: RealProfile
    offered: tuple[str, ...]
    ticked: tuple[str, ...]
    before: tuple[str, ...]  # the first digest's papers without the ticks, best first
    after: tuple[str, ...]  # with them

    @property
    def precision_before(self) -> float:
        return precision(self.before, self.profile.grades, K_PRECISION)

    @property
    def precision_after(self) -> float:
        return precision(self.after, self.profile.grades, K_PRECISION)


@cache
def signup_week(date: str) -> tuple[PaperRecord, ...]:
    """The real papers listed in the 7 days before `date` (not the day itself)."""
    day = dt.date.fromisoformat(date)
    papers: dict[str, PaperRecord] = {}
    for back in range(cold_start.WEEK_DAYS, 0, -1):
        path = WEEKS / f"hf-{day - dt.timedelta(days=back)}.json"
        if path.exists():
            for paper in parse_hf_items(json.loads(path.read_bytes())):
                papers.setdefault(paper.arxiv_id, paper)
    return tuple(papers.values())


def ticks(offered: Sequence[PaperLike], topics: Sequence[str]) -> list[PaperLike]:
    """The stated rule: every content word of one topic in the paper's title or abstract."""
    wanted = [set(tokens(t)) for t in topics]
    ticked = []
    for paper in offered:
        words = set(tokens(f"{paper.title} {paper.abstract}"))
        if any(topic and topic <= words for topic in wanted):
            ticked.append(paper)
    return ticked


def simulate(
    threshold: float, as_seeds: bool = False, dates: Sequence[str] | None = None
) -> dict[str, list[ColdStartRun]]:
    """Per labelled day (all, or `dates`), one run per profile. `as_seeds` stores the ticks as
    seed papers instead of 👍 ratings (the design not taken, kept to compare)."""
    results = {}
    for day in days():
        if dates is not None and day.date not in dates:
            continue
        week = signup_week(day.date)
        matcher = EditionMatcher(day.papers, threshold, seed_lookup=lambda ids, w=week: seed_lookup(w, ids))
        results[day.date] = [run(day, profile, week, matcher, threshold, as_seeds) for profile in day.profiles]
    return results


_week_matchers: dict[tuple, EditionMatcher] = {}


def week_matcher(papers: Sequence[PaperLike], threshold: float) -> EditionMatcher:
    """One per signup week and vector kind (the site builds one per page), not one per reader."""
    key = (tuple(p.arxiv_id for p in papers), threshold, semantic.vector_kind())
    if key not in _week_matchers:
        _week_matchers[key] = EditionMatcher(papers, threshold)
    return _week_matchers[key]


def seed_lookup(week: Sequence[PaperRecord], ids: Sequence[str]) -> dict[str, PaperRecord]:
    return {p.arxiv_id: p for p in week if p.arxiv_id in set(ids)}


def run(
    day: RealDay,
    profile: RealProfile,
    week: Sequence[PaperRecord],
    matcher: EditionMatcher,
    threshold: float,
    as_seeds: bool,
) -> ColdStartRun:
    offer = cold_start.papers_to_offer(week, profile.topics, lambda papers: week_matcher(papers, threshold))
    offered = [o.paper for o in offer]
    ticked = ticks(offered, profile.topics)
    topics = [Interest(TOPIC, t) for t in profile.topics]
    before = matcher.rank_many([Profile(topics, K_PRECISION)])[0].matches
    if as_seeds:
        with_ticks = Profile([*topics, *(Interest(PAPER, p.arxiv_id) for p in ticked)], K_PRECISION)
    else:
        liked = Ratings(semantic.paper_vectors(ticked), semantic.paper_vectors([])) if ticked else None
        with_ticks = Profile(topics, K_PRECISION, liked)
    after = matcher.rank_many([with_ticks])[0].matches
    return ColdStartRun(
        profile,
        tuple(p.arxiv_id for p in offered),
        tuple(p.arxiv_id for p in ticked),
        tuple(m.paper.arxiv_id for m in before),
        tuple(m.paper.arxiv_id for m in after),
    )


def mean_precision(runs: Sequence[ColdStartRun]) -> tuple[float, float]:
    """(before, after) mean P@5 over the profiles that have something to find."""
    judged = [r for r in runs if r.profile.kind != ABSENT]
    if not judged:
        return 0.0, 0.0
    return (
        sum(r.precision_before for r in judged) / len(judged),
        sum(r.precision_after for r in judged) / len(judged),
    )
