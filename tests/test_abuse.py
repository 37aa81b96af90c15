"""Issue 15, probes 3 to 6: what a visitor can make Paperboy send, to whom and how often, and
what a link that leaked gives away."""

from __future__ import annotations

import datetime as dt
import time
import xml.etree.ElementTree as ET

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from subscriptions import links
from subscriptions.models import Subscriber
from tests.digest_mail import send_edition
from tests.factories import load_day, make_subscriber
from tests.signup_helpers import links_in, path_of, post, signup_data, without_csrf

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

PHISHING = "URGENT your account is locked Re-validate at https://evil.example/login"
LONG_AGO = dt.timedelta(days=30)


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    """POST as a browser would, from `ip`, and run what the commit queues (the emails)."""

    def send(path: str, data: dict, ip: str = "192.0.2.1"):
        return post(client, django_capture_on_commit_callbacks, path, data, REMOTE_ADDR=ip)

    return send


def to_mailbox(local: str = "victim", domain: str = "example.com") -> list[mail.EmailMessage]:
    """Every email that reached one mailbox, whatever spelling of it was used."""
    return [m for m in mail.outbox if m.to[0].split("@")[0].split("+")[0].lower() == local and domain in m.to[0]]


# --- Probe 3: no text of the requester's in mail to someone else --------------------------


def test_the_confirmation_email_carries_nothing_the_requester_typed(send):
    send("/", signup_data(email="victim@example.com", topics=PHISHING, authors="Evil Example"))

    (message,) = mail.outbox
    html, _ = message.alternatives[0]
    for part in (message.subject, message.body, html):
        assert "evil.example" not in part and "URGENT" not in part and "Evil Example" not in part
    assert links_in(message)[0].startswith("http://localhost:8000/confirm/")


def test_the_address_change_email_carries_nothing_the_requester_chose(send):
    mallory = make_subscriber("urgent.revalidate.at.evil.example@example.org", PHISHING[:90])

    send(f"{path_of(mallory.manage_url)}email/", {"email": "victim@example.com"})

    (message,) = mail.outbox
    html, _ = message.alternatives[0]
    for part in (message.subject, message.body, html):
        assert "evil" not in part and "URGENT" not in part
    assert "victim@example.com" in message.body  # only its own address


# --- Probe 4: limits on the mailbox, by what is sent, never against its owner ------------


def test_plus_tags_and_domain_spellings_count_against_one_mailbox(send, settings):
    settings.PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS = 5
    variants = [f"victim+{n}@example.com" for n in range(8)] + ["Victim@EXAMPLE.com", "victim@example.com"]
    for n, address in enumerate(variants):
        assert send("/", signup_data(email=address), ip=f"192.0.2.{n}").status_code == 200

    assert len(to_mailbox()) == 5


def test_the_change_email_form_counts_the_cleaned_address(send, settings):
    settings.PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS = 5
    mallory = make_subscriber("mallory@example.org", "robots")
    spellings = [" victim@example.com", "victim@example.com ", "\tvictim@example.com", "VICTIM@example.com"]
    for n in range(12):
        send(f"{path_of(mallory.manage_url)}email/", {"email": spellings[n % 4]}, ip=f"192.0.2.{n}")

    assert len(to_mailbox()) == 5
    assert {m.to[0] for m in to_mailbox()} <= {"victim@example.com", "VICTIM@example.com"}


def test_one_ipv6_64_is_one_client(send, settings):
    settings.PAPERBOY_SIGNUP_LIMIT_PER_IP = 20
    statuses = [
        send("/", signup_data(email=f"r{n}@example.com"), ip=f"2001:db8:1:2::{n:x}").status_code for n in range(25)
    ]
    other_network = send("/", signup_data(email="other@example.com"), ip="2001:db8:1:3::1")

    assert statuses == [200] * 20 + [429] * 5
    assert other_network.status_code == 200
    assert Subscriber.objects.count() == 21


def test_invalid_posts_cost_no_allowance(send, settings):
    settings.PAPERBOY_SIGNUP_LIMIT_PER_IP = 20
    for _ in range(20):
        assert send("/", signup_data(email="not an address")).status_code == 200

    assert send("/", signup_data(email="ada@example.com")).status_code == 200
    assert len(mail.outbox) == 1


def test_posts_from_many_ips_for_an_address_do_not_lock_its_owner_out(send, settings):
    settings.PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS = 5
    make_subscriber("victim@example.com", signup_mail_sent_at=timezone.now() - LONG_AGO)
    pages = [send("/", signup_data(email="victim@example.com"), ip=f"198.51.100.{n}") for n in range(5)]
    assert len(mail.outbox) == 1  # five asked, one sent: the address's cooldown

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        own = send("/signup/resend/", {"email": "victim@example.com"}, ip="203.0.113.7")

    assert own.status_code == 200 and "Check your inbox" in own.content.decode()
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == "You're already subscribed to Paperboy"
    assert {p.status_code for p in pages} == {200}


def test_a_mailbox_at_its_limit_still_gets_one_email_per_cooldown_and_the_same_page(send, settings):
    settings.PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS = 2
    settings.PAPERBOY_SIGNUP_LIMITED_COOLDOWN = 1
    settings.PAPERBOY_SIGNUP_MAIL_COOLDOWN = 0
    pages = [send("/", signup_data(email=f"victim+{n}@example.com"), ip=f"198.51.100.{n}") for n in range(4)]
    assert len(to_mailbox()) == 2

    time.sleep(1.2)  # the cooldown of a limited mailbox (Redis keeps its own clock)
    late = send("/", signup_data(email="victim@example.com"), ip="203.0.113.7")
    again = send("/", signup_data(email="victim+9@example.com"), ip="203.0.113.8")

    assert len(to_mailbox()) == 3
    assert to_mailbox()[-1].to == ["victim@example.com"]
    assert {p.status_code for p in [*pages, late, again]} == {200}
    first, limited = (
        without_csrf(p.content.decode()).replace(f"victim+{n}@example.com", "")
        for p, n in [(pages[0], 0), (pages[3], 3)]
    )
    assert first == limited


def test_strangers_filling_a_limited_mailbox_never_take_its_owners_manage_link(send, settings):
    settings.PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS = 2
    settings.PAPERBOY_SIGNUP_LIMITED_COOLDOWN = 1
    settings.PAPERBOY_SIGNUP_MAIL_COOLDOWN = 0
    make_subscriber("victim@example.com", "robots")
    mallory = make_subscriber("mallory@example.org", "robots")

    def stranger_asks_for_an_address_change(n: int) -> None:
        send(f"{path_of(mallory.manage_url)}email/", {"email": "victim@example.com"}, ip=f"198.51.100.{n}")

    for n in range(3):  # the mailbox reaches its limit (the third waits for the cooldown)
        stranger_asks_for_an_address_change(n)
    assert [m.subject for m in to_mailbox()].count("Confirm your new address for Paperboy") == 2

    time.sleep(1.2)  # a new cooldown: the stranger asks first, as fast as they can ...
    stranger_asks_for_an_address_change(7)
    stranger_asks_for_an_address_change(8)
    own = send("/signup/resend/", {"email": "victim@example.com"}, ip="203.0.113.7")  # ... then the owner

    subjects = [m.subject for m in to_mailbox()]
    assert subjects.count("Confirm your new address for Paperboy") == 3  # one per cooldown
    assert subjects[-1] == "You're already subscribed to Paperboy"
    assert own.status_code == 200


# --- Probe 5: links ----------------------------------------------------------------------


def change_link(send, subscriber: Subscriber, new_email: str) -> str:
    mail.outbox.clear()
    send(f"{path_of(subscriber.manage_url)}email/", {"email": new_email})
    (link,) = [link for link in links_in(mail.outbox[-1]) if "/email-change/" in link]
    return path_of(link)


def test_an_address_change_link_works_once_and_not_after_another_change(client, send):
    ada = make_subscriber("a@example.com", "robots")
    to_b = change_link(send, ada, "b@example.com")
    assert client.post(to_b).status_code == 302
    ada.refresh_from_db()
    to_c = change_link(send, ada, "c@example.com")
    assert client.post(to_c).status_code == 302

    replayed = client.post(to_b)
    replayed_again = client.post(to_c)

    ada.refresh_from_db()
    assert ada.email == "c@example.com"
    assert "This link no longer works" in replayed.content.decode()
    assert "manage" not in replayed.content.decode()  # B's holder gets no way into C's subscription
    assert replayed_again.status_code == 200


def test_an_address_change_link_is_void_after_moving_back(client, send):
    ada = make_subscriber("a@example.com", "robots")
    to_b = change_link(send, ada, "b@example.com")
    client.post(to_b)
    ada.refresh_from_db()
    client.post(change_link(send, ada, "a@example.com"))

    client.post(to_b)

    ada.refresh_from_db()
    assert ada.email == "a@example.com"


def test_the_web_view_reached_from_the_feed_gives_no_control_of_the_account(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()
    feed = ET.fromstring(client.get(path_of(links.feed_url(ada.pk))).content)
    (entry,) = feed.findall("{http://www.w3.org/2005/Atom}entry")

    page = client.get(path_of(entry.find("{http://www.w3.org/2005/Atom}link").get("href"))).content.decode()

    assert "reinforcement learning" in page.lower() or "Trending today" in page
    for path in ("/manage/", "/unsubscribe/", "/feedback/", "/feed/"):
        assert path not in page
    assert "ada@example.com" not in page
    (digest,) = mail.outbox  # the email itself keeps them
    html, _ = digest.alternatives[0]
    assert "/manage/" in html and "/unsubscribe/" in html and "/feedback/" in html


@pytest.mark.parametrize("status", [Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.BOUNCED])
def test_the_manage_link_does_not_restart_mail_without_a_new_confirmation(client, send, status):
    ada = make_subscriber("ada@example.com", "robots", status=status, signup_mail_sent_at=timezone.now() - LONG_AGO)

    send(f"{path_of(ada.manage_url)}status/", {"action": "resume"})

    ada.refresh_from_db()
    assert ada.status == status
    (message,) = mail.outbox
    (link,) = [link for link in links_in(message) if "/confirm/" in link]
    client.post(path_of(link))
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.ACTIVE
    assert client.post(path_of(link)).status_code == 200  # used: harmless, changes nothing


# --- Probe 6: a stranger's signup changes nothing of a known address ----------------------


@pytest.mark.parametrize(
    "status", [Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.PENDING, Subscriber.Status.BOUNCED]
)
def test_a_signup_for_a_known_address_waits_for_its_confirmation(client, send, status):
    ada = make_subscriber("ada@example.com", "robots", status=status, signup_mail_sent_at=timezone.now() - LONG_AGO)
    before = (ada.timezone, ada.send_hour, ada.frequency, ada.max_papers)

    send("/", signup_data(email="ada@example.com", topics="stranger things", timezone="Asia/Tokyo", send_hour="3"))

    ada.refresh_from_db()
    assert ada.status == status
    assert (ada.timezone, ada.send_hour, ada.frequency, ada.max_papers) == before
    assert ada.interest_values("topic") == ["robots"]
    assert ada.interest_values("author") == []
    (message,) = mail.outbox
    assert message.subject == "Confirm your Paperboy subscription"
    (link,) = [link for link in links_in(message) if "/confirm/" in link]
    assert client.get(path_of(link)).status_code == 200
    ada.refresh_from_db()
    assert ada.status == status  # opening the link changed nothing either
