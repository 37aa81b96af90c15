"""Delivery through faults, with real processes: a Celery worker on the configured broker
(Redis in CI; a private redis-server where the test restarts it), PostgreSQL in CI, and a real
SMTP server (aiosmtpd) that misbehaves on demand. Each scenario counts the copies the server
received per recipient.

Times are shortened for the tests through the worker's environment: retries back off 1-2 s
instead of minutes, a send task may live 8 s, a row `sending` for 10 s belongs to a dead
worker, Redis hands an unacknowledged task back after 10 s, a row whose task is 5 s overdue
is requeued (where the test runs the recovery, every RECOVER_EVERY seconds, as beat does every
minute), and the relay's outage lasts 10 s instead of the issue's "first minute"."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum

from digest import tasks
from digest.deliver import send_batch
from digest.models import Delivery
from subscriptions.models import Subscriber
from tests.conftest import DAY, PROJECT, database_url_of_test_db, wait_until
from tests.factories import load_day, make_subscriber

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

STALE_SECONDS = 10
OUTAGE_SECONDS = 10
REQUEUE_AFTER_SECONDS = 5
RECOVER_EVERY = 2


@pytest.fixture
def worker_settings(request) -> dict[str, str]:
    broker = getattr(request, "param", {})  # a test's own, through indirect parametrization
    if "private_redis" in request.fixturenames:  # broker, limiter and cache on the test's own Redis
        url = request.getfixturevalue("private_redis").url
        broker = {**broker, "REDIS_URL": url, "CELERY_BROKER_URL": url}
    return {
        "PAPERBOY_BATCH_SIZE": "10",
        # These tests are about delivery, not ranking: planning without loading the embedding
        # model keeps them fast on a busy machine.
        "PAPERBOY_SEMANTIC": "off",
        # Limits unknown outcomes only (refusals for now are retried by time): low, as the
        # count-based limit is what once gave up on deliveries refused a few times in a row.
        "PAPERBOY_MAX_ATTEMPTS": "2",
        "PAPERBOY_RETRY_BACKOFF_SECONDS": "1",
        "PAPERBOY_RETRY_BACKOFF_MAX_SECONDS": "2",
        "PAPERBOY_SEND_TIME_LIMIT": "8",
        "PAPERBOY_SENDING_STALE_SECONDS": str(STALE_SECONDS),
        "PAPERBOY_REQUEUE_AFTER_SECONDS": str(REQUEUE_AFTER_SECONDS),
        "PAPERBOY_DB_RETRY_SECONDS": "3",
        "CELERY_VISIBILITY_TIMEOUT": "10",
        **broker,
    }


def readers(count: int) -> list[Subscriber]:
    load_day()
    return [make_subscriber(f"reader{n:03d}@example.com", "reinforcement learning") for n in range(count)]


def all_done(expected: int) -> Callable[[], bool]:
    """Planned for everyone expected, and nothing left to send or being sent."""

    def done() -> bool:
        unfinished = Delivery.objects.filter(status__in=[*Delivery.SENDABLE, Delivery.Status.SENDING])
        return Delivery.objects.count() == expected and not unfinished.exists()

    return done


def report(capsys, scenario: str, everyone: list[Subscriber], smtp, started: float) -> None:
    """One line of the fault table: delivered, lost, extra copies, time to complete."""
    copies = received(smtp)
    lost = sum(1 for r in everyone if not copies[r.email])
    extra = sum(copies.values()) - (len(everyone) - lost)
    with capsys.disabled():
        print(
            f"\n| {scenario} | {len(everyone) - lost}/{len(everyone)} delivered | {lost} lost | {extra} extra"
            f" | {time.monotonic() - started:.1f} s |"
        )


def statuses() -> Counter:
    return Counter(Delivery.objects.values_list("status", flat=True))


def received(smtp) -> Counter:
    return Counter(m["To"] for m in smtp.messages)


@pytest.mark.skipif(not settings.REDIS_URL, reason="redelivery of a killed worker's task needs the Redis broker")
def test_a_worker_killed_mid_run_then_restarted_still_sends_everyone_one_digest(celery_worker, smtp, capsys):
    everyone = readers(30)
    smtp.delay = 0.2  # a slow server, so the kill lands mid-run

    started = time.monotonic()
    tasks.send_edition_now.apply_async([DAY], queue=celery_worker.queue)
    wait_until(lambda: len(smtp.messages) >= 8, 60, "the run to be under way")
    celery_worker.kill()
    # One pool process, which holds one group of rows at a time (digest/claims.py).
    killed_in_flight = settings.PAPERBOY_SEND_GROUP
    celery_worker.start()

    # Redis hands the killed worker's chunk back; the row it was sending waits out the crash rule.
    wait_until(lambda: statuses()[Delivery.Status.SENT] >= len(everyone) - killed_in_flight, 90, "the rest sent")
    stale = Delivery.objects.stale_sending(dt.timedelta(seconds=STALE_SECONDS))
    wait_until(lambda: stale.exists() or all_done(len(everyone))(), 30, "the dead worker's claim to expire")
    tasks.recover_deliveries.apply_async(queue=celery_worker.queue)  # beat's next run
    wait_until(all_done(len(everyone)), 60, "the uncertain row to be resent")

    assert statuses() == {Delivery.Status.SENT: len(everyone)}
    copies = received(smtp)
    assert set(copies) == {r.email for r in everyone}
    extra = sum(copies.values()) - len(everyone)
    report(capsys, "SIGKILL of the worker mid-run", everyone, smtp, started)
    assert extra <= killed_in_flight
    for address, count in copies.items():
        if count > 1:  # the uncertain one: the same email, recognisable by its Message-ID
            assert len({m["Message-ID"] for m in smtp.to(address)}) == 1


@pytest.mark.parametrize("refused_at", ["rcpt", "data"])
def test_a_server_refusing_a_quarter_of_messages_for_now_gets_everything_delivered(
    celery_worker, smtp, capsys, refused_at
):
    everyone = readers(100)
    smtp.refuse_mix = {"451 4.3.0 Try again later": 0.20, "421 4.3.2 Service shutting down": 0.05}
    smtp.refuse_mix_at = refused_at

    started = time.monotonic()
    tasks.send_edition_now.apply_async([DAY], queue=celery_worker.queue)
    wait_until(all_done(len(everyone)), 90, "every delivery to finish")
    report(capsys, f"20% 451 + 5% 421 at {refused_at.upper()}", everyone, smtp, started)

    assert smtp.refused[451] > 0 and smtp.refused[421] > 0
    assert statuses() == {Delivery.Status.SENT: len(everyone)}  # none given up, though MAX_ATTEMPTS is 2
    assert received(smtp) == {r.email: 1 for r in everyone}
    retries = Delivery.objects.aggregate(retries=Sum("attempts") - Count("pk"))["retries"]
    assert retries == smtp.refused[451]  # each 451 cost one more attempt, a 421 none
    results = Counter(a["result"] for log in Delivery.objects.values_list("attempt_log", flat=True) for a in log)
    assert results == {
        "sent": len(everyone),
        "refused for now": smtp.refused[451],
        "session closed (421), not counted": smtp.refused[421],
    }


def test_recipients_refused_for_good_are_bounced_and_not_retried(celery_worker, smtp):
    everyone = readers(12)
    refused = everyone[::4]
    for subscriber in refused:
        smtp.refuse_recipients[subscriber.email] = "550 5.1.1 No such user here"

    tasks.send_edition_now.apply_async([DAY], queue=celery_worker.queue)
    wait_until(all_done(len(everyone)), 60, "every delivery to finish")

    assert received(smtp) == {r.email: 1 for r in everyone if r not in refused}
    for subscriber in refused:
        delivery = Delivery.objects.get(subscriber=subscriber)
        assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED_PERMANENT, 1)
        assert "No such user here" in delivery.last_error
        subscriber.refresh_from_db()
        assert (subscriber.status, subscriber.hard_bounces) == (Subscriber.Status.BOUNCED, 1)


def test_a_run_that_starts_while_the_smtp_server_is_down_completes_when_it_is_back(celery_worker, smtp):
    everyone = readers(20)
    smtp.go_down()

    tasks.send_edition_now.apply_async([DAY], queue=celery_worker.queue)
    # Down until the worker has met the outage (planning first loads the model: slow on a busy
    # machine), then for OUTAGE_SECONDS more, so the retries meet it too.
    wait_until(lambda: "SMTP server unavailable" in celery_worker.log(), 180, "the outage to be noticed")
    time.sleep(OUTAGE_SECONDS)
    smtp.come_back()
    wait_until(all_done(len(everyone)), 90, "every delivery to finish")

    assert statuses() == {Delivery.Status.SENT: len(everyone)}
    assert received(smtp) == {r.email: 1 for r in everyone}
    assert not Delivery.objects.filter(attempts__gt=1).exists()  # an outage costs nobody an attempt


def terminate_other_database_connections() -> int:
    """pg_terminate_backend on every connection to the test database but ours: the worker's
    connection dies under it, as in a PostgreSQL restart, but the shared server keeps running."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return sum(1 for (terminated,) in cursor.fetchall() if terminated)


def test_a_plan_run_queued_during_heavy_sending_does_not_wait_for_the_sending_to_end(celery_worker, smtp):
    everyone = readers(100)
    smtp.delay = 0.3  # ten batches of ten, each over 3 s, on one worker process
    tasks.send_edition_now.apply_async([DAY], queue=f"{celery_worker.queue}-plan")  # staff's "send now"
    wait_until(lambda: len(smtp.messages) >= 5, 180, "sending under way")

    plan = tasks.plan_due_digests.apply_async(queue=f"{celery_worker.queue}-plan")  # as beat routes it
    wait_until(lambda: f"plan_due_digests[{plan.id}] succeeded" in celery_worker.log(), 180, "the plan run")
    unsent_when_planned = Delivery.objects.exclude(status=Delivery.Status.SENT).count()
    wait_until(all_done(len(everyone)), 180, "every delivery to finish")

    # On the send queue it would have waited behind every batch queued before it.
    assert unsent_when_planned >= 30
    assert received(smtp) == {r.email: 1 for r in everyone}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_terminate_backend needs PostgreSQL")
def test_the_workers_database_connection_terminated_mid_batch_sends_no_message_twice(celery_worker, smtp, capsys):
    everyone = readers(60)
    smtp.delay = 0.05  # the worker spends its time in the SMTP conversation, as in production

    started = time.monotonic()
    tasks.send_edition_now.apply_async([DAY], queue=celery_worker.queue)
    terminated = 0
    for sent in (10, 25, 40):  # three times, in different batches, each just after a message went out
        wait_until(lambda sent=sent: len(smtp.messages) >= sent, 120, f"{sent} messages sent")
        terminated += terminate_other_database_connections()
    # No crash-rule resend and no recovery run needed: the batches go on in place.
    wait_until(all_done(len(everyone)), 60, "every delivery to finish")
    report(capsys, "DB connection terminated x3", everyone, smtp, started)

    assert terminated >= 3
    assert "Database unavailable while writing" in celery_worker.log()  # the fault met a write
    assert statuses() == {Delivery.Status.SENT: len(everyone)}
    assert received(smtp) == {r.email: 1 for r in everyone}
    assert not Delivery.objects.filter(uncertain_attempts__gt=0).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ALLOW_CONNECTIONS needs PostgreSQL")
def test_a_database_out_of_reach_for_longer_than_the_write_retries_loses_no_outcome_and_doubles_nothing(
    celery_worker, smtp, capsys
):
    """The test database refuses every new connection for twice PAPERBOY_DB_RETRY_SECONDS while
    the worker's connection is cut: its writes give up, the send task retries later, and the
    outcomes the server had accepted meanwhile wait in the process until the database is back."""
    everyone = readers(60)
    smtp.delay = 0.05
    out_of_reach = 2 * int(celery_worker.env["PAPERBOY_DB_RETRY_SECONDS"])
    name = connection.settings_dict["NAME"]

    started = time.monotonic()
    tasks.send_edition_now.apply_async([DAY], queue=celery_worker.queue)
    wait_until(lambda: len(smtp.messages) >= 25, 120, "25 messages sent")
    # A switch on the test database alone, from the server's own database: the shared server runs on.
    server = {k: v for k, v in connection.get_connection_params().items() if k in ("host", "port", "user", "password")}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            terminated = terminate_other_database_connections()
            time.sleep(out_of_reach)
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    beat = BeatOn(settings.CELERY_BROKER_URL, celery_worker.queue)
    beat.every(RECOVER_EVERY, tasks.recover_deliveries, until=all_done(len(everyone)), timeout=120)
    report(capsys, f"database out of reach {out_of_reach} s", everyone, smtp, started)

    assert terminated >= 1
    log = celery_worker.log()
    assert "Database unavailable while writing" in log
    assert "Database unavailable, the batch is retried" in log  # the in-place retries gave up ...
    assert statuses() == {Delivery.Status.SENT: len(everyone)}  # ... and nothing was lost
    assert received(smtp) == {r.email: 1 for r in everyone}
    assert not Delivery.objects.filter(uncertain_attempts__gt=0).exists()


@pytest.mark.parametrize("worker_settings", [{"PAPERBOY_SEND_RATE": "25"}], indirect=True)
def test_a_restart_of_the_redis_broker_and_limiter_loses_nothing_and_doubles_nothing(
    private_redis, celery_worker, smtp, capsys
):
    everyone = readers(80)
    beat = BeatOn(private_redis.url, celery_worker.queue)

    started = time.monotonic()
    beat.send(tasks.send_edition_now, [DAY])
    wait_until(lambda: len(smtp.messages) >= 15, 120, "the run to be under way")
    private_redis.restart(down_seconds=1.0)  # every queued and unacknowledged task is gone
    restarted = time.monotonic()
    # Beat's recovery run (every minute in production; here every RECOVER_EVERY seconds).
    bound = REQUEUE_AFTER_SECONDS + int(celery_worker.env["PAPERBOY_SEND_TIME_LIMIT"]) + 2 * RECOVER_EVERY
    beat.every(RECOVER_EVERY, tasks.recover_deliveries, until=all_done(len(everyone)), timeout=bound + 30)
    report(capsys, "Redis restart (broker + limiter)", everyone, smtp, started)

    assert time.monotonic() - restarted < bound + len(everyone) / 25  # recovered within the bound, plus sending
    log = celery_worker.log()
    assert "Send-rate counter in Redis unavailable" in log  # the limiter met the outage ...
    assert "raised unexpected" not in log  # ... and no batch died of it
    assert statuses() == {Delivery.Status.SENT: len(everyone)}
    assert received(smtp) == {r.email: 1 for r in everyone}


def test_a_relay_outage_retries_the_rows_refused_for_now_with_the_rest(celery_worker, smtp, capsys):
    everyone = readers(20)
    busy = [everyone[0], everyone[10]]  # the first of each batch of 10
    for subscriber in busy:
        smtp.refuse_recipients[subscriber.email] = "450 4.2.1 Mailbox busy"
    smtp.delay = 0.3

    started = time.monotonic()
    tasks.send_edition_now.apply_async([DAY], queue=celery_worker.queue)
    wait_until(lambda: celery_worker.log().count("Mailbox busy") >= 1 and len(smtp.messages) >= 2, 180, "a refusal")
    smtp.go_down()  # mid-batch: it holds pending rows and a failed_temporary one
    for subscriber in busy:
        del smtp.refuse_recipients[subscriber.email]
    wait_until(lambda: "SMTP server unavailable" in celery_worker.log(), 30, "the outage to be noticed")
    waited = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < waited:
        # Every row still to send has a live retry due soon: the recovery run would requeue none.
        overdue = Delivery.objects.lost(dt.timedelta(seconds=REQUEUE_AFTER_SECONDS))
        assert not overdue.exists(), list(overdue.values("pk", "status", "retry_at"))
        time.sleep(0.5)
    smtp.come_back()
    wait_until(all_done(len(everyone)), 60, "every delivery to finish without a recovery run")
    report(capsys, "relay down with failed_temporary rows", everyone, smtp, started)

    assert statuses() == {Delivery.Status.SENT: len(everyone)}
    assert received(smtp) == {r.email: 1 for r in everyone}
    for subscriber in busy:  # refused once, then carried through the outage's retries
        assert Delivery.objects.get(subscriber=subscriber).attempts <= 2


class BeatOn:
    """Sends tasks to the worker's queue on a given broker, as beat would: the test process's
    own Celery connection points at the shared broker, not the test's private Redis."""

    def __init__(self, broker_url: str, queue: str) -> None:
        self.broker_url, self.queue = broker_url, queue

    def send(self, task, args: list | None = None) -> None:
        from config.celery import app

        with app.connection_for_write(self.broker_url) as broker:
            task.apply_async(args or [], queue=self.queue, connection=broker, retry=False)

    def every(self, seconds: float, task, until: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, f"not done within {timeout:.0f} s: {statuses()}"
            try:
                self.send(task)
            except Exception:  # the broker is still restarting: beat would try again too
                pass
            time.sleep(seconds)


PLANNER = """
import datetime as dt, json, os, time
import django
django.setup()
from digest.day import plan_day
chunks = []
time.sleep(max(0, float(os.environ["START_AT"]) - time.time()))  # both start together
plan_day(dt.date.fromisoformat(os.environ["DAY"]), respect_send_hour=False, fan_out=chunks.append)
print(json.dumps(chunks))
"""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_the_plan_run_twice_at_once_creates_and_sends_each_digest_once(smtp, settings):
    settings.PAPERBOY_BATCH_SIZE = 15
    everyone = readers(150)
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_test_db(),
        "PAPERBOY_BATCH_SIZE": "15",
        "DAY": DAY,
        "START_AT": str(time.time() + 3),
        "LOG_LEVEL": "WARNING",
        # About concurrent writers, not ranking: without the embedding model, as the worker tests
        # plan (on a busy 2-core machine two planners encoding with it took over 120 s).
        "PAPERBOY_SEMANTIC": "off",
    }
    planners = [
        subprocess.Popen([sys.executable, "-c", PLANNER], cwd=PROJECT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        outputs = [planner.communicate(timeout=120)[0] for planner in planners]
    finally:  # a planner that timed out must not outlive the test, holding the test database open
        for planner in planners:
            if planner.poll() is None:
                planner.kill()
                planner.wait()
    assert [planner.returncode for planner in planners] == [0, 0]
    fanned_out = [ids for output in outputs for ids in json.loads(output)]
    for ids in fanned_out:
        send_batch(ids)

    queued = [pk for ids in fanned_out for pk in ids]
    assert len(queued) == len(set(queued)) == len(everyone)
    assert Delivery.objects.count() == len(everyone)
    assert received(smtp) == {r.email: 1 for r in everyone}
