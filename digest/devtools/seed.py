"""Development data for `make run`: the admin login admin/admin and one active demo subscriber,
so a digest run has someone to send to."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from subscriptions.models import Subscriber

DEMO_TOPICS = ["reinforcement learning", "robot manipulation", "vision language models"]


def seed_dev() -> list[str]:
    """Create what is missing; the lines say what was created (none on a second run)."""
    created_lines = []
    user_model = get_user_model()
    if not user_model.objects.filter(username="admin").exists():
        user_model.objects.create_superuser("admin", "admin@example.com", "admin")
        created_lines.append("Created the staff login admin / admin.")
    demo, created = Subscriber.objects.get_or_create(
        email="demo@example.com", defaults={"status": Subscriber.Status.ACTIVE}
    )
    if created:
        for topic in DEMO_TOPICS:
            demo.interests.create(value=topic)
        created_lines.append(f"Created the demo subscriber {demo.email}, following: {', '.join(DEMO_TOPICS)}.")
    return created_lines
