"""Signing up on the home page: double opt-in, no enumeration, rate limits, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from subscriptions.models import Interest, Subscriber
from tests.factories import load_day, make_subscriber
from tests.signup_helpers import links_in, path_of, post, signup_data, without_csrf

# Web-triggered emails are Celery tasks: run them inline, into mail.outbox.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def sign_up(client, django_capture_on_commit_callbacks):
    def sign_up(**overrides):
        return post(client, django_capture_on_commit_callbacks, "/", signup_data(**overrides))

    return sign_up


def test_home_page_is_the_signup_form_with_a_sample_and_todays_papers(client):
    load_day()

    page = client.get("/").content.decode()

    assert '<form method="post" action="/"' in page
    for label in ["Email address", "Topics", "arXiv categories", "Authors to follow", "How often", "Your time zone"]:
        assert label in page
    assert "Robotics (cs.RO)" in page and "stat.ML" in page
    assert "See what the email looks like" in page and "once a day or once a week" in page
    assert "Today's most upvoted papers" in page


def test_signup_stores_a_pending_subscriber_with_interests_and_emails_a_confirmation(sign_up):
    response = sign_up(topics="reinforcement learning, robot manipulation\ndiffusion models")

    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    ada = Subscriber.objects.get(email="ada@example.com")
    assert ada.status == Subscriber.Status.PENDING
    assert (ada.timezone, ada.send_hour, ada.max_papers, ada.frequency) == ("Europe/Paris", 7, 5, "daily")
    assert sorted(ada.interests.values_list("kind", "value")) == [
        ("author", "Chelsea Finn"),
        ("category", "cs.LG"),
        ("category", "cs.RO"),
        ("topic", "diffusion models"),
        ("topic", "reinforcement learning"),
        ("topic", "robot manipulation"),
    ]
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "Confirm your Paperboy subscription"
    # Anyone can ask for this email to any address: it carries nothing they typed.
    assert "diffusion models" not in message.body and "Chelsea Finn" not in message.body
    assert "The link works for 7 days" in message.body
    (confirm_link,) = [link for link in links_in(message) if "/confirm/" in link]
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f'href="{confirm_link}"' in html
    assert message.extra_headers["Message-ID"].endswith("@localhost>")


def test_a_known_address_gets_the_same_page_and_its_manage_link_instead(client, django_capture_on_commit_callbacks):
    def sign_up():
        return post(client, django_capture_on_commit_callbacks, "/", signup_data(email="ada@example.com"))

    as_new = sign_up()
    Subscriber.objects.filter(email="ada@example.com").update(
        status=Subscriber.Status.ACTIVE, signup_mail_sent_at=timezone.now() - dt.timedelta(hours=1)
    )
    mail.outbox.clear()

    as_known = sign_up()

    assert as_new.status_code == as_known.status_code == 200
    assert without_csrf(as_new.content.decode()) == without_csrf(as_known.content.decode())
    assert Subscriber.objects.count() == 1
    (message,) = mail.outbox
    assert message.subject == "You're already subscribed to Paperboy"
    assert any("/manage/" in link for link in links_in(message))
    assert not any("/confirm/" in link for link in links_in(message))


def test_a_known_address_in_other_case_is_the_same_subscriber(sign_up):
    make_subscriber("Ada@Example.com", "robots", signup_mail_sent_at=timezone.now() - dt.timedelta(hours=1))

    sign_up(email="ada@EXAMPLE.com", topics="something else")

    assert Subscriber.objects.count() == 1
    assert Subscriber.objects.get().interest_values("topic") == ["robots"]  # a stranger changes nothing
    (message,) = mail.outbox
    assert message.to == ["Ada@example.com"]  # the domain is stored in one form (lower case, IDNA)


def test_a_double_post_stores_one_row_and_sends_one_email(sign_up):
    first = sign_up()
    second = sign_up()

    assert first.status_code == second.status_code == 200
    assert Subscriber.objects.count() == 1
    assert Interest.objects.filter(kind="topic").count() == 2
    assert len(mail.outbox) == 1


def test_signing_up_again_after_the_cooldown_resends_the_confirmation_with_the_new_choices(client, sign_up):
    sign_up(topics="robots")
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        sign_up(topics="diffusion models")

    ada = Subscriber.objects.get()
    assert ada.status == Subscriber.Status.PENDING
    assert ada.interest_values("topic") == ["robots"]  # the new choices wait for the address to confirm them
    assert [m.subject for m in mail.outbox] == ["Confirm your Paperboy subscription"] * 2
    (second_link,) = [link for link in links_in(mail.outbox[1]) if "/confirm/" in link]
    client.post(path_of(second_link))
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.ACTIVE
    assert ada.interest_values("topic") == ["diffusion models"]


def test_an_unsubscribed_address_starts_over_and_must_confirm_again(client, sign_up):
    ada = make_subscriber("ada@example.com", "robots", status=Subscriber.Status.UNSUBSCRIBED)
    Subscriber.objects.filter(pk=ada.pk).update(signup_mail_sent_at=timezone.now() - dt.timedelta(days=30))

    sign_up(topics="diffusion models")

    ada.refresh_from_db()
    # A stranger's signup changes nothing of a former subscriber (issue 15, probe 6) ...
    assert ada.status == Subscriber.Status.UNSUBSCRIBED
    assert ada.interest_values("topic") == ["robots"]
    assert (ada.timezone, ada.send_hour) == ("UTC", 8)
    assert mail.outbox[0].subject == "Confirm your Paperboy subscription"
    # ... until the address confirms what it asked for.
    (link,) = [link for link in links_in(mail.outbox[0]) if "/confirm/" in link]
    assert "Yes, confirm my subscription" in client.get(path_of(link)).content.decode()
    client.post(path_of(link))
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.ACTIVE
    assert ada.interest_values("topic") == ["diffusion models"]
    assert (ada.timezone, ada.send_hour) == ("Europe/Paris", 7)


def test_signing_up_redirects_to_a_page_that_a_reload_does_not_post_again(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post("/", signup_data())

    assert posted.status_code == 302
    sent_page = posted["Location"]
    assert sent_page.startswith("/signup/sent/") and "ada@example.com" not in sent_page
    for _ in range(2):  # the page, then a reload of it
        with django_capture_on_commit_callbacks(execute=True):
            page = client.get(sent_page)
        assert page.status_code == 200
        assert (
            "Check your inbox" in page.content.decode() and "<strong>ada@example.com</strong>" in page.content.decode()
        )
    assert [m.subject for m in mail.outbox] == ["Confirm your Paperboy subscription"]
    assert Subscriber.objects.count() == 1


def test_the_resend_redirects_too_and_a_forged_or_day_old_page_leads_back_to_the_form(
    client, django_capture_on_commit_callbacks
):
    posted = client.post("/signup/resend/", {"email": "nobody@example.com"})
    assert posted.status_code == 302 and posted["Location"].startswith("/signup/sent/")

    forged = posted["Location"].replace("/signup/sent/", "/signup/sent/x")
    assert client.get(forged)["Location"] == "/"
    assert client.get("/signup/sent/not-a-token/")["Location"] == "/"
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, minutes=1)):
        assert client.get(posted["Location"])["Location"] == "/"
    assert client.get(posted["Location"]).status_code == 200


def test_the_resend_path_sends_the_confirmation_again(client, django_capture_on_commit_callbacks, sign_up):
    sign_up()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        response = post(client, django_capture_on_commit_callbacks, "/signup/resend/", {"email": "ada@example.com"})

    assert response.status_code == 200 and "Check your inbox" in response.content.decode()
    assert [m.subject for m in mail.outbox] == ["Confirm your Paperboy subscription"] * 2


def test_resend_for_an_unknown_address_answers_the_same_and_sends_nothing(client, django_capture_on_commit_callbacks):
    response = post(client, django_capture_on_commit_callbacks, "/signup/resend/", {"email": "nobody@example.com"})

    assert response.status_code == 200 and "Check your inbox" in response.content.decode()
    assert mail.outbox == []


# --- Rate limits ---------------------------------------------------------------------------


def test_signup_is_limited_per_ip_with_a_clear_message_and_429(sign_up, settings):
    settings.PAPERBOY_SIGNUP_LIMIT_PER_IP = 3

    statuses = [sign_up(email=f"reader{i}@example.com").status_code for i in range(4)]

    assert statuses == [200, 200, 200, 429]
    limited = sign_up(email="reader9@example.com")
    assert limited.status_code == 429
    assert "Too many sign-up attempts" in limited.content.decode()
    assert 'value="reader9@example.com"' in limited.content.decode()  # what they typed is kept
    assert Subscriber.objects.count() == 3


def test_another_ip_is_not_limited(client, django_capture_on_commit_callbacks, settings):
    settings.PAPERBOY_SIGNUP_LIMIT_PER_IP = 1
    post(client, django_capture_on_commit_callbacks, "/", signup_data(email="a@example.com"))

    other = post(
        client, django_capture_on_commit_callbacks, "/", signup_data(email="b@example.com"), REMOTE_ADDR="10.0.0.9"
    )

    assert other.status_code == 200


def test_signup_is_limited_per_address(sign_up, settings):
    settings.PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS = 2

    statuses = [sign_up(email="Ada@example.com" if i % 2 else "ada@example.com").status_code for i in range(3)]

    assert statuses == [200, 200, 200]  # the page never tells a limited address apart
    assert len(mail.outbox) == 1


# --- Bad input: a message next to the field, nothing stored ------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-address", "Enter a valid email address."),
        ("email", "", "This field is required."),
        ("email", "a" * 250 + "@example.com", "Ensure this value has at most 254 characters"),
        ("topics", "x" * 10_000, "That is 10,000 characters; please keep the list under"),
        ("topics", "y" * 150, "Each topic can be at most 100 characters"),
        ("topics", "<script>alert(1)</script>", "Please write each topic as plain words"),
        ("topics", "\n".join(f"topic {i}" for i in range(25)), "Please keep to 20 topics at most (you gave 25)."),
        ("topics", "robots\x00", "Please write each topic as plain words"),  # PostgreSQL refuses NUL
        ("authors", "<b>Ada</b>", "Please write each author as plain words"),
        ("timezone", "Mars/Olympus_Mons", "is not a time zone we know"),
        ("max_papers", "500", "Ensure this value is less than or equal to 25."),
        ("max_papers", "0", "Ensure this value is greater than or equal to 1."),
        ("send_hour", "24", "Select a valid choice."),
        ("frequency", "hourly", "Select a valid choice."),
        ("categories", ["cs.XX"], "Select a valid choice. cs.XX is not one of the available choices."),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_stored(sign_up, field, value, message):
    response = sign_up(**{field: value})

    page = response.content.decode()
    assert response.status_code == 200
    error_list = page[page.index(f'id="id_{field}_error"') :]
    assert message in error_list[: error_list.index("</ul>")].replace("&#x27;", "'")
    assert 'aria-describedby="' in page and 'aria-invalid="true"' in page
    assert Subscriber.objects.count() == 0 and Interest.objects.count() == 0
    assert mail.outbox == []


def test_script_in_a_topic_is_never_echoed_as_markup(sign_up):
    page = sign_up(topics="<script>alert(1)</script>").content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_blank_lines_and_repeats_in_topics_are_dropped(sign_up):
    sign_up(topics="  robots  \n\n, Robots,\n  large   language models ")

    assert Subscriber.objects.get().interest_values("topic") == ["large language models", "robots"]


def test_no_topics_is_allowed_and_means_trending(sign_up):
    sign_up(topics="", authors="", categories=[])

    assert Subscriber.objects.get().interests.count() == 0


def test_the_empty_form_comes_with_working_defaults(client):
    page = client.get("/").content.decode()

    assert 'name="max_papers" value="10"' in page
    assert 'name="timezone" value="UTC"' in page
    assert '<option value="8" selected>08:00</option>' in page
    assert 'value="daily" required id="id_frequency_0" checked' in page


def test_a_repeated_checkbox_value_is_stored_once(sign_up):
    sign_up(categories=["cs.RO", "cs.RO"])

    assert Subscriber.objects.get().interest_values("category") == ["cs.RO"]


@pytest.mark.parametrize(("typed", "stored"), [("Berlin", "Europe/Berlin"), ("new york", "America/New_York")])
def test_a_city_that_names_one_time_zone_is_taken_as_that_zone(sign_up, typed, stored):
    sign_up(timezone=typed)

    assert Subscriber.objects.get().timezone == stored


def test_an_ambiguous_city_suggests_its_zones(sign_up):
    page = sign_up(timezone="Buenos Aires").content.decode()

    assert "could be America/Argentina/Buenos_Aires or America/Buenos_Aires: please pick one." in page
    assert not Subscriber.objects.exists()


def test_the_banner_links_to_each_invalid_field_and_the_first_gets_autofocus(sign_up):
    page = sign_up(email="not-an-address", timezone="Mars/Olympus_Mons").content.decode()

    banner = page[page.index('role="alert"') : page.index("</div>", page.index('role="alert"'))]
    assert '<a href="#id_email">Email address</a>: Enter a valid email address.' in banner
    assert '<a href="#id_timezone">Your time zone</a>: “Mars/Olympus_Mons” is not a time zone we know' in banner
    assert page.count("autofocus") == 1
    assert 'id="id_email"' in page[page.index("autofocus") - 300 : page.index("autofocus") + 300]


def test_signing_up_new_or_known_says_the_same_true_thing(client, sign_up):
    new = sign_up(email="new@example.com").content.decode()
    make_subscriber("ada@example.com", "robots", signup_mail_sent_at=timezone.now() - dt.timedelta(days=2))
    known = sign_up(email="ada@example.com").content.decode()

    expected = "follow it to confirm your subscription"
    assert expected in new and "or to open your preferences if you are already subscribed" in new
    assert without_csrf(new).replace("new@example.com", "ADDRESS") == without_csrf(known).replace(
        "ada@example.com", "ADDRESS"
    )
    # The known address was sent its preferences link, as the page allows.
    assert [m.to for m in mail.outbox] == [["new@example.com"], ["ada@example.com"]], [m.subject for m in mail.outbox]
    assert mail.outbox[1].subject != "Confirm your Paperboy subscription"


def test_the_link_not_valid_page_offers_a_fresh_link_by_the_resend_path(client, django_capture_on_commit_callbacks):
    sent = timezone.now() - dt.timedelta(days=1)  # the first email is old enough for a resend
    make_subscriber("ada@example.com", status=Subscriber.Status.PENDING, signup_mail_sent_at=sent)
    page = client.get("/confirm/not-a-token/").content.decode()

    assert "This link is not valid" in page and "Email me a fresh link" in page
    assert '<form method="post" action="/signup/resend/"' in page and 'name="email"' in page
    response = post(client, django_capture_on_commit_callbacks, "/signup/resend/", {"email": "ada@example.com"})
    assert "Check your inbox" in response.content.decode()
    assert [m.subject for m in mail.outbox] == ["Confirm your Paperboy subscription"]
