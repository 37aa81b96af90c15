"""Where an app built on subscriptions adds to its pages (the day's papers on the signup page,
the next digest in the preference center), so that subscriptions imports nothing of it.

An app registers a provider for a page in its AppConfig.ready(); the page's view merges what
each provider returns into its template context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SIGNUP_PAGE = "signup"
MANAGE_PAGE = "manage"

ContextProvider = Callable[..., dict[str, Any]]
_providers: dict[str, list[ContextProvider]] = {}


def add_to_page(page: str, provider: ContextProvider) -> None:
    providers = _providers.setdefault(page, [])
    if provider not in providers:
        providers.append(provider)


def context_for(page: str, **kwargs: Any) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for provider in _providers.get(page, []):
        context |= provider(**kwargs)
    return context
