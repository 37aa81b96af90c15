from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections import Counter

from django.core.management.base import BaseCommand, CommandParser

from digest import day
from digest.management.commands.ingest_papers import iso_date
from digest.management.progress import Progress


class Command(BaseCommand):
    help = (
        "Plan and send one edition's digests now, in this process: every active subscriber whose "
        "frequency includes that day and who has not had it yet gets one email (their send hour is "
        "not waited for; the scheduled Celery run does that). Running it again sends nothing new. "
        "Shows a progress bar on a terminal, log lines otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=iso_date, help="the edition, YYYY-MM-DD (default: the newest)")
        parser.add_argument("--dry-run", action="store_true", help="show who would get which papers; send nothing")

    def handle(self, *args, date: dt.date | None, dry_run: bool, **options) -> None:
        edition, plan = day.plan_day(date, respect_send_hour=False, dry_run=dry_run)
        if edition is None:
            self.stderr.write(f"No edition {date or 'yet'}: run ingest_papers first.")
            return
        if dry_run:
            self.report_dry_run(edition.date, plan)
            return
        totals = self.send(edition.date)
        self.stdout.write(
            f"Edition {edition.date}: {plan.planned} planned, {totals['sent']} sent, "
            f"{totals['failed_temporary'] + totals['failed_permanent']} failed "
            f"({totals['failed_temporary']} to retry), {totals['uncertain']} outcome unknown, "
            f"{totals['skipped']} skipped; {plan.nothing_matched} subscribers had nothing above the threshold."
        )

    def send(self, edition_date: dt.date) -> Counter:
        batches = list(day.sendable_batches(edition_date))
        totals: Counter = Counter()
        # The bar goes to stderr, so stdout keeps only the summary for scripts.
        stream = getattr(self.stderr, "_out", sys.stderr)
        with Progress(sum(map(len, batches)), f"Edition {edition_date}", stream) as progress:
            for ids in batches:
                result = dataclasses.asdict(day.send_batch(ids))
                totals.update({name: value for name, value in result.items() if isinstance(value, int)})
                progress.advance(len(ids), sent=totals["sent"], failed=totals["failed_permanent"])
        return totals

    def report_dry_run(self, edition_date: dt.date, plan: day.PlanResult) -> None:
        self.stdout.write(f"Dry run for edition {edition_date}: {plan.planned} emails would be sent.")
        for email, matches in plan.previews:
            self.stdout.write(f"\n{email}:")
            for match in matches:
                self.stdout.write(
                    f"  {match.score:.2f}  {match.paper.arxiv_id}  {match.paper.title[:80]}  [{match.why}]"
                )
