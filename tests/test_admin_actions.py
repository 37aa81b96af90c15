"""The admin's staff actions: pause/resume, resend failed deliveries, CSV exports, preview links."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from email.utils import make_msgid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from digest import carried
from digest.models import Delivery, Paper
from subscriptions.models import Subscriber
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db

S = Delivery.Status
SUBSCRIBERS = "/admin/subscriptions/subscriber/"
DELIVERIES = "/admin/digest/delivery/"


def act(client, url: str, action: str, rows, follow: bool = True):
    return client.post(url, {"action": action, "_selected_action": [r.pk for r in rows]}, follow=follow)


def planned(subscriber: Subscriber, status: str, *papers: Paper, attempts: int = 0, date=EDITION_DATE) -> Delivery:
    delivery = Delivery.objects.create(
        subscriber=subscriber,
        edition_date=date,
        status=status,
        attempts=attempts,
        message_id=make_msgid("test"),
        last_error="451 4.3.0 Try again later" if status != S.PENDING else "",
        carried=carried.pack((paper.pk, 0.9, "", "Matches") for paper in papers),
    )
    return delivery


# --- Pause and resume -------------------------------------------------------------------


def test_pausing_stops_only_active_subscribers_and_resuming_restarts_only_paused_ones(staff_client):
    ada = make_subscriber("ada@example.com")
    bob = make_subscriber("bob@example.com")
    gone = make_subscriber("gone@example.com", status=Subscriber.Status.UNSUBSCRIBED)

    page = act(staff_client, SUBSCRIBERS, "pause", [ada, gone]).content.decode()

    assert "Paused 1 of 2 (only active subscribers can be paused)." in page
    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses == {"ada@example.com": "paused", "bob@example.com": "active", "gone@example.com": "unsubscribed"}

    page = act(staff_client, SUBSCRIBERS, "resume", [ada, bob, gone]).content.decode()

    assert "Resumed 1 of 3 (only paused subscribers resume)." in page
    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses == {"ada@example.com": "active", "bob@example.com": "active", "gone@example.com": "unsubscribed"}


def test_a_paused_subscriber_gets_no_digest_until_resumed(staff_client, settings, smtp):
    from django.core.management import call_command

    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    act(staff_client, SUBSCRIBERS, "pause", [ada])

    call_command("send_digests", "--date", EDITION_DATE.isoformat())
    assert smtp.messages == []

    act(staff_client, SUBSCRIBERS, "resume", [ada])
    call_command("send_digests", "--date", EDITION_DATE.isoformat())
    assert [m["To"] for m in smtp.messages] == ["ada@example.com"]


# --- Resend failed deliveries -------------------------------------------------------------


def test_resending_failed_deliveries_sends_them_and_leaves_the_rest_alone(
    staff_client, smtp, eager_celery, django_capture_on_commit_callbacks
):
    load_day()
    paper = Paper.objects.order_by("-upvotes").first()
    retrying = planned(make_subscriber("retry@example.com"), S.FAILED_TEMPORARY, paper, attempts=1)
    refused = planned(make_subscriber("refused@example.com"), S.FAILED_PERMANENT, paper, attempts=3)
    unknown = planned(make_subscriber("unknown@example.com"), S.SENDING, paper, attempts=1)
    done = planned(make_subscriber("done@example.com"), S.SENT, paper, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        page = act(staff_client, DELIVERIES, "resend_failed", [retrying, refused, unknown, done]).content.decode()

    assert "2 failed deliveries queued to be sent again; 2 not in a failed state were left alone." in page
    assert sorted(m["To"] for m in smtp.messages) == ["refused@example.com", "retry@example.com"]
    assert paper.title in smtp.to("retry@example.com")[0].get_body(("plain",)).get_content()
    statuses = dict(Delivery.objects.values_list("subscriber__email", "status"))
    assert statuses == {
        "retry@example.com": S.SENT,
        "refused@example.com": S.SENT,
        "unknown@example.com": S.SENDING,  # the server may have it: never resent by this action
        "done@example.com": S.SENT,
    }
    assert Delivery.objects.get(pk=refused.pk).attempts == 1  # a fresh count, then one attempt


def test_the_dashboards_failed_deliveries_link_lists_every_failed_state_and_nothing_else(staff_client):
    load_day()
    planned(make_subscriber("retry@example.com"), S.FAILED_TEMPORARY)
    planned(make_subscriber("refused@example.com"), S.FAILED_PERMANENT)
    planned(make_subscriber("done@example.com"), S.SENT)
    dashboard = staff_client.get("/admin/dashboard/").content.decode()
    link = re.search(r'<a href="(/admin/digest/delivery/\?status__in=[^"]+)">Failed deliveries</a>', dashboard)

    page = staff_client.get(html.unescape(link.group(1))).content.decode()

    assert "retry@example.com" in page and "refused@example.com" in page
    assert "done@example.com" not in page


def test_staff_who_may_only_view_cannot_pause_or_resend(client):
    viewer = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_subscriber", "view_delivery"]))
    client.force_login(viewer)
    ada = make_subscriber("ada@example.com")

    act(client, SUBSCRIBERS, "pause", [ada])

    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE
    page = client.get(SUBSCRIBERS).content.decode()
    assert 'value="export_csv"' in page and 'value="pause"' not in page


# --- CSV ------------------------------------------------------------------------------------


def read_csv(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="paperboy-')
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_subscribers_export_as_csv_with_everything_they_follow(staff_client):
    ada = make_subscriber(
        "ada@example.com",
        "reinforcement learning",
        '=HYPERLINK("http://evil")',
        timezone="Europe/Paris",
        frequency=Subscriber.Frequency.WEEKLY,
        weekly_day=4,
        created_at=dt.datetime(2025, 9, 1, 8, 30, tzinfo=dt.UTC),
    )
    make_subscriber("bob@example.com")
    ada.interests.create(kind="author", value="Yann LeCun")
    ada.interests.create(kind="category", value="cs.RO")
    ada.interests.create(kind="exclude", value="medical imaging")

    rows = read_csv(act(staff_client, SUBSCRIBERS, "export_csv", [ada], follow=False))

    assert rows == [
        {
            "id": str(ada.pk),
            "email": "ada@example.com",
            "status": "active",
            "created_at": "2025-09-01T08:30:00+00:00",
            "confirmed_at": "",
            "unsubscribed_at": "",
            "timezone": "Europe/Paris",
            "send_hour": "8",
            "frequency": "weekly",
            "weekly_day": "Friday",
            "max_papers": "10",
            # Sorted as the model orders interests; a formula is defused for spreadsheets.
            "interests": "author: Yann LeCun; category: cs.RO; exclude: medical imaging; "
            '=HYPERLINK("http://evil"); reinforcement learning',
        }
    ]


def test_exporting_everything_follows_the_changelist_filter(staff_client):
    make_subscriber("ada@example.com")
    make_subscriber("bob@example.com", status=Subscriber.Status.PAUSED)
    make_subscriber("cy@example.com", status=Subscriber.Status.PAUSED)

    response = staff_client.post(
        f"{SUBSCRIBERS}?status__exact=paused",
        {"action": "export_csv", "select_across": "1", "index": "0", "_selected_action": ["0"]},
    )

    assert [row["email"] for row in read_csv(response)] == ["bob@example.com", "cy@example.com"]


def test_deliveries_export_as_csv(staff_client):
    load_day()
    first, second = Paper.objects.order_by("-upvotes")[:2]
    ada = make_subscriber("ada@example.com")
    failed = planned(ada, S.FAILED_TEMPORARY, first, second, attempts=2)
    planned(make_subscriber("bob@example.com"), S.SENT, first)

    rows = read_csv(act(staff_client, DELIVERIES, "export_csv", [failed], follow=False))

    assert rows == [
        {
            "id": str(failed.pk),
            "subscriber_email": "ada@example.com",
            "edition_date": "2025-09-03",
            "status": S.FAILED_TEMPORARY.value,
            "attempts": "2",
            "papers": "2",
            "created_at": failed.created_at.isoformat(),
            "sent_at": "",
            "message_id": failed.message_id,
            "last_error": "451 4.3.0 Try again later",
        }
    ]


# --- Preview and test digest links ----------------------------------------------------------


def test_the_subscriber_page_links_to_the_staff_preview_of_their_newest_digest(staff_client):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")

    page = staff_client.get(f"{SUBSCRIBERS}{ada.pk}/change/").content.decode()

    assert f'<a href="/staff/preview/?subscriber={ada.pk}&amp;date=2025-09-03">' in page
    assert "Preview their digest of 2025-09-03" in page


def test_send_a_test_digest_opens_the_dashboard_form_for_that_subscriber(staff_client):
    ada = make_subscriber("ada@example.com")

    response = act(staff_client, SUBSCRIBERS, "send_test_digest", [ada], follow=False)

    assert response["Location"] == "/admin/dashboard/?as=ada%40example.com#pb-test-digest"
    page = staff_client.get(response["Location"]).content.decode()
    assert 'name="subscriber" value="ada@example.com"' in page


def test_send_a_test_digest_wants_exactly_one_subscriber(staff_client):
    rows = [make_subscriber("ada@example.com"), make_subscriber("bob@example.com")]

    page = act(staff_client, SUBSCRIBERS, "send_test_digest", rows).content.decode()

    assert "Select one subscriber to send a test digest as." in page
