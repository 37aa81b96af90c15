"""Double opt-in: the confirmation link, its expiry, the purge of unconfirmed signups, and
confirming a new address."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from digest.day import plan_day
from subscriptions import links
from subscriptions.models import Subscriber
from subscriptions.tasks import purge_unconfirmed_signups
from tests.factories import EDITION_DATE, load_day, make_subscriber
from tests.signup_helpers import links_in, path_of, post, signup_data

# Web-triggered emails are Celery tasks: run them inline, into mail.outbox.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def confirm_path(client, django_capture_on_commit_callbacks) -> str:
    """Ada signs up; the path of the link in her confirmation email."""
    post(client, django_capture_on_commit_callbacks, "/", signup_data())
    (link,) = [link for link in links_in(mail.outbox[0]) if "/confirm/" in link]
    return path_of(link)


def ada() -> Subscriber:
    return Subscriber.objects.get(email="ada@example.com")


def test_get_on_the_link_shows_a_button_and_changes_nothing(client, confirm_path):
    response = client.get(confirm_path)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Confirm your subscription" in page and "ada@example.com" in page
    assert '<form method="post">' in page
    assert ada().status == Subscriber.Status.PENDING


def test_post_confirms_and_the_subscriber_then_gets_digests(client, confirm_path):
    load_day()
    response = client.post(confirm_path)

    assert response.status_code == 200
    page = response.content.decode()
    assert "You're subscribed" in page and "every day at 07:00 (Europe/Paris)" in page
    assert path_of(ada().manage_url) in page
    assert ada().status == Subscriber.Status.ACTIVE and ada().confirmed_at is not None
    _, planned = plan_day(EDITION_DATE, respect_send_hour=False)
    assert planned.planned == 1


def test_pending_subscribers_get_no_digest(confirm_path):
    load_day()

    _, planned = plan_day(EDITION_DATE, respect_send_hour=False)

    assert planned.planned == 0


def test_confirming_twice_is_harmless(client, confirm_path):
    client.post(confirm_path)
    confirmed_at = ada().confirmed_at

    again = client.post(confirm_path)

    assert again.status_code == 200 and "You're subscribed" in again.content.decode()
    assert ada().confirmed_at == confirmed_at


def test_an_old_confirm_link_does_not_undo_an_unsubscribe(client, confirm_path):
    client.post(confirm_path)
    ada().unsubscribe()

    response = client.post(confirm_path)

    assert "This subscription is unsubscribed" in response.content.decode()
    assert ada().status == Subscriber.Status.UNSUBSCRIBED


def test_the_link_expires_with_the_signup(client, confirm_path, settings):
    settings.PAPERBOY_CONFIRM_DAYS = 3
    with time_machine.travel(timezone.now() + dt.timedelta(days=3, minutes=1)):
        response = client.post(confirm_path)

    assert response.status_code == 410
    page = response.content.decode()
    assert "This link has expired" in page and "work for 3 days" in page and "/signup/resend/" in page
    assert ada().status == Subscriber.Status.PENDING


def test_a_link_that_has_not_expired_yet_works(client, confirm_path):
    with time_machine.travel(timezone.now() + dt.timedelta(days=6, hours=23)):
        response = client.post(confirm_path)

    assert response.status_code == 200
    assert ada().status == Subscriber.Status.ACTIVE


def test_a_confirm_link_for_a_purged_signup_is_a_clear_404(client, confirm_path):
    ada().delete()

    response = client.post(confirm_path)

    assert response.status_code == 404 and "This link is not valid" in response.content.decode()


# --- Purging unconfirmed signups -----------------------------------------------------------


def test_the_purge_removes_only_expired_unconfirmed_signups():
    now = timezone.now()
    old = now - dt.timedelta(days=8)
    make_subscriber("stale@example.com", "robots", status=Subscriber.Status.PENDING, signup_mail_sent_at=old)
    make_subscriber("fresh@example.com", status=Subscriber.Status.PENDING, signup_mail_sent_at=now)
    make_subscriber("active@example.com", signup_mail_sent_at=old)
    make_subscriber("unsubscribed@example.com", status=Subscriber.Status.UNSUBSCRIBED, signup_mail_sent_at=old)
    make_subscriber(  # confirmed once, signed up again and did not confirm: keeps their history
        "returning@example.com", status=Subscriber.Status.PENDING, signup_mail_sent_at=old, confirmed_at=old
    )

    assert purge_unconfirmed_signups() == 2  # the subscriber and its one interest

    assert sorted(Subscriber.objects.values_list("email", flat=True)) == [
        "active@example.com",
        "fresh@example.com",
        "returning@example.com",
        "unsubscribed@example.com",
    ]


def test_the_purge_follows_the_configured_days(settings):
    settings.PAPERBOY_CONFIRM_DAYS = 2
    make_subscriber(
        "three-days@example.com",
        status=Subscriber.Status.PENDING,
        signup_mail_sent_at=timezone.now() - dt.timedelta(days=3),
    )

    purge_unconfirmed_signups()

    assert not Subscriber.objects.exists()


def test_the_purge_is_in_the_beat_schedule():
    entry = django_settings.CELERY_BEAT_SCHEDULE["purge-unconfirmed-signups"]

    assert entry["task"] == purge_unconfirmed_signups.name


# --- Changing the address ------------------------------------------------------------------


@pytest.fixture
def change_request(client, django_capture_on_commit_callbacks):
    """Ada, active, asks to move to a new address from her preference center."""

    def request(new_email: str = "ada@new.example.org"):
        ada = make_subscriber("ada@example.com", "robots")
        manage = path_of(ada.manage_url)
        return ada, post(client, django_capture_on_commit_callbacks, f"{manage}email/", {"email": new_email})

    return request


def test_changing_the_address_mails_a_link_to_the_new_one_and_changes_nothing_yet(client, change_request):
    ada, response = change_request()

    assert [status for _, status in response.redirect_chain] == [302]
    notice = response.content.decode()
    assert "We sent a link to ada@new.example.org" in notice
    (message,) = mail.outbox
    assert message.to == ["ada@new.example.org"]
    assert message.subject == "Confirm your new address for Paperboy"
    assert "ada@example.com" not in message.body  # nothing the requester chose but the recipient
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"


def test_following_the_link_and_posting_moves_the_subscription(client, change_request):
    ada, _ = change_request()
    (link,) = [link for link in links_in(mail.outbox[0]) if "/email-change/" in link]

    page = client.get(path_of(link))
    assert page.status_code == 200 and "Yes, use ada@new.example.org" in page.content.decode()
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"  # GET changed nothing

    response = client.post(path_of(link), follow=True)

    assert "Done: digests now go to ada@new.example.org" in response.content.decode()
    ada.refresh_from_db()
    assert ada.email == "ada@new.example.org"
    assert ada.interest_values("topic") == ["robots"]


def test_the_new_address_cannot_take_over_another_subscription(client, change_request):
    make_subscriber("taken@example.com")
    ada, _ = change_request("Taken@example.com")
    (link,) = [link for link in links_in(mail.outbox[0]) if "/email-change/" in link]

    response = client.post(path_of(link))

    assert response.status_code == 409
    assert "That address already has a subscription" in response.content.decode()
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"


def test_the_same_address_is_refused_next_to_the_field(change_request):
    _, response = change_request("ADA@example.com")

    page = response.content.decode()
    assert response.status_code == 200
    assert "That is the address you already use." in page
    assert mail.outbox == []


def test_an_invalid_new_address_is_refused(change_request):
    _, response = change_request("not an address")

    assert "Enter a valid email address." in response.content.decode()
    assert mail.outbox == []


def test_the_change_link_expires(client):
    ada = make_subscriber("ada@example.com")
    link = links.email_change_url(ada.pk, "ada@new.example.org", ada.email, timezone.now())

    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        response = client.post(path_of(link))

    assert response.status_code == 410
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
