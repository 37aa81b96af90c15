from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from digest.devtools.benchmarks import digest as benchmark
from digest.management.progress import Progress


def host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{value!r} is not HOST:PORT")
    return host, int(port)


class Command(BaseCommand):
    help = (
        "Send a synthetic day to synthetic subscribers through the real pipeline (plan, match, "
        "render, send through K Celery workers on Redis, PostgreSQL) and print the figures, the "
        "last line as JSON. Needs DATABASE_URL=postgres://... and REDIS_URL. Removes the "
        "previous run's synthetic rows first; touches nothing else."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subscribers", type=int, default=10_000)
        parser.add_argument("--papers", type=int, default=98)
        parser.add_argument(
            "--smtp", type=host_port, help="HOST:PORT of the SMTP server (default: a built-in aiosmtpd sink)"
        )
        parser.add_argument("--workers", type=int, default=1, help="Celery worker processes to start")
        parser.add_argument(
            "--planning",
            choices=["shard", "central"],
            default=settings.PAPERBOY_PLANNING,
            help="shard: the workers plan chunks of subscribers (as the beat task does); central: this process plans",
        )
        parser.add_argument(
            "--smtp-source-messages",
            type=int,
            default=benchmark.SMTP_SOURCE_MESSAGES,
            help="messages Postfix's smtp-source sends to the same server for the raw rate (0: skip it)",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=2,
            help="sending processes per worker: they overlap SMTP and database waits",
        )

    def handle(
        self,
        *args,
        subscribers: int,
        papers: int,
        smtp: tuple[str, int] | None,
        workers: int,
        concurrency: int,
        smtp_source_messages: int,
        planning: str,
        **options,
    ):
        if min(subscribers, papers, workers, concurrency) < 1:
            raise CommandError("--subscribers, --papers, --workers and --concurrency must be at least 1")
        stream = getattr(self.stderr, "_out", sys.stderr)
        try:
            figures = benchmark.run(
                subscribers,
                papers,
                workers,
                concurrency,
                smtp,
                lambda total: Progress(total, "Benchmark", stream),
                smtp_source_messages,
                planning,
            )
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(figures.json())
