"""The staff preview of any subscriber's digest for any date, HTML and text side by side,
rendered through the same EditionRenderer as the email itself."""

from __future__ import annotations

import datetime as dt

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from digest import deliver
from digest.models import Delivery
from digest.render import from_address, renderer_for
from subscriptions.models import Subscriber


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
