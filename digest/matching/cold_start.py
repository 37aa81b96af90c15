"""Cold start: "papers like these?" at signup and in the preference center.

A new reader has no ratings, so the per-subscriber model (feedback.py) has nothing to learn
from on their first digest. We offer about a dozen recent papers: the best matches for the
topics they entered (ranked by the digest's own EditionMatcher with its threshold: only papers
the digest would send for those topics), then the week's most upvoted to fill the list.
Without topics (the signup page before anything is typed: no JavaScript) it is the week's
most upvoted alone. Each paper they tick becomes a 👍 Rating, which the model reads from the
first digest on (it needs feedback.MIN_RATINGS of them; the page says so).

Pure functions over PaperLike, so the evaluation (evaluation/cold_start.py) offers exactly
what the site offers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from digest.matching.ranker import TOPIC, EditionMatcher, Interest, Profile
from digest.matching.text import PaperLike

OFFERED = 12
MATCHES_AT_MOST = 8  # the rest of the dozen is the week's most upvoted
WEEK_DAYS = 7  # "recent": the editions of the week up to the newest one


def most_upvoted(papers: Sequence[PaperLike]) -> list[PaperLike]:
    return sorted(papers, key=lambda p: (-(p.upvotes or 0), p.arxiv_id))


MatcherFor = Callable[[Sequence[PaperLike]], EditionMatcher]


@dataclass(frozen=True)
class Offered:
    paper: PaperLike
    matched: bool  # a best match for the topics, not only among the most upvoted


def best_matches(papers: Sequence[PaperLike], topics: Sequence[str], matcher_for: MatcherFor, limit: int) -> list:
    """The papers the digest would send for these topics, best first, among `papers` (none when
    no topic, and never the trending fallback: that is not a match). `matcher_for` may answer
    with a matcher of more papers (the week's, shared by every reader): the others are left out."""
    if not topics or not papers:
        return []
    matcher = matcher_for(papers)
    allowed = {p.arxiv_id for p in papers}
    extra = max(len(matcher.papers) - len(allowed), 0)  # so that `limit` remain once they are left out
    ranking = matcher.rank_many([Profile([Interest(TOPIC, t) for t in topics], limit + extra)])[0]
    if ranking.trending_fallback:
        return []
    return [m.paper for m in ranking.matches if m.paper.arxiv_id in allowed][:limit]


def papers_to_offer(
    papers: Sequence[PaperLike],
    topics: Sequence[str],
    matcher_for: MatcherFor,
    leave_out: Iterable[str] = (),
    size: int = OFFERED,
    ticked: Iterable[str] = (),
) -> list[Offered]:
    """About `size` papers of the week to tick: best matches for `topics` first (at most
    MATCHES_AT_MOST), then the most upvoted; none twice, none whose arXiv id is in `leave_out`
    (papers already rated). Papers already `ticked` (a form shown again) come first, on top."""
    skipped = set(leave_out)
    candidates = [p for p in papers if p.arxiv_id not in skipped]
    matches = best_matches(candidates, topics, matcher_for, min(size, MATCHES_AT_MOST))
    matched = {p.arxiv_id for p in matches}
    by_id = {p.arxiv_id: p for p in candidates}
    kept = [by_id[i] for i in dict.fromkeys(ticked) if i in by_id]
    offered: dict[str, Offered] = {p.arxiv_id: Offered(p, p.arxiv_id in matched) for p in kept}
    size += len(offered)
    for paper in matches:
        offered.setdefault(paper.arxiv_id, Offered(paper, True))
    for paper in most_upvoted(candidates):
        if len(offered) >= size:
            break
        offered.setdefault(paper.arxiv_id, Offered(paper, False))
    return list(offered.values())
