"""Every figure staff read, on the dashboard and in the admin lists, against counts made here
straight from the rows, after a known day went through the real pipeline: `make run` offline
(every source fails for today, the sample day is loaded), three subscribers, the digests sent
over SMTP."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
import time_machine
from django.core.management import call_command
from django.utils.formats import date_format

from digest.management.commands.ingest_papers import SAMPLE_DATE
from digest.models import Delivery, Edition, Paper
from subscriptions.models import Subscriber
from tests.digest_mail import send_edition, text_part
from tests.factories import make_subscriber
from tests.html_pages import admin_column, by_id, parse_valid, text_of

pytestmark = pytest.mark.django_db

# The sample day is weeks old, as under `make run`.
TODAY = dt.datetime.combine(SAMPLE_DATE + dt.timedelta(days=47), dt.time(10), tzinfo=dt.UTC)


@pytest.fixture
def offline_sources(settings) -> None:
    settings.PAPERBOY_HF_API_URL = "http://127.0.0.1:9/api/daily_papers"  # nothing listens on the discard port
    settings.PAPERBOY_ARXIV_FEED_URL = "http://127.0.0.1:9/atom"
    settings.PAPERBOY_ARXIV_CATEGORIES = ["cs.AI", "cs.CL", "cs.CV", "cs.LG"]
    settings.PAPERBOY_ARXIV_PAUSE = 0
    settings.PAPERBOY_SOURCE_TIMEOUT = 1


@pytest.fixture
def three_digests_sent(settings, offline_sources, smtp, lexical_only) -> list:
    settings.DEBUG = True  # seed_dev runs only in development, as under `make run`
    with time_machine.travel(TODAY):
        call_command("ingest_papers", "--sample-if-offline", stdout=open("/dev/null", "w"))
        call_command("seed_dev", stdout=open("/dev/null", "w"))
        make_subscriber("ada@example.com", "large language model agents", "cs.CL", max_papers=5)
        make_subscriber("bo@example.com", "diffusion models", "author: Kaiming He")
        send_edition(SAMPLE_DATE)
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 3
    return smtp.messages


def papers_in(message) -> list[str]:
    """The arXiv ids of the papers an email held, in order (each card links its abstract page)."""
    return list(dict.fromkeys(re.findall(r"arxiv\.org/abs/(\d{4}\.\d{4,5})", text_part(message))))


def test_every_dashboard_figure_agrees_with_the_rows(staff_client, three_digests_sent):
    with time_machine.travel(TODAY):
        page = parse_valid(staff_client.get("/admin/dashboard/").content, "the dashboard")
    sent = Delivery.objects.filter(status=Delivery.Status.SENT)

    progress = text_of(by_id(page, "pb-progress"))
    taking = Subscriber.objects.taking_edition(SAMPLE_DATE).count()
    assert f"edition of {SAMPLE_DATE}" in progress
    assert f"{sent.count()} deliveries planned, for {taking} subscribers taking this edition" in progress
    assert text_of(by_id(page, "pb-progress-states")).startswith(f"Sent: {sent.count()} Failed: 0")

    for status, label in Subscriber.Status.choices:
        count = Subscriber.objects.filter(status=status).count()
        assert text_of(page.find(f".//td[@data-status-count='{label}']")) == str(count)

    # The deliveries chart and its table show the day's sends, however old the edition.
    assert f"{SAMPLE_DATE} {sent.count()} 0 0 0 0" in text_of(by_id(page, "pb-deliveries"))
    chart = page.find(".//div[@id='pb-delivery-chart']/figure/{http://www.w3.org/2000/svg}svg")
    assert f"Sent: {sent.count()};" in chart.get("aria-label")

    # Papers most sent: every paper the three emails held, counted from the emails themselves.
    in_emails = Counter(arxiv_id for message in three_digests_sent for arxiv_id in papers_in(message))
    rows = page.findall(".//table[@id='pb-most-sent']/tbody/tr")
    assert rows, "no papers listed as sent"
    for row in rows:
        link, count = row.findall("td")
        paper = Paper.objects.get(pk=link.find("a").get("href").rstrip("/").split("/")[-2])
        assert int(text_of(count)) == in_emails[paper.arxiv_id], paper.arxiv_id
    assert int(text_of(rows[0].findall("td")[1])) == max(in_emails.values())

    # Health and the dashboard agree: today's ingest read nothing from any of its five sources.
    today = Edition.objects.get(date=TODAY.date())
    assert len(today.source_report) == 5 and all("error" in r for r in today.source_report.values())
    assert (
        text_of(by_id(page, "pb-last-ingest"))
        == f"Last ingest, for {TODAY:%Y-%m-%d}: ⚠ no source could be read (5 tried)"
    )
    with time_machine.travel(TODAY):
        health = staff_client.get("/healthz?check=ingest")
    assert health.status_code == 503 and health.json()["checks"]["ingest"]["status"] == "fail"


def test_every_admin_list_figure_agrees_with_the_rows_and_the_emails(staff_client, three_digests_sent):
    by_address = {message["To"]: papers_in(message) for message in three_digests_sent}

    deliveries = parse_valid(staff_client.get("/admin/digest/delivery/").content, "the deliveries list")
    subscribers = admin_column(deliveries, "subscriber")
    papers = admin_column(deliveries, "paper_count")
    assert len(subscribers) == 3
    for subscriber, count in zip(subscribers, papers, strict=True):
        address = subscriber.split(" ")[0]
        delivery = Delivery.objects.get(subscriber__email=address)
        assert int(count) == len(delivery.carried_items()) == len(by_address[address]), address

    listed = parse_valid(staff_client.get("/admin/digest/paper/?o=-6").content, "the papers list")
    sent = list(Delivery.objects.filter(status=Delivery.Status.SENT))
    sent_per_paper = Counter(item.paper.arxiv_id for delivery in sent for item in delivery.carried_items())
    in_emails = Counter(arxiv_id for ids in by_address.values() for arxiv_id in ids)
    assert sent_per_paper == in_emails
    for arxiv_id, count in zip(admin_column(listed, "arxiv_id"), admin_column(listed, "times_sent"), strict=True):
        assert int(count) == in_emails[arxiv_id], arxiv_id

    editions = parse_valid(staff_client.get("/admin/digest/edition/").content, "the editions list")
    dates = admin_column(editions, "date")
    sample_row = dates.index(date_format(SAMPLE_DATE))
    listed_that_day = Paper.objects.filter(edition_date=SAMPLE_DATE).count()
    assert admin_column(editions, "papers_listed")[sample_row] == str(listed_that_day)
    assert admin_column(editions, "sent_count")[sample_row] == "3"

    people = parse_valid(staff_client.get("/admin/subscriptions/subscriber/").content, "the subscribers list")
    columns = [admin_column(people, name) for name in ("email", "interest_count", "sent_count")]
    for address, interests, sent in zip(*columns, strict=True):
        subscriber = Subscriber.objects.get(email=address)
        assert int(interests) == subscriber.interests.count()
        assert int(sent) == subscriber.deliveries.filter(status=Delivery.Status.SENT).count()


def test_one_of_everything_is_said_in_the_singular(staff_client, offline_sources, smtp, lexical_only):
    with time_machine.travel(TODAY):
        call_command("ingest_papers", "--sample-if-offline", stdout=open("/dev/null", "w"))
        make_subscriber("ada@example.com", "large language model agents")
        send_edition(SAMPLE_DATE)
        page = text_of(by_id(parse_valid(staff_client.get("/admin/dashboard/").content), "pb-progress"))

    assert "1 delivery planned, for 1 subscriber taking this edition" in page
