"""What comes back after a digest was sent: real bounces and complaints, in a real IMAP mailbox
(Dovecot) read by the beat task, or at the SMTP endpoint, tied to deliveries by VERP."""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest
import time_machine
from django.utils import timezone

from digest import tasks
from digest.bounces import actions, smtp_endpoint, verp
from digest.models import Delivery, ReturnedMessage
from subscriptions.models import Subscriber
from tests.bounce_mail import envelope_to, load_later_day, returned
from tests.conftest import free_port
from tests.digest_mail import send_edition
from tests.factories import EDITION_DATE, load_day, make_subscriber
from tests.signup_helpers import post, signup_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lexical_only")]  # matching is not the point here

TOPIC = "reinforcement learning"

# sample -> (what it is, the delivery's state after, the subscriber's state after)
SAMPLES = {
    "postfix-dsn.eml": (ReturnedMessage.Kind.HARD_BOUNCE, Delivery.Status.FAILED_PERMANENT, Subscriber.Status.BOUNCED),
    "gmail.eml": (ReturnedMessage.Kind.HARD_BOUNCE, Delivery.Status.FAILED_PERMANENT, Subscriber.Status.BOUNCED),
    "exchange.eml": (ReturnedMessage.Kind.HARD_BOUNCE, Delivery.Status.FAILED_PERMANENT, Subscriber.Status.BOUNCED),
    "soft-timeout.eml": (ReturnedMessage.Kind.SOFT_BOUNCE, Delivery.Status.FAILED_PERMANENT, Subscriber.Status.ACTIVE),
    "delay-warning.eml": (ReturnedMessage.Kind.DELAYED, Delivery.Status.SENT, Subscriber.Status.ACTIVE),
    "arf-complaint.eml": (ReturnedMessage.Kind.COMPLAINT, Delivery.Status.SENT, Subscriber.Status.UNSUBSCRIBED),
    "auto-reply.eml": (ReturnedMessage.Kind.AUTO_REPLY, Delivery.Status.SENT, Subscriber.Status.ACTIVE),
}


def reader_for(sample: str) -> str:
    return f"{sample.removesuffix('.eml')}@example.org"


def test_each_digest_goes_out_from_its_own_signed_envelope_sender(smtp, settings):
    settings.PAPERBOY_BOUNCE_DOMAIN = "bounces.paperboy.test"
    settings.PAPERBOY_REPLY_TO = "editors@paperboy.test"
    load_day()
    ada, bob = make_subscriber("ada@example.org", TOPIC), make_subscriber("bob@example.org", TOPIC)

    send_edition()

    for subscriber in (ada, bob):
        envelope = envelope_to(smtp, subscriber.email)
        delivery = subscriber.deliveries.get()
        assert envelope.mail_from == verp.envelope_sender(delivery.pk)
        assert envelope.mail_from.startswith(f"bounces+d{delivery.pk}-")
        assert envelope.mail_from.endswith("@bounces.paperboy.test")
        message = smtp.to(subscriber.email)[0]
        assert message["From"] == settings.DEFAULT_FROM_EMAIL  # From and Reply-To stay as they are
        assert message["Reply-To"] == "editors@paperboy.test"
    assert envelope_to(smtp, ada.email).mail_from != envelope_to(smtp, bob.email).mail_from


def test_bounces_complaints_and_the_rest_in_the_mailbox_are_read_once_and_acted_on(smtp, imap_mailbox):
    load_day()
    for sample in SAMPLES:
        make_subscriber(reader_for(sample), TOPIC)
    bystander = make_subscriber("bystander@example.org", TOPIC)
    send_edition()
    for sample in SAMPLES:
        imap_mailbox.deliver(returned(sample, envelope_to(smtp, reader_for(sample))))
    imap_mailbox.deliver(returned("junk.eml", envelope_to(smtp, bystander.email)))

    assert tasks.read_bounce_mailbox() == len(SAMPLES) + 1

    for sample, (kind, delivery_status, subscriber_status) in SAMPLES.items():
        subscriber = Subscriber.objects.get(email=reader_for(sample))
        delivery = subscriber.deliveries.get()
        row = ReturnedMessage.objects.get(delivery=delivery)
        assert (row.kind, delivery.status, subscriber.status) == (kind, delivery_status, subscriber_status), sample
        assert row.subscriber == subscriber and row.source == "imap" and not row.needs_review
    postfix = Delivery.objects.get(subscriber__email=reader_for("postfix-dsn.eml"))
    assert "5.0.0" in postfix.last_error and "User unknown" in postfix.last_error
    complainer = Subscriber.objects.get(email=reader_for("arf-complaint.eml"))
    assert complainer.status_reason.startswith("Complaint on 2") and "Feedback-Type: abuse" in complainer.status_reason
    bounced = Subscriber.objects.get(email=reader_for("gmail.eml"))
    assert bounced.status_reason.startswith("Hard bounce") and bounced.hard_bounces == 1
    junk = ReturnedMessage.objects.get(kind=ReturnedMessage.Kind.UNKNOWN)
    assert junk.needs_review and junk.subject == "Your exclusive offer inside" and b"premium watches" in junk.raw
    assert Subscriber.objects.get(pk=bystander.pk).status == Subscriber.Status.ACTIVE

    # Processed messages left the inbox for the Processed folder: the next poll reads none.
    assert imap_mailbox.subjects("INBOX") == []
    assert len(imap_mailbox.subjects("Processed")) == len(SAMPLES) + 1
    assert tasks.read_bounce_mailbox() == 0
    assert ReturnedMessage.objects.count() == len(SAMPLES) + 1

    # The next digest skips the bounced and the complainer, and reaches everyone else.
    smtp.envelopes.clear()
    send_edition(load_later_day(1))
    still_mailed = {reader_for(s) for s, (_, _, status) in SAMPLES.items() if status == Subscriber.Status.ACTIVE}
    assert {m["To"] for m in smtp.messages} == still_mailed | {bystander.email}


def test_a_message_read_again_acts_once(smtp, imap_mailbox, settings):
    settings.PAPERBOY_BOUNCES_BEFORE_DISABLE = 2
    load_day()
    ada = make_subscriber("ada@example.org", TOPIC)
    send_edition()
    bounce = returned("postfix-dsn.eml", envelope_to(smtp, ada.email))
    imap_mailbox.deliver(bounce)
    imap_mailbox.deliver(bounce)  # the same bounce twice, as a move lost after the commit leaves it

    assert tasks.read_bounce_mailbox() == 2

    ada.refresh_from_db()
    assert ada.hard_bounces == 1 and ada.status == Subscriber.Status.ACTIVE
    assert ReturnedMessage.objects.count() == 1


@pytest.mark.parametrize("tamper", ["made-up", "altered"])
def test_a_forged_bounce_changes_nothing(smtp, imap_mailbox, tamper):
    load_day()
    ada = make_subscriber("ada@example.org", TOPIC)
    send_edition()
    envelope = envelope_to(smtp, ada.email)
    delivery = ada.deliveries.get()
    real = envelope.mail_from
    if tamper == "made-up":
        forged = f"bounces+d{delivery.pk}-{'0' * verp.MAC_LENGTH}@{real.partition('@')[2]}"
    else:
        other = f"d{delivery.pk + 1}-"  # someone else's id under this delivery's signature
        forged = real.replace(f"d{delivery.pk}-", other)
    envelope.mail_from = forged
    imap_mailbox.deliver(returned("postfix-dsn.eml", envelope))
    imap_mailbox.deliver(returned("arf-complaint.eml", envelope))

    tasks.read_bounce_mailbox()

    delivery.refresh_from_db()
    ada.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT and ada.status == Subscriber.Status.ACTIVE and ada.hard_bounces == 0
    rows = ReturnedMessage.objects.all()
    assert len(rows) == 2
    assert all(r.needs_review and r.delivery is None and r.outcome.startswith("Nothing changed") for r in rows)


def test_soft_bounces_of_three_digests_within_the_window_bounce_the_address(smtp, settings):
    settings.PAPERBOY_SOFT_BOUNCES_BEFORE_DISABLE = 3
    settings.PAPERBOY_SOFT_BOUNCE_WINDOW_DAYS = 14
    ada = make_subscriber("ada@example.org", TOPIC)
    load_day()
    days = [EDITION_DATE, *(load_later_day(n) for n in (1, 20, 21, 22))]
    for day in days:
        with time_machine.travel(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)):
            send_edition(day)
            bounce = returned("soft-timeout.eml", last_envelope(smtp))
            actions.receive(bounce, ReturnedMessage.Source.IMAP)
        ada.refresh_from_db()
        if day != days[-1]:
            assert ada.status == Subscriber.Status.ACTIVE, day  # days 0 and 1 are out of the window by day 20
    assert ada.status == Subscriber.Status.BOUNCED
    assert ada.status_reason.startswith("3 soft bounces in 14 days")
    outcomes = list(ReturnedMessage.objects.order_by("received_at").values_list("outcome", flat=True))
    assert outcomes == [
        "Delivery failed for good; soft bounce 1 of 3",
        "Delivery failed for good; soft bounce 2 of 3",
        "Delivery failed for good; soft bounce 1 of 3",
        "Delivery failed for good; soft bounce 2 of 3",
        "Delivery failed for good; subscriber bounced (3 soft bounces in 14 days)",
    ]
    assert all(d.status == Delivery.Status.FAILED_PERMANENT for d in ada.deliveries.all())


def last_envelope(smtp):
    return smtp.envelopes[-1]


def test_a_complainer_who_signs_up_again_must_confirm_again(
    smtp, client, imap_mailbox, django_capture_on_commit_callbacks, eager_celery
):
    load_day()
    ada = make_subscriber("ada@example.org", TOPIC, signup_mail_sent_at=timezone.now() - dt.timedelta(days=30))
    send_edition()
    imap_mailbox.deliver(returned("arf-complaint.eml", envelope_to(smtp, ada.email)))
    tasks.read_bounce_mailbox()
    smtp.envelopes.clear()

    post(client, django_capture_on_commit_callbacks, "/", signup_data(email="ada@example.org"))

    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.UNSUBSCRIBED  # until the address confirms the new signup
    (confirmation,) = smtp.to("ada@example.org")
    assert "confirm" in confirmation["Subject"].lower()
    send_edition(load_later_day(1))
    assert len(smtp.to("ada@example.org")) == 1  # no digest until they confirm


@pytest.mark.django_db(transaction=True)
def test_the_smtp_endpoint_takes_a_relayed_bounce_and_acts_on_it(smtp):
    load_day()
    ada = make_subscriber("ada@example.org", TOPIC)
    bob = make_subscriber("bob@example.org", TOPIC)
    send_edition()
    port = free_port()
    endpoint = smtp_endpoint.endpoint("127.0.0.1", port)
    endpoint.start()
    try:
        for who, sample in ((ada, "exchange.eml"), (bob, "arf-complaint.eml")):
            envelope = envelope_to(smtp, who.email)
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as relay:
                relay.sendmail("", [envelope.mail_from], returned(sample, envelope))
    finally:
        endpoint.stop()

    ada.refresh_from_db()
    bob.refresh_from_db()
    assert ada.status == Subscriber.Status.BOUNCED
    assert ada.deliveries.get().status == Delivery.Status.FAILED_PERMANENT
    assert bob.status == Subscriber.Status.UNSUBSCRIBED
    assert set(ReturnedMessage.objects.values_list("source", "kind")) == {
        ("smtp", ReturnedMessage.Kind.HARD_BOUNCE),
        ("smtp", ReturnedMessage.Kind.COMPLAINT),
    }
    smtp.envelopes.clear()
    send_edition(load_later_day(1))
    assert smtp.messages == []


def test_staff_see_bounces_and_complaints_per_day_the_unplaced_messages_and_what_changed_a_subscriber(
    smtp, imap_mailbox, staff_client
):
    load_day()
    ada, bob = make_subscriber("ada@example.org", TOPIC), make_subscriber("bob@example.org", TOPIC)
    send_edition()
    imap_mailbox.deliver(returned("postfix-dsn.eml", envelope_to(smtp, ada.email)))
    imap_mailbox.deliver(returned("arf-complaint.eml", envelope_to(smtp, bob.email)))
    imap_mailbox.deliver(returned("junk.eml", envelope_to(smtp, bob.email)))
    tasks.read_bounce_mailbox()
    today = timezone.now().date().isoformat()

    page = staff_client.get("/admin/dashboard/").content.decode()

    returned_table = page[page.index('id="pb-returned"') :]
    assert f'<td class="nowrap">{today}</td><td class="num">1</td><td class="num">1</td>' in returned_table
    assert "Waiting for a look (1)" in page and "Your exclusive offer inside" in page
    delivery_page = staff_client.get(f"/admin/digest/delivery/{ada.deliveries.get().pk}/change/").content.decode()
    assert "Hard bounce" in delivery_page and "User unknown" in delivery_page
    subscriber_page = staff_client.get(f"/admin/subscriptions/subscriber/{bob.pk}/change/").content.decode()
    assert "Complaint" in subscriber_page and "Subscriber unsubscribed at once (complaint)" in subscriber_page
    assert "Feedback-Type: abuse" in subscriber_page
