"""What digest puts under "Papers like these?" on the signup page and in the preference center
(registered in digest.apps through subscriptions.extensions): the newest edition's week of papers,
best matches for the reader's topics first (digest/matching/cold_start.py), and the ticks kept
as 👍 Ratings, which the per-subscriber model (matching/feedback.py) reads from the next digest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import models, transaction
from django.db.models import QuerySet

from digest.day import latest_edition
from digest.deliver import process_indexes
from digest.matching import cold_start
from digest.matching.feedback import UP
from digest.matching.ranker import EditionMatcher
from digest.models import Edition, Paper, Rating
from subscriptions.extensions import OfferedPaper
from subscriptions.models import Subscriber


def week_papers(edition: Edition | None) -> QuerySet[Paper]:
    """The papers of the 7 days up to the newest edition."""
    if edition is None:
        return Paper.objects.none()
    since = edition.date - dt.timedelta(days=cold_start.WEEK_DAYS - 1)
    return Paper.objects.filter(edition_date__gte=since, edition_date__lte=edition.date)


class WeekOffer:
    def tickable(self) -> frozenset[str]:
        return frozenset(week_papers(latest_edition()).values_list("arxiv_id", flat=True))

    def offer(
        self, topics: Sequence[str], subscriber: Subscriber | None, ticked: Sequence[str] = ()
    ) -> list[OfferedPaper]:
        edition = latest_edition()
        rated = rated_ids(subscriber) if subscriber is not None else set()
        papers = week_papers(edition).exclude(arxiv_id__in=rated)
        if not topics:
            # The signup page as first opened: only the most upvoted (and any ticks), no vectors.
            wanted = models.Q(pk__in=papers.order_by("-upvotes", "arxiv_id")[: cold_start.OFFERED].values("pk"))
            papers = papers.filter(wanted | models.Q(arxiv_id__in=list(ticked))).defer("vector")

        def week_matcher(_papers: Sequence[Paper]) -> EditionMatcher:
            # The digest's own index of the week (the weekly digest's), built once per process.
            return process_indexes(edition.date)[Subscriber.Frequency.WEEKLY]

        offered = cold_start.papers_to_offer(list(papers), topics, week_matcher, leave_out=rated, ticked=ticked)
        return [
            OfferedPaper(
                o.paper.arxiv_id,
                o.paper.display_title,
                o.paper.arxiv_url,
                "Matches your topics" if o.matched else f"\u25b2 {o.paper.upvotes} upvotes",
            )
            for o in offered
        ]

    def rated(self, subscriber: Subscriber) -> int:
        return Rating.objects.filter(subscriber=subscriber).count()

    def keep(self, subscriber: Subscriber, arxiv_ids: Sequence[str]) -> None:
        """A 👍 for each ticked paper that exists (an id checked at signup may be confirmed
        days later); a tick on a paper rated before makes it a 👍, the last word counting."""
        papers = Paper.objects.filter(arxiv_id__in=list(dict.fromkeys(arxiv_ids)))
        with transaction.atomic():
            for paper in papers:
                Rating.objects.update_or_create(subscriber=subscriber, paper=paper, defaults={"vote": UP})


def rated_ids(subscriber: Subscriber) -> set[str]:
    return set(Rating.objects.filter(subscriber=subscriber).values_list("paper__arxiv_id", flat=True))
