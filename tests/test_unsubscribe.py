"""RFC 8058 one-click unsubscribe, and the page behind the footer link."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import Client

from subscriptions import links
from subscriptions.models import Subscriber
from tests.digest_mail import send_edition
from tests.factories import load_day, make_subscriber

pytestmark = pytest.mark.django_db


def one_click(client: Client, url: str):
    # What Gmail sends: a form-encoded POST with no cookies and no CSRF token.
    return client.post(url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")


def path_of(url: str) -> str:
    return url.removeprefix("http://localhost:8000")


def test_one_click_post_unsubscribes_without_csrf_or_redirect():
    ada = make_subscriber("ada@example.com", "robots")
    client = Client(enforce_csrf_checks=True)

    response = one_click(client, path_of(ada.unsubscribe_url))

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.UNSUBSCRIBED and ada.unsubscribed_at is not None


def test_a_repeated_one_click_post_is_also_200():
    ada = make_subscriber("ada@example.com")
    client = Client(enforce_csrf_checks=True)

    first = one_click(client, path_of(ada.unsubscribe_url))
    ada.refresh_from_db()
    unsubscribed_at = ada.unsubscribed_at
    second = one_click(client, path_of(ada.unsubscribe_url))

    assert (first.status_code, second.status_code) == (200, 200)
    ada.refresh_from_db()
    assert ada.unsubscribed_at == unsubscribed_at


def test_get_shows_a_button_and_changes_nothing(client):
    ada = make_subscriber("ada@example.com")

    response = client.get(path_of(ada.unsubscribe_url))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Unsubscribe from Paperboy?" in page and "ada@example.com" in page
    assert '<form method="post">' in page and "<button" in page
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.ACTIVE


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        links.unsubscribe_token(1)[:-3],  # cut short by a mail client
        signing.Signer(salt="some.other.purpose").sign_object(1),  # a token made for another link
    ],
)
def test_a_forged_or_truncated_token_gets_a_clear_400(client, token):
    ada = make_subscriber("ada@example.com")

    response = one_click(client, f"/unsubscribe/{token}/")

    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.ACTIVE


def test_links_signed_with_an_older_key_keep_working(client, settings):
    ada = make_subscriber("ada@example.com")
    old_link = ada.unsubscribe_url
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-key-after-rotation-0123456789abcdefghijklmnopqrstuvwxyz"

    response = one_click(client, path_of(old_link))

    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.UNSUBSCRIBED


def test_after_unsubscribing_no_later_digest_is_sent(client, smtp):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")

    one_click(client, path_of(ada.unsubscribe_url))
    send_edition()

    assert smtp.messages == []


def test_the_link_in_a_real_email_unsubscribes(client, smtp):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()
    (message,) = smtp.messages

    response = one_click(client, path_of(message["List-Unsubscribe"].strip().strip("<>")))

    assert response.status_code == 200
    assert Subscriber.objects.get(email="ada@example.com").status == Subscriber.Status.UNSUBSCRIBED


def test_a_reopened_link_after_unsubscribing_says_so_and_offers_to_subscribe_again(client):
    ada = make_subscriber("ada@example.com")
    assert "Unsubscribe from Paperboy?" in client.get(path_of(ada.unsubscribe_url)).content.decode()
    one_click(client, path_of(ada.unsubscribe_url))

    page = client.get(path_of(ada.unsubscribe_url)).content.decode()

    assert "You are already unsubscribed" in page and "Unsubscribe from Paperboy?" not in page
    assert '<a href="/">Subscribe again</a>' in page and "<form" not in page
