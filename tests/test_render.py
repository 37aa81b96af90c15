"""The email a subscriber reads: subject, sections, cards and per-recipient parts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core import mail
from django.utils.text import Truncator

from digest import carried
from digest.models import Delivery, Paper
from digest.render import TRENDING_COUNT, DigestItem, EditionRenderer, stats
from subscriptions import links
from subscriptions.models import Subscriber
from tests.digest_mail import send_edition
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def html_of(message) -> str:
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return html


def section_of(html: str, heading: str) -> str:
    """The HTML from a section's heading to the next heading or the footer."""
    start = html.index(f">{heading}</p>")
    ends = [i for i in (html.find('class="section"', start), html.find('class="footer"', start)) if i > 0]
    return html[start : min(ends)]


def test_digest_has_subject_header_line_and_matched_papers_for_you():
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()

    (message,) = mail.outbox
    delivery = Delivery.objects.get(subscriber=ada)
    matched = [item.paper for item in delivery.carried_items() if item.matched_interest]
    first_title = Truncator(matched[0].title).chars(70, truncate="...")  # ASCII: no encoded-word Subject
    assert message.subject == f"Paperboy, 3 Sep: {first_title} and {len(matched) - 1} more"
    html = html_of(message)
    assert "Wednesday 3 September 2025" in html
    assert f"{len(matched)} new papers matched your interests today" in html
    for_you = section_of(html, "For you")
    assert [for_you.index(p.title) for p in matched] == sorted(for_you.index(p.title) for p in matched)
    assert for_you.count('class="card"') == len(matched)
    assert 'style="' in html and "<!--pb:" not in html and "%%pb-" not in html

    assert f"1. {matched[0].title}" in message.body
    assert "Matches your topic \u201creinforcement learning\u201d" in message.body
    assert f"Unsubscribe: {ada.unsubscribe_url}" in message.body
    assert f"Manage preferences: {links.manage_url(ada.pk)}" in message.body


def test_trending_today_lists_the_top_upvoted_papers_not_already_for_you():
    load_day()
    ada = make_subscriber("ada@example.com", "robot manipulation", max_papers=10)
    send_edition()

    html = html_of(mail.outbox[0])
    delivery = Delivery.objects.get(subscriber=ada)
    mine = {item.paper.pk for item in delivery.carried_items() if item.matched_interest}
    assert 0 < len(mine) <= 7
    expected = [p for p in Paper.objects.order_by("-upvotes", "arxiv_id") if p.pk not in mine][:3]
    trending = section_of(html, "Trending today")
    assert trending.count('class="card"') == 3
    assert [trending.index(p.title) for p in expected] == sorted(trending.index(p.title) for p in expected)
    assert "One of the most upvoted papers on Hugging Face today, outside your topics" in trending
    assert "TRENDING TODAY" in mail.outbox[0].body
    assert f"{len(mine) + 1}. {expected[0].title}" in mail.outbox[0].body  # numbered on from "For you"
    # The header counts the matched papers, and the trending ones apart.
    assert (
        f"{len(mine)} new paper{'s' if len(mine) != 1 else ''} matched your interests today; "
        "below, 3 trending papers, not matched to them"
    ) in mail.outbox[0].body


def test_trending_papers_come_on_top_of_the_matched_papers_per_email_counted_apart():
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning", max_papers=3)
    send_edition()

    (message,) = mail.outbox
    html = html_of(message)
    assert section_of(html, "For you").count('class="card"') == 3  # at most 3 matched papers, as asked
    assert section_of(html, "Trending today").count('class="card"') == TRENDING_COUNT
    assert f"3 new papers matched your interests today; below, {TRENDING_COUNT} trending papers, not matched" in (
        message.body
    )


def test_subscriber_without_topics_gets_only_the_days_trending_papers():
    load_day()
    make_subscriber("new@example.com", max_papers=5)
    send_edition()

    (message,) = mail.outbox
    top = list(Paper.objects.order_by("-upvotes", "title")[:5])
    assert message.subject == "Paperboy, 3 Sep: today's top papers"
    assert "Nothing matched your interests today: here are the 5 most upvoted papers" in message.body
    html = html_of(message)
    assert ">For you</p>" not in html
    assert section_of(html, "Trending today").count('class="card"') == 5
    assert all(p.title in message.body for p in top)


def test_a_card_shows_authors_shortened_a_short_summary_links_and_counts():
    load_day()
    paper = Paper.objects.get(arxiv_id="2509.00018")
    Paper.objects.filter(pk=paper.pk).update(
        authors=["Ann One", "Bo Two", "Cy Three", "Di Four", "Ed Five", "Flo Six"],
        ai_summary="",
        abstract="First sentence about reinforcement learning. Second one. Third one here. Fourth is cut.",
        github_url="https://github.com/example/rl",
        project_url="https://example.org/rl",
        thumbnail_url="https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2509.00018.png",
        upvotes=7,
        comments=2,
    )
    make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()

    html = html_of(mail.outbox[0])
    card = html[html.rindex('class="card"', 0, html.index("Reinforcement Learning for Generative AI")) :]
    card = card[: card.index("More like this")]
    assert "Ann One, Bo Two, Cy Three and 3 more" in card
    assert "First sentence about reinforcement learning. Second one. Third one here." in card
    assert "Fourth" not in card
    assert 'href="https://huggingface.co/papers/2509.00018"' in card  # the title goes to HF's page
    for label, url in [("arXiv", paper.arxiv_url), ("PDF", paper.pdf_url), ("Code", "https://github.com/example/rl")]:
        assert re.search(rf'href="{re.escape(url)}"[^>]*>{label}</a>', card)
    assert re.search(r'href="https://example.org/rl"[^>]*>Project page</a>', card)
    assert 'src="https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2509.00018.png"' in card
    assert "&#9650; 7 &middot; 2 comments" in card or "\u25b2 7 \u00b7 2 comments" in card


def test_a_paper_only_arxiv_listed_links_its_title_to_arxiv_and_shows_no_upvotes():
    load_day()
    Paper.objects.filter(arxiv_id="2509.00018").update(sources=["arxiv"], upvotes=0, comments=0)
    make_subscriber("ada@example.com", "generative AI survey")
    send_edition()

    html = html_of(mail.outbox[0])
    title_link = re.search(r'<a href="([^"]+)"[^>]*>Reinforcement Learning for Generative AI: A Survey</a>', html)
    assert title_link.group(1) == "https://arxiv.org/abs/2509.00018"


def test_each_recipient_gets_their_own_papers_why_lines_and_links():
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    bob = make_subscriber("bob@example.com", "robot manipulation")
    send_edition()

    by_recipient = {m.to[0]: m for m in mail.outbox}
    ada_html, bob_html = html_of(by_recipient["ada@example.com"]), html_of(by_recipient["bob@example.com"])
    assert ada.unsubscribe_url in ada_html and ada.unsubscribe_url not in bob_html
    assert links.manage_url(ada.pk) in ada_html and links.manage_url(bob.pk) in bob_html
    assert links.web_view_url(bob.pk, EDITION_DATE) in bob_html
    assert "\u201crobot manipulation\u201d" in bob_html and "\u201creinforcement learning\u201d" not in bob_html
    bob_first = Delivery.objects.get(subscriber=bob).carried_items()[0].paper
    assert f'href="{links.feedback_url(bob.pk, bob_first.pk, "up")}"' in bob_html
    assert f'href="{links.feedback_url(bob.pk, bob_first.pk, "down")}"' in bob_html
    assert links.feedback_url(ada.pk, bob_first.pk, "up") not in bob_html
    assert "bob@example.com subscribed" in bob_html and "ada@example.com" not in bob_html


def test_every_card_has_thumbs_up_and_down_links_of_its_own():
    load_day()
    ada = make_subscriber("ada@example.com", "robot manipulation", max_papers=10)
    send_edition()

    html = html_of(mail.outbox[0])
    cards = html.count('class="card"')
    assert cards == len(Delivery.objects.get(subscriber=ada).carried_items())  # the matched and the trending papers
    ups = re.findall(r'href="([^"]+)"[^>]*>&#128077;|href="([^"]+)"[^>]*>\U0001f44d', html)
    assert len(ups) == cards
    paper_ids = {p.pk for p in Paper.objects.all()}
    expected = {links.feedback_url(ada.pk, pk, "up") for pk in paper_ids}
    assert {a or b for a, b in ups} <= expected


def test_a_weekly_digest_gathers_the_week_and_labels_each_papers_day():
    load_day()
    monday = Paper.objects.get(arxiv_id="2509.00018")
    Paper.objects.filter(pk=monday.pk).update(edition_date=EDITION_DATE - dt.timedelta(days=2))
    weekly = make_subscriber(
        "weekly@example.com",
        "reinforcement learning",
        frequency=Subscriber.Frequency.WEEKLY,
        weekly_day=EDITION_DATE.weekday(),
    )
    send_edition()

    (message,) = mail.outbox
    assert message.subject.startswith("Paperboy, week to 3 Sep: ")
    html = html_of(message)
    assert "Week to Wednesday 3 September 2025" in html
    assert "matched your interests this week" in html
    assert "Mon 1 Sep" in html and "Wed 3 Sep" in html
    assert f"{monday.title}" in message.body and "   Listed Mon 1 Sep\n" in message.body
    assert re.search(r">PDF</a> · Mon 1 Sep · &#9650;|>PDF</a> · Mon 1 Sep · \u25b2", html)
    assert monday.pk in carried.paper_ids(Delivery.objects.get(subscriber=weekly))


def test_a_weekly_digest_labels_its_trending_section_for_the_week():
    load_day()
    make_subscriber(
        "weekly@example.com",
        "robot manipulation",
        frequency=Subscriber.Frequency.WEEKLY,
        weekly_day=EDITION_DATE.weekday(),
    )
    send_edition()

    html = html_of(mail.outbox[0])
    assert ">Trending this week</p>" in html
    assert "One of the most upvoted papers on Hugging Face this week, outside your topics" in html


def test_an_edition_is_inlined_once_and_reused_for_every_recipient():
    edition = load_day()
    papers = list(edition.papers()[:3])
    renderer = EditionRenderer(EDITION_DATE)
    before = stats.premailer_calls
    for n in range(20):
        subscriber = make_subscriber(f"r{n}@example.com")
        message = renderer.message(subscriber, [DigestItem(p, f"why {n}", "topic") for p in papers], f"<{n}@x>")
        assert f"why {n}" in html_of(message)
    assert stats.premailer_calls - before == 1


def test_a_paper_changed_since_it_was_inlined_is_inlined_again():
    edition = load_day()
    paper = edition.papers().first()
    renderer = EditionRenderer(EDITION_DATE)
    subscriber = make_subscriber("ada@example.com")
    renderer.message(subscriber, [DigestItem(paper, "why", "topic")], "<1@x>")
    paper.title = "A corrected title"
    paper.save()

    message = renderer.message(subscriber, [DigestItem(paper, "why", "topic")], "<2@x>")
    assert "A corrected title" in html_of(message) and "A corrected title" in message.body


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


def test_no_template_comment_is_spread_over_lines():
    # Django's {# #} comment ends at the line's end: one spread over two lines is sent as text
    # (the digest's first line, where the inbox shows its preheader, once read "{# The inbox...").
    templates = Path(__file__).resolve().parents[1] / "templates"
    spread = [
        f"{path.relative_to(templates)}:{number}"
        for path in sorted(templates.rglob("*.*"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.count("{#") > line.count("#}")
    ]
    assert spread == []


def test_the_preheader_is_the_first_text_of_the_digest():
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()

    (message,) = mail.outbox
    html = html_of(message)
    assert "{#" not in html and "#}" not in html
    body = re.sub(r"<!--.*?-->|<[^>]+>", "", html[html.index("<body") :], flags=re.S)
    preheader = re.search(r'<p class="preheader"[^>]*>([^<]+)</p>', html).group(1)
    assert body.strip().startswith(preheader)


@pytest.mark.parametrize(
    ("route", "payload", "link"),
    [
        ("feedback", [7, 123456789, "up"], lambda: links.feedback_url(7, 123456789, "up")),
        ("feedback", [2**40, 1, "down"], lambda: links.feedback_url(2**40, 1, "down")),
        ("manage", 42, lambda: links.manage_url(42)),
        ("unsubscribe", 42, lambda: links.unsubscribe_url(42)),
        ("web_view", [42, "2025-09-03"], lambda: links.web_view_url(42, EDITION_DATE)),
    ],
)
def test_links_signed_per_edition_are_the_links_module_s_own(route, payload, link):
    renderer = EditionRenderer(EDITION_DATE)
    assert getattr(renderer, f"{route}_links").url(payload) == link()
