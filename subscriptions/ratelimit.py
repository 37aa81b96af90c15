"""Fixed-window counters in Django's cache (Redis in production, so every web process shares
them). Used to keep signup from being turned into a way to mail strangers."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def allow(scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt for (scope, key); False once more than `limit` were made in the window."""
    # Hashed: addresses and IPs stay out of the cache's key space (and its logs).
    cache_key = f"ratelimit:{scope}:{hashlib.sha256(key.encode()).hexdigest()}"
    cache.add(cache_key, 0, timeout=window_seconds)  # starts the window; a no-op while it runs
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window ran out between add and incr
        cache.add(cache_key, 1, timeout=window_seconds)
        count = 1
    return count <= limit


def client_ip(request: HttpRequest) -> str:
    return request.META.get(settings.PAPERBOY_CLIENT_IP_HEADER) or request.META.get("REMOTE_ADDR", "")


def allow_signup_from(request: HttpRequest) -> bool:
    return allow(
        "signup-ip",
        client_ip(request),
        settings.PAPERBOY_SIGNUP_LIMIT_PER_IP,
        settings.PAPERBOY_SIGNUP_LIMIT_WINDOW,
    )


def allow_signup_for(email: str) -> bool:
    return allow(
        "signup-address",
        email.casefold(),
        settings.PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS,
        settings.PAPERBOY_SIGNUP_LIMIT_WINDOW,
    )
