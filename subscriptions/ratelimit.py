"""Counters in Django's cache (Redis in production, so every web process and worker shares
them) that keep signup from being turned into a way to mail strangers, without letting a
stranger lock an address's owner out.

Two limits:
- per client network (an IPv4 address, or an IPv6 /64, which one host usually holds whole):
  the requests that could send mail, i.e. valid posts; a form with errors costs nothing;
- per mailbox (addresses.mailbox_key: case, quotes and +tags do not make another one): the
  emails actually sent to it, counted where they are sent (subscriptions/mailing.py). Past the
  limit the mailbox still gets one email per PAPERBOY_SIGNUP_LIMITED_COOLDOWN, and its owner's
  manage link one more of its own, so strangers cannot take every slot; the page says the same
  whether an email went or not.
"""

from __future__ import annotations

import hashlib
import ipaddress

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from subscriptions import addresses

IPV6_GROUP_PREFIX = 64


def cache_key(scope: str, key: str) -> str:
    # Hashed: addresses and IPs stay out of the cache's key space (and its logs).
    return f"ratelimit:{scope}:{hashlib.sha256(key.encode()).hexdigest()}"


def count(scope: str, key: str, window_seconds: int) -> int:
    """Count one for (scope, key) in a fixed window; the count so far, this one included."""
    name = cache_key(scope, key)
    cache.add(name, 0, timeout=window_seconds)  # starts the window; a no-op while it runs
    try:
        return cache.incr(name)
    except ValueError:  # the window ran out between add and incr
        cache.add(name, 1, timeout=window_seconds)
        return 1


def client_ip(request: HttpRequest) -> str:
    return request.META.get(settings.PAPERBOY_CLIENT_IP_HEADER) or request.META.get("REMOTE_ADDR", "")


def client_network(request: HttpRequest) -> str:
    """The unit one client holds: its IPv4 address, or its IPv6 /64 (one host gets a whole /64,
    so counting single IPv6 addresses would give it 2**64 allowances)."""
    text = client_ip(request).strip()
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text  # not an address (a misconfigured header): still one key per value
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/{IPV6_GROUP_PREFIX}", strict=False))
    return str(ip)


def allow_request_from(request: HttpRequest) -> bool:
    """Count one valid post that may send mail from this client's network; False past the limit."""
    return (
        count("signup-ip", client_network(request), settings.PAPERBOY_SIGNUP_LIMIT_WINDOW)
        <= settings.PAPERBOY_SIGNUP_LIMIT_PER_IP
    )


def claim_mail_to(address: str, manage_link: bool = False) -> bool:
    """True if one more web-triggered email may go to this address's mailbox now, and counts it:
    at most PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS in the window; past that, one per
    PAPERBOY_SIGNUP_LIMITED_COOLDOWN since the last, so the owner is never shut out for long.
    (A subscriber's own row adds PAPERBOY_SIGNUP_MAIL_COOLDOWN: a double click sends one.)

    The manage link of a confirmed subscriber (`manage_link`) has a cooldown of its own: strangers
    asking for confirmations or address changes to that mailbox as fast as they can would
    otherwise take every slot, and the owner would never get back in. It goes only to an address
    that confirmed, and whoever asks for it, it is the owner's way in; so a limited mailbox gets
    at most two emails per cooldown."""
    mailbox = addresses.mailbox_key(address)
    limited_cooldown = cache_key("mail-limited-manage" if manage_link else "mail-limited", mailbox)
    if count("mail-sent", mailbox, settings.PAPERBOY_SIGNUP_LIMIT_WINDOW) <= settings.PAPERBOY_SIGNUP_LIMIT_PER_ADDRESS:
        cache.set(limited_cooldown, 1, timeout=settings.PAPERBOY_SIGNUP_LIMITED_COOLDOWN)
        return True
    return cache.add(limited_cooldown, 1, timeout=settings.PAPERBOY_SIGNUP_LIMITED_COOLDOWN)
