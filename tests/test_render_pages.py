"""The digest as a page: the subscriber's "view in browser" link and the staff preview."""

from __future__ import annotations

import datetime as dt
import html as html_lib

import pytest
from django.contrib.auth import get_user_model

from digest.models import Delivery
from subscriptions import links
from tests.digest_mail import send_edition
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return url.removeprefix("http://localhost:8000")


def test_web_view_shows_the_subscribers_digest_and_keeps_its_address_private(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()

    page = client.get(path_of(links.web_view_url(ada.pk, EDITION_DATE)))
    assert page.status_code == 200
    body = page.content.decode()
    for title in [item.paper.title for item in Delivery.objects.get(subscriber=ada).carried_items()]:
        assert html_lib.escape(title, quote=False) in body
    assert "Trending today" in body
    assert links.manage_url(ada.pk) not in body  # a shareable page hands over no account (issue 15)
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert page["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("token", ["nonsense", "WzEsIjIwMjUtMDktMDMiXQ:forged"])
def test_web_view_refuses_a_forged_or_cut_token(client, token):
    page = client.get(f"/digest/{token}/")
    assert page.status_code == 400
    assert "This link is not valid" in page.content.decode()


def test_web_view_token_of_another_purpose_opens_nothing(client):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    token = links.unsubscribe_token(ada.pk)
    assert client.get(f"/digest/{token}/").status_code == 400


def test_web_view_of_a_day_without_a_digest_is_not_found(client):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    page = client.get(path_of(links.web_view_url(ada.pk, EDITION_DATE + dt.timedelta(days=1))))
    assert page.status_code == 404


def test_staff_preview_shows_a_planned_digest_html_and_text_side_by_side(staff_client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()
    delivery = Delivery.objects.get(subscriber=ada)

    page = staff_client.get("/staff/preview/", {"subscriber": ada.pk, "date": "2025-09-03"})
    assert page.status_code == 200
    body = page.content.decode()
    assert f"the papers of delivery #{delivery.pk} (sent)" in body
    assert '<iframe title="HTML part" sandbox srcdoc="&lt;!DOCTYPE html&gt;' in body
    first = delivery.carried_items()[0].paper.title
    assert f"1. {html_lib.escape(first)}" in body  # the text part
    assert html_lib.escape(delivery.message_id) in body
    assert "List-Unsubscribe-Post" in body


def test_staff_preview_ranks_a_subscriber_with_nothing_planned_yet(staff_client):
    load_day()
    bob = make_subscriber("bob@example.com", "robot manipulation")

    page = staff_client.get("/staff/preview/", {"subscriber": bob.pk, "date": "2025-09-03"})
    body = page.content.decode()
    assert "not planned: ranked now, as planning would" in body
    assert "Matches your topic \u201crobot manipulation\u201d" in html_lib.unescape(body)
    assert not Delivery.objects.exists()  # a preview plans nothing


def test_staff_preview_explains_bad_input(staff_client):
    assert staff_client.get("/staff/preview/", {"subscriber": "x", "date": "2025-09-03"}).status_code == 400
    page = staff_client.get("/staff/preview/", {"subscriber": "999", "date": "2025-09-03"})
    assert page.status_code == 404 and "There is no subscriber 999." in page.content.decode()
    load_day()
    bob = make_subscriber("bob@example.com", "zebra husbandry")
    page = staff_client.get("/staff/preview/", {"subscriber": bob.pk, "date": "2025-09-03"})
    assert "no email would go out" in page.content.decode()


def test_staff_preview_is_for_staff_only(client):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    page = client.get("/staff/preview/", {"subscriber": ada.pk, "date": "2025-09-03"})
    assert page.status_code == 302 and "/admin/login/" in page["Location"]
    get_user_model().objects.create_user("reader", "reader@example.com", "pw")
    client.login(username="reader", password="pw")
    assert client.get("/staff/preview/", {"subscriber": ada.pk, "date": "2025-09-03"}).status_code == 302
