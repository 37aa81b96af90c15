"""The staff dashboard: its figures against rows made here, its access, and its two forms."""

from __future__ import annotations

import datetime as dt
import html
import re
from email.utils import make_msgid

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail

from digest import carried
from digest.models import Delivery, Edition, Paper, Rating
from subscriptions.models import Subscriber
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/dashboard/"
PROGRESS = "/admin/dashboard/progress.json"
TODAY = dt.datetime(2025, 9, 4, 12, 0, tzinfo=dt.UTC)
S = Delivery.Status


@pytest.fixture
def on_sept_4():
    with time_machine.travel(TODAY, tick=False):
        yield


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T09:00:00+00:00")


def deliver(subscriber: Subscriber, edition_date: dt.date, status: str, *papers: Paper) -> Delivery:
    return Delivery.objects.create(
        subscriber=subscriber,
        edition_date=edition_date,
        status=status,
        message_id=make_msgid("test"),
        sent_at=at(edition_date.isoformat()) if status == S.SENT else None,
        carried=carried.pack((paper.pk, 1.0, "", "") for paper in papers),
    )


def cell(page: str, element_id: str) -> str:
    """The text of one element with this id, tags stripped and spaces collapsed."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:p|ul|table|section|div)>', page, re.S)
    assert match, f"no element #{element_id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


@pytest.fixture
def a_week_of_paperboy(on_sept_4) -> dict:
    """Eight subscribers, two editions of deliveries, one failing source."""
    edition = load_day()  # 98 papers on 2025-09-03
    edition.source_report = {
        "hf": {"papers": 98},
        "arxiv:cs.CL": {"papers": 40},
        "arxiv:cs.CV": {"error": "rss.arxiv.org timed out after 20s"},
    }
    edition.save()
    first, second, third = Paper.objects.order_by("-upvotes", "arxiv_id")[:3]
    joined, old = at("2025-09-01"), at("2025-07-01")
    active = [
        make_subscriber(f"a{n}@example.com", *topics, created_at=joined, confirmed_at=joined)
        for n, topics in enumerate([["LLM agents"], ["llm agents", "robotics"], ["robotics"], [], []], 1)
    ]
    make_subscriber("new@example.com", "quantum", status=Subscriber.Status.PENDING, created_at=at("2025-09-02"))
    make_subscriber(
        "gone@example.com",
        status=Subscriber.Status.UNSUBSCRIBED,
        created_at=old,
        confirmed_at=old,
        unsubscribed_at=at("2025-09-03"),
    )
    paused = make_subscriber("paused@example.com", "llm agents", status=Subscriber.Status.PAUSED, created_at=old)
    a1, a2, a3, a4, a5 = active
    for subscriber in (a1, a2, a3):
        deliver(subscriber, EDITION_DATE, S.SENT, first)
    deliver(a1, EDITION_DATE - dt.timedelta(days=1), S.SENT, first, second)
    deliver(a4, EDITION_DATE, S.FAILED_TEMPORARY, third)
    deliver(a5, EDITION_DATE, S.FAILED_PERMANENT, third)
    deliver(paused, EDITION_DATE, S.PENDING, third)
    return {"first": first, "second": second}


def test_the_dashboard_shows_the_figures_of_the_rows_it_was_given(staff_client, a_week_of_paperboy):
    page = staff_client.get(DASHBOARD).content.decode()

    for label, count in [("Active", 5), ("Pending confirmation", 1), ("Paused", 1), ("Unsubscribed", 1)]:
        assert f'data-status-count="{label}">{count}<' in page
    assert cell(page, "pb-confirmation") == "83.3% 5 of 6 who signed up confirmed their address"
    assert "6 signed up, 1 unsubscribed in the last 30 days." in page
    # Today's run sends the newest edition: 3 sent, 2 failed (failed + gave up), 1 pending.
    assert "Today's run: edition of 2025-09-03" in page
    assert cell(page, "pb-progress-states") == "Sent: 3 Failed: 2 Pending: 1 Sending: 0 Skipped: 0"
    assert '<span data-field="finished_percent">83.3</span>% finished' in page
    assert '<span data-field="subscribers_taking_it">5</span>' in page
    deliveries = cell(page, "pb-deliveries")
    assert "2025-09-03 3 2 1 0 0" in deliveries and "2025-09-02 1 0 0 0 0" in deliveries
    assert "2025-09-03 98 40 98 arxiv:cs.CV: rss.arxiv.org timed out after 20s" in cell(page, "pb-ingest")
    sources = cell(page, "pb-sources")
    assert "arxiv:cs.CL 2025-09-03 40 none" in sources
    assert "⚠ arxiv:cs.CV never 0 2025-09-03: rss.arxiv.org timed out after 20s" in sources
    assert "hf 2025-09-03 98 none" in sources
    # Case folded, active subscribers only: the paused and the pending subscriber's topics don't count.
    assert cell(page, "pb-topics") == "llm agents 2 robotics 2"
    most_sent = cell(page, "pb-most-sent")
    assert most_sent.startswith(f"{a_week_of_paperboy['first'].title[:80]}")
    assert most_sent.endswith("1") and " 4 " in most_sent


def test_the_charts_are_inline_svg_with_the_same_figures(staff_client, a_week_of_paperboy):
    page = staff_client.get(DASHBOARD).content.decode()

    assert page.count('<figure class="pb-chart"><svg viewBox=') == 4
    assert 'aria-label="Deliveries per edition day. Sent: 4; Failed: 2; Pending: 1; Sending: 0; Skipped: 0"' in page
    assert 'aria-label="Sign-ups and unsubscribes per day. Sign-ups: 6; Unsubscribes: 1"' in page
    # Two from July, five on Sep 1, one on Sep 2, one unsubscribed on Sep 3.
    assert 'aria-label="Subscribers over time. from 2 to 7"' in page
    for day, subscribed in [("Aug 31", 2), ("Sep 1", 7), ("Sep 2", 8), ("Sep 3", 7), ("Sep 4", 7)]:
        assert f"<title>{day}: {subscribed} subscribed</title>" in page
    assert 'aria-label="Papers read per source per day. Hugging Face papers read: 98; arXiv papers read: 40"' in page
    assert "<title>Sep 3: 3 sent</title>" in page
    # Nothing loaded from elsewhere: the page works offline.
    assert re.findall(r'(?:src|href)="(https?:)?//[^"]*\.(?:js|css)', page) == []


def test_todays_progress_is_served_as_json_for_the_page_to_poll(staff_client, a_week_of_paperboy):
    progress = staff_client.get(PROGRESS).json()
    assert progress["edition_date"] == "2025-09-03"
    assert progress["counts"] == {"sent": 3, "failed": 2, "pending": 1, "sending": 0, "skipped": 0}
    assert (progress["planned"], progress["finished_percent"]) == (6, 83.3)

    Delivery.objects.filter(status=S.PENDING).update(status=S.SENT)

    progress = staff_client.get(PROGRESS).json()
    assert progress["counts"]["sent"] == 4 and progress["finished_percent"] == 100.0


def test_the_papers_most_liked_are_ranked_by_votes_with_both_counts(staff_client, on_sept_4):
    load_day()
    liked, mixed, disliked = Paper.objects.order_by("pk")[:3]
    readers = [make_subscriber(f"reader{n}@example.com", "robotics") for n in range(3)]
    for reader in readers:
        Rating.objects.create(subscriber=reader, paper=liked, vote=Rating.Vote.UP)
        Rating.objects.create(subscriber=reader, paper=disliked, vote=Rating.Vote.DOWN)
    Rating.objects.create(subscriber=readers[0], paper=mixed, vote=Rating.Vote.UP)
    Rating.objects.create(subscriber=readers[1], paper=mixed, vote=Rating.Vote.DOWN)

    page = staff_client.get(DASHBOARD).content.decode()

    most_liked = cell(page, "pb-most-liked")
    assert most_liked.startswith(liked.title[:40]) and "👍 3 · 👎 0" in most_liked
    assert "👍 1 · 👎 1" in most_liked
    assert disliked.title[:40] not in most_liked  # no 👍 at all: not "liked"


def test_the_dashboard_says_how_papers_are_matched(staff_client):
    # make test and CI install the semantic extra (tests/test_match_kinds.py covers the fallback).
    page = staff_client.get(DASHBOARD).content.decode()

    assert cell(page, "pb-matching") == "Matching: semantic + lexical (all-MiniLM-L6-v2)"


def test_an_empty_installation_shows_an_empty_dashboard(staff_client):
    page = staff_client.get(DASHBOARD).content.decode()

    assert "No edition with papers yet" in page
    assert "Nobody signed up in the last 30 days." in page
    assert "No digests sent yet." in page
    assert "No votes yet." in page
    assert staff_client.get(PROGRESS).json()["edition_date"] is None


def test_the_dashboard_costs_a_fixed_number_of_queries(staff_client, a_week_of_paperboy, django_assert_max_num_queries):
    for n in range(40):
        make_subscriber(f"more{n}@example.com", f"topic {n}")
    with django_assert_max_num_queries(20 + 3):  # + bounces and complaints per day, the latest unplaced, their count
        assert staff_client.get(DASHBOARD).status_code == 200


@pytest.mark.parametrize("url", [DASHBOARD, PROGRESS])
def test_anyone_but_staff_gets_the_login_page(client, url):
    response = client.get(url, follow=True)
    assert response.redirect_chain[-1][0].startswith(f"/admin/login/?next={url}")
    assert "Log in" in response.content.decode()

    client.force_login(get_user_model().objects.create_user("reader", "reader@example.com", "pw"))
    response = client.get(url, follow=True)
    assert "You are authenticated as reader, but are not authorized" in response.content.decode()
    assert "Today's run" not in response.content.decode()


def test_the_forms_are_for_staff_only_too(client):
    response = client.post("/admin/dashboard/ingest/", {"date": "2025-09-03"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not Edition.objects.exists()


def test_every_admin_page_links_to_the_dashboard(staff_client):
    for url in ["/admin/", "/admin/subscriptions/subscriber/"]:
        assert '<a href="/admin/dashboard/">Dashboard</a>' in staff_client.get(url).content.decode()


# --- Ingest now ---------------------------------------------------------------------------


def test_ingest_now_reads_the_sources_for_that_day_on_a_worker(
    staff_client, eager_celery, feed_server, on_the_recorded_day, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/admin/dashboard/ingest/", {"date": "2025-09-03"}, follow=True)

    assert "Ingest of 2025-09-03 queued" in response.content.decode()
    edition = Edition.objects.get(date=EDITION_DATE)
    assert edition.source_report["hf"] == {"papers": 98}
    assert edition.source_report["arxiv:cs.CL"]["papers"] > 0
    assert edition.papers().count() >= 98
    page = staff_client.get(DASHBOARD).content.decode()
    assert "hf 2025-09-03 98 none" in cell(page, "pb-sources")


def test_ingest_now_refuses_a_day_in_the_future(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = staff_client.post("/admin/dashboard/ingest/", {"date": "2999-01-01"})

    assert response.status_code == 400
    assert "That day has not happened yet." in response.content.decode()
    assert queued == []


# --- Test digest --------------------------------------------------------------------------


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return mail.outbox


def test_a_test_digest_is_the_subscribers_email_sent_to_another_address(staff_client, outbox):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning", max_papers=3)

    response = staff_client.post(
        "/admin/dashboard/test-digest/",
        {"subscriber": "ADA@example.com", "address": "staff@example.com", "date": ""},
        follow=True,
    )

    (message,) = outbox
    assert message.to == ["staff@example.com"]
    assert message.subject.startswith("[Test] ")
    assert f"Sent \u201c{message.subject}\u201d to staff@example.com." in response.content.decode()
    text = message.body
    assert "3 new papers matched your interests" in text
    assert "\u201creinforcement learning\u201d" in text
    html = message.alternatives[0][0]
    assert "reinforcement learning" in html and "<!--pb:" not in html
    assert not Delivery.objects.exists()  # a test is not the subscriber's delivery


def test_a_test_digest_carries_the_papers_already_planned_for_the_subscriber(staff_client, outbox):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    chosen = Paper.objects.get(title__icontains="You Only Teach Once")
    deliver(ada, EDITION_DATE, S.SENT, chosen)

    staff_client.post(
        "/admin/dashboard/test-digest/", {"subscriber": "ada@example.com", "address": "qa@example.com", "date": ""}
    )

    (message,) = outbox
    assert "1 new paper" not in message.body  # planned items carry no topic here, so it is "trending"
    assert chosen.title in message.body
    assert message.body.count("arxiv.org/abs/") == 1


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"subscriber": "nobody@example.com", "address": "qa@example.com"}, "No subscriber has the address"),
        ({"subscriber": "ada@example.com", "address": "not-an-address"}, "Enter a valid email address."),
        (
            {"subscriber": "ada@example.com", "address": "qa@example.com", "date": "2020-01-01"},
            "There is no edition with papers for 2020-01-01",
        ),
        ({"subscriber": "zed@example.com", "address": "qa@example.com"}, "matches zed@example.com&#x27;s topics"),
    ],
)
def test_a_test_digest_that_cannot_be_sent_says_why(staff_client, outbox, form, error):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    make_subscriber("zed@example.com", "zzzqqq xxyyzz")

    response = staff_client.post("/admin/dashboard/test-digest/", form)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert outbox == []
