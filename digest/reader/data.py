"""The data download of the preference center: what subscriptions keeps about the reader,
every digest we sent them with its papers, and their ratings."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from digest import carried
from digest.models import Rating
from subscriptions import links
from subscriptions.data import subscriber_data
from subscriptions.models import Subscriber
from subscriptions.views import with_subscriber


def reader_data(subscriber: Subscriber) -> dict[str, Any]:
    """subscriptions' data, every delivery with its papers and every 👍/👎 given; JSON-ready."""
    deliveries = list(subscriber.deliveries.order_by("-edition_date"))
    carried.prefetch(deliveries)
    return {
        **subscriber_data(subscriber),
        "deliveries": [
            {
                "edition_date": d.edition_date.isoformat(),
                "status": d.status,
                "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                "papers": [
                    {"arxiv_id": i.paper.arxiv_id, "title": i.paper.title, "why": i.why} for i in d.carried_items()
                ],
            }
            for d in deliveries
        ],
        "ratings": [
            {
                "arxiv_id": r.paper.arxiv_id,
                "title": r.paper.title,
                "vote": r.vote,
                "rated_at": r.updated_at.isoformat(),
            }
            for r in Rating.objects.filter(subscriber=subscriber).select_related("paper").order_by("-updated_at", "pk")
        ],
    }


@require_GET
@with_subscriber(links.subscriber_id_from_manage_token)
def data(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    """Everything we keep about the subscriber, as a JSON download."""
    response = JsonResponse(reader_data(subscriber), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'attachment; filename="paperboy-data.json"'
    return response
