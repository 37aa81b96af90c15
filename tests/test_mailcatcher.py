"""The development mail catcher that `make run` starts: what it catches is readable in the browser."""

from __future__ import annotations

import importlib
import re

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMultiAlternatives, get_connection
from django.test import Client
from django.urls import clear_url_caches
from playwright.sync_api import expect

import config.urls
from digest.management.commands.mailcatcher import Handler
from tests.conftest import free_port, save_screenshot
from tests.digest_mail import send_edition
from tests.factories import load_day, make_subscriber


@pytest.fixture
def debug_urls(settings):
    """The inbox is routed only when DEBUG is on, as under `make run`."""
    settings.DEBUG = True
    clear_url_caches()
    importlib.reload(config.urls)
    yield
    settings.DEBUG = False
    clear_url_caches()
    importlib.reload(config.urls)


@pytest.fixture
def catcher(settings, tmp_path, debug_urls):
    settings.MAILCATCHER_DIR = tmp_path / "mail"
    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def test_a_caught_digest_is_listed_and_shown_with_both_parts(catcher):
    message = EmailMultiAlternatives(
        "Paperboy, 3 Sep: Reinforcement Learning for Generative AI: A Survey and 9 more",
        "1. Reinforcement Learning for Generative AI: A Survey",
        "digest@localhost",
        ["ada@example.com"],
    )
    message.attach_alternative("<p class='title'>Reinforcement Learning for Generative AI</p>", "text/html")
    get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=catcher).send_messages(
        [message]
    )
    client = Client()

    inbox = client.get("/dev/mail/").content.decode()
    name = re.search(r'href="/dev/mail/(\d+)/"', inbox).group(1)
    page = client.get(f"/dev/mail/{name}/").content.decode()
    html = client.get(f"/dev/mail/{name}/html/")

    assert "ada@example.com" in inbox
    assert ">Paperboy, 3 Sep: Reinforcement Learning for Generative AI: A Survey and 9 more</a>" in inbox
    assert "1. Reinforcement Learning for Generative AI: A Survey" in page
    assert "<p class='title'>Reinforcement Learning for Generative AI</p>" in html.content.decode()
    assert html["Content-Security-Policy"] == "script-src 'none'"


def test_the_inbox_lists_each_message_once_and_prints_no_python_objects(catcher):
    """The list was once passed as `messages`, which base.html shows as flash notices: a raw
    dict per message above the table."""
    message = EmailMultiAlternatives("Confirm your Paperboy subscription", "Confirm.", "digest@localhost", ["a@x.org"])
    get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=catcher).send_messages(
        [message]
    )

    inbox = Client().get("/dev/mail/").content.decode()

    assert "EmailMessage object" not in inbox
    assert "{&#x27;name&#x27;" not in inbox and "{'name'" not in inbox
    assert 'role="status"' not in inbox
    assert inbox.count(">Confirm your Paperboy subscription</a>") == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_caught_real_digest_reads_well_in_the_browser(catcher, settings, live_server, browser_page):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", catcher
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning", max_papers=5)
    send_edition()
    page = browser_page

    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/dev/mail/")
        expect(page.get_by_text("ada@example.com").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        save_screenshot(page, f"mail-viewer-inbox-{width}")
        page.locator('a[href^="/dev/mail/"]').first.click()
        expect(page.get_by_text("reinforcement learning").first).to_be_attached()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        save_screenshot(page, f"mail-viewer-message-{width}")
