"""Step 4 of the day: turn one subscriber's matches into an email.

premailer costs milliseconds a call, so it runs once per edition, not per recipient: the HTML
template is rendered with the edition's papers and with placeholders where the per-recipient
parts go (intro, why-lines, links carrying tokens), inlined once, and cut into a layout, two
sections and one card per paper. The text part is cut the same way. Each email is then a few
joins of those pieces with the recipient's values, escaped as they go in.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from html import escape  # the standard library's: Django's is lazy-aware and several times slower
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import Truncator
from premailer import Premailer

from digest import carried
from digest.models import Delivery, Paper
from subscriptions import addresses, links
from subscriptions.models import MAX_PAPERS, TRENDING_PAPERS, Subscriber

log = logging.getLogger(__name__)

GMAIL_CLIP_BYTES = 90_000  # Gmail hides everything past ~102 KB, the unsubscribe link included
TRENDING_COUNT = TRENDING_PAPERS  # "Trending today" under the matched papers
AUTHORS_SHOWN = 4
SUMMARY_SENTENCES = 3
SUMMARY_CHARS = 420
SUBJECT_TITLE_CHARS = 70
WEEK_DAYS = 7  # a weekly subscriber's window, as deliver.WEEKLY_WINDOW_DAYS plans it
# Every per-recipient value the templates leave a slot for.
SLOTS = (
    "preheader dateline intro for_you trending trending_heading cards reason web_view_url manage_url "
    "unsubscribe_url why number day feedback feedback_up feedback_down footer parts part_end"
).split()
HTML_PARTS = re.compile(r"<!--pb:parts-->.*<!--pb:parts-end-->\n?", re.S)
HTML_PART = re.compile(r"<!--pb:part (\S+)-->(.*?)<!--pb:part-end-->", re.S)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


@dataclass(frozen=True)
class DigestItem:
    paper: Paper
    why: str
    interest: str = ""  # empty when the paper was sent as trending, not matched


@dataclass
class RenderStats:
    """Counted honestly for the benchmark: every premailer call goes through inline_css."""

    premailer_calls: int = 0


stats = RenderStats()


class Stencil:
    """A text cut at its placeholders once, so filling it for a recipient is one C-level
    str.format_map over the whole text (braces in the text itself are doubled, so stay text)."""

    def __init__(self, text: str, slot_pattern: re.Pattern[str]) -> None:
        pieces = slot_pattern.split(text)
        literals, keys = pieces[0::2], pieces[1::2]
        self.keys = frozenset(keys)
        self.template = "".join(
            literal.replace("{", "{{").replace("}", "}}") + (f"{{{key}}}" if n < len(keys) else "")
            for n, (literal, key) in enumerate(zip(literals, [*keys, ""], strict=True))
        )

    def fill(self, values: Mapping[str, str]) -> str:
        return self.template.format_map(values)


@dataclass
class Rendered:
    """One recipient's digest: what the message is built from, and what the web view shows."""

    subject: str
    text: str
    html: str
    unsubscribe_url: str


class EditionRenderer:
    """Inlined pieces of one edition, cached per process; cards are added as papers need them."""

    def __init__(self, edition_date: dt.date) -> None:
        self.edition_date = edition_date
        # Paper text cannot guess this, so it can never be taken for a placeholder.
        nonce = secrets.token_hex(8)
        self.slot = {name: f"%%pb-{nonce}-{name}%%" for name in SLOTS}
        self.slot_pattern = re.compile(f"%%pb-{nonce}-([a-z_]+)%%")
        self.text_part = re.compile(f"%%pb-{nonce}-parts%%(\\S+)\\n(.*?)%%pb-{nonce}-part_end%%", re.S)
        self.html_layout: Stencil | None = None
        self.text_layout: Stencil | None = None
        self.html_parts: dict[str, Stencil] = {}
        self.text_parts: dict[str, Stencil] = {}
        self.versions: dict[int, dt.datetime] = {}
        self.day_labels: dict[int, str] = {}
        self.trending_papers: dict[bool, list[Paper]] = {}
        self.subjects: dict[tuple, str] = {}
        self.from_address = from_address()
        self.feedback_links = SignedRoute("digest:feedback", links.FEEDBACK_SALT)
        self.manage_links = SignedRoute("subscriptions:manage", links.MANAGE_SALT)
        self.unsubscribe_links = SignedRoute("subscriptions:unsubscribe", links.UNSUBSCRIBE_SALT)
        self.web_view_links = SignedRoute("digest:web-view", links.WEB_VIEW_SALT)

    # --- once per edition ---------------------------------------------------------------

    def prepare(self, papers: Iterable[Paper]) -> None:
        """Inline the layout and the cards of any papers not seen yet, in one premailer call."""
        missing = {p.pk: p for p in papers if self.versions.get(p.pk) != p.updated_at}
        if self.html_layout and not missing:
            return
        context = {
            "cards": [card_context(p) for p in missing.values()],
            "slot": self.slot,
            "site_url": settings.SITE_URL,
        }
        html = inline_css(render_to_string("emails/digest-body.html", context))
        self.html_layout = Stencil(HTML_PARTS.sub("", html), self.slot_pattern)
        self.html_parts.update((name, Stencil(part, self.slot_pattern)) for name, part in HTML_PART.findall(html))
        text = render_to_string("emails/digest-body.txt", context)
        self.text_layout = Stencil(self.text_part.sub("", text).rstrip() + "\n", self.slot_pattern)
        self.text_parts.update((name, Stencil(part, self.slot_pattern)) for name, part in self.text_part.findall(text))
        self.versions.update((pk, p.updated_at) for pk, p in missing.items())
        self.day_labels.update(
            (pk, f"{p.edition_date:%a} {p.edition_date.day} {p.edition_date:%b}") for pk, p in missing.items()
        )

    def trending_for(self, weekly: bool) -> list[Paper]:
        """The window's most upvoted papers on Hugging Face, fetched once per edition."""
        if weekly not in self.trending_papers:
            start = self.edition_date - dt.timedelta(days=(WEEK_DAYS if weekly else 1) - 1)
            self.trending_papers[weekly] = list(
                Paper.objects.filter(edition_date__range=(start, self.edition_date), upvotes__gt=0).order_by(
                    "-upvotes", "arxiv_id"
                )[: TRENDING_COUNT + MAX_PAPERS]
            )
        return self.trending_papers[weekly]

    def with_trending(self, items: Sequence[DigestItem], subscriber: Subscriber) -> list[DigestItem]:
        """A digest's papers: the matched ones ("For you"), then the trending ones not already
        listed, up to TRENDING_COUNT on top of the reader's "matched papers per email, at most N"
        (as the form says). Planning stores the result as the delivery's items, so what staff
        count is what the email holds; a digest of trending papers only gets none."""
        weekly = subscriber.frequency == Subscriber.Frequency.WEEKLY
        for_you = [item for item in items if item.interest]
        trending = [item for item in items if not item.interest]
        room = TRENDING_COUNT - len(trending)
        if for_you and room > 0:
            listed = {item.paper.pk for item in items}
            extra = [p for p in self.trending_for(weekly) if p.pk not in listed]
            trending += [DigestItem(p, trending_why(weekly)) for p in extra[:room]]
        return [*for_you, *trending]

    # --- per recipient ------------------------------------------------------------------

    def render(self, subscriber: Subscriber, items: Sequence[DigestItem], shared: bool = False) -> Rendered:
        """The subscriber's digest: matched papers "For you", then the trending ones not listed.
        `shared`: for a page anyone with its link may open (the web view, reached from emails
        and the Atom feed): no link that acts for the subscriber (manage, unsubscribe, 👍/👎)
        and not their address."""
        if not items:
            raise ValueError(f"A digest needs at least one paper (subscriber {subscriber.pk})")
        weekly = subscriber.frequency == Subscriber.Frequency.WEEKLY
        items = self.with_trending(items, subscriber)
        for_you = [item for item in items if item.interest]
        trending = [item for item in items if not item.interest]
        self.prepare([item.paper for item in (*for_you, *trending)])
        values = self.recipient_values(subscriber, weekly)
        while True:
            values["intro"] = introduction(len(for_you), len(trending), weekly)
            html = self.fill_html(subscriber.pk, values, for_you, trending, weekly, shared)
            if len(html.encode()) <= GMAIL_CLIP_BYTES or len(for_you) + len(trending) <= 1:
                break
            # Past Gmail's clipping the footer and its unsubscribe link disappear: drop the last card.
            log.warning("Digest for subscriber %s cut to stay under Gmail's clipping size", subscriber.pk)
            (trending or for_you).pop()
        return Rendered(
            subject=self.subject(for_you, trending, weekly),
            text=self.fill_text(subscriber.pk, values, for_you, trending, weekly),
            html=html,
            unsubscribe_url=values["unsubscribe_url"],
        )

    def message(self, subscriber: Subscriber, items: Sequence[DigestItem], message_id: str) -> EmailMultiAlternatives:
        if "\r" in subscriber.email or "\n" in subscriber.email:
            # A definite failure before sending, rather than an SMTP conversation left half done.
            raise BadHeaderError(f"Subscriber {subscriber.pk}'s address contains a newline")
        if not addresses.is_safe(subscriber.email):
            # Stored before signup refused such addresses: quoted, control characters, an IP.
            raise BadHeaderError(f"Subscriber {subscriber.pk}'s address is not one mail can carry safely")
        rendered = self.render(subscriber, items)
        headers = {
            "Message-ID": message_id,
            "List-Id": settings.PAPERBOY_LIST_ID,
            "List-Unsubscribe": f"<{rendered.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        message = EmailMultiAlternatives(
            subject=rendered.subject,
            body=rendered.text,
            from_email=self.from_address,
            to=[subscriber.email],
            reply_to=[settings.PAPERBOY_REPLY_TO] if settings.PAPERBOY_REPLY_TO else None,
            headers=headers,
        )
        # Added after the text body, so multipart/alternative carries text/plain first.
        message.attach_alternative(rendered.html, "text/html")
        return message

    def recipient_values(self, subscriber: Subscriber, weekly: bool) -> dict[str, str]:
        """The recipient's texts and links, unescaped; each part escapes them as it needs."""
        date = f"{self.edition_date:%A} {self.edition_date.day} {self.edition_date:%B %Y}"
        return {
            "dateline": f"Week to {date}" if weekly else date,
            "trending_heading": "Trending this week" if weekly else "Trending today",
            "reason": (
                f"You get this {'weekly' if weekly else 'daily'} email because {subscriber.email} "
                "subscribed to Paperboy's digest of trending research papers."
            ),
            "web_view_url": self.web_view_links.url([subscriber.pk, self.edition_date.isoformat()]),
            "manage_url": self.manage_links.url(subscriber.pk),
            "unsubscribe_url": self.unsubscribe_links.url(subscriber.pk),
        }

    def fill_html(
        self,
        subscriber_id: int,
        values: dict,
        for_you: list[DigestItem],
        trending: list[DigestItem],
        weekly: bool,
        shared: bool = False,
    ) -> str:
        escaped = {key: escape(value) for key, value in values.items()}
        escaped["preheader"] = escape(preheader(for_you or trending))
        escaped["footer"] = self.html_parts["footer_shared" if shared else "footer"].fill(escaped)
        cards = self.cards(self.html_parts, subscriber_id, [*for_you, *trending], weekly, html=True, shared=shared)
        escaped["for_you"] = self.section(self.html_parts["for_you"], cards[: len(for_you)], escaped)
        escaped["trending"] = self.section(self.html_parts["trending"], cards[len(for_you) :], escaped)
        return self.html_layout.fill(escaped)

    def fill_text(
        self, subscriber_id: int, values: dict, for_you: list[DigestItem], trending: list[DigestItem], weekly: bool
    ) -> str:
        plain = {**values, "trending_heading": values["trending_heading"].upper()}
        cards = self.cards(self.text_parts, subscriber_id, [*for_you, *trending], weekly, html=False)
        plain["for_you"] = self.section(self.text_parts["for_you"], cards[: len(for_you)], plain)
        plain["trending"] = self.section(self.text_parts["trending"], cards[len(for_you) :], plain)
        return self.text_layout.fill(plain)

    @staticmethod
    def section(part: Stencil, cards: list[str], values: dict) -> str:
        """A section's heading and cards, or nothing at all when it has no cards."""
        return part.fill({"cards": "".join(cards), "trending_heading": values["trending_heading"]}) if cards else ""

    def cards(
        self,
        parts: dict[str, Stencil],
        subscriber_id: int,
        items: list[DigestItem],
        weekly: bool,
        html: bool,
        shared: bool = False,
    ) -> list[str]:
        """The filled cards, numbered on through both sections."""
        return [
            self.card(parts, subscriber_id, item, weekly, html, number, shared)
            for number, item in enumerate(items, start=1)
        ]

    def card(
        self,
        parts: dict[str, Stencil],
        subscriber_id: int,
        item: DigestItem,
        weekly: bool,
        html: bool,
        number: int,
        shared: bool = False,
    ) -> str:
        quote = escape if html else str
        paper_id = item.paper.pk
        feedback = ""
        if html and not shared:
            feedback = parts["feedback"].fill(
                {
                    "feedback_up": self.feedback_links.html_url([subscriber_id, paper_id, "up"]),
                    "feedback_down": self.feedback_links.html_url([subscriber_id, paper_id, "down"]),
                }
            )
        return parts[f"card-{paper_id}"].fill(
            {
                "why": quote(item.why),
                "number": str(number),
                "day": (f" · {self.day_labels[paper_id]}" if html else f"\n   Listed {self.day_labels[paper_id]}")
                if weekly
                else "",
                "feedback": feedback,
            }
        )

    def subject(self, for_you: list[DigestItem], trending: list[DigestItem], weekly: bool) -> str:
        """Shared by everyone whose first paper and count are the same: rendered once for them."""
        first = (for_you or trending)[0].paper
        key = (weekly, not for_you, first.pk, len(for_you))
        if key not in self.subjects:
            context = {
                "edition_date": self.edition_date,
                "weekly": weekly,
                "trending_only": not for_you,
                # Cut with three dots, not "…": one non-ASCII character makes Subject an
                # encoded word, which the email package then re-encodes for every message.
                "first_title": Truncator(first.display_title).chars(SUBJECT_TITLE_CHARS, truncate="..."),
                "count": len(for_you),
            }
            # Paper titles may hold newlines: folded into spaces, they can never start a header.
            self.subjects[key] = " ".join(render_to_string("emails/digest-subject.txt", context).split())
        return self.subjects[key]


class SignedRoute:
    """links.<purpose>_url for one recipient after another, without redoing for each link what
    is the same for all: the route's reverse() and the HMAC key derived from the secret and the
    salt. The tokens are byte for byte those of links.sign (Django's Signer: base64 of compact
    JSON, ":", base64 of HMAC-SHA256), so links.unsign reads them; tests/test_render.py compares
    them with links.*_url. Signing the ~30 links of an email is most of its rendering time."""

    def __init__(self, route: str, salt: str) -> None:
        marker = "PAPERBOY-TOKEN"
        self.prefix, self.suffix = links.absolute(reverse(route, args=[marker])).split(marker)
        # Tokens are base64url and ":", which HTML never needs escaped: only the route is.
        self.html_prefix, self.html_suffix = escape(self.prefix), escape(self.suffix)
        key = hashlib.sha256(f"{salt}signer{settings.SECRET_KEY}".encode()).digest()
        self.mac = hmac.new(key, digestmod=hashlib.sha256)

    def url(self, payload: object) -> str:
        return f"{self.prefix}{self.token(payload)}{self.suffix}"

    def html_url(self, payload: object) -> str:
        """The URL as it goes into an href."""
        return f"{self.html_prefix}{self.token(payload)}{self.html_suffix}"

    def token(self, payload: object) -> str:
        value = b64(compact_json(payload).encode("latin-1"))
        mac = self.mac.copy()
        mac.update(value.encode())
        return f"{value}:{b64(mac.digest())}"


_json = json.JSONEncoder(separators=(",", ":")).encode


def compact_json(payload: object) -> str:
    """json.dumps(payload, separators=(",", ":")), as django.core.signing writes it. The links'
    usual payloads (an id; ids and a plain word) are written directly, several times faster."""
    if type(payload) is int:
        return str(payload)
    if type(payload) is list and all(
        type(x) is int or (type(x) is str and x.isascii() and x.isalnum()) for x in payload
    ):
        return "[" + ",".join(str(x) if type(x) is int else f'"{x}"' for x in payload) + "]"
    return _json(payload)


URL_SAFE = bytes.maketrans(b"+/", b"-_")


def b64(data: bytes) -> str:
    """django.core.signing.b64_encode, as a string."""
    return binascii.b2a_base64(data, newline=False).translate(URL_SAFE).rstrip(b"=").decode()


# --- The pieces of a card --------------------------------------------------------------


def card_context(paper: Paper) -> dict:
    """What a card shows of a paper; every link is an http(s) URL or left out."""
    hf_url = paper.hf_url
    candidates = [
        ("arXiv", paper.arxiv_url),
        ("PDF", paper.pdf_url),
        ("Code", paper.github_url),
        ("Project page", paper.project_url),
    ]
    return {
        "pk": paper.pk,
        "title": paper.display_title,
        "url": hf_url or paper.arxiv_url,
        "authors": short_authors(paper.authors),
        "summary": summary(paper.display_summary),
        "thumbnail_url": web_url(paper.thumbnail_url),
        "links": [(label, web_url(url)) for label, url in candidates if web_url(url)],
        "on_hf": bool(hf_url),
        "upvotes": paper.upvotes,
        "comments": paper.comments,
    }


def web_url(url: str) -> str:
    """The URL if it is a plain http(s) one; anything else (javascript:, data:, junk) is dropped."""
    url = (url or "").strip()
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def short_authors(authors: Sequence[str]) -> str:
    names = [" ".join(str(name).split()) for name in authors if str(name).strip()]
    if len(names) > AUTHORS_SHOWN:
        return ", ".join(names[: AUTHORS_SHOWN - 1]) + f" and {len(names) - AUTHORS_SHOWN + 1} more"
    return ", ".join(names)


def summary(text: str) -> str:
    """The first two or three sentences, and never more than SUMMARY_CHARS."""
    text = " ".join(text.split())
    sentences = SENTENCE_END.split(text)
    chosen = sentences[0]
    for sentence in sentences[1:SUMMARY_SENTENCES]:
        if len(chosen) + 1 + len(sentence) > SUMMARY_CHARS:
            break
        chosen = f"{chosen} {sentence}"
    return Truncator(chosen).chars(SUMMARY_CHARS)


def trending_why(weekly: bool) -> str:
    rank = "One of the most upvoted papers on Hugging Face"
    return f"{rank} {'this week' if weekly else 'today'}, outside your topics"


def introduction(matched: int, trending: int, weekly: bool) -> str:
    when = "this week" if weekly else "today"
    if not matched:
        return f"Nothing matched your interests {when}: here are the {trending} most upvoted papers"
    line = f"{matched} new paper{'s' if matched != 1 else ''} matched your interests {when}"
    if trending:
        line += f"; below, {trending} trending paper{'s' if trending != 1 else ''}, not matched to them"
    return line


def preheader(items: Sequence[DigestItem]) -> str:
    """The line inboxes show after the subject."""
    if not items:
        return ""
    first = items[0].paper.display_title
    first = f"{first[:89]}…" if len(first) > 90 else first
    return f"{first} and {len(items) - 1} more" if len(items) > 1 else first


def from_address() -> str:
    """DEFAULT_FROM_EMAIL, with "Paperboy" as its display name when it has none."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((name or "Paperboy", address))


def inline_css(html: str) -> str:
    # premailer keeps @media rules (mobile, dark mode) in a <style> block, where they must stay;
    # strip_important=False keeps the !important they need to beat the inlined styles.
    stats.premailer_calls += 1
    return Premailer(
        html,
        keep_style_tags=False,
        strip_important=False,
        remove_classes=False,
        disable_validation=True,
        cssutils_logging_level="CRITICAL",
    ).transform()


def delivery_items(delivery: Delivery) -> list[DigestItem]:
    """A planned delivery's papers, in order (pages and previews; sending shares its papers per batch)."""
    return digest_items_of(carried.items_of(delivery))


def digest_items_of(items: Iterable[carried.CarriedPaper]) -> list[DigestItem]:
    """What the renderer needs of carried papers; a compacted plan's matched papers stay "For you"."""
    return [
        DigestItem(i.paper, i.why, i.matched_interest or (carried.NOT_KEPT_INTEREST if i.matched else ""))
        for i in items
    ]


_renderers: dict[tuple, EditionRenderer] = {}


def renderer_for(edition_date: dt.date) -> EditionRenderer:
    """One renderer per edition per process, so a worker inlines each card once a day. Keyed
    also by what it bakes into every email (the site's address, the signing key)."""
    key = (edition_date, settings.SITE_URL, settings.SECRET_KEY)
    if key not in _renderers:
        _renderers.clear()  # yesterday's edition is done with
        _renderers[key] = EditionRenderer(edition_date)
    return _renderers[key]
