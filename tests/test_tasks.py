"""The Celery side: the beat schedule and the plan task, run in-process."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from config.celery import app
from digest import tasks
from tests.conftest import PROJECT
from tests.factories import load_day, make_subscriber


def test_the_beat_schedule_names_registered_tasks_ingest_daily_then_plans_every_quarter_hour():
    schedule = settings.CELERY_BEAT_SCHEDULE
    app.loader.import_default_modules()  # autodiscovery, as a starting worker does it
    assert {entry["task"] for entry in schedule.values()} <= set(app.tasks)
    ingest = schedule["ingest-todays-papers"]["schedule"]
    plan = schedule["plan-due-digests"]["schedule"]
    assert ingest.hour == {settings.PAPERBOY_INGEST_HOUR_UTC} and ingest.minute == {0}
    assert len(plan.hour) == 24 and plan.minute == {0, 15, 30, 45}


@pytest.mark.django_db
@pytest.mark.parametrize("planning", ["shard", "central"])
def test_the_plan_task_sends_to_subscribers_whose_hour_has_come(
    eager_celery, settings, django_capture_on_commit_callbacks, planning
):
    settings.PAPERBOY_PLANNING = planning
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(dt.datetime(2025, 9, 3, 5, 0, tzinfo=dt.UTC)):
        load_day()
    make_subscriber("paris@example.com", "reinforcement learning", timezone="Europe/Paris", send_hour=8)
    make_subscriber("tokyo@example.com", "reinforcement learning", timezone="Asia/Tokyo", send_hour=8)

    with time_machine.travel(dt.datetime(2025, 9, 3, 6, 15, tzinfo=dt.UTC)):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.plan_due_digests.delay()
    assert [m.to for m in mail.outbox] == [["paris@example.com"]]

    with time_machine.travel(dt.datetime(2025, 9, 3, 23, 15, tzinfo=dt.UTC)):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.plan_due_digests.delay()
    assert [m.to for m in mail.outbox] == [["paris@example.com"], ["tokyo@example.com"]]


def test_plans_and_housekeeping_have_a_queue_of_their_own_which_every_worker_command_consumes():
    app.loader.import_default_modules()
    queue_of = {
        name: app.amqp.router.route({}, name)["queue"].name
        for name in app.tasks
        if name.startswith(("digest", "subscriptions"))
    }
    plan_queue = settings.CELERY_PLAN_QUEUE
    assert plan_queue != settings.CELERY_TASK_DEFAULT_QUEUE
    assert queue_of["digest.tasks.send_batch"] == settings.CELERY_TASK_DEFAULT_QUEUE
    assert queue_of["digest.tasks.plan_and_send"] == settings.CELERY_TASK_DEFAULT_QUEUE  # the workers plan too
    for entry in settings.CELERY_BEAT_SCHEDULE.values():  # everything beat starts
        assert queue_of[entry["task"]] == plan_queue
    consumed = f"-Q {settings.CELERY_TASK_DEFAULT_QUEUE},{plan_queue}"
    for path in ["compose.yaml", "Procfile.dev", "README.md"]:
        workers = [line for line in (PROJECT / path).read_text().splitlines() if "celery -A config worker" in line]
        assert workers and all(consumed in line for line in workers), path


def test_with_a_bounce_mailbox_beat_reads_it_every_few_minutes_on_the_plan_queue():
    # Settings read the mailbox's host at start-up, so a process of its own starts with one.
    code = (
        "import json, django; django.setup(); from django.conf import settings; from config.celery import app; "
        "app.loader.import_default_modules(); entry = settings.CELERY_BEAT_SCHEDULE['read-bounce-mailbox']; "
        "print(json.dumps([entry['task'], sorted(entry['schedule'].minute), "
        "app.amqp.router.route({}, entry['task'])['queue'].name, settings.CELERY_PLAN_QUEUE]))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PAPERBOY_BOUNCE_IMAP_HOST": "imap.example.org",
           "PAPERBOY_BOUNCE_POLL_MINUTES": "10"}  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    task, minutes, queue, plan_queue = json.loads(result.stdout.strip().splitlines()[-1])
    assert task == "digest.tasks.read_bounce_mailbox" and minutes == [0, 10, 20, 30, 40, 50]
    assert queue == plan_queue  # like everything beat starts: never behind the send batches
    assert "read-bounce-mailbox" not in settings.CELERY_BEAT_SCHEDULE  # without a mailbox, nothing to poll


def test_recovery_runs_every_minute():
    recovery = settings.CELERY_BEAT_SCHEDULE["recover-deliveries"]
    assert recovery["task"] == "digest.tasks.recover_deliveries"
    assert len(recovery["schedule"].minute) == 60


def test_old_plans_are_compacted_once_a_day_on_the_plan_queue():
    compaction = settings.CELERY_BEAT_SCHEDULE["compact-old-plans"]
    assert compaction["task"] == "digest.tasks.compact_old_plans"
    assert len(compaction["schedule"].hour) == 1 and len(compaction["schedule"].minute) == 1
    assert settings.CELERY_TASK_ROUTES[compaction["task"]] == {"queue": settings.CELERY_PLAN_QUEUE}
