"""Planning and sending one edition over a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from digest.day import plan_day
from digest.deliver import lost_deliveries, reconcile_stale_sending, send_batch, sendable_batches, still_sendable
from digest.models import Delivery
from subscriptions.models import Subscriber
from tests.conftest import free_port, hf_day_items
from tests.digest_mail import send_edition, text_part
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def test_every_active_subscriber_gets_one_email_and_a_rerun_sends_none(smtp):
    load_day()
    active = [make_subscriber(f"reader{n}@example.com", "reinforcement learning") for n in range(5)]
    make_subscriber("pending@example.com", "reinforcement learning", status=Subscriber.Status.PENDING)
    make_subscriber("gone@example.com", "reinforcement learning", status=Subscriber.Status.UNSUBSCRIBED)
    make_subscriber("paused@example.com", "reinforcement learning", status=Subscriber.Status.PAUSED)

    send_edition()
    send_edition()

    assert sorted(m["To"] for m in smtp.messages) == sorted(s.email for s in active)
    for message in smtp.messages:
        delivery = Delivery.objects.get(subscriber__email=message["To"])
        assert delivery.status == Delivery.Status.SENT and delivery.sent_at is not None
        assert message["Message-ID"] == delivery.message_id
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = text_part(message)
        for item in delivery.carried_items():
            assert item.paper.title in text
            assert item.why in text


def test_the_send_digests_command_sends_the_edition_and_is_idempotent(smtp, capsys):
    load_day()
    make_subscriber("ada@example.com", "robot manipulation")

    call_command("send_digests", "--date", "2025-09-03")
    call_command("send_digests", "--date", "2025-09-03")

    out = capsys.readouterr().out
    assert "1 planned, 1 sent, 0 failed" in out
    assert "0 planned, 0 sent, 0 failed" in out
    assert [m["To"] for m in smtp.messages] == ["ada@example.com"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_send_digests_shows_a_progress_bar_on_a_terminal(smtp):
    load_day()
    for n in range(3):
        make_subscriber(f"reader{n}@example.com", "reinforcement learning")
    terminal = Terminal()

    call_command("send_digests", "--date", "2025-09-03", stderr=terminal, stdout=io.StringIO())

    bar = terminal.getvalue().split("\r")[-1]
    assert "Edition 2025-09-03: 100%" in bar and "3/3" in bar and "sent=3" in bar


def test_send_digests_logs_plain_progress_lines_off_a_terminal(smtp, caplog):
    load_day()
    for n in range(3):
        make_subscriber(f"reader{n}@example.com", "reinforcement learning")
    caplog.set_level("INFO", logger="digest.management.progress")
    stderr = io.StringIO()

    call_command("send_digests", "--date", "2025-09-03", stderr=stderr, stdout=io.StringIO())

    assert "Edition 2025-09-03: 3/3 emails (3 sent, 0 failed)" in caplog.messages
    assert stderr.getvalue() == ""  # no bar drawn into a log file


def test_dry_run_shows_who_gets_what_and_sends_nothing(smtp, capsys):
    load_day()
    make_subscriber("ada@example.com", "robot manipulation")

    call_command("send_digests", "--date", "2025-09-03", "--dry-run")

    out = capsys.readouterr().out
    assert "1 emails would be sent" in out and "ada@example.com" in out
    assert "You Only Teach Once" in out
    assert smtp.messages == [] and not Delivery.objects.exists()


def test_unsubscribing_after_planning_stops_the_email(smtp):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    plan_day(EDITION_DATE, respect_send_hour=False)
    ada.unsubscribe()

    for ids in sendable_batches(EDITION_DATE):
        send_batch(ids)

    assert smtp.messages == []
    assert Delivery.objects.get(subscriber=ada).status == Delivery.Status.SKIPPED


def test_a_dropped_connection_reconnects_and_resends_that_message_with_its_message_id(smtp):
    load_day()
    readers = [make_subscriber(f"reader{n}@example.com", "reinforcement learning") for n in range(4)]
    smtp.drop_next = 1  # the server hangs up after the data: did it take the message? Nobody knows.

    send_edition()

    uncertain = Delivery.objects.get(status=Delivery.Status.FAILED_TEMPORARY)
    assert uncertain.last_error.startswith("Outcome unknown (connection lost)")
    # The batch reconnected and carried on with the others.
    assert sorted(m["To"] for m in smtp.messages) == sorted(r.email for r in readers if r != uncertain.subscriber)

    send_edition()  # the retry

    (resent,) = smtp.to(uncertain.subscriber.email)
    assert resent["Message-ID"] == uncertain.message_id
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 4
    # Sent now, and still saying it may have arrived twice.
    uncertain.refresh_from_db()
    assert uncertain.last_error.startswith("Sent; an earlier attempt's outcome is unknown, so it may have arrived")
    assert uncertain.copies_delivered == "1 or 2"
    assert [a["result"] for a in uncertain.attempt_log] == ["outcome unknown", "sent"]


def test_a_temporary_refusal_is_retried(smtp):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    make_subscriber("bob@example.com", "reinforcement learning")
    smtp.refuse_next = 1

    plan_day(EDITION_DATE, respect_send_hour=False)
    (ids,) = list(sendable_batches(EDITION_DATE))
    result = send_batch(ids)

    failed = Delivery.objects.get(status=Delivery.Status.FAILED_TEMPORARY)
    assert result.retry_ids == [failed.pk]  # only that delivery is retried
    assert failed.attempts == 1 and "451" in failed.last_error and "Try again later" in failed.last_error
    assert len(smtp.messages) == 1

    send_batch(result.retry_ids)

    assert sorted(m["To"] for m in smtp.messages) == ["ada@example.com", "bob@example.com"]
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 2


def test_a_recipient_refused_for_now_at_rcpt_is_retried_alone(smtp):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    bob = make_subscriber("bob@example.com", "reinforcement learning")
    smtp.refuse_recipients["bob@example.com"] = "450 4.2.1 Mailbox busy"

    plan_day(EDITION_DATE, respect_send_hour=False)
    (ids,) = list(sendable_batches(EDITION_DATE))
    result = send_batch(ids)

    assert result.retry_ids == [Delivery.objects.get(subscriber=bob).pk]
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.ACTIVE and bob.hard_bounces == 0
    del smtp.refuse_recipients["bob@example.com"]
    send_batch(result.retry_ids)
    assert sorted(m["To"] for m in smtp.messages) == ["ada@example.com", "bob@example.com"]


def test_a_permanent_refusal_is_not_retried_and_bounces_the_address(smtp):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    smtp.refuse_next, smtp.refuse_reply = 1, "550 5.1.1 No such user"

    send_edition()
    send_edition()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED_PERMANENT, 1)
    assert "No such user" in delivery.last_error and smtp.messages == []
    ada.refresh_from_db()
    assert (ada.status, ada.hard_bounces) == (Subscriber.Status.BOUNCED, 1)


def test_a_message_refused_for_its_content_fails_but_does_not_bounce_the_address(smtp):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    smtp.refuse_next, smtp.refuse_reply = 1, "554 5.7.1 Message rejected as spam"

    send_edition()

    assert Delivery.objects.get().status == Delivery.Status.FAILED_PERMANENT
    ada.refresh_from_db()
    assert (ada.status, ada.hard_bounces) == (Subscriber.Status.ACTIVE, 0)


def test_a_refused_sender_address_stops_the_batch_and_bounces_nobody(smtp):
    load_day()
    ada = make_subscriber("ada@example.com", "reinforcement learning")
    make_subscriber("bob@example.com", "reinforcement learning")

    async def refuse_sender(server, session, envelope, address, mail_options) -> str:
        return "553 5.1.8 Sender address rejected"

    smtp.handle_MAIL = refuse_sender
    plan_day(EDITION_DATE, respect_send_hour=False)
    (ids,) = list(sendable_batches(EDITION_DATE))
    result = send_batch(ids)

    assert result.relay_error.startswith("sender refused")
    tried, waiting = Delivery.objects.order_by("pk")
    assert (tried.status, tried.attempts) == (Delivery.Status.FAILED_TEMPORARY, 1)
    assert (waiting.status, waiting.attempts) == (Delivery.Status.PENDING, 0)
    ada.refresh_from_db()
    assert (ada.status, ada.hard_bounces) == (Subscriber.Status.ACTIVE, 0)


def test_an_address_is_bounced_after_the_configured_number_of_hard_bounces(smtp, settings):
    settings.PAPERBOY_BOUNCES_BEFORE_DISABLE = 2
    items = hf_day_items()
    load_day(date=EDITION_DATE - dt.timedelta(days=1), items=items[:50])
    load_day(items=items[50:])
    ada = make_subscriber("ada@example.com")  # no topics: the day's most upvoted
    smtp.refuse_recipients["ada@example.com"] = "550 5.1.1 No such user"

    send_edition(EDITION_DATE - dt.timedelta(days=1))
    ada.refresh_from_db()
    assert (ada.status, ada.hard_bounces) == (Subscriber.Status.ACTIVE, 1)

    send_edition()
    ada.refresh_from_db()
    assert (ada.status, ada.hard_bounces) == (Subscriber.Status.BOUNCED, 2)
    assert smtp.messages == []


def test_a_delivery_refused_for_now_is_retried_until_the_deadline_then_gives_up(smtp, settings):
    settings.PAPERBOY_RETRY_FOR_HOURS = 20
    settings.PAPERBOY_MAX_ATTEMPTS = 2  # limits unknown outcomes, not refusals
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    smtp.refuse_next = 10
    first_try = timezone.now()

    for _ in range(4):
        send_edition()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED_TEMPORARY, 4)
    assert abs(delivery.retry_until - (first_try + dt.timedelta(hours=20))) < dt.timedelta(minutes=1)
    with time_machine.travel(delivery.retry_until + dt.timedelta(seconds=1)):
        send_edition()
        send_edition()  # nothing left to try

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED_PERMANENT, 5)
    assert delivery.last_error.startswith("Gave up after 20 hours of refusals for now; the last: SMTPDataError")
    assert [a["result"] for a in delivery.attempt_log] == ["refused for now"] * 4 + ["gave up"]
    assert delivery.attempt_log[0]["reply"] == "451 4.3.0 Try again later"
    assert smtp.messages == []


def test_a_421_closing_the_session_reconnects_and_costs_the_delivery_no_attempt(smtp):
    load_day()
    readers = [make_subscriber(f"reader{n}@example.com", "reinforcement learning") for n in range(3)]
    smtp.refuse_next, smtp.refuse_reply = 1, "421 4.3.2 Service shutting down"

    send_edition()

    assert sorted(m["To"] for m in smtp.messages) == sorted(r.email for r in readers)  # in the same run
    first = Delivery.objects.order_by("pk").first()
    assert (first.status, first.attempts) == (Delivery.Status.SENT, 1)
    assert [(a["result"], a.get("reply")) for a in first.attempt_log] == [
        ("session closed (421), not counted", "421 4.3.2 Service shutting down"),
        ("sent", None),
    ]
    assert smtp.sessions == 2  # the 421 ended the first; the rest went over the second


def test_a_server_answering_421_to_everything_is_an_outage_that_costs_no_attempt(smtp):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    make_subscriber("bob@example.com", "reinforcement learning")
    smtp.refuse_next, smtp.refuse_reply = 99, "421 4.3.2 Service shutting down"

    plan_day(EDITION_DATE, respect_send_hour=False)
    (ids,) = list(sendable_batches(EDITION_DATE))
    result = send_batch(ids)

    assert result.relay_error == "the server closed 3 sessions in a row with 421"
    assert sorted(Delivery.objects.values_list("status", "attempts")) == [
        (Delivery.Status.FAILED_TEMPORARY, 0),
        (Delivery.Status.PENDING, 0),
    ]
    assert still_sendable(ids) == ids  # the relay-outage retry carries both


def test_an_unreachable_smtp_server_loses_nothing_and_uses_no_attempt(smtp, settings):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    make_subscriber("bob@example.com", "reinforcement learning")
    real_port, settings.EMAIL_PORT = settings.EMAIL_PORT, free_port()  # nothing listens there

    send_edition()
    send_edition()

    for delivery in Delivery.objects.all():
        assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 0)
        assert delivery.last_error.startswith("SMTP server unavailable: ConnectionRefusedError")

    settings.EMAIL_PORT = real_port
    send_edition()
    assert sorted(m["To"] for m in smtp.messages) == ["ada@example.com", "bob@example.com"]


def test_a_header_that_cannot_be_sent_fails_and_sends_nothing(smtp, settings):
    settings.PAPERBOY_LIST_ID = "Paperboy\r\nBcc: victim@example.com"  # header injection attempt
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")

    send_edition()

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED_PERMANENT and "BadHeaderError" in delivery.last_error
    assert smtp.messages == []


def test_a_row_just_claimed_by_another_worker_is_not_resent(smtp):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    plan_day(EDITION_DATE, respect_send_hour=False)
    Delivery.objects.update(status=Delivery.Status.SENDING, attempts=1, claimed_at=timezone.now())

    send_edition()

    assert reconcile_stale_sending() == []
    assert smtp.messages == []
    assert Delivery.objects.get().status == Delivery.Status.SENDING


def test_a_row_left_sending_by_a_dead_worker_is_resent_once_with_its_message_id(smtp, settings):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    plan_day(EDITION_DATE, respect_send_hour=False)
    long_ago = timezone.now() - dt.timedelta(seconds=settings.PAPERBOY_SENDING_STALE_SECONDS + 5)
    Delivery.objects.update(status=Delivery.Status.SENDING, attempts=1, claimed_at=long_ago)

    ids = reconcile_stale_sending()
    assert reconcile_stale_sending() == []  # once
    send_batch(ids)

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 2)
    (message,) = smtp.messages
    assert message["Message-ID"] == delivery.message_id
    assert delivery.copies_delivered == "1 or 2" and "may have arrived twice" in delivery.last_error


def test_a_row_left_sending_that_used_its_attempts_fails_for_good(smtp, settings):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    plan_day(EDITION_DATE, respect_send_hour=False)
    long_ago = timezone.now() - dt.timedelta(seconds=settings.PAPERBOY_SENDING_STALE_SECONDS + 5)
    Delivery.objects.update(
        status=Delivery.Status.SENDING,
        attempts=9,
        uncertain_attempts=settings.PAPERBOY_MAX_ATTEMPTS - 1,
        claimed_at=long_ago,
    )

    assert reconcile_stale_sending() == []
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED_PERMANENT and "Outcome unknown" in delivery.last_error
    assert delivery.copies_delivered == f"0 to {settings.PAPERBOY_MAX_ATTEMPTS}"


def test_deliveries_whose_task_was_lost_are_queued_again_once(smtp, settings):
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning")
    plan_day(EDITION_DATE, respect_send_hour=False)
    assert lost_deliveries() == []  # its task is queued and not late
    Delivery.objects.update(retry_at=timezone.now() - dt.timedelta(seconds=settings.PAPERBOY_REQUEUE_AFTER_SECONDS + 5))

    assert lost_deliveries() == [Delivery.objects.get().pk]
    assert lost_deliveries() == []


def test_a_redelivered_batch_sends_each_message_once(smtp):
    load_day()
    for n in range(3):
        make_subscriber(f"reader{n}@example.com", "reinforcement learning")
    plan_day(EDITION_DATE, respect_send_hour=False)
    (ids,) = list(sendable_batches(EDITION_DATE))

    send_batch(ids)
    send_batch(ids)  # as Celery would after a lost acknowledgement

    assert len(smtp.messages) == 3


def test_no_email_goes_out_empty(smtp):
    load_day(items=[])
    make_subscriber("trending@example.com")
    load_day(date=EDITION_DATE - dt.timedelta(days=1))  # yesterday's papers are not today's
    make_subscriber("picky@example.com", "zebra husbandry")

    send_edition()

    assert smtp.messages == [] and not Delivery.objects.exists()


def test_a_topic_with_no_match_today_gets_no_email(smtp):
    load_day()
    make_subscriber("picky@example.com", "zebra husbandry")
    make_subscriber("ada@example.com", "reinforcement learning")

    send_edition()

    assert [m["To"] for m in smtp.messages] == ["ada@example.com"]


def test_weekly_subscribers_get_the_week_on_their_weekday_only(smtp):
    load_day()  # 3 Sep 2025 is a Wednesday
    make_subscriber("wed@example.com", frequency="weekly", weekly_day=Subscriber.Weekday.WEDNESDAY)
    make_subscriber("mon@example.com", frequency="weekly", weekly_day=Subscriber.Weekday.MONDAY)

    send_edition()

    assert [m["To"] for m in smtp.messages] == ["wed@example.com"]


@pytest.mark.parametrize(
    ("zone", "not_yet", "due"),
    [
        ("Europe/Paris", "2025-09-03 05:50", "2025-09-03 06:15"),  # 08:00 in Paris is 06:00 UTC
        ("America/New_York", "2025-09-03 11:50", "2025-09-03 12:15"),  # 08:00 EDT is 12:00 UTC
        ("Asia/Tokyo", "2025-09-03 22:50", "2025-09-03 23:15"),  # 08:00 of 4 Sep in Tokyo
    ],
)
def test_the_hourly_run_waits_for_each_subscribers_local_send_hour(smtp, zone, not_yet, due):
    with time_machine.travel(dt.datetime(2025, 9, 3, 5, 0, tzinfo=UTC), tick=False):
        load_day()  # the edition arrives at 05:00 UTC
    make_subscriber("ada@example.com", "reinforcement learning", timezone=zone, send_hour=8)

    send_edition(now=dt.datetime.fromisoformat(not_yet).replace(tzinfo=UTC), respect_send_hour=True)
    assert smtp.messages == []

    send_edition(now=dt.datetime.fromisoformat(due).replace(tzinfo=UTC), respect_send_hour=True)
    assert [m["To"] for m in smtp.messages] == ["ada@example.com"]


def test_weekly_subscribers_still_get_their_week_when_today_is_empty(smtp):
    load_day(date=EDITION_DATE - dt.timedelta(days=2))
    load_day(items=[])  # nothing listed on the Wednesday itself
    make_subscriber("daily@example.com")
    make_subscriber("wed@example.com", "reinforcement learning", frequency="weekly", weekly_day=2)

    send_edition()

    assert [m["To"] for m in smtp.messages] == ["wed@example.com"]
