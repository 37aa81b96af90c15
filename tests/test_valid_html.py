"""Every page, reader's and staff's, is valid HTML: parsed by the WHATWG algorithm (html5lib)
with no parse error, no id used twice, every label pointing at a field."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from digest.models import Delivery, Paper
from subscriptions import links
from tests.digest_mail import send_edition
from tests.factories import EDITION_DATE, load_day, make_subscriber
from tests.html_pages import parse_valid

pytestmark = pytest.mark.django_db


def path(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def a_sent_day(smtp, lexical_only):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    make_subscriber("new@example.com", "robotics", status="pending")
    send_edition()
    return ada


def test_every_reader_page_is_valid_html(client, a_sent_day):
    ada = a_sent_day
    paper = Delivery.objects.get(subscriber=ada).carried_items()[0].paper
    pending = ada.__class__.objects.get(email="new@example.com")
    pages = {
        "signup": "/",
        "resend": "/signup/resend/",
        "preference center": path(links.manage_url(ada.pk)),
        "unsubscribe": path(ada.unsubscribe_url),
        "confirm": path(links.confirm_url(pending.pk)),
        "web view": path(links.web_view_url(ada.pk, EDITION_DATE)),
        "feedback": path(links.feedback_url(ada.pk, paper.pk, "up")),
        "bad link": "/manage/not-a-token/",
    }
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code in (200, 400, 404), (name, response.status_code)
        parse_valid(response.content, name)


def test_every_staff_page_is_valid_html(staff_client, a_sent_day):
    delivery = Delivery.objects.first()
    for url in [
        "/admin/",
        "/admin/dashboard/",
        "/admin/digest/delivery/",
        f"/admin/digest/delivery/{delivery.pk}/change/",
        "/admin/digest/paper/",
        f"/admin/digest/paper/{Paper.objects.first().pk}/change/",
        "/admin/digest/edition/",
        "/admin/subscriptions/subscriber/",
        f"/admin/subscriptions/subscriber/{a_sent_day.pk}/change/",
        f"/staff/preview/?subscriber={a_sent_day.pk}&date={EDITION_DATE}",
    ]:
        parse_valid(staff_client.get(url).content, url)
