"""CSV exports of subscribers and deliveries, streamed so a long list never sits in memory."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence

from django.db.models import Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from digest import carried
from digest.models import Delivery
from subscriptions.models import Interest, Subscriber

CHUNK = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Echo:
    """csv.writer writes to this and gets the line back, for streaming."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: object) -> object:
    """Neutralise text a spreadsheet would run as a formula (CSV injection): topics and
    addresses are typed by the public."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> StreamingHttpResponse:
    writer = csv.writer(Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([safe_cell(value) for value in row])

    filename = f"paperboy-{name}-{timezone.now():%Y%m%d-%H%M}.csv"
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


SUBSCRIBER_HEADER = [
    "id",
    "email",
    "status",
    "created_at",
    "confirmed_at",
    "unsubscribed_at",
    "timezone",
    "send_hour",
    "frequency",
    "weekly_day",
    "max_papers",
    "interests",
]


def interest_cell(interest: Interest) -> str:
    """A topic as typed; every other kind named, so authors, categories, seed papers and
    exclusions are there too and told apart."""
    return interest.value if interest.kind == Interest.Kind.TOPIC else f"{interest.kind}: {interest.value}"


def subscriber_rows(subscribers: QuerySet[Subscriber]) -> Iterator[list[object]]:
    interests = Prefetch("interests", queryset=Interest.objects.order_by("kind", "value"))
    for s in subscribers.order_by("pk").prefetch_related(interests).iterator(chunk_size=CHUNK):
        yield [
            s.pk,
            s.email,
            s.status,
            s.created_at.isoformat(),
            s.confirmed_at.isoformat() if s.confirmed_at else "",
            s.unsubscribed_at.isoformat() if s.unsubscribed_at else "",
            s.timezone,
            s.send_hour,
            s.frequency,
            s.get_weekly_day_display() if s.frequency == Subscriber.Frequency.WEEKLY else "",
            s.max_papers,
            "; ".join(interest_cell(i) for i in s.interests.all()),
        ]


DELIVERY_HEADER = [
    "id",
    "subscriber_email",
    "edition_date",
    "status",
    "attempts",
    "papers",
    "created_at",
    "sent_at",
    "message_id",
    "last_error",
]


def delivery_rows(deliveries: QuerySet[Delivery]) -> Iterator[list[object]]:
    rows = deliveries.order_by("pk").select_related("subscriber").annotate(paper_total=carried.PaperCount())
    for d in rows.iterator(chunk_size=CHUNK):
        yield [
            d.pk,
            d.subscriber.email,
            d.edition_date.isoformat(),
            d.status,
            d.attempts,
            d.paper_total,
            d.created_at.isoformat(),
            d.sent_at.isoformat() if d.sent_at else "",
            d.message_id,
            d.last_error,
        ]
