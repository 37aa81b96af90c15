"""The emails a visitor can make Paperboy send (confirmation, "already subscribed" with the
manage link, address change): decided and sent by a Celery worker, queued once the request's
transaction has committed (subscriptions/tasks.py).

So a web request never talks to the SMTP server: it answers in the same time whether an email
goes or not, and whether the address is known or not (the resend page looks nothing up). Here,
on the worker, each email must pass the mailbox's limit (ratelimit.claim_mail_to) and, for a
subscriber, the row's own cooldown.
"""

from __future__ import annotations

import logging
from functools import partial

from celery import Task
from django.db import transaction

from subscriptions import emails, ratelimit
from subscriptions.models import SignupRequest, Subscriber

log = logging.getLogger(__name__)


def queue_after_commit(task: Task, *args: object) -> None:
    """Queue the task once the rows it reads are committed (nothing about a rolled-back signup).
    robust: a broker that cannot be reached is logged and the page still answers as always."""
    transaction.on_commit(partial(task.delay, *args), robust=True)


def new_signup_mail(subscriber_id: int) -> str:
    """The confirmation of an address signed up for the first time (its row was just created,
    so only the mailbox's limit applies)."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id, status=Subscriber.Status.PENDING).first()
    if subscriber is None:
        return "gone"
    if not ratelimit.claim_mail_to(subscriber.email):
        return "held back"
    emails.send_confirmation(subscriber)
    return "sent"


def signup_mail(subscriber_id: int, request_id: int | None = None) -> str:
    """The email a signup for a known address calls for: a confirmation (still pending, or of
    what a SignupRequest asked for), or the manage link for someone already subscribed; at most
    one per the row's cooldown. Returns what happened, for the log."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return "gone"
    if request_id is not None and not SignupRequest.objects.filter(pk=request_id, subscriber=subscriber).exists():
        return "request used"
    wants_confirmation = request_id is not None or subscriber.status == Subscriber.Status.PENDING
    if not wants_confirmation and subscriber.status not in (Subscriber.Status.ACTIVE, Subscriber.Status.PAUSED):
        return "nothing to send"
    if not subscriber.claim_signup_mail() or not ratelimit.claim_mail_to(
        subscriber.email, manage_link=not wants_confirmation
    ):
        return "held back"
    if wants_confirmation:
        emails.send_confirmation(subscriber, request_id)
    else:
        emails.send_already_subscribed(subscriber)
    return "sent"


def resend_mail(email: str) -> str:
    """The resend page's email: the newest confirmation link an address is waiting on, or the
    manage link if it is subscribed; nothing for an address we do not know."""
    subscriber = Subscriber.objects.with_email(email).first()
    if subscriber is None:
        return "unknown"
    request = subscriber.signup_requests.order_by("-created_at", "-pk").first()
    return signup_mail(subscriber.pk, request.pk if request else None)


def email_change_mail(subscriber_id: int, new_email: str) -> str:
    """The link that moves a subscription to `new_email`, sent to that address."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return "gone"
    if not ratelimit.claim_mail_to(new_email):
        return "held back"
    emails.send_email_change(subscriber, new_email)
    return "sent"
