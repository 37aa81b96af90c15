"""Step 1 of the day: read papers from the Hugging Face Daily Papers API and arXiv feeds.

Both sources are parsed into one normalised form, `PaperRecord`, keyed by the arXiv id
without its version, so the same paper from both merges into one row at ingest.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import xml.sax
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import feedparser
import requests
from django.conf import settings

log = logging.getLogger(__name__)

HF_PAGE_LIMIT = 100  # the API rejects a larger limit
ARXIV_ANNOUNCE_TYPES_WANTED = {"new", "cross"}
ARXIV_ID = re.compile(
    r"(?:arxiv\.org/abs/|oai:arXiv\.org:|^)([a-z\-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v\d+)?", re.I
)
USER_AGENT = "Paperboy/1.0 (daily research digest)"


class SourceError(Exception):
    """A source could not be read: unreachable, timed out, or sent something unparseable."""


@dataclass
class PaperRecord:
    arxiv_id: str
    title: str
    abstract: str
    source: str
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    published_at: dt.datetime | None = None
    upvotes: int | None = None
    comments: int | None = None
    github_url: str = ""
    github_stars: int | None = None
    project_url: str = ""
    thumbnail_url: str = ""
    ai_summary: str = ""
    ai_keywords: list[str] = field(default_factory=list)


def normalise_arxiv_id(raw: str) -> str | None:
    match = ARXIV_ID.search(raw.strip())
    return match.group(1) if match else None


def clean_text(value: object) -> str:
    return " ".join(str(value or "").split())


def parse_datetime(value: object) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


# --- Hugging Face -----------------------------------------------------------------------


def parse_hf_items(items: object) -> list[PaperRecord]:
    """Parse the JSON list the daily_papers API returns. Items without an id are skipped."""
    if not isinstance(items, list):
        raise SourceError(f"expected a JSON list of papers, got {type(items).__name__}")
    records = []
    for item in items:
        record = parse_hf_item(item)
        if record is None:
            log.warning("Skipping a Hugging Face item without a usable paper id or title")
        else:
            records.append(record)
    return records


def parse_hf_item(item: object) -> PaperRecord | None:
    if not isinstance(item, dict):
        return None
    paper = item.get("paper") or {}
    arxiv_id = normalise_arxiv_id(str(paper.get("id") or ""))
    title = clean_text(paper.get("title") or item.get("title"))
    if not arxiv_id or not title:
        return None
    authors = [clean_text(a.get("name")) for a in paper.get("authors") or [] if isinstance(a, dict) and a.get("name")]
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=clean_text(paper.get("summary") or item.get("summary")),
        source="hf",
        authors=authors,
        published_at=parse_datetime(paper.get("publishedAt")),
        upvotes=paper.get("upvotes") if isinstance(paper.get("upvotes"), int) else None,
        comments=item.get("numComments") if isinstance(item.get("numComments"), int) else None,
        github_url=paper.get("githubRepo") or "",
        github_stars=paper.get("githubStars") if isinstance(paper.get("githubStars"), int) else None,
        project_url=paper.get("projectPage") or "",
        thumbnail_url=item.get("thumbnail") or "",
        ai_summary=clean_text(paper.get("ai_summary")),
        ai_keywords=[clean_text(k) for k in paper.get("ai_keywords") or [] if k],
    )


def fetch_hf_day(day: dt.date, session: requests.Session | None = None) -> list[PaperRecord]:
    """All papers of one day, following the API's pages until a short one. Sorted by
    publication, which stays put between page requests (trending order can shift)."""
    session = session or requests.Session()
    records: list[PaperRecord] = []
    for page in range(0, 50):  # 5,000 papers: far beyond any real day, stops a runaway loop
        items = get_json(
            session,
            settings.PAPERBOY_HF_API_URL,
            {"date": day.isoformat(), "p": page, "limit": HF_PAGE_LIMIT, "sort": "publishedAt"},
        )
        records.extend(parse_hf_items(items))
        if len(items) < HF_PAGE_LIMIT:
            break
    return records


def get_json(session: requests.Session, url: str, params: dict) -> list:
    response = get(session, url, params)
    try:
        return response.json()
    except ValueError as error:
        raise SourceError(f"{url} sent invalid JSON: {error}") from None


def get(session: requests.Session, url: str, params: dict | None = None) -> requests.Response:
    try:
        response = session.get(
            url, params=params, timeout=settings.PAPERBOY_SOURCE_TIMEOUT, headers={"User-Agent": USER_AGENT}
        )
        response.raise_for_status()
    except requests.Timeout:
        raise SourceError(f"{url} timed out after {settings.PAPERBOY_SOURCE_TIMEOUT:g}s") from None
    except requests.HTTPError as error:
        raise SourceError(f"{url} answered HTTP {error.response.status_code}") from None
    except requests.ConnectionError:
        raise SourceError(f"{url} could not be reached") from None
    except requests.RequestException as error:
        raise SourceError(f"{url} failed: {type(error).__name__}") from None
    return response


# --- arXiv ------------------------------------------------------------------------------


def parse_arxiv_feed(content: bytes | str) -> list[PaperRecord]:
    """Parse an arXiv RSS 2.0 or Atom feed. Keeps new and cross-listed papers, drops replacements.

    An empty feed (weekends, holidays) is an empty list; a feed that does not parse is a SourceError.
    """
    feed = feedparser.parse(content)
    # feedparser's lenient parser salvages entries from broken XML; half a feed would pass
    # for a quiet day, so broken XML is an error. Milder complaints (encoding) are tolerated.
    broken_xml = isinstance(feed.get("bozo_exception"), xml.sax.SAXParseException)
    if feed.bozo and (broken_xml or not feed.entries):
        raise SourceError(f"feed does not parse: {feed.get('bozo_exception')}")
    if feed.bozo:
        log.warning("arXiv feed: %s; using the %d entries read", feed.bozo_exception, len(feed.entries))
    if not feed.get("version") and not feed.entries:
        raise SourceError("not an RSS or Atom feed")
    return [record for record in map(parse_arxiv_entry, feed.entries) if record is not None]


def parse_arxiv_entry(entry: feedparser.FeedParserDict) -> PaperRecord | None:
    announce_type = entry.get("arxiv_announce_type", "new")
    if announce_type not in ARXIV_ANNOUNCE_TYPES_WANTED:
        return None
    arxiv_id = normalise_arxiv_id(entry.get("id", "")) or normalise_arxiv_id(entry.get("link", ""))
    title = clean_text(entry.get("title"))
    if not arxiv_id or not title:
        return None
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=strip_announcement(entry.get("summary", "")),
        source="arxiv",
        authors=split_authors(entry),
        categories=[tag.term for tag in entry.get("tags", []) if tag.get("term")],
        published_at=published(entry),
    )


def strip_announcement(summary: str) -> str:
    # "arXiv:2509.01234v1 Announce Type: new\nAbstract: The ..." -> "The ..."
    _, found, abstract = summary.partition("Abstract:")
    return clean_text(abstract if found else summary)


def split_authors(entry: feedparser.FeedParserDict) -> list[str]:
    # feedparser hands arXiv's comma-joined dc:creator over as one "author".
    names = [a.get("name", "") for a in entry.get("authors", [])] or [entry.get("author", "")]
    return [clean_text(n) for joined in names for n in re.split(r",\s*|\s+and\s+", joined) if clean_text(n)]


def published(entry: feedparser.FeedParserDict) -> dt.datetime | None:
    parsed = entry.get("published_parsed")
    return dt.datetime(*parsed[:6], tzinfo=dt.UTC) if parsed else None


def fetch_arxiv_feeds(
    categories: Iterable[str], session: requests.Session | None = None
) -> Iterator[tuple[str, list[PaperRecord] | SourceError]]:
    """Each category's papers, or the error that stopped it; requests spaced as arXiv asks."""
    session = session or requests.Session()
    for n, category in enumerate(categories):
        if n:
            time.sleep(settings.PAPERBOY_ARXIV_PAUSE)
        try:
            response = get(session, f"{settings.PAPERBOY_ARXIV_FEED_URL}/{category}")
            yield category, parse_arxiv_feed(response.content)
        except SourceError as error:
            yield category, error


# --- Saved files ------------------------------------------------------------------------


def parse_file(content: bytes) -> tuple[str, list[PaperRecord]]:
    """A saved HF JSON day or an arXiv RSS/Atom feed, told apart by their first character."""
    start = content.lstrip()[:1]
    if start in (b"[", b"{"):
        try:
            return "hf", parse_hf_items(json.loads(content))
        except json.JSONDecodeError as error:
            raise SourceError(f"invalid JSON: {error}") from None
    if start == b"<":
        return "arxiv", parse_arxiv_feed(content)
    raise SourceError("neither a Hugging Face JSON day nor an RSS/Atom feed")
