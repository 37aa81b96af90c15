"""Thin Celery tasks for subscriptions: the web-triggered emails (queued by the views through
mailing.queue_after_commit) and the purge (scheduled in config/settings.py CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from subscriptions import mailing
from subscriptions.models import SignupRequest, Subscriber


@shared_task
def send_new_signup_email(subscriber_id: int) -> str:
    return mailing.new_signup_mail(subscriber_id)


@shared_task
def send_signup_email(subscriber_id: int, request_id: int | None = None) -> str:
    return mailing.signup_mail(subscriber_id, request_id)


@shared_task
def resend_signup_email(email: str) -> str:
    # Takes the address, not an id: the request must not look it up (its timing would tell).
    return mailing.resend_mail(email)


@shared_task
def send_email_change_email(subscriber_id: int, new_email: str) -> str:
    return mailing.email_change_mail(subscriber_id, new_email)


@shared_task
def purge_unconfirmed_signups() -> int:
    """Delete signups whose confirmation link has expired (and expired requests of known
    addresses); returns how many signups."""
    now = timezone.now()
    SignupRequest.objects.expired(now).delete()
    deleted, _ = Subscriber.objects.unconfirmed_expired(now).delete()
    return deleted
