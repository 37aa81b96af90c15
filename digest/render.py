"""Step 4 of the day: turn one subscriber's matches into an email.

premailer costs milliseconds a call, so it runs once per edition, not per recipient: the HTML
template is rendered with every paper the edition sends and with placeholders where the
per-recipient parts go, inlined once, and cut into a layout and one card per paper. Each
email is then a few string substitutions. The subject and text part are ordinary templates.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.html import escape
from premailer import Premailer

from digest.models import Paper
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

# Placeholders survive premailer (which percent-encodes "{{ var }}" inside href, but not these).
INTRO = "%%PAPERBOY_INTRO%%"
WHY = "%%PAPERBOY_WHY%%"
UNSUBSCRIBE_URL = "%%PAPERBOY_UNSUBSCRIBE_URL%%"
CARDS = re.compile(r"<!--pb:cards-->(.*)<!--pb:cards-end-->", re.S)
CARD = re.compile(r"<!--pb:card (\S+?)-->(.*?)<!--pb:end-->", re.S)
GMAIL_CLIP_BYTES = 90_000  # Gmail hides everything past ~102 KB, the unsubscribe link included
PER_RECIPIENT_ALLOWANCE = 1_000  # the intro and the (escaped) unsubscribe URL


@dataclass(frozen=True)
class DigestItem:
    paper: Paper
    why: str
    interest: str = ""  # empty when the paper was sent as trending, not matched


class EditionRenderer:
    """Inlined HTML for one edition, cached per process; cards are added as papers need them."""

    def __init__(self, edition_date: dt.date) -> None:
        self.edition_date = edition_date
        self.layout = ""
        self.cards: dict[str, str] = {}
        self.versions: dict[str, dt.datetime | None] = {}
        self.card_bytes: dict[str, int] = {}  # sizes, so fitting an email costs no encoding
        self.layout_bytes = 0

    def prepare(self, papers: Iterable[Paper]) -> None:
        """Inline the layout and the cards of any papers not seen yet, in one premailer call."""
        missing = [p for p in papers if self.versions.get(p.arxiv_id, False) != p.updated_at]
        if self.layout and not missing:
            return
        html = render_to_string(
            "emails/digest-body.html",
            {
                "edition_date": self.edition_date,
                "papers": missing,
                "intro": INTRO,
                "why": WHY,
                "unsubscribe_url": UNSUBSCRIBE_URL,
                "site_url": settings.SITE_URL,
            },
        )
        inlined = inline_css(html)
        self.layout = CARDS.sub("<!--pb:cards-->", inlined)
        self.layout_bytes = len(self.layout.encode())
        for arxiv_id, card in CARD.findall(inlined):
            self.cards[arxiv_id] = card
            self.card_bytes[arxiv_id] = len(card.encode())
        self.versions.update((p.arxiv_id, p.updated_at) for p in missing)

    def html(self, items: Sequence[DigestItem], intro: str, unsubscribe_url: str) -> str:
        cards = "".join(self.cards[item.paper.arxiv_id].replace(WHY, escape(item.why)) for item in items)
        return (
            self.layout.replace("<!--pb:cards-->", cards)
            .replace(INTRO, escape(intro))
            .replace(UNSUBSCRIBE_URL, escape(unsubscribe_url))
        )

    def fitting(self, items: Sequence[DigestItem]) -> Sequence[DigestItem]:
        """The leading items whose cards fit under Gmail's clipping size, with room for the
        per-recipient text; the rest would hide the footer and its unsubscribe link."""
        room = GMAIL_CLIP_BYTES - self.layout_bytes - PER_RECIPIENT_ALLOWANCE
        for count, item in enumerate(items):
            room -= self.card_bytes[item.paper.arxiv_id] + len(item.why.encode()) * 2
            if room < 0:
                log.warning("Digest cut from %d to %d papers to stay under Gmail's clipping size", len(items), count)
                return items[:count]
        return items

    def message(self, subscriber: Subscriber, items: Sequence[DigestItem], message_id: str) -> EmailMultiAlternatives:
        self.prepare(item.paper for item in items)
        items = self.fitting(items)
        trending = not any(item.interest for item in items)
        intro = introduction(len(items), trending)
        unsubscribe_url = subscriber.unsubscribe_url
        context = {
            "edition_date": self.edition_date,
            "items": items,
            "intro": intro,
            "unsubscribe_url": unsubscribe_url,
            "count": len(items),
            "first_title": items[0].paper.title,
            "trending": trending,
        }
        subject = " ".join(render_to_string("emails/digest-subject.txt", context).split())
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("emails/digest-body.txt", context),
            to=[subscriber.email],
            headers={
                "Message-ID": message_id,
                "List-Id": settings.PAPERBOY_LIST_ID,
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        # Added after the text body, so multipart/alternative carries text/plain first.
        message.attach_alternative(self.html(items, intro, unsubscribe_url), "text/html")
        return message


def introduction(count: int, trending: bool) -> str:
    if trending:
        return f"Today's {count} most upvoted papers"
    return f"{count} new paper{'s' if count != 1 else ''} matched your interests"


def inline_css(html: str) -> str:
    # premailer keeps @media rules (mobile, dark mode) in a <style> block, where they must stay;
    # strip_important=False keeps the !important they need to beat the inlined styles.
    return Premailer(
        html,
        keep_style_tags=False,
        strip_important=False,
        remove_classes=False,
        disable_validation=True,
        cssutils_logging_level="CRITICAL",
    ).transform()


_renderers: dict[dt.date, EditionRenderer] = {}


def renderer_for(edition_date: dt.date) -> EditionRenderer:
    """One renderer per edition per process, so a worker inlines each card once a day."""
    if edition_date not in _renderers:
        _renderers.clear()  # yesterday's edition is done with
        _renderers[edition_date] = EditionRenderer(edition_date)
    return _renderers[edition_date]
