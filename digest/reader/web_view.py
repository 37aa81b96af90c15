"""The "view in browser" page of a digest email, rendered through the same EditionRenderer as
the email itself."""

from __future__ import annotations

import datetime as dt

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from digest.models import Delivery
from digest.render import delivery_items, renderer_for
from subscriptions import links


@require_GET
def web_view(request: HttpRequest, token: str) -> HttpResponse:
    """The digest a subscriber was sent, as a page. The signed token names subscriber and date."""
    try:
        subscriber_id, date_text = links.unsign(links.WEB_VIEW_SALT, token)
        edition_date = dt.date.fromisoformat(date_text)
    except (signing.BadSignature, TypeError, ValueError):
        return render(request, "subscriptions/bad_link.html", status=400)
    delivery = (
        Delivery.objects.filter(subscriber_id=subscriber_id, edition_date=edition_date)
        .select_related("subscriber")
        .first()
    )
    if delivery is None:
        return render(request, "subscriptions/bad_link.html", status=404)
    # The link is in every email and in the Atom feed, and gets forwarded: the page it opens
    # must not hand over the subscription (no manage, unsubscribe or rating links).
    rendered = renderer_for(edition_date).render(delivery.subscriber, delivery_items(delivery), shared=True)
    response = HttpResponse(rendered.html)
    # The address carries the subscriber's token: keep it out of search engines and Referer headers.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response
