"""What a subscriber's next digest would hold, for the preference center."""

from __future__ import annotations

from dataclasses import dataclass

from digest.day import latest_edition
from digest.deliver import matches_for
from digest.matching.ranker import Match
from digest.models import Edition
from subscriptions.models import Subscriber


@dataclass(frozen=True)
class Preview:
    edition: Edition | None
    matches: list[Match]


def next_digest(subscriber: Subscriber) -> Preview:
    """Ranked the way digest.deliver.plan_edition ranks a due subscriber, from the newest edition."""
    edition = latest_edition()
    if edition is None:
        return Preview(None, [])
    return Preview(edition, matches_for(subscriber, edition.date))
