"""Thin Celery tasks for subscriptions (scheduled in config/settings.py CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from subscriptions.models import Subscriber


@shared_task
def purge_unconfirmed_signups() -> int:
    """Delete signups whose confirmation link has expired; returns how many."""
    deleted, _ = Subscriber.objects.unconfirmed_expired(timezone.now()).delete()
    return deleted
