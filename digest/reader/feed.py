"""A subscriber's private Atom feed: the digests they were sent, newest first."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_GET

from digest import carried
from digest.models import Delivery
from subscriptions import links
from subscriptions.models import Subscriber
from subscriptions.views import with_subscriber

FEED_LENGTH = 30


class DigestFeed(Feed):
    feed_type = Atom1Feed
    description_template = "digest/feed_item.html"

    def get_object(self, request: HttpRequest, subscriber: Subscriber) -> Subscriber:
        return subscriber

    def title(self, subscriber: Subscriber) -> str:
        return f"Paperboy digests for {subscriber.email}"

    def link(self, subscriber: Subscriber) -> str:
        return settings.SITE_URL + "/"

    def feed_guid(self, subscriber: Subscriber) -> str:
        # The feed's <id>: its own per subscriber (a reader follows their feed by it), and
        # stable, unlike its address, whose token may be renewed.
        return f"tag:{settings.SITE_DOMAIN},{subscriber.created_at:%Y-%m-%d}:digests/{subscriber.pk}"

    # RFC 4287 4.1.1: a feed needs an atom:author unless every entry has one.
    author_name = "Paperboy"

    def author_link(self) -> str:
        return settings.SITE_URL + "/"

    def subtitle(self, subscriber: Subscriber) -> str:
        return "The papers Paperboy sent you, one entry per email. This address is private: don't share it."

    def items(self, subscriber: Subscriber) -> list[Delivery]:
        deliveries = list(
            subscriber.deliveries.filter(status=Delivery.Status.SENT).order_by("-edition_date")[:FEED_LENGTH]
        )
        carried.prefetch(deliveries)  # every entry's papers in one query
        return deliveries

    def item_title(self, delivery: Delivery) -> str:
        count = len(carried.paper_ids(delivery))
        papers = f"{count} paper{'s' if count != 1 else ''}"
        return f"{delivery.edition_date:%A %-d %B %Y}: {papers}"

    def item_link(self, delivery: Delivery) -> str:
        return links.web_view_url(delivery.subscriber_id, delivery.edition_date)

    def item_guid(self, delivery: Delivery) -> str:
        # A tag: URI (RFC 4151), stable and unique per delivery, as Atom wants an IRI for <id>.
        return f"tag:{settings.SITE_DOMAIN},{delivery.edition_date.isoformat()}:digest/{delivery.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, delivery: Delivery) -> dt.datetime | None:
        return delivery.sent_at

    def item_updateddate(self, delivery: Delivery) -> dt.datetime | None:
        return delivery.sent_at


@require_GET
@with_subscriber(links.subscriber_id_from_feed_token)
def feed(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    return DigestFeed()(request, subscriber=subscriber)
