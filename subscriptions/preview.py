"""What a subscriber's next digest would hold, for the preference center."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from digest.day import latest_edition
from digest.deliver import EditionIndexes
from digest.match import Match
from digest.models import Edition
from subscriptions.models import Interest, Subscriber


@dataclass(frozen=True)
class Preview:
    edition: Edition | None
    matches: list[Match]


def next_digest(subscriber: Subscriber) -> Preview:
    """Ranked the way digest.deliver.plan_edition ranks a due subscriber, from the newest
    edition; when matching grows, change this one call to follow it."""
    edition = latest_edition()
    if edition is None:
        return Preview(None, [])
    index = EditionIndexes(edition.date)[subscriber.frequency]
    topics = subscriber.interest_values(Interest.Kind.TOPIC)
    return Preview(edition, index.rank(topics, subscriber.max_papers, settings.PAPERBOY_MATCH_THRESHOLD))
