"""The email a subscriber reads: subject, headers, text and HTML parts."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from digest.day import plan_day
from digest.deliver import send_batch, sendable_batches
from digest.models import Delivery, Paper
from digest.render import DigestItem, EditionRenderer
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def send_edition() -> None:
    plan_day(EDITION_DATE, respect_send_hour=False)
    for ids in sendable_batches(EDITION_DATE):
        send_batch(ids)


def html_of(message) -> str:
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return html


def test_digest_has_subject_text_and_inlined_html_with_unsubscribe_headers():
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()

    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject.startswith("Paperboy, 3 Sep: ")
    assert "Reinforcement Learning" in message.subject and "more" in message.subject
    assert "\n" not in message.subject
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert re.fullmatch(r"<http://localhost:8000/unsubscribe/[\w:\-]+/>", unsubscribe)
    assert unsubscribe.strip("<>") == ada.unsubscribe_url
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["List-Id"].startswith("Paperboy")
    delivery = Delivery.objects.get(subscriber=ada)
    assert message.extra_headers["Message-ID"] == delivery.message_id

    first = delivery.items.get(position=0).paper
    assert f"1. {first.title}" in message.body
    assert "Matches your topic \u201creinforcement learning\u201d" in message.body
    assert f"Unsubscribe: {ada.unsubscribe_url}" in message.body

    html = html_of(message)
    assert 'style="' in html and "<!--pb:" not in html and "%%PAPERBOY" not in html
    assert first.title in html
    assert f'href="{ada.unsubscribe_url}"' in html
    assert "@media (max-width: 480px)" in html and "!important" in html  # mobile rules stay in <style>


def test_multipart_alternative_puts_text_before_html():
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()

    parts = mail.outbox[0].message().get_payload()
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert mail.outbox[0].message().get_content_type() == "multipart/alternative"


def test_html_in_a_title_is_shown_escaped_in_both_parts():
    load_day()
    Paper.objects.filter(arxiv_id="2509.00018").update(
        title="Reinforcement Learning <script>alert(1)</script> & <b>friends</b>"
    )
    make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()

    html = html_of(mail.outbox[0])
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;friends&lt;/b&gt;" in html
    assert "Reinforcement Learning <script>alert(1)</script> & <b>friends</b>" in mail.outbox[0].body  # plain text


def test_each_recipient_gets_their_own_papers_why_lines_and_unsubscribe_link():
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    bob = make_subscriber("bob@example.com", "robot manipulation")
    send_edition()

    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert ada.unsubscribe_url in html_of(by_recipient["ada@example.com"])
    assert bob.unsubscribe_url not in html_of(by_recipient["ada@example.com"])
    assert "\u201crobot manipulation\u201d" in html_of(by_recipient["bob@example.com"])
    assert "\u201creinforcement learning\u201d" not in html_of(by_recipient["bob@example.com"])
    bob_titles = list(Delivery.objects.get(subscriber=bob).papers.values_list("title", flat=True))
    assert all(t in by_recipient["bob@example.com"].body for t in bob_titles)


def test_subscriber_without_topics_gets_the_days_trending_papers():
    load_day()
    make_subscriber("new@example.com", max_papers=5)
    send_edition()

    (message,) = mail.outbox
    top = list(Paper.objects.order_by("-upvotes", "title")[:5])
    assert message.subject == "Paperboy, 3 Sep: today's top papers"
    assert "Today's 5 most upvoted papers" in message.body
    assert all(p.title in message.body for p in top)
    assert f"Trending today: {top[0].upvotes} upvotes" in message.body


def test_html_stays_under_gmail_clipping_with_fifty_papers():
    load_day()
    make_subscriber("ada@example.com", max_papers=50)
    send_edition()

    html = html_of(mail.outbox[0])
    assert html.count('class="card"') == 50
    assert len(html.encode()) < 90_000


def test_a_digest_too_big_for_gmail_is_cut_short_and_keeps_its_unsubscribe_link():
    load_day()
    long_abstract = " ".join(["Long-winded words about transformers and their many applications."] * 40)
    Paper.objects.update(ai_summary="", abstract=long_abstract, authors=["A. Very-Long-Author-Name"] * 12)
    ada = make_subscriber("ada@example.com", max_papers=50)
    send_edition()

    (message,) = mail.outbox
    html = html_of(message)
    cards = html.count('class="card"')
    assert 20 < cards < 50
    assert len(html.encode()) < 90_000
    assert f'href="{ada.unsubscribe_url}"' in html
    assert f"Today's {cards} most upvoted papers" in message.body  # both parts carry the same papers
    assert message.body.count("https://arxiv.org/abs/") == cards


def test_an_edition_is_inlined_once_and_reused_for_every_recipient(monkeypatch):
    edition = load_day()
    papers = list(edition.papers()[:3])
    calls = []
    import digest.render as render

    real_inline = render.inline_css
    monkeypatch.setattr(render, "inline_css", lambda html: calls.append(1) or real_inline(html))
    renderer = EditionRenderer(EDITION_DATE)
    for n in range(20):
        subscriber = make_subscriber(f"r{n}@example.com")
        message = renderer.message(subscriber, [DigestItem(p, f"why {n}") for p in papers], f"<{n}@x>")
        assert f"why {n}" in html_of(message)
    assert len(calls) == 1


def test_the_email_templates_use_no_undefined_variable(settings):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"], "string_if_invalid": "UNDEFINED[%s]"}}
    ]
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    make_subscriber("bob@example.com")
    send_edition()

    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert "UNDEFINED" not in message.subject + message.body + html_of(message)
