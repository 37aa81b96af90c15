from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from digest import saved_days
from digest.day import prepare_matching
from digest.ingest import ingest_day
from digest.management.progress import Progress
from digest.models import Edition

SAMPLE_FOLDER = Path(__file__).resolve().parents[2] / "sample_day"
# A real week of Hugging Face Daily Papers (five weekdays), so a weekly digest can be seen
# offline; the newest, a full day of 50 papers, is the sample day. Each is filed under the day it
# was recorded, so a rerun tomorrow finds them again.
SAMPLE_WEEK = [dt.date(2026, 5, d) for d in (7, 8, 11, 12, 13)]
SAMPLE_DATE = SAMPLE_WEEK[-1]
SAMPLE_DAY = SAMPLE_FOLDER / f"hf-{SAMPLE_DATE}.json"


def sample_file(day: dt.date) -> Path:
    return SAMPLE_FOLDER / f"hf-{day}.json"


def iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        # ArgumentTypeError, not CommandError: argparse runs this before Django's error handling.
        raise argparse.ArgumentTypeError(f"must look like 2025-09-03, not {value!r}") from None


class Command(BaseCommand):
    help = (
        "Fetch one day's papers from Hugging Face Daily Papers and the arXiv feeds of "
        "PAPERBOY_ARXIV_CATEGORIES, and store them. Running it twice changes nothing the second time. "
        "A source that fails is reported and the others still load."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_date, help="the edition day, YYYY-MM-DD (default: today, UTC)")
        parser.add_argument("--source", choices=["hf", "arxiv"], help="only this source (default: both)")
        parser.add_argument(
            "--file",
            type=Path,
            help="load a saved HF JSON day or arXiv RSS/Atom feed instead of fetching, into the edition of "
            "--date, else of the date in its name, else of the day its content was listed on",
        )
        parser.add_argument(
            "--dir",
            type=Path,
            help="load every saved day in a folder (*.json, *.xml), each into the edition of the date in its "
            "name or its content; with a progress bar and a summary line; idempotent",
        )
        parser.add_argument(
            "--sample-if-offline",
            action="store_true",
            help="if no source gives any papers (offline, or an empty day), load the bundled sample week instead "
            f"(five real Hugging Face days, {SAMPLE_WEEK[0]} to {SAMPLE_DATE}, each as its own edition)",
        )

    def handle(
        self, *args, date: dt.date | None, source: str | None, file: Path | None, dir: Path | None, **options
    ) -> None:
        if file and dir:
            raise CommandError("Give --file or --dir, not both.")
        if file:
            self.load_file(file, date)
            return
        if dir:
            self.load_dir(dir, date)
            return
        day = date or timezone.now().date()
        result = ingest_day(day, [source] if source else ["hf", "arxiv"])
        self.stdout.write(f"{day}: {result}")
        for line in Edition.objects.get(date=day).source_summaries():
            self.stdout.write(f"  {line}")
        self.prepare(day)
        if result.created + result.updated + result.unchanged == 0 and options["sample_if_offline"]:
            self.load_sample_week()

    def load_sample_week(self) -> None:
        self.stdout.write(
            self.style.WARNING(
                f"No source gave any papers: loading the bundled sample week instead, real Hugging Face days "
                f"from {SAMPLE_WEEK[0]:%-d %b} to {SAMPLE_DATE:%A %-d %B %Y} (the newest edition)."
            )
        )
        for day in SAMPLE_WEEK:
            self.load_file(sample_file(day), day)

    def load_file(self, path: Path, day: dt.date | None) -> None:
        try:
            outcome = saved_days.ingest_file(path, day)
        except saved_days.FileRefusedError as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(str(outcome))
        for reason in outcome.batch.skipped:
            self.stdout.write(f"  skipped {reason}")
        self.prepare(outcome.day)

    def load_dir(self, folder: Path, day: dt.date | None) -> None:
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        if day:
            raise CommandError(
                "--dir takes each file's day from its name or content; --date would file them all under one day"
            )
        files = saved_days.saved_files(folder)
        backfill = saved_days.Backfill()
        started = time.monotonic()
        # The bar goes to stderr, so stdout keeps only the summary for scripts.
        stream = getattr(self.stderr, "_out", sys.stderr)
        with Progress(len(files), f"Ingesting {folder}", stream, unit="file") as progress:
            for path in files:
                try:
                    backfill.add(saved_days.ingest_file(path))
                except saved_days.FileRefusedError as refused:
                    backfill.refuse(str(refused))
                progress.advance(1, papers=backfill.papers, refused=len(backfill.refused))
        for line in backfill.partly_skipped:
            self.stdout.write(f"  partly skipped: {line}")
        for reason in backfill.refused:
            self.stdout.write(f"  refused: {reason}")
        self.stdout.write(f"{backfill} in {time.monotonic() - started:.1f}s")

    def prepare(self, day: dt.date) -> None:
        # The edition's vectors now, not on the first page that needs them (a backfill of old
        # days skips this: they are encoded if ever a page asks).
        started = time.perf_counter()
        prepare_matching(day)
        self.stdout.write(f"{day}: matching prepared in {time.perf_counter() - started:.1f} s")
