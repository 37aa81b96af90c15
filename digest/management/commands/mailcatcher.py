from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from digest.devtools import mailcatcher


class Handler:
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        mailcatcher.save(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


class Command(BaseCommand):
    help = (
        "Run a local SMTP server that catches every message instead of delivering it. Messages are "
        "saved under var/mail/ and shown at /dev/mail/ while DJANGO_DEBUG is on. For development only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.EMAIL_PORT, help="default: EMAIL_PORT (%(default)s)")

    def handle(self, *args, host: str, port: int, **options) -> None:
        from aiosmtpd.controller import Controller  # a development dependency

        controller = Controller(Handler(), hostname=host, port=port)
        controller.start()
        self.stdout.write(f"Catching mail on {host}:{port}; read it at {settings.SITE_URL}/dev/mail/")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
