"""Issue 15, probe 1: only addresses a mail system carries safely, one stored form per mailbox,
and a digest that cannot be built fails for good instead of passing for a lost connection."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from digest.models import Delivery
from subscriptions.models import Subscriber
from tests.digest_mail import send_edition
from tests.factories import load_day, make_subscriber
from tests.signup_helpers import path_of, post, signup_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

# The addresses the security review got through Django's EmailField, and their neighbours.
UNSAFE = {
    '"a\x0bb"@example.com': "Control characters cannot be part of one.",
    '"x\x0bBcc:\\ e@evil.example"@example.com': "Control characters cannot be part of one.",
    '"victim"@example.com': "Quotes and backslashes cannot be part of one.",
    '"a b"@example.com': "Enter a valid email address.",
    "a\\@b@example.com": "Quotes and backslashes cannot be part of one.",
    "victim@[127.0.0.1]": "not at an IP address",
    "victim@[IPv6:::1]": "not at an IP address",
    "victim@127.0.0.1": "not at an IP address",
    "victim@localhost": "Enter a valid email address.",
    "a\x00b@example.com": "Null characters are not allowed.",
    "ada@-example.com": "Enter a valid email address.",
    "ada@example..com": "Enter a valid email address.",
}


@pytest.fixture
def sign_up(client, django_capture_on_commit_callbacks):
    def sign_up(**overrides):
        return post(client, django_capture_on_commit_callbacks, "/", signup_data(**overrides))

    return sign_up


@pytest.mark.parametrize("address", UNSAFE)
def test_an_address_mail_cannot_carry_safely_is_refused_next_to_the_field(sign_up, address):
    response = sign_up(email=address)

    assert response.status_code == 200
    page = response.content.decode().replace("&#x27;", "'")
    errors = page[page.index('id="id_email_error"') :]
    assert UNSAFE[address] in errors[: errors.index("</ul>")]
    assert Subscriber.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.parametrize("address", UNSAFE)
def test_resend_refuses_them_too_without_a_500(client, django_capture_on_commit_callbacks, address):
    response = post(client, django_capture_on_commit_callbacks, "/signup/resend/", {"email": address})

    assert response.status_code == 200
    assert "Check your inbox" not in response.content.decode()
    assert mail.outbox == []


def test_every_spelling_of_one_mailbox_is_one_subscription(sign_up, settings):
    settings.PAPERBOY_SIGNUP_MAIL_COOLDOWN = 0
    for address in ["ada@exämple.com", "ada@xn--exmple-cua.com", "ada@EXÄMPLE.COM", "  ada@Exämple.Com  "]:
        assert sign_up(email=address).status_code == 200

    (ada,) = Subscriber.objects.all()
    assert ada.email == "ada@xn--exmple-cua.com"
    assert len(mail.outbox) == 4
    assert all(m.to == ["ada@xn--exmple-cua.com"] for m in mail.outbox)


def test_rows_written_by_other_means_are_stored_in_the_same_form():
    ada = make_subscriber(" Ada@EXÄMPLE.com ")

    assert ada.email == "Ada@xn--exmple-cua.com"
    assert Subscriber.objects.with_email("ada@exämple.COM").get() == ada


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_stores_existing_addresses_in_one_form_and_leaves_clashes():
    """Old rows: a Unicode domain, one that already exists in punycode, and a quoted address."""
    executor = MigrationExecutor(connection)
    before = [("subscriptions", "0006_signup_requests_and_address_changes")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("subscriptions", "Subscriber")
    unicode_only = old.objects.create(email="grace@EXÄMPLE.com")
    punycode = old.objects.create(email="ada@xn--exmple-cua.com")
    clash = old.objects.create(email="ada@exämple.com")
    quoted = old.objects.create(email='"a\x0bb"@example.com')
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([("subscriptions", "0007_store_addresses_in_one_form")])

        emails = dict(Subscriber.objects.values_list("pk", "email"))
        assert emails[unicode_only.pk] == "grace@xn--exmple-cua.com"
        assert emails[punycode.pk] == "ada@xn--exmple-cua.com"
        assert emails[clash.pk] == "ada@exämple.com"  # its form is taken: left for staff to merge
        assert emails[quoted.pk] == '"a\x0bb"@example.com'  # refused by sending, never mangled
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.parametrize("stored", ['"a\x0bb"@example.com', '"x\x0bBcc:\\ e@evil.example"@example.com'])
def test_a_digest_to_an_address_stored_before_fails_for_good_and_the_others_go(smtp, stored):
    load_day()
    mallory = make_subscriber("mallory@example.com", "reinforcement learning")
    Subscriber.objects.filter(pk=mallory.pk).update(email=stored)  # as signup stored it before the fix
    make_subscriber("ada@example.com", "reinforcement learning")

    send_edition()

    assert [m["To"] for m in smtp.messages] == ["ada@example.com"]
    delivery = Delivery.objects.get(subscriber=mallory)
    assert delivery.status == Delivery.Status.FAILED_PERMANENT
    assert delivery.attempts == 1
    assert "Outcome unknown" not in delivery.last_error
    assert delivery.last_error.startswith("BadHeaderError: ")


STORED_BEFORE = ['"a\x0bb"@example.com', '"x\x0bBcc:\\ e@evil.example"@example.com', "victim@[127.0.0.1]"]


@pytest.mark.parametrize("stored", STORED_BEFORE)
def test_no_email_the_web_asks_for_goes_to_an_address_stored_before(
    client, django_capture_on_commit_callbacks, smtp, stored
):
    """Its digest fails for good (above); "subscribe again" on its manage page, the one web path
    that mails a stored address, writes it into no header either."""
    long_ago = timezone.now() - dt.timedelta(days=30)
    mallory = make_subscriber("mallory@example.com", status=Subscriber.Status.UNSUBSCRIBED)
    Subscriber.objects.filter(pk=mallory.pk).update(email=stored, signup_mail_sent_at=long_ago)  # as stored before
    manage = path_of(mallory.manage_url)

    response = post(client, django_capture_on_commit_callbacks, f"{manage}status/", {"action": "resume"})

    assert response.status_code == 200
    assert smtp.envelopes == []
    mallory.refresh_from_db()
    assert mallory.status == Subscriber.Status.UNSUBSCRIBED
