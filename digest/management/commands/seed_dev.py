from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from subscriptions.models import Subscriber

DEMO_TOPICS = ["reinforcement learning", "robot manipulation", "vision language models"]


class Command(BaseCommand):
    help = (
        "For `make run` only: create the admin login admin/admin and one active demo subscriber "
        "(demo@example.com) so a digest run has someone to send to. Refuses when DJANGO_DEBUG is off."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_dev creates a well-known password; it only runs with DJANGO_DEBUG on.")
        user_model = get_user_model()
        if not user_model.objects.filter(username="admin").exists():
            user_model.objects.create_superuser("admin", "admin@example.com", "admin")
            self.stdout.write("Created the staff login admin / admin.")
        demo, created = Subscriber.objects.get_or_create(
            email="demo@example.com", defaults={"status": Subscriber.Status.ACTIVE}
        )
        if created:
            for topic in DEMO_TOPICS:
                demo.interests.create(value=topic)
            self.stdout.write(f"Created the demo subscriber {demo.email}, following: {', '.join(DEMO_TOPICS)}.")
