"""Staff run Paperboy from the admin."""

from __future__ import annotations

from email.utils import make_msgid

import pytest
from django.core.management import call_command
from django.utils import timezone

from digest.day import plan_day
from digest.deliver import send_batch, sendable_batches
from digest.models import Delivery
from subscriptions.models import Subscriber
from tests.digest_mail import send_edition, text_part
from tests.factories import EDITION_DATE, load_day, make_subscriber
from tests.html_pages import parse_valid

pytestmark = pytest.mark.django_db


def add_subscriber_in_admin(client, email: str, topics: list[str]):
    form = {
        "email": email,
        "status": "active",
        "timezone": "Europe/Paris",
        "send_hour": "8",
        "frequency": "daily",
        "weekly_day": "0",
        "max_papers": "5",
        "interests-TOTAL_FORMS": str(len(topics)),
        "interests-INITIAL_FORMS": "0",
        "interests-MIN_NUM_FORMS": "0",
        "interests-MAX_NUM_FORMS": "1000",
    }
    for n, topic in enumerate(topics):
        form |= {f"interests-{n}-kind": "topic", f"interests-{n}-value": topic}
    return client.post("/admin/subscriptions/subscriber/add/", form)


def test_a_subscriber_created_in_the_admin_receives_the_next_digest(staff_client, smtp):
    load_day()

    response = add_subscriber_in_admin(staff_client, "grace@example.com", ["robot manipulation"])
    assert response.status_code == 302, response.content.decode()[:2000]
    call_command("send_digests", "--date", "2025-09-03")

    (message,) = smtp.messages
    assert message["To"] == "grace@example.com"
    text = text_part(message)
    assert "You Only Teach Once" in text and "\u201crobot manipulation\u201d" in text
    assert len([i for i in Delivery.objects.get().carried_items() if i.matched_interest]) <= 5


def test_an_address_differing_only_in_case_is_refused(staff_client):
    make_subscriber("Grace@Example.com")

    response = add_subscriber_in_admin(staff_client, "grace@example.com", [])

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Subscriber.objects.count() == 1


def test_the_dashboard_lists_editions_with_source_health_and_delivery_counts(staff_client, smtp):
    edition = load_day()
    edition.source_report = {"hf": {"papers": 98}, "arxiv:cs.CL": {"error": "rss.arxiv.org timed out after 20s"}}
    edition.save()
    make_subscriber("ada@example.com", "reinforcement learning")
    send_edition()

    page = staff_client.get("/admin/digest/edition/").content.decode()

    assert "Sept. 3, 2025" in page
    assert "hf: 98 papers" in page
    assert "arxiv:cs.CL: FAILED (rss.arxiv.org timed out after 20s)" in page
    assert '<td class="field-sent_count">1</td>' in page


def test_staff_can_requeue_a_delivery_stuck_in_sending(staff_client, smtp):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    plan_day(EDITION_DATE, respect_send_hour=False)
    Delivery.objects.update(status=Delivery.Status.SENDING, attempts=1)
    delivery = Delivery.objects.get()

    staff_client.post("/admin/digest/delivery/", {"action": "mark_for_retry", "_selected_action": [delivery.pk]})
    for ids in sendable_batches(EDITION_DATE):
        send_batch(ids)

    assert [m["To"] for m in smtp.messages] == ["ada@example.com"]


@pytest.mark.parametrize(
    "url",
    ["/admin/", "/admin/subscriptions/subscriber/", "/admin/digest/paper/", "/admin/digest/delivery/"],
)
def test_admin_pages_load(staff_client, url):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    assert staff_client.get(url).status_code == 200


def test_a_deliverys_attempts_are_shown_and_a_resend_after_an_unknown_outcome_says_it_may_be_twice(staff_client, smtp):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    smtp.refuse_next = 1  # 451
    send_edition()
    smtp.drop_next = 1  # hangs up after the data: did it arrive?
    send_edition()
    send_edition()
    delivery = Delivery.objects.get()

    page = staff_client.get(f"/admin/digest/delivery/{delivery.pk}/change/").content.decode()
    listing = staff_client.get("/admin/digest/delivery/?uncertain=yes").content.decode()

    assert delivery.status == Delivery.Status.SENT
    for result in ["refused for now", "outcome unknown", "sent"]:
        assert f"<td>{result}</td>" in page
    assert "<td>451 4.3.0 Try again later</td>" in page
    assert "1 or 2" in page and "may have arrived twice" in page
    assert "ada@example.com" in listing and '<td class="field-copies">1 or 2</td>' in listing


def test_a_sent_deliverys_state_is_read_only_in_the_admin(staff_client):
    reader = Subscriber.objects.create(email="ada@example.com", status=Subscriber.Status.ACTIVE)
    sent_at = timezone.now()
    delivery = Delivery.objects.create(
        subscriber=reader,
        edition_date="2025-09-03",
        status=Delivery.Status.SENT,
        message_id=make_msgid("t"),
        claimed_at=sent_at,
        sent_at=sent_at,
    )
    url = f"/admin/digest/delivery/{delivery.pk}/change/"

    page = parse_valid(staff_client.get(url).content, "a delivery's admin page")

    inputs = {element.get("name") for element in page.iter("input")} | {e.get("name") for e in page.iter("select")}
    assert not inputs & {"status", "claimed_at_0", "claimed_at_1", "retry_at_0", "retry_at_1", "sent_at_0", "attempts"}
    assert not [e for e in page.iter("input") if e.get("type") == "submit" and e.get("name", "").startswith("_save")]
    staff_client.post(url, {"claimed_at_0": "2000-01-01", "claimed_at_1": "00:00", "status": "pending"})
    delivery.refresh_from_db()
    assert (delivery.status, delivery.claimed_at) == (Delivery.Status.SENT, sent_at)
