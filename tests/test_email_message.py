"""The digest as an inbox receives it: captured by a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from email.utils import parseaddr, parsedate_to_datetime

import pytest
import time_machine

from digest.models import Delivery
from subscriptions import links
from tests.conftest import PROJECT
from tests.digest_mail import html_part, send_edition, text_part
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://paperboy.example.org"
    settings.SITE_DOMAIN = "paperboy.example.org"
    settings.DEFAULT_FROM_EMAIL = "digest@paperboy.example.org"
    settings.PAPERBOY_LIST_ID = "Paperboy daily digest <digest.paperboy.example.org>"


def test_message_is_text_then_html_with_every_section(smtp, site):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning", max_papers=5)
    send_edition()

    (message,) = smtp.to("ada@example.com")
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in message.iter_parts())
    html, text = html_part(message), text_part(message)
    for needle in ["Wednesday 3 September 2025", "5 new papers matched your interests today", ">For you</p>",
                   ">Trending today</p>", "View in browser", "Manage preferences", "Unsubscribe",
                   "You get this daily email because ada@example.com subscribed"]:  # fmt: skip
        assert needle in html
    assert html.index(">For you</p>") < html.index(">Trending today</p>") < html.index("Manage preferences")
    assert html.count('class="card"') == 5 + 3
    assert text.index("FOR YOU") < text.index("TRENDING TODAY") < text.index("Unsubscribe: ")
    assert re.search(r"<p class=\"preheader\"[^>]*>[^<]+ and 4 more</p>", html)
    assert "@media (prefers-color-scheme: dark)" in html and "!important" in html  # kept in <style>
    assert '<!--[if mso]><table role="presentation" width="640"' in html  # Outlook ignores max-width


def test_headers_identify_the_sender_the_list_and_each_delivery(smtp, site):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    with time_machine.travel("2025-09-04T07:00:00+00:00", tick=False):
        send_edition()

    (message,) = smtp.to("ada@example.com")
    assert parseaddr(message["From"]) == ("Paperboy", "digest@paperboy.example.org")
    assert message["Reply-To"] is None
    assert parsedate_to_datetime(message["Date"]).replace(tzinfo=dt.UTC) == dt.datetime(2025, 9, 4, 7, tzinfo=dt.UTC)
    delivery = Delivery.objects.get(subscriber=ada)
    assert message["Message-ID"].strip() == delivery.message_id
    assert re.fullmatch(r"<[^@<>\s]+@paperboy\.example\.org>", delivery.message_id)
    assert message["List-Id"] == "Paperboy daily digest <digest.paperboy.example.org>"
    # Long values are folded onto a continuation line: parsers unfold them to one leading space.
    assert message["List-Unsubscribe"].strip() == f"<{links.unsubscribe_url(ada.pk)}>"
    assert message["List-Unsubscribe"].strip().startswith("<https://paperboy.example.org/unsubscribe/")
    raw = smtp.envelopes[0].original_content.split(b"\r\n\r\n")[0].decode("ascii") + "\r\n"
    assert re.search(r"^List-Unsubscribe:\s+<https://[^>\s]+>\r\n", raw, re.M)  # never an encoded-word
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{links.unsubscribe_url(ada.pk)}"' in html_part(message)  # and visible in the body


def test_reply_to_is_set_when_configured(smtp, site, settings):
    settings.PAPERBOY_REPLY_TO = "editors@paperboy.example.org"
    settings.DEFAULT_FROM_EMAIL = "Paperboy Digest <digest@paperboy.example.org>"
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()

    (message,) = smtp.to("ada@example.com")
    assert message["Reply-To"] == "editors@paperboy.example.org"
    assert parseaddr(message["From"]) == ("Paperboy Digest", "digest@paperboy.example.org")


def test_a_resent_delivery_keeps_its_message_id(smtp, site):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    smtp.refuse_next = 1  # 451: tried again by the next run
    send_edition()
    send_edition()

    (message,) = smtp.to("ada@example.com")
    delivery = Delivery.objects.get(subscriber=ada)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 2)
    assert message["Message-ID"].strip() == delivery.message_id


def test_the_view_in_browser_link_opens_the_same_digest(client, smtp, site):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()

    (message,) = smtp.to("ada@example.com")
    html = html_part(message)
    url = re.search(r'href="([^"]+)"[^>]*>View in browser</a>', html).group(1)
    assert url == links.web_view_url(ada.pk, EDITION_DATE)
    page = client.get(url.removeprefix("https://paperboy.example.org"))
    assert page.status_code == 200
    shown = page.content.decode()
    titles = [item.paper.title for item in Delivery.objects.get(subscriber=ada).carried_items()]
    assert all(title in shown for title in titles)
    assert f'href="{links.unsubscribe_url(ada.pk)}"' not in shown  # a forwardable page: no account links


def test_a_malformed_reply_to_stops_start_up_with_a_clear_error():
    env = {**os.environ, "PAPERBOY_REPLY_TO": "editors@example.org\nBcc: victim@example.com"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "PAPERBOY_REPLY_TO must be one email address" in result.stderr
