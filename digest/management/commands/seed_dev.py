from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from digest.devtools.seed import seed_dev


class Command(BaseCommand):
    help = (
        "For `make run` only: create the admin login admin/admin and one active demo subscriber "
        "(demo@example.com) so a digest run has someone to send to. Refuses when DJANGO_DEBUG is off."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_dev creates a well-known password; it only runs with DJANGO_DEBUG on.")
        for line in seed_dev():
            self.stdout.write(line)
