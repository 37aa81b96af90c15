"""Receive bounces and complaints: as an SMTP server (--smtp HOST:PORT) a relay forwards the
bounce domain's mail to, or by reading the bounce mailbox once (--imap; beat does it on schedule)."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError, CommandParser

from digest.bounces import imap, smtp_endpoint


def host_and_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--smtp takes HOST:PORT, e.g. 127.0.0.1:2525, not {value!r}")
    return host, int(port)


class Command(BaseCommand):
    help = "Receive bounces and complaints over SMTP (--smtp HOST:PORT), or read the bounce mailbox once (--imap)."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--smtp", metavar="HOST:PORT", help="listen for bounces until stopped (Ctrl-C, SIGTERM)")
        group.add_argument(
            "--imap",
            dest="read_imap",
            action="store_true",
            help="read the bounce mailbox once (PAPERBOY_BOUNCE_IMAP_*)",
        )

    def handle(self, *args, smtp: str | None, read_imap: bool, **options) -> None:
        if read_imap:
            try:
                result = imap.read_mailbox()
            except imap.MailboxError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(f"{result.read} messages read, {result.failed} left for the next poll")
            return
        host, port = host_and_port(smtp)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        controller = smtp_endpoint.endpoint(host, port)
        controller.start()
        self.stdout.write(f"Receiving bounces on {host}:{port}", ending="\n")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
            self.stdout.write("Stopped")
