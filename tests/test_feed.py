"""The private Atom feed against RFC 4287's rules (feedparser's `bozo` accepts far less than
valid): the elements a feed and each entry must carry, ids per subscriber and stable."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from subscriptions import links
from tests.digest_mail import send_edition
from tests.factories import load_day, make_subscriber

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def fetch(client, subscriber) -> ET.Element:
    response = client.get(urlsplit(links.feed_url(subscriber.pk)).path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content)


def is_iri(value: str | None) -> bool:
    return bool(value) and bool(urlsplit(value).scheme) and " " not in value


def is_date(value: str | None) -> bool:
    return value is not None and dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None


def rfc_4287_problems(feed: ET.Element) -> list[str]:
    """Section 4.1.1 (feed) and 4.1.2 (entry): each MUST hold exactly one id, title and updated,
    an author (the feed's, or every entry's), and an entry an alternate link or content."""
    problems = []
    for element, name in [(feed, "feed"), *((e, f"entry {n}") for n, e in enumerate(feed.findall(f"{ATOM}entry")))]:
        for child in ("id", "title", "updated"):
            if len(element.findall(f"{ATOM}{child}")) != 1:
                problems.append(f"{name}: not exactly one atom:{child}")
        if not is_iri(element.findtext(f"{ATOM}id")):
            problems.append(f"{name}: atom:id is not an IRI")
        if not is_date(element.findtext(f"{ATOM}updated")):
            problems.append(f"{name}: atom:updated is not an RFC 3339 date")
        alternates = [link for link in element.findall(f"{ATOM}link") if link.get("rel", "alternate") == "alternate"]
        if len({(link.get("type"), link.get("hreflang")) for link in alternates}) != len(alternates):
            problems.append(f"{name}: two alternate links of one type")
        if name != "feed":
            if not alternates and element.find(f"{ATOM}content") is None:
                problems.append(f"{name}: neither an alternate link nor content")
            if element.find(f"{ATOM}author") is None and feed.find(f"{ATOM}author") is None:
                problems.append(f"{name}: no atom:author, and the feed has none")
    for author in feed.iter(f"{ATOM}author"):
        if not (author.findtext(f"{ATOM}name") or "").strip():
            problems.append("an atom:author without a name")
    if feed.find(f"{ATOM}author") is None and not feed.findall(f"{ATOM}entry"):
        problems.append("feed: no atom:author")
    return problems


def test_the_feed_holds_what_rfc_4287_requires_with_ids_per_subscriber_and_stable(client, smtp, lexical_only):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    bo = make_subscriber("bo@example.com", "diffusion models")
    empty = make_subscriber("cy@example.com", "robotics")
    send_edition()
    empty.deliveries.all().delete()

    feeds = {person.email: fetch(client, person) for person in (ada, bo, empty)}

    for address, feed in feeds.items():
        assert rfc_4287_problems(feed) == [], address
    assert feeds["ada@example.com"].findtext(f"{ATOM}author/{ATOM}name") == "Paperboy"
    ids = {feed.findtext(f"{ATOM}id") for feed in feeds.values()}
    assert len(ids) == 3  # one per subscriber, never the site's address for all
    again = fetch(client, ada)
    assert again.findtext(f"{ATOM}id") == feeds["ada@example.com"].findtext(f"{ATOM}id")
    entry_ids = [e.findtext(f"{ATOM}id") for e in feeds["ada@example.com"].findall(f"{ATOM}entry")]
    assert entry_ids and entry_ids == [e.findtext(f"{ATOM}id") for e in again.findall(f"{ATOM}entry")]
    assert not set(entry_ids) & {e.findtext(f"{ATOM}id") for e in feeds["bo@example.com"].findall(f"{ATOM}entry")}
