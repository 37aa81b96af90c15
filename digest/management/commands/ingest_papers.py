from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from digest import sources
from digest.day import prepare_matching
from digest.ingest import ingest_day, ingest_records, record_report
from digest.models import Edition

SAMPLE_DAY = Path(__file__).resolve().parents[2] / "sample_day" / "hf-daily-papers.json"
SAMPLE_DATE = dt.date(2025, 9, 3)  # the day it was recorded, kept so a rerun tomorrow finds it again


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
            "--file", type=Path, help="load a saved HF JSON day or arXiv RSS/Atom feed instead of fetching"
        )
        parser.add_argument(
            "--sample-if-offline",
            action="store_true",
            help="if no source gives any papers (offline, or an empty day), load the bundled sample day "
            "instead (98 papers of 3 Sep 2025, as that day's edition)",
        )

    def handle(self, *args, date: dt.date | None, source: str | None, file: Path | None, **options) -> None:
        day = date or timezone.now().date()
        if file:
            self.load_file(file, day)
            return
        result = ingest_day(day, [source] if source else ["hf", "arxiv"])
        self.stdout.write(f"{day}: {result}")
        for line in Edition.objects.get(date=day).source_summaries():
            self.stdout.write(f"  {line}")
        self.prepare(day)
        if result.created + result.updated + result.unchanged == 0 and options["sample_if_offline"]:
            self.stdout.write(
                self.style.WARNING(
                    f"No source gave any papers: loading the bundled sample day ({SAMPLE_DATE:%-d %b %Y}) instead."
                )
            )
            self.load_file(SAMPLE_DAY, SAMPLE_DATE)

    def load_file(self, path: Path, day: dt.date) -> None:
        try:
            kind, records = sources.parse_file(path.read_bytes())
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from None
        except sources.SourceError as error:
            raise CommandError(f"{path} is not a paper list we can read: {error}") from None
        result = ingest_records(records, day)
        record_report(day, {f"file:{path.name}": {"papers": len(records)}})
        self.stdout.write(f"{day}: {len(records)} papers read from {path} ({kind}); {result}")
        self.prepare(day)

    def prepare(self, day: dt.date) -> None:
        started = time.perf_counter()
        prepare_matching(day)
        self.stdout.write(f"{day}: matching prepared in {time.perf_counter() - started:.1f} s")
