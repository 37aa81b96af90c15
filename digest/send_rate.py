"""A global send-rate limit: at most PAPERBOY_SEND_RATE messages per second across every worker.

Workers share one counter per second in Redis, read against Redis's own clock (TIME), so
machines with drifting clocks still agree on what "this second" is. Without Redis (`make run`
on the filesystem broker, one machine) the same fixed window is counted in each process, so
the limit then holds per process, not overall.

A Redis error (a restart, a failover) never stops a batch: the process counts alone, as
without Redis, for LOCAL_FALLBACK_SECONDS, logged, then asks Redis again.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import cache

from django.conf import settings

log = logging.getLogger(__name__)

KEY = "paperboy:send-rate"
LOCAL_FALLBACK_SECONDS = 10.0

# Take one slot of the current second if any is left; otherwise answer how many microseconds
# remain until the next second, when the caller should try again.
TAKE_SLOT = """
local now = redis.call('TIME')
local key = KEYS[1] .. ':' .. now[1]
local taken = redis.call('INCR', key)
if taken == 1 then redis.call('EXPIRE', key, 2) end
if taken <= tonumber(ARGV[1]) then return 0 end
return 1000000 - tonumber(now[2])
"""


class RedisWindow:
    def __init__(self, url: str) -> None:
        import redis

        # Short timeouts: a Redis that does not answer must not hold up sending for long.
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.take_slot = client.register_script(TAKE_SLOT)

    def wait_seconds(self, per_second: int) -> float:
        return self.take_slot(keys=[KEY], args=[per_second]) / 1_000_000


class ProcessWindow:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.second = 0
        self.taken = 0

    def wait_seconds(self, per_second: int) -> float:
        with self.lock:
            now = time.time()
            if int(now) != self.second:
                self.second, self.taken = int(now), 0
            self.taken += 1
            return 0.0 if self.taken <= per_second else 1 - (now - int(now))


class SharedWindow:
    """The Redis window, or this process's own for a while when Redis fails."""

    def __init__(self, url: str) -> None:
        self.shared = RedisWindow(url)
        self.local = ProcessWindow()
        self.local_until = 0.0  # time.monotonic() until which this process counts alone

    def wait_seconds(self, per_second: int) -> float:
        import redis

        if time.monotonic() < self.local_until:
            return self.local.wait_seconds(per_second)
        try:
            pause = self.shared.wait_seconds(per_second)
        except redis.RedisError as error:
            self.local_until = time.monotonic() + LOCAL_FALLBACK_SECONDS
            log.warning(
                "Send-rate counter in Redis unavailable (%s): this process counts alone for %.0f s",
                error,
                LOCAL_FALLBACK_SECONDS,
            )
            return self.local.wait_seconds(per_second)
        if self.local_until:
            self.local_until = 0.0
            log.info("Send-rate counter in Redis is back: the limit is shared again")
        return pause


@cache
def window(redis_url: str) -> SharedWindow | ProcessWindow:
    return SharedWindow(redis_url) if redis_url else ProcessWindow()


def wait_for_slot() -> None:
    """Block until this process may send one more message under the global rate."""
    rate = settings.PAPERBOY_SEND_RATE
    if not rate:
        return
    limiter = window(settings.PAPERBOY_RATE_LIMIT_REDIS_URL)
    while (pause := limiter.wait_seconds(rate)) > 0:
        time.sleep(pause)
