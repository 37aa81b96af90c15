"""What the signup and preference tests share: a filled-in form, and posting it the way a
browser does, with the emails that go out after the commit delivered to mail.outbox."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def signup_data(**overrides: object) -> dict:
    return {
        "email": "ada@example.com",
        "topics": "reinforcement learning\nrobot manipulation",
        "categories": ["cs.RO", "cs.LG"],
        "authors": "Chelsea Finn",
        "frequency": "daily",
        "weekly_day": "0",
        "send_hour": "7",
        "timezone": "Europe/Paris",
        "max_papers": "5",
        **overrides,
    }


def post(client: Client, capture, url: str, data: dict, **extra):
    """POST and run the on-commit callbacks (the emails) as a real request would, then follow the
    redirect to the page the visitor sees (a signup or a resend redirects: post/redirect/get)."""
    with capture(execute=True):
        return client.post(url, data, follow=True, **extra)


def links_in(message: mail.EmailMessage) -> list[str]:
    return re.findall(r"https?://\S+", message.body)


def without_csrf(html: str) -> str:
    return CSRF_FIELD.sub("", html)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)
