"""Property: whatever is posted to signup, the answer is a page (never a 500) and the database
holds either the whole signup or nothing of it. And whatever is posted to any public form or
signed link (control characters, NUL, invalid UTF-8, 1 MB, 1,200 fields): no 500, nothing
stored in part, and every email it sends reads back, header by header, as we wrote it."""

from __future__ import annotations

import email
import email.policy
from urllib.parse import urlencode

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
        response = Client(raise_request_exception=True).post("/", data, follow=True)

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


# --- Every public form and signed-link view (issue 15) ------------------------------------

control_text = st.text(alphabet=st.characters(codec="utf-8", categories=("Cc", "Cs", "L", "N", "P", "Z")), max_size=80)
field_names = st.sampled_from(["email", "topics", "authors", "categories", "timezone", "send_hour", "action", "x"])
urlencoded = st.dictionaries(field_names, st.one_of(control_text, st.emails(), st.just('"a\x0bb"@example.com')))
raw_bodies = st.one_of(
    urlencoded.map(lambda data: urlencode(data, doseq=True).encode()),
    st.binary(max_size=300),  # invalid UTF-8, NUL and all
    st.just(b"email=" + b"\xff\xfe\x00" * 40 + b"&topics=%00%0b%0d%0a"),
    st.just(b"topics=" + b"a" * 1_000_000),  # 1 MB
    st.just("&".join(f"f{n}=x" for n in range(1_200)).encode()),  # 1,200 fields
    st.just(urlencode({"email": '"x\x0bBcc:\\ e@evil.example"@example.com'}).encode()),
)
PAGES = [
    "/",
    "/signup/resend/",
    "manage",
    "manage-email",
    "manage-status",
    "confirm",
    "email-change",
    "unsubscribe",
    "feedback",
    "forged-manage",
    "forged-confirm",
]


def path_for(page: str, ada: Subscriber, paper_id: int) -> str:
    from django.utils import timezone

    from subscriptions import links
    from tests.signup_helpers import path_of

    return {
        "manage": lambda: path_of(ada.manage_url),
        "manage-email": lambda: path_of(ada.manage_url) + "email/",
        "manage-status": lambda: path_of(ada.manage_url) + "status/",
        "confirm": lambda: path_of(links.confirm_url(ada.pk)),
        "email-change": lambda: path_of(
            links.email_change_url(ada.pk, "ada@new.example.org", ada.email, timezone.now())
        ),
        "unsubscribe": lambda: path_of(ada.unsubscribe_url),
        "feedback": lambda: path_of(links.feedback_url(ada.pk, paper_id, "up")),
        "forged-manage": lambda: "/manage/\x00%ff%0b:forged/",
        "forged-confirm": lambda: "/confirm/" + "A" * 2000 + "/",
    }.get(page, lambda: page)()


def snapshot() -> list[tuple]:
    rows = list(Subscriber.objects.order_by("pk").values_list())
    return rows + list(Interest.objects.order_by("pk").values_list("subscriber_id", "kind", "value"))


def headers_read_back_as_written(message: mail.EmailMessage) -> None:
    """What a standard parser reads from the wire form of a sent message is what we wrote."""
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
    assert [str(a) for a in parsed["To"].addresses] == message.to
    assert parsed["Subject"] == message.subject
    assert parsed["Message-ID"] == message.extra_headers["Message-ID"]
    assert parsed["From"] == message.from_email
    for name in ("Date", "Message-ID", "To", "From", "Subject"):
        assert len(parsed.get_all(name)) == 1
    assert parsed.get_all("Bcc") is None and parsed.get_all("Cc") is None


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(page=st.sampled_from(PAGES), body=raw_bodies)
def test_any_post_to_any_public_page_gives_no_500_no_partial_row_and_clean_headers(
    page, body, settings, django_capture_on_commit_callbacks
):
    from tests.factories import load_day, make_subscriber

    settings.PAPERBOY_SIGNUP_LIMIT_PER_IP = settings.PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS = 10_000
    settings.PAPERBOY_SIGNUP_MAIL_COOLDOWN = 0
    mail.outbox.clear()
    with transaction.atomic():
        ada = make_subscriber("ada@example.com", "robots", status=Subscriber.Status.PENDING)
        paper = load_day().papers().first()
        before = snapshot()
        client = Client(raise_request_exception=True)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.generic(
                "POST", path_for(page, ada, paper.pk), body, content_type="application/x-www-form-urlencoded"
            )

        assert response.status_code < 500
        if response.status_code >= 400 or b'aria-invalid="true"' in response.content:
            assert snapshot() == before  # refused: nothing stored, not even in part
        for message in mail.outbox:
            headers_read_back_as_written(message)
        transaction.set_rollback(True)
