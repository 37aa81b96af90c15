"""The whole subscriber journey in Chromium against the live server, with mail read from a
real SMTP server: sign up, confirm, get a digest, change topics, pause, and leave by the
RFC 8058 one-click POST. Screenshots of each page at desktop and phone widths."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from subscriptions.models import Subscriber
from tests.conftest import save_screenshot, wait_until
from tests.digest_mail import send_edition, text_part
from tests.factories import load_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def screenshots(page, name: str) -> None:
    """Desktop and phone, and a check that nothing is wider than the phone's screen."""
    save_screenshot(page, f"{name}-1280")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{name} scrolls sideways"
    save_screenshot(page, f"{name}-390")
    page.set_viewport_size(DESKTOP)


def link_in(message, path: str) -> str:
    return re.search(rf"https?://\S+{path}\S+", text_part(message)).group(0)


def one_click_unsubscribe(url: str) -> tuple[int, str]:
    """What a mailbox provider sends: a form POST with no cookies, not following redirects."""
    request = urllib.request.Request(
        url,
        data=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def test_sign_up_confirm_change_pause_and_one_click_unsubscribe(browser_page, live_server, smtp, settings):
    settings.SITE_URL = live_server.url
    today = timezone.now().date()
    load_day(today)
    page = browser_page

    # Sign up on the home page.
    page.goto(live_server.url + "/")
    screenshots(page, "signup")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Topics").fill("reinforcement learning\nrobot manipulation")
    page.get_by_label("Robotics (cs.RO)").check()
    page.get_by_label("Send at (your local time)").select_option("7")
    page.get_by_label("Your time zone").fill("Europe/Paris")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    screenshots(page, "signup-check-inbox")
    ada = Subscriber.objects.get(email="ada@example.com")
    assert ada.status == Subscriber.Status.PENDING

    # The confirmation email, from the SMTP server; reloading the page posts nothing again.
    wait_until(lambda: smtp.to("ada@example.com"), 10, "the confirmation email")
    assert "/signup/sent/" in page.url
    page.reload()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    expect(page.get_by_text("We sent an email to ada@example.com")).to_be_visible()
    time.sleep(1)  # room for a second email, had the reload posted the form again
    (confirmation,) = smtp.to("ada@example.com")
    assert confirmation["Subject"] == "Confirm your Paperboy subscription"
    page.goto(link_in(confirmation, "/confirm/"))
    screenshots(page, "confirm")
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.PENDING  # opening the link changed nothing
    page.get_by_role("button", name="Yes, confirm my subscription").click()
    expect(page.get_by_role("heading", name="You're subscribed")).to_be_visible()
    screenshots(page, "confirmed")
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.ACTIVE

    # The first digest goes out.
    send_edition(today)
    digest = smtp.to("ada@example.com")[-1]
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The preference center: change topics, then pause.
    page.get_by_role("link", name="Change your topics and settings").click()
    expect(page.get_by_role("heading", name="Your Paperboy preferences")).to_be_visible()
    expect(page.get_by_role("heading", name="Your next digest would hold")).to_be_visible()
    screenshots(page, "preferences")
    page.get_by_label("Topics").fill("diffusion models")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Saved. Your next digest follows these preferences.")).to_be_visible()
    ada.refresh_from_db()
    assert ada.interest_values("topic") == ["diffusion models"]
    page.get_by_role("button", name="Pause digests").click()
    expect(page.get_by_text("Paused. No digests until you resume.")).to_be_visible()
    screenshots(page, "preferences-paused")
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.PAUSED

    # One click from the mailbox provider, no cookies.
    status, body = one_click_unsubscribe(digest["List-Unsubscribe"].strip().strip("<>"))
    assert status == 200 and "You are unsubscribed" in body
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.UNSUBSCRIBED


def test_signup_errors_show_next_to_their_fields_without_javascript(chromium, live_server):
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        assert page.get_by_label("Your time zone").input_value() == "UTC"  # the default without JS
        expect(page.get_by_label("Day (weekly only)")).to_be_visible()  # with Daily chosen: the label says so
        # On the phone the sample email comes first, collapsed, within the first screen.
        sample = page.get_by_text("See what the email looks like")
        assert sample.evaluate("e => e.getBoundingClientRect().bottom") < PHONE["height"]
        expect(page.get_by_label("A sample digest email")).to_be_hidden()
        sample.click()
        expect(page.get_by_label("A sample digest email")).to_be_visible()
        save_screenshot(page, "signup-sample-open-390")
        page.get_by_label("Email address").fill("not an address")
        page.get_by_label("Topics").fill("<script>alert(1)</script>")
        page.get_by_role("button", name="Sign up").click()
        email = page.get_by_label("Email address")
        assert email.get_attribute("aria-invalid") == "true"
        assert page.locator("#id_email_error").inner_text() == "Enter a valid email address."
        assert "plain words" in page.locator("#id_topics_error").inner_text()
        save_screenshot(page, "signup-errors-390")
        assert not Subscriber.objects.exists()

        # Only the time zone, far down the form, is wrong: the reader lands on it.
        page.get_by_label("Email address").fill("ada@example.com")
        page.get_by_label("Topics").fill("robots")
        page.get_by_label("Your time zone").fill("Mars")
        page.get_by_role("button", name="Sign up").click()
        expect(page.locator("#id_timezone")).to_be_focused()  # autofocus: the page has loaded when it holds
        assert page.locator("#id_timezone").evaluate("e => e.getBoundingClientRect().top") < PHONE["height"]
        page.evaluate("window.scrollTo(0, 0)")
        page.get_by_role("link", name="Your time zone").click()  # the banner's anchor, no script
        assert page.url.endswith("#id_timezone")
        assert 0 <= page.locator("#id_timezone").evaluate("e => e.getBoundingClientRect().top") < PHONE["height"]
    finally:
        context.close()


def test_the_time_zone_is_prefilled_and_the_weekly_day_shows_only_for_weekly(chromium, live_server):
    context = chromium.new_context(viewport=DESKTOP, timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        assert page.get_by_label("Your time zone").input_value() == "Asia/Tokyo"
        day = page.get_by_label("Day (weekly only)")
        expect(day).to_be_hidden()  # Daily is the default
        page.get_by_role("radio", name="Weekly").check()
        expect(day).to_be_visible()
        page.get_by_role("radio", name="Daily").check()
        expect(day).to_be_hidden()
    finally:
        context.close()
