"""What an email carried is stored on its Delivery row (digest/carried.py): one row per email,
read by every page that shows it, and compacted after PAPERBOY_KEEP_DELIVERY_DETAIL_DAYS to
paper ids and scores, so the counts of what was sent stay true while the why-lines go."""

from __future__ import annotations

import datetime as dt
import html
import json
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from digest import carried, tasks
from digest.models import Delivery, Paper
from digest.render import trending_why
from digest.staff import dashboard
from subscriptions import links
from tests.digest_mail import send_edition
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db

SENT_AT = dt.datetime(2025, 9, 3, 12, 0, tzinfo=dt.UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def sent_day(smtp, lexical_only) -> list[Delivery]:
    with time_machine.travel(SENT_AT, tick=False):
        load_day()
        make_subscriber("ada@example.com", "reinforcement learning")
        make_subscriber("bob@example.com", "robot manipulation", max_papers=10)
        send_edition()
    return list(Delivery.objects.select_related("subscriber").order_by("subscriber__email"))


def test_planning_writes_one_row_per_email_with_its_papers_in_order(smtp, lexical_only):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")

    with CaptureQueriesContext(connection) as queries:
        send_edition()

    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "COPY"))]
    assert len(inserts) == 1 and '"digest_delivery"' in inserts[0]  # no second table
    (delivery,) = Delivery.objects.all()
    plan = delivery.carried
    assert set(plan) == {"papers", "scores", "whys", "why_of", "interests", "interest_of"}
    assert len(plan["papers"]) == len(set(plan["papers"])) == len(plan["scores"]) == len(plan["why_of"]) > 3
    assert len(plan["whys"]) == len(set(plan["whys"])) < len(plan["papers"])  # each distinct line once
    assert all(round(score, 4) == score for score in plan["scores"])
    items = delivery.carried_items()
    assert [i.position for i in items] == list(range(len(items)))
    matched = [i for i in items if i.matched]
    assert matched and items[: len(matched)] == matched  # "For you" first, then trending
    assert all(i.score > 0 and i.matched_interest == "reinforcement learning" for i in matched)
    assert items[len(matched) :] and all(i.score == 0 and i.why == trending_why(False) for i in items[len(matched) :])


def test_the_papers_of_many_deliveries_are_read_in_one_query(sent_day, django_assert_num_queries):
    deliveries = list(Delivery.objects.all())
    with django_assert_num_queries(1):
        carried.prefetch(deliveries)
        items = [d.carried_items() for d in deliveries]
    assert all(items) and all(isinstance(i.paper, Paper) for row in items for i in row)


def test_old_plans_are_compacted_by_the_daily_task_and_every_view_says_the_why_was_not_kept(
    sent_day, staff_client, client, settings
):
    settings.PAPERBOY_KEEP_DELIVERY_DETAIL_DAYS = 90
    ada = sent_day[0]
    before = {d.pk: d.carried_items() for d in sent_day}
    papers = list(Paper.objects.all())
    counts = carried.sent_counts(papers)
    assert sum(counts.values()) == sum(len(items) for items in before.values())

    with time_machine.travel(SENT_AT + dt.timedelta(days=90), tick=False):
        assert tasks.compact_old_plans() == 0  # the edition is 90 days old: kept
    with time_machine.travel(SENT_AT + dt.timedelta(days=91), tick=False):
        assert tasks.compact_old_plans() == 2
        assert tasks.compact_old_plans() == 0  # done once

        ada.refresh_from_db()
        assert set(ada.carried) == {"papers", "scores", "matched"}
        after = ada.carried_items()
        kept = before[ada.pk]
        assert [(i.paper, i.score, i.matched) for i in after] == [(i.paper, i.score, i.matched) for i in kept]
        assert {i.why for i in after} == {"Why not kept after 90 days"} and not any(i.matched_interest for i in after)
        assert carried.sent_counts(papers) == counts  # the counts stay true
        assert "reinforcement learning" not in json.dumps(ada.carried)  # the reader's interest is gone

        page = staff_client.get(f"/admin/digest/delivery/{ada.pk}/change/").content.decode()
        assert page.count("Why not kept after 90 days") == len(after)
        assert html.escape(after[0].paper.display_title, quote=False) in page

        feed = ET.fromstring(client.get(urlsplit(links.feed_url(ada.subscriber_id)).path).content)
        (entry,) = feed.findall(f"{ATOM}entry")
        assert entry.find(f"{ATOM}title").text.endswith(f": {len(after)} papers")
        assert "Why not kept after 90 days" in entry.find(f"{ATOM}summary").text

        data = client.get(f"{urlsplit(links.manage_url(ada.subscriber_id)).path}data.json").json()
        (sent,) = data["deliveries"]
        assert [p["arxiv_id"] for p in sent["papers"]] == [i.paper.arxiv_id for i in kept]
        assert {p["why"] for p in sent["papers"]} == {"Why not kept after 90 days"}

        web = client.get(urlsplit(links.web_view_url(ada.subscriber_id, EDITION_DATE)).path).content.decode()
        assert "For you" in web and "Trending today" in web  # its sections survive compaction
        assert "Why not kept after 90 days" in web


def test_rows_still_to_send_are_not_compacted(sent_day):
    ada, bob = sent_day
    Delivery.objects.filter(pk=bob.pk).update(status=Delivery.Status.FAILED_TEMPORARY)

    with time_machine.travel(SENT_AT + dt.timedelta(days=200), tick=False):
        assert carried.compact_old(days=90) == 1

    assert "whys" in Delivery.objects.get(pk=bob.pk).carried and "whys" not in Delivery.objects.get(pk=ada.pk).carried


def test_most_sent_counts_each_email_once_by_when_it_was_sent(sent_day):
    expected = {}
    for delivery in sent_day:
        for paper_id in carried.paper_ids(delivery):
            expected[paper_id] = expected.get(paper_id, 0) + 1

    with time_machine.travel(SENT_AT + dt.timedelta(days=29), tick=False):
        top = dashboard.papers_most_sent(limit=100)
        assert {p.pk: p.times_sent for p in top} == expected
    with time_machine.travel(SENT_AT + dt.timedelta(days=31), tick=False):
        assert dashboard.papers_most_sent() == []


def test_staff_find_which_deliveries_carried_a_paper_by_its_arxiv_id(sent_day, staff_client):
    ada, bob = sent_day
    only_ada = next(p for p in carried.paper_ids(ada) if p not in carried.paper_ids(bob))
    both = next(p for p in carried.paper_ids(ada) if p in carried.paper_ids(bob))
    papers = Paper.objects.in_bulk([only_ada, both])

    page = staff_client.get("/admin/digest/delivery/", {"q": papers[only_ada].arxiv_id}).content.decode()
    assert page.count('class="field-subscriber nowrap"') == 1 and "ada@example.com" in page
    page = staff_client.get("/admin/digest/delivery/", {"q": papers[both].arxiv_id}).content.decode()
    assert page.count('class="field-subscriber nowrap"') == 2

    delivery_page = staff_client.get(f"/admin/digest/delivery/{ada.pk}/change/").content.decode()
    for item in ada.carried_items():
        assert f'href="/admin/digest/paper/{item.paper.pk}/change/"' in delivery_page
        assert html.escape(item.why, quote=False) in delivery_page or html.escape(item.why) in delivery_page


def test_a_paper_an_email_carried_cannot_be_deleted_one_nobody_was_sent_can(sent_day, staff_client):
    sent = Paper.objects.get(pk=carried.paper_ids(sent_day[0])[0])
    everything_sent = {p for d in sent_day for p in carried.paper_ids(d)}
    unsent = Paper.objects.exclude(pk__in=everything_sent).first()

    assert staff_client.get(f"/admin/digest/paper/{sent.pk}/delete/").status_code == 403
    assert staff_client.post(f"/admin/digest/paper/{sent.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Paper.objects.filter(pk=sent.pk).exists()
    assert "delete_selected" not in staff_client.get("/admin/digest/paper/").content.decode()

    staff_client.post(f"/admin/digest/paper/{unsent.pk}/delete/", {"post": "yes"})
    assert not Paper.objects.filter(pk=unsent.pk).exists()
