from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from digest import sources
from digest.matching import semantic
from digest.matching.ranker import Interest, rank_papers
from subscriptions.interests import parse_interest_lines
from subscriptions.models import DEFAULT_MAX_PAPERS


class Command(BaseCommand):
    help = (
        "Rank the papers of a saved Hugging Face JSON day for the given interests, with exactly the "
        "ranking the digest uses (semantic part included when installed; threshold "
        "PAPERBOY_MATCH_THRESHOLD). Touches no database: seed papers must be in the file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--papers", type=Path, required=True, help="an HF daily_papers JSON file")
        parser.add_argument("--topic", action="append", default=[], help="a topic; repeat for several")
        parser.add_argument(
            "--interest",
            action="append",
            default=[],
            help='an interest line as a subscriber types it: "not: medical imaging", "author: Ada Lovelace", '
            '"cs.CL", "2509.01234" (a seed paper); repeat for several',
        )
        parser.add_argument("--limit", type=int, default=DEFAULT_MAX_PAPERS, help="default: %(default)s")
        parser.add_argument("--json", action="store_true", help="print a JSON list: id, title, score, why")

    def handle(self, *args, papers: Path, topic: list[str], interest: list[str], limit: int, **options) -> None:
        if not topic and not interest:
            raise CommandError("Give at least one --topic or --interest.")
        try:
            lines = parse_interest_lines("\n".join([*interest, *(f"topic: {t}" for t in topic)]))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        try:
            records = sources.parse_hf_items(json.loads(papers.read_bytes()))
        except OSError as error:
            raise CommandError(f"Cannot read {papers}: {error.strerror}") from None
        except (ValueError, sources.SourceError) as error:
            raise CommandError(f"{papers} is not a Hugging Face daily papers JSON file: {error}") from None
        in_file = {r.arxiv_id: r for r in records}
        matches = rank_papers(
            records,
            [Interest(kind, value) for kind, value in lines],
            limit,
            settings.PAPERBOY_MATCH_THRESHOLD,
            settings.PAPERBOY_SEND_TRENDING_WHEN_EMPTY,
            seed_lookup=lambda ids: {i: in_file[i] for i in ids if i in in_file},
        )
        if options["json"]:
            rows = [{"id": m.paper.arxiv_id, "title": m.paper.title, "score": m.score, "why": m.why} for m in matches]
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"Ranking: {semantic.status()}")
        for n, match in enumerate(matches, 1):
            self.stdout.write(
                f"{n:2}. {match.score:.3f}  {match.paper.arxiv_id}  {match.paper.title}\n      {match.why}"
            )
        if not matches:
            self.stdout.write("No paper scored above the threshold.")
