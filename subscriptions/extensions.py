"""Where an app built on subscriptions adds to its pages (the day's papers on the signup page,
the next digest in the preference center, the papers to tick under "Papers like these?"), so
that subscriptions imports nothing of it.

An app registers a provider for a page in its AppConfig.ready(); the page's view merges what
each provider returns into its template context."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from subscriptions.models import Subscriber

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


# --- "Papers like these?": papers to tick at signup and in the preference center -----------
# Subscriptions shows the checkboxes and carries the ticks (into a SignupRequest, for a known
# address, until it confirms); the app that knows papers offers them and keeps the ticks.


@dataclass(frozen=True)
class OfferedPaper:
    arxiv_id: str
    title: str
    url: str
    note: str  # why it is offered, e.g. "Matches your topics" or "▲ 120 this week"


class PaperOffer(Protocol):
    def tickable(self) -> frozenset[str]:
        """arXiv ids a form may tick: every paper that could have been offered lately, so a page
        opened before a new edition arrived still saves."""

    def offer(
        self, topics: Sequence[str], subscriber: Subscriber | None, ticked: Sequence[str] = ()
    ) -> list[OfferedPaper]:
        """The papers to show, best first; none the subscriber has rated already. Papers
        `ticked` in a form that comes back are shown again first, so no tick is lost."""

    def rated(self, subscriber: Subscriber) -> int:
        """How many papers the subscriber has rated (what their own model learns from)."""

    def keep(self, subscriber: Subscriber, arxiv_ids: Sequence[str]) -> None:
        """Store the ticks (tickable ids only) as the subscriber's 👍."""


class NoOffer:
    """Without an app to offer papers, there is nothing to tick."""

    def tickable(self) -> frozenset[str]:
        return frozenset()

    def offer(
        self, topics: Sequence[str], subscriber: Subscriber | None, ticked: Sequence[str] = ()
    ) -> list[OfferedPaper]:
        return []

    def rated(self, subscriber: Subscriber) -> int:
        return 0

    def keep(self, subscriber: Subscriber, arxiv_ids: Sequence[str]) -> None:
        pass


_paper_offer: list[PaperOffer] = []


def offer_papers_with(offer: PaperOffer) -> None:
    _paper_offer[:] = [offer]


def paper_offer() -> PaperOffer:
    return _paper_offer[0] if _paper_offer else NoOffer()
