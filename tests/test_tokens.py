"""Signed links: one salt per purpose, a clear 4xx for anything forged, cut short or made for
another page (never a 500), and links signed before a key rotation still open their page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core import signing
from django.utils import timezone

from subscriptions import links
from subscriptions.models import Subscriber
from tests.factories import make_subscriber
from tests.signup_helpers import path_of

pytestmark = pytest.mark.django_db

NEW_KEY = "a-brand-new-key-after-rotation-0123456789abcdefghijklmnopqrstuvwxyz"

# Each signed page: how to make its link, and what its page says when the link is good.
PAGES: dict[str, tuple[Callable[[Subscriber], str], str]] = {
    "unsubscribe": (lambda s: links.unsubscribe_url(s.pk), "Unsubscribe from Paperboy?"),
    "manage": (lambda s: links.manage_url(s.pk), "Your Paperboy preferences"),
    "data": (lambda s: links.data_url(s.pk), '"email": "ada@example.com"'),
    "feed": (lambda s: links.feed_url(s.pk), "Paperboy digests for ada@example.com"),
    "confirm": (lambda s: links.confirm_url(s.pk), "Confirm your subscription"),
    "email-change": (
        lambda s: links.email_change_url(s.pk, "ada@new.example.org", s.email, timezone.now()),
        "Change your address",
    ),
}


@pytest.fixture
def ada() -> Subscriber:
    return make_subscriber("ada@example.com", "robots", status=Subscriber.Status.PENDING)


def with_token(url: str, token: str) -> str:
    """The same page's path with another token in place of the real one."""
    prefix, _, _ = path_of(url).rstrip("/").rpartition("/")
    suffix = "data.json" if url.endswith("data.json") else ""
    if suffix:
        prefix = prefix.rpartition("/")[0]
    return f"{prefix}/{token}/{suffix}"


def token_of(url: str) -> str:
    parts = path_of(url).strip("/").split("/")
    return parts[-2] if url.endswith("data.json") else parts[-1]


@pytest.mark.parametrize("page", PAGES)
def test_a_good_link_opens_its_page(client, ada, page):
    make_link, expected = PAGES[page]

    response = client.get(path_of(make_link(ada)))

    assert response.status_code == 200
    assert expected in response.content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_a_link_signed_with_the_old_key_works_after_rotation(client, ada, page, settings):
    make_link, expected = PAGES[page]
    old_link = make_link(ada)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = NEW_KEY

    response = client.get(path_of(old_link))

    assert response.status_code == 200
    assert expected in response.content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_once_the_old_key_is_dropped_its_links_are_refused(client, ada, page, settings):
    make_link, _ = PAGES[page]
    old_link = make_link(ada)
    settings.SECRET_KEY = NEW_KEY

    assert client.get(path_of(old_link)).status_code == 400


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda token: "garbage", id="garbage"),
        pytest.param(lambda token: token[:-4], id="cut-short"),
        pytest.param(lambda token: token[: len(token) // 2], id="cut-in-half"),
        pytest.param(lambda token: token.replace(token[0], "Z" if token[0] != "Z" else "Y", 1), id="tampered"),
    ],
)
def test_a_forged_or_truncated_link_gets_a_clear_400_on_every_page(client, ada, page, spoil):
    make_link, _ = PAGES[page]
    link = make_link(ada)

    for method in (client.get, client.post):
        response = method(with_token(link, spoil(token_of(link))))
        if page in ("data", "feed") and method == client.post:
            assert response.status_code == 405
            continue
        assert response.status_code == 400, (method, response.status_code)
        if page != "data":
            assert "This link is not valid" in response.content.decode()
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.PENDING and ada.email == "ada@example.com"


SAME_PURPOSE = {"manage", "data"}  # the data download is part of the preference center


@pytest.mark.parametrize(("page", "other"), [(p, o) for p in PAGES for o in PAGES if p != o and {p, o} != SAME_PURPOSE])
def test_a_token_made_for_one_page_opens_no_other(client, ada, page, other):
    make_link, _ = PAGES[page]
    other_token = token_of(PAGES[other][0](ada))

    response = client.get(with_token(make_link(ada), other_token))

    assert response.status_code == 400


def test_payloads_of_the_wrong_shape_are_refused(client, ada):
    wrong = signing.TimestampSigner(salt=links.EMAIL_CHANGE_SALT).sign_object(["1", True])

    assert client.get(f"/email-change/{wrong}/").status_code == 400
    assert client.get(f"/manage/{signing.Signer(salt=links.MANAGE_SALT).sign_object(True)}/").status_code == 400
