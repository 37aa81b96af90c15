"""A subscriber's private Atom feed: the digests they were sent, newest first."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_GET

from digest.models import Delivery, DeliveryItem
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

    def subtitle(self, subscriber: Subscriber) -> str:
        return "The papers Paperboy sent you, one entry per email. This address is private: don't share it."

    def items(self, subscriber: Subscriber) -> QuerySet[Delivery]:
        return (
            subscriber.deliveries.filter(status=Delivery.Status.SENT)
            .annotate(paper_count=Count("items"))
            .prefetch_related(Prefetch("items", queryset=DeliveryItem.objects.select_related("paper")))
            .order_by("-edition_date")[:FEED_LENGTH]
        )

    def item_title(self, delivery: Delivery) -> str:
        papers = f"{delivery.paper_count} paper{'s' if delivery.paper_count != 1 else ''}"
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
