"""The preference center behind the manage link: edit, pause and resume, preview, feed, data."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.html import escape

from digest.day import plan_day
from digest.models import Delivery, Rating
from subscriptions import links
from subscriptions.models import Subscriber
from tests.digest_mail import send_edition
from tests.factories import EDITION_DATE, load_day, make_subscriber
from tests.signup_helpers import links_in, path_of, post, signup_data

# Web-triggered emails are Celery tasks: run them inline, into mail.outbox.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def ada() -> Subscriber:
    ada = make_subscriber("ada@example.com", "reinforcement learning", timezone="Europe/Paris")
    ada.interests.create(kind="author", value="Chelsea Finn")
    return ada


def manage_path(subscriber: Subscriber) -> str:
    return path_of(subscriber.manage_url)


def test_the_page_shows_the_current_preferences(client, ada):
    page = client.get(manage_path(ada)).content.decode()

    assert "Your Paperboy preferences" in page and "ada@example.com" in page
    assert ">\nreinforcement learning</textarea>" in page
    assert ">\nChelsea Finn</textarea>" in page
    assert 'value="Europe/Paris"' in page
    assert "Status: Active" in page and "Pause digests" in page


def test_saving_replaces_topics_and_settings(client, ada):
    data = signup_data(topics="diffusion models\nrobot manipulation", authors="", categories=["cs.CV"], max_papers="3")
    data.pop("email")

    response = client.post(manage_path(ada), data, follow=True)

    assert "Saved. Your next digest follows these preferences." in response.content.decode()
    ada.refresh_from_db()
    assert ada.interest_values("topic") == ["diffusion models", "robot manipulation"]
    assert ada.interest_values("author") == []
    assert ada.interest_values("category") == ["cs.CV"]
    assert (ada.max_papers, ada.send_hour) == (3, 7)


def test_the_topics_box_takes_seed_papers_and_exclusions_and_shows_them_back(client, ada):
    data = signup_data(topics="world models\nnot: medical imaging\narXiv:2509.01234v2", authors="", categories=[])
    data.pop("email")

    client.post(manage_path(ada), data)

    ada.refresh_from_db()
    assert ada.interest_values("topic") == ["world models"]
    assert ada.interest_values("exclude") == ["medical imaging"]
    assert ada.interest_values("paper") == ["2509.01234"]
    page = client.get(manage_path(ada)).content.decode()
    assert ">\nworld models\narXiv:2509.01234\nnot: medical imaging</textarea>" in page


def test_a_seed_paper_that_is_not_an_arxiv_id_is_refused_next_to_the_topics(client, ada):
    data = signup_data(topics="paper: my favourite one", authors="", categories=[])
    data.pop("email")

    page = client.post(manage_path(ada), data).content.decode()

    assert escape("'my favourite one' is not an arXiv id; write it like 2509.01234.") in page
    ada.refresh_from_db()
    assert ada.interest_values("topic") == ["reinforcement learning"]


def test_bad_input_changes_nothing_and_says_why(client, ada):
    data = signup_data(topics="diffusion models", timezone="Nowhere/Land")
    data.pop("email")

    response = client.post(manage_path(ada), data)

    page = response.content.decode()
    assert "is not a time zone we know" in page and "Nothing was changed." in page
    ada.refresh_from_db()
    assert ada.interest_values("topic") == ["reinforcement learning"]
    assert ada.timezone == "Europe/Paris"


def test_the_next_digest_is_saved_as_changed(client, ada, smtp):
    load_day()
    data = signup_data(topics="vision language models", authors="", categories=[])
    data.pop("email")
    client.post(manage_path(ada), data)

    send_edition()

    (delivery,) = Delivery.objects.all()
    matched = [item for item in delivery.carried_items() if item.matched_interest]
    assert matched and all("vision language models" in item.why for item in matched)


def test_pause_stops_digests_and_resume_restarts_them(client, ada, smtp):
    load_day()

    paused = client.post(f"{manage_path(ada)}status/", {"action": "pause"}, follow=True)

    assert "Paused. No digests until you resume." in paused.content.decode()
    assert "Resume digests" in paused.content.decode()
    send_edition()
    assert smtp.messages == []

    resumed = client.post(f"{manage_path(ada)}status/", {"action": "resume"}, follow=True)

    assert "Resumed." in resumed.content.decode()
    send_edition()
    assert [m["To"] for m in smtp.messages] == ["ada@example.com"]


def test_an_unsubscribed_reader_can_subscribe_again_from_the_page(client, ada, django_capture_on_commit_callbacks):
    ada.unsubscribe()
    Subscriber.objects.filter(pk=ada.pk).update(signup_mail_sent_at=timezone.now() - dt.timedelta(days=30))

    page = client.get(manage_path(ada)).content.decode()
    assert "Subscribe again" in page
    answer = post(client, django_capture_on_commit_callbacks, f"{manage_path(ada)}status/", {"action": "resume"})

    # The manage link alone does not restart mail: the address confirms again (issue 15, probe 5).
    assert "We sent a confirmation link to ada@example.com" in answer.content.decode()  # post() follows the redirect
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.UNSUBSCRIBED
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"] and message.subject == "Confirm your Paperboy subscription"
    (link,) = [link for link in links_in(message) if "/confirm/" in link]
    client.post(path_of(link))
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.ACTIVE and ada.unsubscribed_at is None
    assert ada.interest_values("topic") == ["reinforcement learning"]  # their preferences, as they were


def test_the_unsubscribe_button_posts_to_the_unsubscribe_link(client, ada):
    page = client.get(manage_path(ada)).content.decode()

    assert f'<form method="post" action="{ada.unsubscribe_url}">' in page


def test_the_preview_shows_what_the_next_digest_would_hold_with_why_lines(client, ada):
    load_day()

    page = client.get(manage_path(ada)).content.decode()

    assert "Your next digest would hold" in page and "Wednesday 3 September 2025" in page
    plan_day(EDITION_DATE, respect_send_hour=False)  # what the digest run itself picks
    # The preview lists the matches.
    items = [item for item in Delivery.objects.get().carried_items() if item.matched_interest]
    assert items
    for item in items:
        assert escape(item.paper.title) in page
        assert escape(item.why) in page


def test_the_preview_without_matches_says_so(client, ada):
    load_day()
    ada.interests.update(value="zebra husbandry")

    page = client.get(manage_path(ada)).content.decode()

    assert "Nothing from these papers matches your topics." in page


def test_the_feed_lists_sent_digests_as_atom(client, ada, smtp):
    load_day()
    send_edition()
    delivery = Delivery.objects.get()

    response = client.get(path_of(links.feed_url(ada.pk)))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.find(f"{ATOM}title").text == "Paperboy digests for ada@example.com"
    (entry,) = feed.findall(f"{ATOM}entry")
    count = len(delivery.carried_items())
    assert entry.find(f"{ATOM}title").text == f"Wednesday 3 September 2025: {count} papers"
    first_title = delivery.carried_items()[0].paper.title
    assert first_title in entry.find(f"{ATOM}summary").text
    assert entry.find(f"{ATOM}link").get("href") == links.web_view_url(ada.pk, EDITION_DATE)


def test_the_feed_leaves_out_digests_not_sent(client, ada):
    load_day()
    plan_day(EDITION_DATE, respect_send_hour=False)  # planned, not sent

    feed = ET.fromstring(client.get(path_of(links.feed_url(ada.pk))).content)

    assert feed.findall(f"{ATOM}entry") == []


def test_the_data_download_has_interests_settings_history_and_ratings(client, ada, smtp):
    load_day()
    send_edition()
    liked, disliked = (item.paper for item in Delivery.objects.get(subscriber=ada).carried_items()[:2])
    Rating.objects.create(subscriber=ada, paper=liked, vote="up")
    Rating.objects.create(subscriber=ada, paper=disliked, vote="down")

    response = client.get(f"{manage_path(ada)}data.json")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="paperboy-data.json"'
    data = json.loads(response.content)
    assert data["email"] == "ada@example.com" and data["status"] == "active"
    assert data["settings"]["timezone"] == "Europe/Paris"
    assert {(i["kind"], i["value"]) for i in data["interests"]} == {
        ("topic", "reinforcement learning"),
        ("author", "Chelsea Finn"),
    }
    (delivery,) = data["deliveries"]
    assert delivery["edition_date"] == "2025-09-03" and delivery["status"] == "sent"
    assert delivery["papers"][0]["why"].startswith(("Matches", "Partly matches"))
    assert sorted((r["arxiv_id"], r["title"], r["vote"]) for r in data["ratings"]) == sorted(
        [(liked.arxiv_id, liked.title, "up"), (disliked.arxiv_id, disliked.title, "down")]
    )


def test_the_manage_page_of_a_deleted_subscriber_is_a_clear_404(client, ada):
    path = manage_path(ada)
    ada.delete()

    response = client.get(path)

    assert response.status_code == 404 and "This link is not valid" in response.content.decode()


def test_a_pending_subscriber_is_told_to_confirm_first(client):
    pending = make_subscriber("new@example.com", status=Subscriber.Status.PENDING, signup_mail_sent_at=timezone.now())

    page = client.get(manage_path(pending)).content.decode()

    assert "Not confirmed yet" in page
