"""Helpers for the bounce tests: a real returned message about a digest as it was received."""

from __future__ import annotations

import copy
import datetime as dt

from digest.models import Edition
from tests.conftest import FIXTURES, hf_day_items
from tests.factories import EDITION_DATE, load_day

BOUNCES = FIXTURES / "bounces"


def returned(sample: str, envelope, recipient: str | None = None) -> bytes:
    """The recorded sample addressed like the bounce of this received digest: to its envelope
    sender (the VERP address), about its recipient."""
    raw = (BOUNCES / sample).read_bytes()
    to = recipient or envelope.rcpt_tos[0]
    raw = raw.replace(b"{{VERP}}", envelope.mail_from.encode()).replace(b"{{RECIPIENT}}", to.encode())
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # on the wire, as a relay sends it


def envelope_to(smtp, address: str):
    (envelope,) = [e for e in smtp.envelopes if e.rcpt_tos == [address]]
    return envelope


def load_later_day(days: int) -> dt.date:
    """The recorded day's papers again `days` later, under other arXiv ids (a paper belongs to the
    first day it was listed), so that edition has papers of its own to send."""
    items = copy.deepcopy(hf_day_items())
    for item in items:
        item["paper"]["id"] = item["paper"]["id"].replace("2509.", f"{25 + days:02d}09.", 1)
    date = EDITION_DATE + dt.timedelta(days=days)
    load_day(date, items)
    assert Edition.objects.get(date=date).papers().count() == len(items)
    return date
