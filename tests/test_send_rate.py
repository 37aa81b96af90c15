"""The global send rate: shared through Redis by every worker, per process without Redis."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings as django_settings
from redis import Redis as RedisClient

from digest import send_rate
from digest.send_rate import ProcessWindow, RedisWindow, wait_for_slot


@pytest.fixture(autouse=True)
def fresh_counter():
    send_rate.window.cache_clear()
    if django_settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(django_settings.REDIS_URL)
        client.delete(*client.keys(f"{send_rate.KEY}:*") or ["-"])
    yield
    send_rate.window.cache_clear()


def take_slots(window: ProcessWindow | RedisWindow, count: int, per_second: int, granted: list[float]) -> None:
    for _ in range(count):
        while (pause := window.wait_seconds(per_second)) > 0:
            time.sleep(pause)
        granted.append(time.time())


def busiest_second(granted: list[float]) -> int:
    seconds = [int(t) for t in granted]
    return max(seconds.count(s) for s in set(seconds))


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="the shared limit needs Redis")
def test_two_workers_share_one_limit_through_redis():
    # Two windows on their own connections, as two worker machines would have.
    workers = [RedisWindow(django_settings.REDIS_URL), RedisWindow(django_settings.REDIS_URL)]
    granted: list[float] = []
    threads = [threading.Thread(target=take_slots, args=(w, 8, 5, granted)) for w in workers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(granted) == 16
    # Not 10: the limit is global, not per worker (+1: a grant may be timed a moment late).
    assert busiest_second(granted) <= 6
    assert time.monotonic() - started > 2  # 16 messages at 5 a second span at least three seconds


def test_without_redis_each_process_keeps_the_limit_itself():
    granted: list[float] = []
    take_slots(ProcessWindow(), 7, 3, granted)
    assert busiest_second(granted) <= 4  # 3, +1: a grant may be timed a moment late


def test_no_rate_means_no_waiting(settings):
    settings.PAPERBOY_SEND_RATE = 0
    started = time.monotonic()
    for _ in range(1000):
        wait_for_slot()
    assert time.monotonic() - started < 1


def test_a_redis_outage_never_stops_sending_the_process_counts_alone_then_shares_again(
    private_redis, settings, monkeypatch, caplog
):
    settings.PAPERBOY_SEND_RATE = 5
    settings.PAPERBOY_RATE_LIMIT_REDIS_URL = private_redis.url
    monkeypatch.setattr(send_rate, "LOCAL_FALLBACK_SECONDS", 1.0)
    wait_for_slot()
    private_redis.stop()

    granted: list[float] = []
    for _ in range(8):
        wait_for_slot()
        granted.append(time.time())

    assert busiest_second(granted) <= 6  # still limited, by this process alone
    assert "Send-rate counter in Redis unavailable" in caplog.text
    private_redis.start()
    time.sleep(1.1)
    wait_for_slot()
    assert "the limit is shared again" in caplog.text
    assert RedisClient(port=private_redis.port).keys(f"{send_rate.KEY}:*")  # counted in Redis again
