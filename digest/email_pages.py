"""Pages that show a digest email: the subscriber's "view in browser" page and the staff
preview. Both render through the same EditionRenderer as the email itself."""

from __future__ import annotations

import datetime as dt

from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from digest import deliver
from digest.models import Delivery
from digest.render import delivery_items, from_address, renderer_for
from subscriptions import links
from subscriptions.models import Subscriber


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


@staff_member_required
@require_GET
def staff_preview(request: HttpRequest) -> HttpResponse:
    """Any subscriber's digest for any date, HTML and text side by side: the planned delivery's
    papers if there is one, otherwise ranked now as planning would."""
    context: dict = {"subscriber_value": request.GET.get("subscriber", ""), "date_value": request.GET.get("date", "")}
    if not context["subscriber_value"] and not context["date_value"]:
        return render(request, "digest/staff_preview.html", context)
    try:
        subscriber_id = int(context["subscriber_value"])
        edition_date = dt.date.fromisoformat(context["date_value"])
    except ValueError:
        context["error"] = "Give a subscriber id (a number) and a date as YYYY-MM-DD."
        return render(request, "digest/staff_preview.html", context, status=400)
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        context["error"] = f"There is no subscriber {subscriber_id}."
        return render(request, "digest/staff_preview.html", context, status=404)
    delivery = Delivery.objects.filter(subscriber=subscriber, edition_date=edition_date).first()
    items = deliver.digest_items(subscriber, edition_date, delivery)
    context |= {"subscriber": subscriber, "edition_date": edition_date, "delivery": delivery}
    if not items:
        context["error"] = f"Nothing matched {subscriber.email} on {edition_date:%Y-%m-%d}: no email would go out."
        return render(request, "digest/staff_preview.html", context)
    message = renderer_for(edition_date).message(
        subscriber, items, delivery.message_id if delivery else "(given when the delivery is planned)"
    )
    context |= {
        "message": message,
        "from_address": from_address(),
        "html": message.alternatives[0][0],
        "html_bytes": len(message.alternatives[0][0].encode()),
    }
    return render(request, "digest/staff_preview.html", context)
