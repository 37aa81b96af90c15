"""/healthz: what load balancers and monitoring read. Public, so it must say nothing sensitive."""

from __future__ import annotations

import datetime as dt
import time
from email.utils import make_msgid

import pytest
import time_machine
from django.conf import settings as django_settings

from digest.models import Delivery, Edition
from tests.factories import make_subscriber

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 9, 4, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def ingested(at: dt.datetime, report: dict | None = None) -> Edition:
    return Edition.objects.create(
        date=at.date(), created_at=at, ingested_at=at, source_report=report or {"hf": {"papers": 98}}
    )


def sent(at: dt.datetime) -> Delivery:
    return Delivery.objects.create(
        subscriber=make_subscriber(f"reader{at:%H%M%S}@example.com"),
        edition_date=at.date(),
        status=Delivery.Status.SENT,
        sent_at=at,
        message_id=make_msgid(),
    )


def test_a_healthy_service_answers_200_with_each_check_and_when_things_last_happened(client, now):
    ingested(now - dt.timedelta(hours=15))
    sent(now - dt.timedelta(hours=4))

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": {"status": "ok"},
            "broker": {"status": "ok"},
            "ingest": {"status": "ok", "last": "2025-09-03T21:00:00+00:00"},
            "digest": {"status": "ok", "last": "2025-09-04T08:00:00+00:00"},
        },
        "time": "2025-09-04T12:00:00+00:00",
    }


def test_an_unreachable_broker_answers_503_without_saying_where_it_is(client, now, settings):
    ingested(now - dt.timedelta(hours=15))
    settings.CELERY_BROKER_URL = "redis://:hunter2@127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["broker"] == {"status": "fail", "note": "unreachable"}
    assert body["checks"]["database"] == {"status": "ok"}
    text = response.content.decode()
    for secret in ("hunter2", "127.0.0.1", "redis", django_settings.DATABASES["default"]["NAME"]):
        assert secret not in text


def test_an_ingest_older_than_the_limit_fails(client, now, settings):
    settings.PAPERBOY_HEALTH_INGEST_MAX_AGE_HOURS = 30
    ingested(now - dt.timedelta(hours=31))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["ingest"] == {
        "status": "fail",
        "last": "2025-09-03T05:00:00+00:00",
        "note": "stale",
    }


def test_an_ingest_that_read_no_source_fails_even_after_an_older_success(client, now):
    ingested(now - dt.timedelta(hours=20))
    # The newest day's every source failed (the dashboard marks them all): that ingest read nothing.
    ingested(
        now - dt.timedelta(hours=7),
        {"hf": {"error": "huggingface.co answered 502"}, "arxiv:cs.CL": {"error": "timed out"}},
    )

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["ingest"] == {"status": "fail", "note": "no source read"}
    assert "502" not in response.content.decode()


def test_no_ingest_ever_fails(client, now):
    assert client.get("/healthz").json()["checks"]["ingest"] == {"status": "fail", "note": "never"}


def test_digests_that_stopped_going_out_fail_but_nobody_to_send_to_is_fine(client, now):
    ingested(now - dt.timedelta(hours=2))
    assert client.get("/healthz").json()["checks"]["digest"] == {"status": "ok", "note": "no active subscribers"}

    make_subscriber("ada@example.com")
    assert client.get("/healthz").json()["checks"]["digest"] == {"status": "fail", "note": "never"}

    sent(now - dt.timedelta(hours=31))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["digest"] == {
        "status": "fail",
        "last": "2025-09-03T05:00:00+00:00",
        "note": "stale",
    }


def test_a_load_balancer_can_ask_for_the_web_checks_only(client, now):
    # Nothing ever ingested: monitoring should hear of it, but this web process can serve.
    response = client.get("/healthz?check=database&check=broker")

    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "broker"}
    assert client.get("/healthz").status_code == 503


def test_an_unknown_check_is_a_clear_400(client):
    response = client.get("/healthz?check=disk")

    assert response.status_code == 400
    assert response.json() == {"error": "unknown check 'disk'; known: database, broker, ingest, digest"}


def test_healthz_needs_no_login_answers_head_and_takes_no_posts(client, now):
    ingested(now)
    assert client.get("/healthz").status_code == 200
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_repeated_checks_run_once_each(client, now):
    ingested(now)

    response = client.get("/healthz?" + "&".join(["check=broker", "check=database", "check=broker"]))

    assert response.status_code == 200
    assert list(response.json()["checks"]) == ["broker", "database"]


def test_a_long_list_of_checks_is_a_clear_400_and_costs_nothing(client):
    started = time.perf_counter()
    response = client.get("/healthz?" + "&".join(["check=broker"] * 300))
    elapsed = time.perf_counter() - started

    assert response.status_code == 400
    assert response.json() == {"error": "at most 8 check parameters"}
    assert elapsed < 0.1  # no connection was opened for it


def test_an_unknown_check_among_known_ones_is_a_400(client):
    assert client.get("/healthz?check=database&check=nope").status_code == 400
