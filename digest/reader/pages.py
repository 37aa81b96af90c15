"""What digest adds to subscriptions' pages (registered in digest.apps): the newest edition's
most upvoted papers on the signup page, and the next digest, the feed and the data download in
the preference center."""

from __future__ import annotations

from typing import Any

from digest.day import latest_edition
from digest.reader.preview import next_digest
from subscriptions import links
from subscriptions.models import Subscriber

TODAYS_PAPERS_ON_SIGNUP = 5
SAMPLE_PAPERS = 3


def signup_context() -> dict[str, Any]:
    edition = latest_edition()
    papers = list(edition.papers().order_by("-upvotes", "arxiv_id")[:TODAYS_PAPERS_ON_SIGNUP]) if edition else []
    return {"edition": edition, "papers": papers, "sample": papers[:SAMPLE_PAPERS]}


def manage_context(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "preview": next_digest(subscriber),
        "feed_url": links.feed_url(subscriber.pk),
        "data_url": links.data_url(subscriber.pk),
    }
