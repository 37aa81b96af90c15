"""What subscriptions keeps about a subscriber, for the data download from the preference
center (digest.reader.data adds what they were sent)."""

from __future__ import annotations

from typing import Any

from subscriptions.models import Subscriber


def subscriber_data(subscriber: Subscriber) -> dict[str, Any]:
    """Address, status, settings and interests; JSON-ready."""
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
    }
