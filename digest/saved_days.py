"""Saved source files (a Hugging Face JSON day, an arXiv RSS/Atom feed) ingested into the edition
of the day they hold, not the day they are read: one file (`ingest_papers --file`) or a folder of
them (`ingest_papers --dir`, a backfill)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from digest import sources
from digest.ingest import IngestResult, ingest_records, record_report, report_of

DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")


class FileRefusedError(Exception):
    """The file holds no paper list we can use; the message is the one-line reason."""


@dataclass
class FileOutcome:
    path: Path
    day: dt.date
    kind: str
    batch: sources.PaperBatch
    result: IngestResult

    def __str__(self) -> str:
        skipped = f", {len(self.batch.skipped)} skipped" if self.batch.skipped else ""
        warned = "".join(f"; warning: {w}" for w in self.batch.warnings)
        return (
            f"{self.day}: {len(self.batch)} papers read from {self.path} ({self.kind}){skipped}; {self.result}{warned}"
        )


def day_in_name(path: Path) -> dt.date | None:
    match = DATE_IN_NAME.search(path.name)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def ingest_file(path: Path, day: dt.date | None = None) -> FileOutcome:
    """Ingest one saved file into the edition of `day`, else of the date in its name (archives
    name a day's file by the date it was fetched for), else of the day its content was listed on.
    Idempotent; raises FileRefusedError with the reason if nothing in it can be used."""
    try:
        content = path.read_bytes()
    except OSError as error:
        raise FileRefusedError(f"Cannot read {path}: {error.strerror}") from None
    try:
        kind, batch = sources.parse_file(content)
    except sources.SourceError as error:
        raise FileRefusedError(f"{path.name} is not a paper list we can read: {error}") from None
    day = day or day_in_name(path) or batch.listed_day()
    if day is None:
        raise FileRefusedError(f"{path.name} says no day in its name or its content; give one with --date")
    result = ingest_records(batch, day)
    record_report(day, {f"file:{path.name}": report_of(batch)})
    return FileOutcome(path, day, kind, batch, result)


@dataclass
class Backfill:
    """The sum of a folder's files, for the summary line."""

    files: int = 0
    ingested: int = 0
    partly_skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    papers: int = 0
    skipped: int = 0
    result: IngestResult = field(default_factory=IngestResult)

    def add(self, outcome: FileOutcome) -> None:
        self.files += 1
        self.ingested += 1
        self.papers += len(outcome.batch)
        self.skipped += len(outcome.batch.skipped)
        self.result += outcome.result
        if outcome.batch.skipped or outcome.batch.warnings:
            problems = "; ".join([*outcome.batch.warnings, *outcome.batch.skipped])
            self.partly_skipped.append(f"{outcome.path.name}: {len(outcome.batch)} papers kept; {problems}")

    def refuse(self, reason: str) -> None:
        self.files += 1
        self.refused.append(reason)

    def __str__(self) -> str:
        return (
            f"{self.files} files: {self.ingested} ingested "
            f"({len(self.partly_skipped)} with skipped items or warnings), "
            f"{len(self.refused)} refused; {self.papers} papers read, {self.skipped} skipped; {self.result}"
        )


def saved_files(folder: Path) -> list[Path]:
    """The folder's saved days, oldest first (so a paper listed twice keeps its first day)."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".json", ".xml", ".atom", ".rss")]
    return sorted(files, key=lambda p: (day_in_name(p) or dt.date.max, p.name))
