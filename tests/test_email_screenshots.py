"""The real digest, as captured by the SMTP server, drawn by Chromium at desktop and phone
widths, light and dark. The screenshots land in test-artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib

import pytest
from django.contrib.auth import get_user_model

from digest.ingest import ingest_records
from digest.models import Paper
from digest.sources import parse_hf_items
from tests.conftest import SAMPLE_DATE, real_hf_day, save_screenshot
from tests.digest_mail import hostile_items, html_part, send_edition
from tests.factories import load_day, make_subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def grey_png(width: int = 240, height: int = 126) -> bytes:
    """A plain image standing in for Hugging Face's thumbnails (there is no internet here)."""
    row = b"\x00" + bytes([203, 213, 225]) * width
    chunks = [
        (b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
        (b"IDAT", zlib.compress(row * height)),
        (b"IEND", b""),
    ]
    body = b"".join(struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d)) for t, d in chunks)
    return b"\x89PNG\r\n\x1a\n" + body


@pytest.fixture
def digest_html(smtp) -> str:
    load_day()
    load_day(items=hostile_items())
    Paper.objects.filter(arxiv_id__startswith="2509.9").update(upvotes=0)  # hostile ones in "For you" only
    make_subscriber("ada@example.com", "reinforcement learning", max_papers=12)
    send_edition()
    (message,) = smtp.to("ada@example.com")
    return html_part(message)


@pytest.mark.parametrize("width", [640, 375])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_digest_reads_well_at_desktop_and_phone_width_in_light_and_dark(browser_page, digest_html, width, scheme):
    page = browser_page
    page.route(
        "https://cdn-thumbnails.huggingface.co/**",
        lambda route: route.fulfill(body=grey_png(), content_type="image/png"),
    )
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(color_scheme=scheme)
    page.set_content(digest_html, wait_until="load")

    # Nothing (300-character words, long links, images) pushes the page wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.get_by_text("For you", exact=True).is_visible()
    assert page.get_by_text("Trending today", exact=True).is_visible()
    assert page.get_by_role("link", name="Unsubscribe").is_visible()
    # The preheader is the first line, in plain sight: hidden text is what spam filters punish.
    assert page.locator(".preheader").is_visible() and page.locator(".preheader").inner_text().strip()
    title = page.locator(".title a").first
    text_color, background = title.evaluate(
        "a => [getComputedStyle(a).color, getComputedStyle(a.closest('.card')).backgroundColor]"
    )
    expected = {"light": ("rgb(29, 78, 216)", "rgb(255, 255, 255)"), "dark": ("rgb(147, 197, 253)", "rgb(39, 39, 42)")}
    assert (text_color, background) == expected[scheme]
    assert save_screenshot(page, f"email-digest-{width}-{scheme}").stat().st_size > 10_000


@pytest.mark.django_db(transaction=True)
def test_staff_preview_shows_html_and_text_side_by_side_in_chromium(browser_page, live_server, client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning", max_papers=5)
    client.force_login(get_user_model().objects.create_superuser("staff", "staff@example.com", "pw"))
    page = browser_page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{live_server.url}/staff/preview/?subscriber={ada.pk}&date=2025-09-03")

    frame = page.frame_locator("iframe[title='HTML part']")
    assert frame.get_by_text("5 new papers matched your interests today").is_visible()
    text_box, html_box = page.locator("pre").bounding_box(), page.locator("iframe").bounding_box()
    assert text_box["x"] >= html_box["x"] + html_box["width"]  # side by side
    assert "FOR YOU" in page.locator("pre").inner_text()
    save_screenshot(page, "staff-preview-1400")


@pytest.mark.parametrize("width", [640, 375])
def test_a_digest_of_the_real_sample_day_reads_well_at_desktop_and_phone_width(browser_page, smtp, width):
    sample_day = dt.date.fromisoformat(SAMPLE_DATE)
    ingest_records(parse_hf_items(real_hf_day(SAMPLE_DATE)), sample_day)
    make_subscriber("ada@example.com", "multimodal generation", "reinforcement learning for agents", max_papers=8)
    send_edition(sample_day)
    (message,) = smtp.to("ada@example.com")
    page = browser_page
    page.route(
        "https://cdn-thumbnails.huggingface.co/**",
        lambda route: route.fulfill(body=grey_png(), content_type="image/png"),
    )
    page.set_viewport_size({"width": width, "height": 900})
    page.set_content(html_part(message), wait_until="load")

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.get_by_text("Paperboy · Wednesday 13 May 2026").is_visible()
    titles = page.locator(".title a").all_inner_texts()
    assert 0 < len(titles) <= 8 + 3
    links = page.locator(".title a").evaluate_all("links => links.map(a => a.href)")
    assert all(re.fullmatch(r"https://huggingface\.co/papers/\d{4}\.\d{5}", url) for url in links)  # real ids
    assert save_screenshot(page, f"email-real-sample-day-{width}").stat().st_size > 10_000


def test_with_images_blocked_the_titles_keep_the_cards_full_width(browser_page, digest_html):
    page = browser_page
    page.route("**/*", lambda route: route.abort() if route.request.resource_type == "image" else route.continue_())
    page.set_viewport_size({"width": 375, "height": 900})
    page.set_content(digest_html, wait_until="load")

    cards = page.locator(".card:has(img.thumb)")
    assert cards.count() > 0
    wrapped = 0
    for index in range(cards.count()):
        card = cards.nth(index)
        title_right, title_lines, title_bottom, content_right = card.evaluate(
            """card => {
                const title = card.querySelector('.title');
                const lines = [...title.querySelector('a').getClientRects()];
                const style = getComputedStyle(card);
                const inner = parseFloat(style.paddingRight) + parseFloat(style.borderRightWidth);
                return [Math.max(...lines.map(r => r.right)), lines.length, title.getBoundingClientRect().bottom,
                        card.getBoundingClientRect().right - inner];
            }"""
        )
        thumb_top = card.locator("img.thumb").evaluate("img => img.getBoundingClientRect().top")
        assert thumb_top >= title_bottom  # the image's box, loaded or not, sits below the title
        if title_lines > 1:  # a wrapped title uses the space the image would have taken
            assert title_right > content_right - 112
        wrapped += title_lines > 1
    assert wrapped > 0
    save_screenshot(page, "email-digest-375-images-blocked")
