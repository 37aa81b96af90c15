"""Delivery through faults, with real processes: a Celery worker on the configured broker
(Redis in CI), PostgreSQL in CI, and a real SMTP server (aiosmtpd) that misbehaves on demand.

Times are shortened for the tests through the worker's environment: retries back off 1-2 s
instead of minutes, a send task may live 8 s, a row `sending` for 10 s belongs to a dead
worker, Redis hands an unacknowledged task back after 10 s, and the relay's outage lasts
10 s instead of the issue's "first minute"."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

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


@pytest.fixture
def worker_settings() -> dict[str, str]:
    return {
        "PAPERBOY_BATCH_SIZE": "10",
        "PAPERBOY_MAX_ATTEMPTS": "10",
        "PAPERBOY_RETRY_BACKOFF_SECONDS": "1",
        "PAPERBOY_RETRY_BACKOFF_MAX_SECONDS": "2",
        "PAPERBOY_SEND_TIME_LIMIT": "8",
        "PAPERBOY_SENDING_STALE_SECONDS": str(STALE_SECONDS),
        "PAPERBOY_REQUEUE_AFTER_SECONDS": "30",
        "CELERY_VISIBILITY_TIMEOUT": "10",
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


def statuses() -> Counter:
    return Counter(Delivery.objects.values_list("status", flat=True))


def received(smtp) -> Counter:
    return Counter(m["To"] for m in smtp.messages)


@pytest.mark.skipif(not settings.REDIS_URL, reason="redelivery of a killed worker's task needs the Redis broker")
def test_a_worker_killed_mid_run_then_restarted_still_sends_everyone_one_digest(celery_worker, smtp, capsys):
    everyone = readers(30)
    smtp.delay = 0.2  # a slow server, so the kill lands mid-run

    tasks.send_edition_now.apply_async([DAY], queue=celery_worker.queue)
    wait_until(lambda: len(smtp.messages) >= 8, 60, "the run to be under way")
    celery_worker.kill()
    killed_in_flight = 1  # one pool process, which holds one message at a time
    celery_worker.start()

    # Redis hands the killed worker's chunk back; the row it was sending waits out the crash rule.
    wait_until(lambda: statuses()[Delivery.Status.SENT] >= len(everyone) - killed_in_flight, 90, "the rest sent")
    stale = Delivery.objects.stale_sending(dt.timedelta(seconds=STALE_SECONDS))
    wait_until(lambda: stale.exists() or all_done(len(everyone))(), 30, "the dead worker's claim to expire")
    tasks.plan_due_digests.apply_async([DAY], queue=celery_worker.queue)  # beat's next run
    wait_until(all_done(len(everyone)), 60, "the uncertain row to be resent")

    assert statuses() == {Delivery.Status.SENT: len(everyone)}
    copies = received(smtp)
    assert set(copies) == {r.email for r in everyone}
    extra = sum(copies.values()) - len(everyone)
    with capsys.disabled():
        print(f"\nkilled worker: {extra} extra cop{'y' if extra == 1 else 'ies'} of {len(everyone)} digests")
    assert extra <= killed_in_flight
    for address, count in copies.items():
        if count > 1:  # the uncertain one: the same email, recognisable by its Message-ID
            assert len({m["Message-ID"] for m in smtp.to(address)}) == 1


def test_a_server_refusing_a_fifth_of_messages_for_now_gets_everything_delivered(celery_worker, smtp):
    everyone = readers(30)
    smtp.refuse_share = 0.2  # 421 or 451, at random

    tasks.send_edition_now.apply_async([DAY], queue=celery_worker.queue)
    wait_until(all_done(len(everyone)), 90, "every delivery to finish")

    assert smtp.refusals > 0
    assert statuses() == {Delivery.Status.SENT: len(everyone)}
    assert received(smtp) == {r.email: 1 for r in everyone}
    retries = Delivery.objects.aggregate(retries=Sum("attempts") - Count("pk"))["retries"]
    assert retries == smtp.refusals  # each refusal cost exactly one more attempt


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
    }
    planners = [
        subprocess.Popen([sys.executable, "-c", PLANNER], cwd=PROJECT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [planner.communicate(timeout=120)[0] for planner in planners]
    assert [planner.returncode for planner in planners] == [0, 0]
    fanned_out = [ids for output in outputs for ids in json.loads(output)]
    for ids in fanned_out:
        send_batch(ids)

    queued = [pk for ids in fanned_out for pk in ids]
    assert len(queued) == len(set(queued)) == len(everyone)
    assert Delivery.objects.count() == len(everyone)
    assert received(smtp) == {r.email: 1 for r in everyone}
