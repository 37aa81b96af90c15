from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from digest import sources
from digest.match import rank_papers
from subscriptions.models import DEFAULT_MAX_PAPERS


class Command(BaseCommand):
    help = (
        "Rank the papers of a saved Hugging Face JSON day for the given topics, with the same "
        "matching the digest uses (threshold PAPERBOY_MATCH_THRESHOLD). Touches no database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--papers", type=Path, required=True, help="an HF daily_papers JSON file")
        parser.add_argument("--topic", action="append", required=True, help="a topic; repeat for several")
        parser.add_argument("--limit", type=int, default=DEFAULT_MAX_PAPERS, help="default: %(default)s")
        parser.add_argument("--json", action="store_true", help="print a JSON list: id, title, score, why")

    def handle(self, *args, papers: Path, topic: list[str], limit: int, **options) -> None:
        try:
            records = sources.parse_hf_items(json.loads(papers.read_bytes()))
        except OSError as error:
            raise CommandError(f"Cannot read {papers}: {error.strerror}") from None
        except (ValueError, sources.SourceError) as error:
            raise CommandError(f"{papers} is not a Hugging Face daily papers JSON file: {error}") from None
        matches = rank_papers(records, topic, limit, settings.PAPERBOY_MATCH_THRESHOLD)
        if options["json"]:
            rows = [{"id": m.paper.arxiv_id, "title": m.paper.title, "score": m.score, "why": m.why} for m in matches]
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        for n, match in enumerate(matches, 1):
            self.stdout.write(
                f"{n:2}. {match.score:.3f}  {match.paper.arxiv_id}  {match.paper.title}\n      {match.why}"
            )
        if not matches:
            self.stdout.write("No paper scored above the threshold.")
