"""Property: whatever is posted to signup, the answer is a page (never a 500) and the database
holds either the whole signup or nothing of it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscriptions.models import Interest, Subscriber

# Web-triggered emails are Celery tasks: run them inline, into mail.outbox.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

messy_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
interest_lists = st.one_of(
    messy_text,
    st.lists(st.sampled_from(["robots", "LLM agents", "<b>x</b>", "", " , ", "a" * 120, "\x00"]), max_size=25).map(
        "\n".join
    ),
    st.just("x" * 10_000),
)
form_data = st.fixed_dictionaries(
    {
        "email": st.one_of(st.emails(), messy_text, st.just("ada@example.com"), st.just("ADA@example.COM")),
        "topics": interest_lists,
        "authors": interest_lists,
        "categories": st.lists(st.sampled_from(["cs.RO", "cs.LG", "stat.ML", "cs.XX", ""]), max_size=4),
        "frequency": st.sampled_from(["daily", "weekly", "hourly", ""]),
        "weekly_day": st.one_of(st.integers(-1, 8).map(str), messy_text),
        "send_hour": st.one_of(st.integers(-1, 25).map(str), messy_text),
        "timezone": st.one_of(st.sampled_from(["UTC", "Europe/Paris", "Mars/Base", ""]), messy_text),
        "max_papers": st.one_of(st.integers(-1, 60).map(str), messy_text),
    },
    optional={"unexpected": messy_text},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=form_data)
def test_any_form_data_gives_a_page_and_a_whole_signup_or_nothing(data, settings):
    settings.PAPERBOY_SIGNUP_LIMIT_PER_IP = settings.PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS = 10_000
    mail.outbox.clear()
    with transaction.atomic():
        response = Client(raise_request_exception=True).post("/", data)

        assert response.status_code == 200
        page = response.content.decode()
        if "Check your inbox" in page:
            (subscriber,) = Subscriber.objects.all()
            assert subscriber.email.casefold() == data["email"].strip().casefold()
            for interest in subscriber.interests.all():
                assert interest.value and len(interest.value) <= 100
                assert " ".join(interest.value.split()) == interest.value
        else:
            assert 'aria-invalid="true"' in page
            assert Subscriber.objects.count() == 0 and Interest.objects.count() == 0
        transaction.set_rollback(True)
