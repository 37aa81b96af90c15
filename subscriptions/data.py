"""A subscriber's own data, as they can download it from the preference center."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from digest.models import DeliveryItem
from subscriptions.models import Subscriber


def subscriber_data(subscriber: Subscriber) -> dict[str, Any]:
    """Interests, settings and every delivery with its papers; JSON-ready."""
    deliveries = subscriber.deliveries.prefetch_related(
        Prefetch("items", queryset=DeliveryItem.objects.select_related("paper"))
    ).order_by("-edition_date")
    return {
        "email": subscriber.email,
        "status": subscriber.status,
        "created_at": subscriber.created_at.isoformat(),
        "confirmed_at": subscriber.confirmed_at.isoformat() if subscriber.confirmed_at else None,
        "settings": {
            "frequency": subscriber.frequency,
            "weekly_day": subscriber.get_weekly_day_display(),
            "send_hour": subscriber.send_hour,
            "timezone": subscriber.timezone,
            "max_papers": subscriber.max_papers,
        },
        "interests": [
            {"kind": i.kind, "value": i.value, "added_at": i.created_at.isoformat()} for i in subscriber.interests.all()
        ],
        "deliveries": [
            {
                "edition_date": d.edition_date.isoformat(),
                "status": d.status,
                "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                "papers": [{"arxiv_id": i.paper.arxiv_id, "title": i.paper.title, "why": i.why} for i in d.items.all()],
            }
            for d in deliveries
        ],
    }
