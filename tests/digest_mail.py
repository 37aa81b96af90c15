"""Helpers for the email tests: send an edition for real and read the captured message."""

from __future__ import annotations

import datetime as dt
import json
from email.message import EmailMessage

from digest.day import plan_day
from digest.deliver import send_batch, sendable_batches
from tests.conftest import FIXTURES
from tests.factories import EDITION_DATE


def send_edition(date: dt.date = EDITION_DATE, now: dt.datetime | None = None, respect_send_hour: bool = False) -> None:
    """What the daily run does for an edition: plan every subscriber's digest (all of them, unless
    asked to respect their send hour), send the batches."""
    plan_day(date, now=now, respect_send_hour=respect_send_hour)
    for ids in sendable_batches(date):
        send_batch(ids)


def html_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def text_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def hostile_items() -> list[dict]:
    """Papers in the Hugging Face API's shape whose text and links try to break the email."""
    return json.loads((FIXTURES / "hf-hostile.json").read_text())
