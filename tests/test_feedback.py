"""👍/👎 links: the page they open, the ratings they store, and what ratings do to the next digest."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.core import signing

from digest.day import plan_day
from digest.matching import semantic
from digest.matching.evaluation.harness import profiles
from digest.models import Delivery, Paper, Rating
from subscriptions import links
from tests.conftest import hf_day_items, save_screenshot
from tests.digest_mail import send_edition, text_part
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db

YESTERDAY = EDITION_DATE - dt.timedelta(days=1)


def path_of(url: str) -> str:
    return url.removeprefix(links.absolute(""))


@pytest.fixture
def paper() -> Paper:
    load_day()
    return Paper.objects.get(arxiv_id="2509.00035")  # A Comprehensive Survey of Continual Learning


def test_the_link_opens_a_confirm_page_that_changes_nothing(client, paper):
    ada = make_subscriber("ada@example.com", "continual learning")

    page = client.get(path_of(links.feedback_url(ada.pk, paper.pk, "up")))

    assert page.status_code == 200
    html = page.content.decode()
    assert "More papers like this?" in html
    assert paper.title in html
    assert '<form method="post">' in html and "Yes, more like this" in html
    assert not Rating.objects.exists()


def test_the_button_stores_the_rating_and_thanks(client, paper):
    ada = make_subscriber("ada@example.com", "continual learning")

    page = client.post(path_of(links.feedback_url(ada.pk, paper.pk, "down")))

    assert page.status_code == 200
    assert "Thanks, noted" in page.content.decode()
    assert "send fewer papers like it" in page.content.decode()
    assert list(Rating.objects.values_list("subscriber__email", "paper__arxiv_id", "vote")) == [
        ("ada@example.com", "2509.00035", "down")
    ]


def test_voting_again_replaces_the_rating(client, paper):
    ada = make_subscriber("ada@example.com", "continual learning")

    client.post(path_of(links.feedback_url(ada.pk, paper.pk, "down")))
    client.post(path_of(links.feedback_url(ada.pk, paper.pk, "up")))

    assert list(Rating.objects.values_list("vote", flat=True)) == ["up"]


def test_a_forged_or_cut_link_is_refused_and_stores_nothing(client, paper):
    ada = make_subscriber("ada@example.com", "continual learning")
    url = path_of(links.feedback_url(ada.pk, paper.pk, "up"))
    forged = links.sign(links.FEEDBACK_SALT, [ada.pk, paper.pk, "love"])
    other_purpose = links.sign(links.MANAGE_SALT, [ada.pk, paper.pk, "up"])

    for bad in (url[:-6] + "/", f"/feedback/{forged}/", f"/feedback/{other_purpose}/"):
        assert client.post(bad).status_code == 400
    assert "This link is not valid" in client.get(f"/feedback/{forged}/").content.decode()
    assert not Rating.objects.exists()


def test_a_link_to_a_deleted_subscriber_is_not_found(client, paper):
    ada = make_subscriber("ada@example.com", "continual learning")
    url = path_of(links.feedback_url(ada.pk, paper.pk, "up"))
    ada.delete()

    assert client.post(url).status_code == 404
    assert not Rating.objects.exists()


def test_the_token_carries_subscriber_paper_and_vote():
    token = links.feedback_url(7, 42, "up").rstrip("/").rsplit("/", 1)[1]

    assert links.unsign(links.FEEDBACK_SALT, token) == [7, 42, "up"]
    with pytest.raises(signing.BadSignature):
        links.unsign(links.UNSUBSCRIBE_SALT, token)


# --- What ratings do ---------------------------------------------------------------------


def split_day() -> None:
    """The recorded day as two editions: even papers yesterday (renumbered), odd papers today."""
    items = hf_day_items()
    yesterday = []
    for item in items[0::2]:
        item = copy.deepcopy(item)
        item["paper"]["id"] = item["paper"]["id"].replace("2509.", "2508.")
        yesterday.append(item)
    load_day(YESTERDAY, yesterday)
    load_day(EDITION_DATE, items[1::2])


@pytest.mark.skipif(not semantic.is_semantic(), reason="lexical stand-in vectors learn too little from ratings")
def test_ratings_on_yesterdays_papers_bring_similar_papers_today():
    split_day()
    continual = next(p for p in profiles() if p.name == "continual learning")
    relevant = {i for i, grade in continual.grades.items() if grade >= 2}
    liker = make_subscriber("liker@example.com", "large language models", max_papers=5)
    make_subscriber("plain@example.com", "large language models", max_papers=5)
    for paper in Paper.objects.filter(edition_date=YESTERDAY):
        liked = paper.arxiv_id.replace("2508.", "2509.") in relevant
        Rating.objects.create(subscriber=liker, paper=paper, vote="up" if liked else "down")

    plan_day(EDITION_DATE, respect_send_hour=False)

    def sent(email: str) -> list[str]:
        delivery = Delivery.objects.get(subscriber__email=email, edition_date=EDITION_DATE)
        return [item.paper.arxiv_id for item in delivery.carried_items()]

    assert len(relevant & set(sent("liker@example.com"))) > len(relevant & set(sent("plain@example.com")))
    whys = [item.why for item in Delivery.objects.get(subscriber=liker).carried_items()]
    assert "Similar to papers you liked" in whys


def test_planning_stores_each_papers_vector_once(smtp):
    load_day()
    make_subscriber("ada@example.com", "continual learning")

    plan_day(EDITION_DATE, respect_send_hour=False)

    assert Paper.objects.filter(vector_kind=semantic.vector_kind()).count() == 98
    vector = bytes(Paper.objects.get(arxiv_id="2509.00035").vector)
    assert len(vector) == 4 * semantic.dimensions()


def test_an_exclusion_keeps_its_papers_out_of_the_email(smtp):
    load_day()
    ada = make_subscriber("ada@example.com", "continual learning", max_papers=20)
    ada.interests.create(kind="exclude", value="medical")

    send_edition()

    (message,) = smtp.messages
    text = text_part(message)
    assert "A Comprehensive Survey of Continual Learning" in text
    assert "Medical" not in text


def test_with_the_setting_a_reader_with_no_match_gets_a_short_trending_email(smtp, settings):
    settings.PAPERBOY_SEND_TRENDING_WHEN_EMPTY = True
    load_day()
    make_subscriber("picky@example.com", "zebra husbandry")

    send_edition()

    (message,) = smtp.messages
    text = text_part(message)
    assert "Nothing matched your interests today: here are the 3 most upvoted papers" in text
    assert "BiPO: Bidirectional Partial Occlusion Network" in text


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reader_rates_a_paper_in_the_browser(browser_page, live_server):
    load_day()
    paper = Paper.objects.get(arxiv_id="2509.00035")
    ada = make_subscriber("ada@example.com", "continual learning")
    url = live_server.url + path_of(links.feedback_url(ada.pk, paper.pk, "up"))

    browser_page.goto(url)
    save_screenshot(browser_page, "feedback-confirm")
    assert not Rating.objects.exists()
    browser_page.get_by_role("button", name="👍 Yes, more like this").click()
    browser_page.wait_for_selector("text=Thanks, noted")
    save_screenshot(browser_page, "feedback-thanks")

    assert Rating.objects.get().vote == "up"
    assert paper.title in browser_page.content()


def test_a_reopened_link_shows_the_rating_already_given_and_the_preferences(client, paper):
    ada = make_subscriber("ada@example.com", "continual learning")
    up_link = path_of(links.feedback_url(ada.pk, paper.pk, "up"))
    client.post(up_link)

    again = client.get(up_link).content.decode()
    other = client.get(path_of(links.feedback_url(ada.pk, paper.pk, "down"))).content.decode()

    assert "You already rated this paper 👍 on" in again and "the button below changes that" not in again
    assert f'href="{ada.manage_url}"' in again and "Open your preferences" in again
    assert "You already rated this paper 👍 on" in other and "the button below changes that" in other
