"""Cold start, "papers like these?": recent papers to tick at signup and in the preference
center; each tick is a 👍 that the first digest learns from. A known address's ticks wait for
its confirmation, like the rest of that signup."""

from __future__ import annotations

import copy
import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.html import escape

from digest.day import plan_day
from digest.matching import semantic
from digest.matching.evaluation import cold_start as evaluation
from digest.matching.evaluation.harness import profiles
from digest.matching.text import tokens
from digest.models import Delivery, Paper, Rating
from subscriptions.models import SignupRequest, Subscriber
from tests.conftest import hf_day_items
from tests.factories import EDITION_DATE, load_day, make_subscriber
from tests.html_pages import parse_valid
from tests.signup_helpers import links_in, path_of, post, signup_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

YESTERDAY = EDITION_DATE - dt.timedelta(days=1)
LAST_MONTH = EDITION_DATE - dt.timedelta(days=30)
CHECKBOX = re.compile(r'<input type="checkbox" name="liked_papers" id="[^"]+" value="([^"]+)"([^>]*)>')


@pytest.fixture
def sign_up(client, django_capture_on_commit_callbacks):
    def sign_up(**overrides):
        return post(client, django_capture_on_commit_callbacks, "/", signup_data(**overrides))

    return sign_up


def split_day() -> None:
    """Yesterday's edition holds the even papers of the recorded day (as 2508.* ids, so the two
    days share none), today's the odd ones: both inside the week that is offered."""
    items = hf_day_items()
    yesterday = copy.deepcopy(items[0::2])
    for item in yesterday:
        item["paper"]["id"] = item["paper"]["id"].replace("2509.", "2508.")
    load_day(YESTERDAY, yesterday)
    load_day(EDITION_DATE, items[1::2])


def offered(html: str) -> dict[str, bool]:
    """arXiv id -> ticked, for each "papers like these?" checkbox on the page."""
    return {arxiv_id: " checked" in attributes for arxiv_id, attributes in CHECKBOX.findall(html)}


def ratings(subscriber: Subscriber) -> dict[str, str]:
    return dict(Rating.objects.filter(subscriber=subscriber).values_list("paper__arxiv_id", "vote"))


def manage_path(subscriber: Subscriber) -> str:
    return path_of(subscriber.manage_url)


# --- The signup page ---------------------------------------------------------------------


def test_the_signup_page_offers_the_weeks_most_upvoted_papers_as_checkboxes(client):
    split_day()
    page = client.get("/").content.decode()

    assert "<legend>Papers like these?</legend>" in page
    boxes = offered(page)
    week = Paper.objects.order_by("-upvotes", "arxiv_id")
    assert list(boxes) == [p.arxiv_id for p in week[:12]]  # the week's most upvoted, both days
    assert not any(boxes.values())
    top = week[0]
    assert top.display_title in page and f'href="https://arxiv.org/abs/{top.arxiv_id}"' in page
    assert f"\u25b2 {top.upvotes} upvotes" in page


def test_without_papers_there_is_nothing_to_tick(client):
    page = client.get("/").content.decode()
    assert "Papers like these?" not in page


@pytest.mark.usefixtures("lexical_only")  # the offer is the point, not the model
def test_the_form_shown_again_adds_the_best_matches_for_the_topics_and_keeps_the_ticks(client, sign_up):
    split_day()
    trending = list(offered(client.get("/").content.decode()))
    page = sign_up(topics="continual learning", timezone="Mars/Olympus", liked_papers=trending[:2]).content.decode()

    assert "is not a time zone we know" in page
    boxes = offered(page)
    assert "Matches your topics" in page
    # The two ticked come back first and still ticked (nothing lost), then the matches.
    assert [i for i, ticked in boxes.items() if ticked] == list(boxes)[:2] == trending[:2]
    assert len(boxes) == 14
    match = Paper.objects.get(arxiv_id=list(boxes)[2])
    assert "continual" in match.title.lower() or "forgetting" in match.abstract.lower()
    assert not Subscriber.objects.exists()


def test_a_new_signups_ticks_are_its_first_ratings(sign_up, client):
    split_day()
    ticked = list(offered(client.get("/").content.decode()))[:3]
    sign_up(liked_papers=ticked)

    ada = Subscriber.objects.get()
    assert ada.status == Subscriber.Status.PENDING
    assert ratings(ada) == dict.fromkeys(ticked, "up")


@pytest.mark.skipif(not semantic.is_semantic(), reason="lexical stand-in vectors learn too little from ratings")
def test_after_confirming_the_first_digest_ranks_papers_like_the_ticked_ones_higher(client, sign_up):
    split_day()
    continual = next(p for p in profiles() if p.name == "continual learning")
    relevant = {i for i, grade in continual.grades.items() if grade >= 2}
    yesterdays = Paper.objects.filter(edition_date=YESTERDAY)
    ticks = [p.arxiv_id for p in yesterdays if p.arxiv_id.replace("2508.", "2509.") in relevant]
    assert len(ticks) >= 3
    same = {"topics": "large language models", "categories": [], "authors": "", "max_papers": "10"}
    sign_up(email="ada@example.com", liked_papers=ticks, **same)
    sign_up(email="plain@example.com", **same)
    for message in mail.outbox:
        (link,) = [link for link in links_in(message) if "/confirm/" in link]
        client.post(path_of(link))
    ada, plain = Subscriber.objects.get(email="ada@example.com"), Subscriber.objects.get(email="plain@example.com")
    assert ada.status == plain.status == Subscriber.Status.ACTIVE

    plan_day(EDITION_DATE, respect_send_hour=False)

    def first_digest(subscriber: Subscriber) -> list[str]:
        delivery = Delivery.objects.get(subscriber=subscriber, edition_date=EDITION_DATE)
        return [item.paper.arxiv_id for item in delivery.carried_items()]

    # The same topic, the same day: the ticks bring papers like them into the first digest.
    assert len(relevant & set(first_digest(ada))) > len(relevant & set(first_digest(plain)))


# --- A known address ---------------------------------------------------------------------


def test_a_strangers_ticks_for_an_active_address_change_nothing(client, sign_up):
    split_day()
    owner = make_subscriber("ada@example.com", "robots", signup_mail_sent_at=timezone.now() - dt.timedelta(hours=1))
    ticked = list(offered(client.get("/").content.decode()))[:3]

    sign_up(liked_papers=ticked)

    assert ratings(owner) == {}
    (message,) = mail.outbox
    assert message.subject == "You're already subscribed to Paperboy"  # only the owner's manage link can
    assert not SignupRequest.objects.exists()  # nothing kept to apply later: the ticks are dropped


def test_a_former_subscribers_ticks_wait_for_the_address_to_confirm(client, sign_up):
    split_day()
    owner = make_subscriber("ada@example.com", "robots", status=Subscriber.Status.UNSUBSCRIBED)
    Subscriber.objects.filter(pk=owner.pk).update(signup_mail_sent_at=timezone.now() - dt.timedelta(days=30))
    earlier = Paper.objects.filter(edition_date=EDITION_DATE).first()
    Rating.objects.create(subscriber=owner, paper=earlier, vote="down")
    ticked = [i for i in offered(client.get("/").content.decode()) if i != earlier.arxiv_id][:3]

    sign_up(liked_papers=ticked)

    assert ratings(owner) == {earlier.arxiv_id: "down"}  # a stranger's signup changes nothing
    (link,) = [link for link in links_in(mail.outbox[0]) if "/confirm/" in link]
    client.post(path_of(link))
    assert ratings(owner) == {earlier.arxiv_id: "down", **dict.fromkeys(ticked, "up")}


# --- Hostile input -----------------------------------------------------------------------


@pytest.mark.usefixtures("lexical_only")
@pytest.mark.parametrize(
    "bad_id",
    ["2509.99999", "<script>", "2508.00000' OR 1=1"],
)
def test_a_tick_not_offered_is_refused_clearly_and_nothing_typed_is_lost(client, sign_up, bad_id):
    split_day()
    good = next(iter(offered(client.get("/").content.decode())))
    page = sign_up(topics="continual learning", liked_papers=[good, bad_id]).content.decode()

    assert f"“{escape(bad_id)}” is not one of the papers offered here" in page  # escaped, never markup
    parse_valid(page.encode(), "signup with a bad tick")
    assert 'value="ada@example.com"' in page and "continual learning" in page
    assert offered(page).get(good) is True
    assert not Subscriber.objects.exists() and not Rating.objects.exists()


def test_a_paper_older_than_the_week_cannot_be_ticked(client, sign_up):
    split_day()
    load_day(LAST_MONTH, [dict(item, paper={**item["paper"], "id": "2507.00001"}) for item in hf_day_items()[:1]])
    page = sign_up(liked_papers=["2507.00001"]).content.decode()
    assert "“2507.00001” is not one of the papers offered here" in page
    assert not Subscriber.objects.exists()


def test_a_repeated_tick_is_one_rating(client, sign_up):
    split_day()
    good = next(iter(offered(client.get("/").content.decode())))
    sign_up(liked_papers=[good, good, good])
    assert ratings(Subscriber.objects.get()) == {good: "up"}


def test_more_ticks_than_ever_offered_are_refused(client, sign_up):
    split_day()
    everything = list(Paper.objects.values_list("arxiv_id", flat=True))
    page = sign_up(liked_papers=everything).content.decode()
    assert "Please tick 25 papers at most" in page
    assert not Subscriber.objects.exists()


# --- The preference center ---------------------------------------------------------------


def test_the_preference_center_offers_matches_for_the_saved_topics_and_stores_the_ticks(client):
    split_day()
    ada = make_subscriber("ada@example.com", "continual learning")
    rated = Paper.objects.filter(edition_date=EDITION_DATE).order_by("-upvotes").first()
    Rating.objects.create(subscriber=ada, paper=rated, vote="up")

    page = client.get(manage_path(ada)).content.decode()
    boxes = offered(page)
    assert "Papers like these?" in page and "Matches your topics" in page
    assert rated.arxiv_id not in boxes  # rated already: not offered again
    assert "You have rated 1 paper so far" in page

    ticks = list(boxes)[:3]
    data = {
        "topics": "continual learning",
        "frequency": "daily",
        "weekly_day": "0",
        "send_hour": "8",
        "timezone": "UTC",
        "max_papers": "10",
        "liked_papers": ticks,
    }
    after = client.post(manage_path(ada), data, follow=True).content.decode()

    assert "The 3 papers you ticked count as 👍." in after
    assert ratings(ada) == {rated.arxiv_id: "up", **dict.fromkeys(ticks, "up")}
    assert not set(ticks) & set(offered(after))
    assert "You have rated 4 papers so far" in after


def test_the_preference_center_refuses_a_tick_not_offered_and_saves_nothing(client):
    split_day()
    ada = make_subscriber("ada@example.com", "continual learning")
    data = {"topics": "robots", "frequency": "daily", "weekly_day": "0", "send_hour": "8", "timezone": "UTC"}
    page = client.post(manage_path(ada), {**data, "max_papers": "10", "liked_papers": ["2509.99999"]}).content.decode()

    assert "Nothing was changed" in page and "is not one of the papers offered here" in page
    assert ada.interest_values("topic") == ["continual learning"] and ratings(ada) == {}


# --- The figures -------------------------------------------------------------------------


@pytest.mark.usefixtures("lexical_only")  # its shape; `evaluate_matching --cold-start` gives the figures
def test_the_cold_start_simulation_ticks_by_its_stated_rule_and_measures_both_digests():
    runs = evaluation.simulate(0.4, dates=["2026-06-01"])["2026-06-01"]

    assert len(runs) == 18  # every labelled profile of the day
    week = {p.arxiv_id: p for p in evaluation.signup_week("2026-06-01")}
    assert week and all(p.arxiv_id not in {r for run in runs for r in run.before} for p in week.values())
    for run in runs:
        assert len(run.offered) == 12 and set(run.ticked) <= set(run.offered)
        for arxiv_id in run.ticked:  # every content word of one topic, in the title or abstract
            words = set(tokens(f"{week[arxiv_id].title} {week[arxiv_id].abstract}"))
            assert any(set(tokens(topic)) <= words for topic in run.profile.topics)
        assert 0 <= run.precision_before <= 1 and 0 <= run.precision_after <= 1
    before, after = evaluation.mean_precision(runs)
    assert 0 < before <= 1 and 0 < after <= 1
