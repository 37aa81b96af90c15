"""Step 2 of the day: store the sources' papers as one Paper per arXiv id.

Idempotent: ingesting the same records again writes nothing. The same paper from Hugging Face
and arXiv merges into one row: fields one source lacks are filled from the other, categories
and sources are united. The HF counts (upvotes, comments, stars) keep the highest reading: they
grow as a paper is read, so the highest is the latest, whatever order days are ingested in (a
backfill run twice, or an old day reloaded, never winds them back). A paper listed again on a
later day stays in the edition of the day it was first ingested.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from digest import sources
from digest.models import Edition, Paper
from digest.sources import PaperRecord, SourceError

log = logging.getLogger(__name__)

FILLED_IF_EMPTY = (
    "abstract",
    "authors",
    "github_url",
    "project_url",
    "thumbnail_url",
    "ai_summary",
    "ai_keywords",
    "published_at",
)
HIGHEST_WINS = ("upvotes", "comments", "github_stars")
MERGED_FIELDS = [*FILLED_IF_EMPTY, *HIGHEST_WINS, "categories", "sources", "updated_at"]


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.created + other.created, self.updated + other.updated, self.unchanged + other.unchanged
        )

    def __str__(self) -> str:
        return f"{self.created} new, {self.updated} updated, {self.unchanged} unchanged"


def ingest_day(day: dt.date, source_names: Iterable[str] = ("hf", "arxiv")) -> IngestResult:
    """Fetch and store one day from each source. Each source is isolated: whatever goes wrong in
    one (a SourceError, or any other exception) is logged and recorded on the edition, and the
    others still ingest."""
    result = IngestResult()
    report: dict[str, dict] = {}
    if "hf" in source_names:
        result += store("hf", day, report, lambda: sources.fetch_hf_day(day))
    if "arxiv" in source_names and day != timezone.now().date():
        # The feeds only carry today's announcement; filing it under another day would be wrong.
        log.warning("Skipping arXiv for %s: its feeds list only today's papers", day.isoformat())
        report["arxiv"] = {"skipped": "the feeds list only today's papers"}
    elif "arxiv" in source_names:
        try:
            for category, fetched in sources.fetch_arxiv_feeds(settings.PAPERBOY_ARXIV_CATEGORIES):
                result += store(f"arxiv:{category}", day, report, lambda fetched=fetched: fetched)
        except Exception as error:  # one source's fault must not cost the others
            failed("arxiv", day, report, error)
    record_report(day, report)
    return result


def store(label: str, day: dt.date, report: dict, fetch: Callable[[], list[PaperRecord] | Exception]) -> IngestResult:
    try:
        fetched = fetch()
        if isinstance(fetched, Exception):
            raise fetched
        result = ingest_records(fetched, day)
    except Exception as error:  # one source's fault must not cost the others
        failed(label, day, report, error)
        return IngestResult()
    report[label] = report_of(fetched)
    log.info("Source %s for %s: %d papers read; %s", label, day.isoformat(), len(fetched), result)
    return result


def failed(label: str, day: dt.date, report: dict, error: Exception) -> None:
    if isinstance(error, SourceError):
        log.error("Source %s failed for %s: %s", label, day.isoformat(), error)
        message = str(error)
    else:
        log.exception("Source %s failed for %s with an unexpected error", label, day.isoformat())
        message = f"unexpected {type(error).__name__}: {error}"
    report[label] = {"error": message[:500], "at": timezone.now().isoformat(timespec="seconds")}


MAX_PROBLEMS_KEPT = 20  # per source and day: enough to see what went wrong, not a day's worth


def report_of(fetched: list[PaperRecord]) -> dict:
    """What the edition keeps of one source's reading: papers read, items skipped and why."""
    report: dict = {"papers": len(fetched)}
    skipped = getattr(fetched, "skipped", [])
    warnings = getattr(fetched, "warnings", [])
    if skipped:
        report["items_skipped"] = len(skipped)
    if skipped or warnings:
        report["problems"] = [*warnings, *skipped][:MAX_PROBLEMS_KEPT]
    return report


def record_report(day: dt.date, report: dict) -> None:
    edition, _ = Edition.objects.get_or_create(date=day)
    merged = {**edition.source_report, **report}
    if merged != edition.source_report:
        edition.source_report = merged
        edition.save(update_fields=["source_report"])


@transaction.atomic
def ingest_records(records: Iterable[PaperRecord], day: dt.date) -> IngestResult:
    """Upsert records listed on `day`; several records for one id fold into one paper."""
    records = list(records)
    papers = Paper.objects.select_for_update().in_bulk({r.arxiv_id for r in records}, field_name="arxiv_id")
    created: dict[str, Paper] = {}
    changed: set[str] = set()
    for record in records:
        paper = papers.get(record.arxiv_id)
        if paper is None:
            papers[record.arxiv_id] = created[record.arxiv_id] = new_paper(record, day)
        elif merge_into(paper, record) and record.arxiv_id not in created:
            changed.add(record.arxiv_id)
    # ignore_conflicts: a concurrent ingest may have just created the same paper.
    Paper.objects.bulk_create(created.values(), ignore_conflicts=True)
    now = timezone.now()
    for arxiv_id in changed:
        papers[arxiv_id].updated_at = now  # bulk_update skips auto_now; rendered cards key on it
    Paper.objects.bulk_update([papers[i] for i in changed], MERGED_FIELDS)
    Edition.objects.get_or_create(date=day)
    if created:
        # When papers first arrived: send hours count from here, so later upvote updates don't move it.
        Edition.objects.filter(date=day, ingested_at__isnull=True).update(ingested_at=timezone.now())
    seen = len({r.arxiv_id for r in records})
    return IngestResult(len(created), len(changed), seen - len(created) - len(changed))


def new_paper(record: PaperRecord, day: dt.date) -> Paper:
    return Paper(
        arxiv_id=record.arxiv_id,
        title=record.title,
        abstract=record.abstract,
        authors=record.authors,
        categories=record.categories,
        github_url=record.github_url,
        project_url=record.project_url,
        thumbnail_url=record.thumbnail_url,
        upvotes=record.upvotes or 0,
        comments=record.comments or 0,
        github_stars=record.github_stars,
        published_at=record.published_at,
        edition_date=day,
        sources=[record.source],
        ai_summary=record.ai_summary,
        ai_keywords=record.ai_keywords,
    )


def merge_into(paper: Paper, record: PaperRecord) -> bool:
    """Fold a record into a paper; True if anything changed."""
    changes = {}
    for name in FILLED_IF_EMPTY:
        value = getattr(record, name)
        if value and not getattr(paper, name):
            changes[name] = value
    for name in HIGHEST_WINS:
        value, current = getattr(record, name), getattr(paper, name)
        if value is not None and (current is None or value > current):
            changes[name] = value
    categories = paper.categories + [c for c in record.categories if c not in paper.categories]
    if categories != paper.categories:
        changes["categories"] = categories
    if record.source not in paper.sources:
        changes["sources"] = sorted([*paper.sources, record.source])
    for name, value in changes.items():
        setattr(paper, name, value)
    return bool(changes)
