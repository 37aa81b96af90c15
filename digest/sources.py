"""Step 1 of the day: read papers from the Hugging Face Daily Papers API and arXiv feeds.

Both sources are parsed into one normalised form, `PaperRecord`, keyed by the arXiv id
without its version, so the same paper from both merges into one row at ingest.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import time
import xml.sax
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import feedparser
import requests
from django.conf import settings

from digest import hf_items
from digest.readable import person_name, split_names

log = logging.getLogger(__name__)

HF_PAGE_LIMIT = 100  # the API rejects a larger limit
HF_DEFAULT_PAGE_SIZE = 50  # what the API sends when it is not given a limit
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


class PaperBatch(list[PaperRecord]):
    """The records a source gave, with what it could not use: `skipped` names each item left
    out and why, `warnings` what else was lost (a feed cut short); `days` the day each HF record
    was listed on, from which a saved file's day is read."""

    def __init__(self, records: Iterable[PaperRecord] = ()) -> None:
        super().__init__(records)
        self.skipped: list[str] = []
        self.warnings: list[str] = []
        self.days: list[dt.date | None] = []

    def skip(self, reason: str) -> None:
        self.skipped.append(reason)

    def warn(self, warning: str) -> None:
        log.warning("%s", warning)
        self.warnings.append(warning)

    def listed_day(self) -> dt.date | None:
        """The day most of its records were listed on, if they say."""
        days = Counter(day for day in self.days if day)
        return days.most_common(1)[0][0] if days else None


def normalise_arxiv_id(raw: str) -> str | None:
    match = ARXIV_ID.search(raw.strip())
    return match.group(1) if match else None


def clean_text(value: object) -> str:
    return " ".join(str(value or "").split())


# --- Hugging Face -----------------------------------------------------------------------


def parse_hf_items(items: object) -> PaperBatch:
    """Parse the JSON list the daily_papers API returns. Each item is checked on its own
    (digest/hf_items.py): a bad one is skipped with a warning naming it, the rest are kept. A
    list in which no item is usable is an error, not an empty day."""
    if not isinstance(items, list):
        raise SourceError(f"expected a JSON list of papers, got {hf_items.json_type(items)}{error_text(items)}")
    batch = PaperBatch()
    for index, raw in enumerate(items):
        try:
            item, dropped = hf_items.validate_item(raw)
            batch.append(record_of(item))
            batch.warnings.extend(f"{hf_items.item_label(raw, index)}: {note}" for note in dropped)
            batch.days.append(listed_day(item))
        except ValueError as problem:
            batch.skip(f"{hf_items.item_label(raw, index)}: {problem}")
    if items and not batch:
        raise SourceError(f"none of its {len(items)} items is a paper; {batch.skipped[0]}")
    for reason in batch.skipped:
        log.warning("Skipping Hugging Face %s", reason)
    for warning in batch.warnings:
        log.warning("Hugging Face %s", warning)
    return batch


def error_text(payload: object) -> str:
    # The API's errors are objects like {"error": "Sorry, we can't find the page..."}.
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return f": {clean_text(payload['error'])[:200]}"
    return ""


def record_of(item: hf_items.HFItem) -> PaperRecord:
    paper = item.paper
    arxiv_id = normalise_arxiv_id(paper.id)
    if not arxiv_id:
        raise ValueError(f"paper.id: {paper.id[:40]!r} is not an arXiv id")
    # The item's own title is clean; paper.title is often hard-wrapped.
    title = clean_text(item.title or paper.title)
    if not title:
        raise ValueError("no title")
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=clean_text(paper.summary or item.summary),
        source="hf",
        authors=[name for name in (person_name(a.name) for a in paper.authors) if name],
        published_at=paper.publishedAt,
        upvotes=paper.upvotes,
        comments=item.numComments,
        github_url=paper.githubRepo or "",
        github_stars=paper.githubStars,
        project_url=paper.projectPage or "",
        thumbnail_url=item.thumbnail or "",
        ai_summary=clean_text(paper.ai_summary),
        ai_keywords=[clean_text(k) for k in paper.ai_keywords or [] if clean_text(k)],
    )


def listed_day(item: hf_items.HFItem) -> dt.date | None:
    """The Daily Papers day an item was listed on (its submission to the list; before June 2024,
    when that field did not exist, the item's own date)."""
    when = item.paper.submittedOnDailyAt or item.publishedAt
    return when.date() if when else None


def fetch_hf_day(day: dt.date, session: requests.Session | None = None) -> PaperBatch:
    """All papers of one day, page after page. We ask for HF_PAGE_LIMIT a page; the API's default
    page is 50 and a server may keep to it, so a page of exactly 50 is followed by the next as
    a full one is. Any other short page, or one with nothing new, ends the day. Sorted by
    publication, which stays put between page requests (trending order can shift)."""
    session = session or requests.Session()
    batch = PaperBatch()
    seen: set[str] = set()
    for page in range(0, 50):  # 2,500+ papers: far beyond any real day, stops a runaway loop
        items = get_json(
            session,
            settings.PAPERBOY_HF_API_URL,
            {"date": day.isoformat(), "p": page, "limit": HF_PAGE_LIMIT, "sort": "publishedAt"},
        )
        page_batch = parse_hf_items(items)
        new = [record for record in page_batch if record.arxiv_id not in seen]
        seen.update(record.arxiv_id for record in new)
        batch.extend(new)
        batch.skipped.extend(page_batch.skipped)
        batch.warnings.extend(page_batch.warnings)
        full_page = len(items) >= HF_PAGE_LIMIT or len(items) == HF_DEFAULT_PAGE_SIZE
        if not full_page or (page_batch and not new):
            break
    return batch


def get_json(session: requests.Session, url: str, params: dict) -> object:
    response = get(session, url, params)
    try:
        return load_json(response.content)
    except SourceError as error:
        raise SourceError(f"{url} sent {error}") from None


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


def parse_arxiv_feed(content: bytes | str) -> PaperBatch:
    """Parse an arXiv RSS 2.0 or Atom feed. Keeps new and cross-listed papers, drops replacements.

    An empty feed (weekends, holidays) is an empty list. arXiv's error feed ("Bad archive ...")
    is a SourceError, not an empty day. A feed cut off mid-way keeps its complete entries, with a
    warning naming the entry that was cut and saying the rest is lost; other XML that does not
    parse is a SourceError.
    """
    content = content.encode() if isinstance(content, str) else content
    feed = feedparser.parse(content)
    batch = PaperBatch()
    if isinstance(feed.get("bozo_exception"), xml.sax.SAXParseException):
        complete, cut = complete_entries(content)
        if complete is None:
            raise SourceError(f"feed does not parse: {feed.get('bozo_exception')}")
        feed = feedparser.parse(complete)
        batch.warn(
            f"feed cut off ({feed_error_position(content)}): kept its {len(feed.entries)} complete entries; "
            f"lost {cut or 'the entry being read'} and any entries after it"
        )
    if feed.bozo and not feed.entries and not isinstance(feed.bozo_exception, feedparser.CharacterEncodingOverride):
        raise SourceError(f"feed does not parse: {feed.get('bozo_exception')}")
    if feed.bozo and feed.entries:
        log.warning("arXiv feed: %s; using the %d entries read", feed.bozo_exception, len(feed.entries))
    if not feed.get("version") and not feed.entries:
        raise SourceError("not an RSS or Atom feed")
    title = clean_text(feed.feed.get("title"))
    if title.startswith("Feed error") and not feed.entries:
        raise SourceError(f"arXiv feed error: {clean_text(feed.feed.get('description') or title)[:300]}")
    feed_day = announced_day(feed.feed)  # RSS items carry no date of their own; the channel does
    for entry in feed.entries:
        record = parse_arxiv_entry(entry)
        if record is not None:
            batch.append(record)
            batch.days.append(announced_day(entry) or feed_day)
    return batch


FEED_END = {b"</entry>": b"</feed>", b"</item>": b"</channel></rss>"}
ENTRY_ID = re.compile(rb"<(?:id|guid)[^>]*>\s*([^<]+?)\s*</(?:id|guid)>")


def complete_entries(content: bytes) -> tuple[bytes | None, str]:
    """A truncated feed up to its last whole entry, closed so it parses, and the id of the entry
    that was cut; (None, "") if it has no whole entry or is broken elsewhere than at its end."""
    for entry_end, closing in FEED_END.items():
        cut_at = content.rfind(entry_end)
        if cut_at < 0:
            continue
        head, tail = content[: cut_at + len(entry_end)], content[cut_at + len(entry_end) :]
        if closing.split(b">")[0] in tail:
            return None, ""  # the feed's end is there: it is broken, not cut short
        cut_id = ENTRY_ID.search(tail)
        repaired = head + closing
        if isinstance(feedparser.parse(repaired).get("bozo_exception"), xml.sax.SAXParseException):
            return None, ""
        return repaired, (normalise_arxiv_id(cut_id.group(1).decode(errors="replace")) or "") if cut_id else ""
    return None, ""


def feed_error_position(content: bytes) -> str:
    lines = content.count(b"\n") + 1
    return f"at byte {len(content):,}, line {lines:,}"


def announced_day(entry: feedparser.FeedParserDict) -> dt.date | None:
    """The day of an announcement in arXiv's own time zone (New York), as the feed writes it:
    "2025-08-20T00:00:00-04:00" (Atom) or "Tue, 26 Mar 2024 00:00:00 -0400" (RSS)."""
    raw = entry.get("published") or ""
    try:
        return dt.datetime.fromisoformat(raw).date()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(raw).date()
    except (TypeError, ValueError):
        return None


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
    # feedparser hands arXiv's comma-joined dc:creator over as one "author"; names carry TeX
    # accents and affiliations in parentheses (digest/readable.py).
    names = [a.get("name", "") for a in entry.get("authors", [])] or [entry.get("author", "")]
    return [name for joined in names for name in split_names(joined)]


def published(entry: feedparser.FeedParserDict) -> dt.datetime | None:
    parsed = entry.get("published_parsed")
    return dt.datetime(*parsed[:6], tzinfo=dt.UTC) if parsed else None


def fetch_arxiv_feeds(
    categories: Iterable[str], session: requests.Session | None = None
) -> Iterator[tuple[str, PaperBatch | Exception]]:
    """Each category's papers, or the error that stopped it; requests spaced as arXiv asks."""
    session = session or requests.Session()
    for n, category in enumerate(categories):
        if n:
            time.sleep(settings.PAPERBOY_ARXIV_PAUSE)
        try:
            response = get(session, f"{settings.PAPERBOY_ARXIV_FEED_URL}/{category}")
            yield category, parse_arxiv_feed(response.content)
        except Exception as error:  # one category's fault must not stop the next
            yield category, error


# --- Saved files ------------------------------------------------------------------------


def parse_file(content: bytes) -> tuple[str, PaperBatch]:
    """A saved HF JSON day or an arXiv RSS/Atom feed, told apart by their first character."""
    start = content.lstrip()[:1]
    if start in (b"[", b"{"):
        return "hf", parse_hf_items(load_json(content))
    if start == b"<":
        return "arxiv", parse_arxiv_feed(content)
    raise SourceError("neither a Hugging Face JSON day nor an RSS/Atom feed")


def load_json(content: bytes | str) -> object:
    try:
        return json.loads(content)
    except RecursionError:
        raise SourceError("invalid JSON: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, or bytes that are not UTF-8
        raise SourceError(f"invalid JSON: {error}") from None
