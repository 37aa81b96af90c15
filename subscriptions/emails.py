"""The emails a subscriber gets about their subscription (not the digest): each is three
templates, emails/<name>-subject.txt, -body.txt and -body.html, sent by a Celery worker
(subscriptions/mailing.py), never inside the web request that asked for it."""

from __future__ import annotations

import logging
import smtplib
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import strip_tags

from subscriptions import addresses, links
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
    if not addresses.is_safe(to):
        # A row stored before signup refused such addresses (quotes, control characters, an IP
        # literal): as its digest does (digest/render.py), no email of ours writes it into a header.
        log.warning("Not sending the %s email: the address is not one mail can carry safely", name)
        return
    try:
        build(name, to, context).send()
    except (smtplib.SMTPException, OSError):
        # The page answered long ago; the reader can ask again ("resend"), so log, don't raise.
        log.exception("Could not send the %s email to subscriber address %s", name, to)


# What each email says. None of them carries text a visitor typed (topics, names): anyone can
# ask for these emails to any address, so they say only what Paperboy itself writes.


def send_confirmation(subscriber: Subscriber, request_id: int | None = None) -> None:
    send_now(
        "confirm",
        subscriber.email,
        {
            "confirm_url": links.confirm_url(subscriber.pk, request_id),
            "days": settings.PAPERBOY_CONFIRM_DAYS,
            "subscriber": subscriber,
        },
    )


def send_already_subscribed(subscriber: Subscriber) -> None:
    send_now("already-subscribed", subscriber.email, {"manage_url": subscriber.manage_url, "subscriber": subscriber})


def send_email_change(subscriber: Subscriber, new_email: str) -> None:
    send_now(
        "email-change",
        new_email,
        {
            "change_url": links.email_change_url(subscriber.pk, new_email, subscriber.email, timezone.now()),
            "new_email": new_email,
            "days": settings.PAPERBOY_CONFIRM_DAYS,
        },
    )
