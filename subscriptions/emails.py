"""The emails a subscriber gets about their subscription (not the digest): each is three
templates, emails/<name>-subject.txt, -body.txt and -body.html, sent once the database
transaction that called for it has committed."""

from __future__ import annotations

import logging
import smtplib
from email.utils import make_msgid
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.html import strip_tags

from subscriptions import links
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)


def build(name: str, to: str, context: dict[str, Any]) -> EmailMultiAlternatives:
    context = {"site_url": settings.SITE_URL, **context}
    # Subjects are one line: whatever the template holds, no newline reaches the header.
    subject = " ".join(strip_tags(render_to_string(f"emails/{name}-subject.txt", context)).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{name}-body.txt", context),
        to=[to],
        headers={"Message-ID": make_msgid(name, settings.SITE_DOMAIN)},
    )
    message.attach_alternative(render_to_string(f"emails/{name}-body.html", context), "text/html")
    return message


def send_now(name: str, to: str, context: dict[str, Any]) -> None:
    try:
        build(name, to, context).send()
    except (smtplib.SMTPException, OSError):
        # The page has answered already; the reader can ask again ("resend"), so log, don't raise.
        log.exception("Could not send the %s email to %s", name, to)


def send_on_commit(name: str, to: str, context: dict[str, Any]) -> None:
    """After the rows it talks about are saved: no email about a signup that rolled back."""
    transaction.on_commit(partial(send_now, name, to, context))


def send_confirmation(subscriber: Subscriber) -> None:
    send_on_commit(
        "confirm",
        subscriber.email,
        {
            "confirm_url": links.confirm_url(subscriber.pk),
            "days": settings.PAPERBOY_CONFIRM_DAYS,
            "topics": subscriber.interest_values("topic"),
            "subscriber": subscriber,
        },
    )


def send_already_subscribed(subscriber: Subscriber) -> None:
    send_on_commit(
        "already-subscribed",
        subscriber.email,
        {"manage_url": subscriber.manage_url, "subscriber": subscriber},
    )


def send_email_change(subscriber: Subscriber, new_email: str) -> None:
    send_on_commit(
        "email-change",
        new_email,
        {
            "change_url": links.email_change_url(subscriber.pk, new_email),
            "old_email": subscriber.email,
            "new_email": new_email,
            "days": settings.PAPERBOY_CONFIRM_DAYS,
        },
    )
