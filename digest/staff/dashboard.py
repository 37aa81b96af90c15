"""The staff dashboard's figures: a few grouped queries each, never one per row or per day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, Q
from django.db.models.functions import Lower, TruncDate
from django.utils import timezone

from digest import carried
from digest.day import latest_edition
from digest.matching import semantic
from digest.models import Delivery, Edition, Paper, Rating, ReturnedMessage
from digest.staff.actions import FAILED_STATUSES
from subscriptions.models import Interest, Subscriber

SUBSCRIBER_DAYS = 30
DELIVERY_DAYS = 14
INGEST_DAYS = 14
TOP = 10
# Delivery rows in these states are still in the run's hands; the others are finished.
IN_FLIGHT = (Delivery.Status.PENDING, Delivery.Status.SENDING)


def days_ending(today: dt.date, count: int) -> list[dt.date]:
    return [today - dt.timedelta(days=n) for n in range(count - 1, -1, -1)]


# --- Subscribers -------------------------------------------------------------------------


def subscribers_by_status() -> list[tuple[str, int]]:
    counts = dict(Subscriber.objects.order_by().values_list("status").annotate(n=Count("pk")))
    return [(label, counts.get(value, 0)) for value, label in Subscriber.Status.choices]


def per_day(moment_field: str, start: dt.date) -> dict[dt.date, int]:
    """How many subscribers' `moment_field` (created_at, unsubscribed_at) fell on each day since start."""
    return dict(
        Subscriber.objects.filter(**{f"{moment_field}__date__gte": start})
        .annotate(day=TruncDate(moment_field))
        .order_by()
        .values_list("day")
        .annotate(n=Count("pk"))
    )


@dataclass
class Growth:
    signups: list[tuple[dt.date, int]]  # per day
    unsubscribes: list[tuple[dt.date, int]]  # per day
    subscribed: list[tuple[dt.date, int]]  # signed up and not unsubscribed, at the end of each day


def growth(today: dt.date, days: int = SUBSCRIBER_DAYS) -> Growth:
    start = today - dt.timedelta(days=days - 1)
    before = Subscriber.objects.aggregate(
        joined=Count("pk", filter=Q(created_at__date__lt=start)),
        left=Count("pk", filter=Q(unsubscribed_at__date__lt=start)),
    )
    joined, left = per_day("created_at", start), per_day("unsubscribed_at", start)
    total = before["joined"] - before["left"]
    result = Growth([], [], [])
    for day in days_ending(today, days):
        total += joined.get(day, 0) - left.get(day, 0)
        result.signups.append((day, joined.get(day, 0)))
        result.unsubscribes.append((day, left.get(day, 0)))
        result.subscribed.append((day, total))
    return result


@dataclass
class ConfirmationRate:
    confirmed: int
    signed_up: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.confirmed / self.signed_up, 1) if self.signed_up else None


def confirmation_rate(today: dt.date, days: int = SUBSCRIBER_DAYS) -> ConfirmationRate:
    """Of the people who signed up in the period, how many confirmed their address."""
    start = today - dt.timedelta(days=days - 1)
    counts = Subscriber.objects.filter(created_at__date__gte=start).aggregate(
        signed_up=Count("pk"), confirmed=Count("pk", filter=Q(confirmed_at__isnull=False))
    )
    return ConfirmationRate(counts["confirmed"], counts["signed_up"])


def most_followed_topics(limit: int = TOP) -> list[tuple[str, int]]:
    """Topics of active subscribers, case folded: "LLM agents" and "llm agents" are one topic."""
    rows = (
        Interest.objects.filter(kind=Interest.Kind.TOPIC, subscriber__status=Subscriber.Status.ACTIVE)
        .annotate(topic=Lower("value"))
        .order_by()
        .values("topic")
        .annotate(followers=Count("subscriber", distinct=True))
        .order_by("-followers", "topic")[:limit]
    )
    return [(row["topic"], row["followers"]) for row in rows]


# --- Deliveries --------------------------------------------------------------------------


def delivery_group(status: str) -> str:
    """The dashboard's state of a delivery: every failed state is one "failed"."""
    return "failed" if status in FAILED_STATUSES else status


def delivery_groups() -> list[tuple[str, str]]:
    """(group, label) in display order: sent and failed first, then the rest as the model lists them."""
    groups = [("sent", "Sent"), ("failed", "Failed")]
    for status in Delivery.Status.values:
        if delivery_group(status) not in dict(groups):
            groups.append((status, status.replace("_", " ").capitalize()))
    return groups


@dataclass
class DayDeliveries:
    day: dt.date
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def deliveries_window_end(today: dt.date, days: int = DELIVERY_DAYS) -> dt.date:
    """Today, unless no edition of the last `days` days has deliveries: then the newest edition
    that has some (the sample day `make run` loads is weeks old), so sent digests never hide."""
    start = today - dt.timedelta(days=days - 1)
    if Delivery.objects.filter(edition_date__gte=start, edition_date__lte=today).exists():
        return today
    newest = Delivery.objects.filter(edition_date__lt=start).order_by("-edition_date").values_list("edition_date")
    return newest.first()[0] if newest.exists() else today


def deliveries_per_day(today: dt.date, days: int = DELIVERY_DAYS) -> list[DayDeliveries]:
    """Deliveries per edition day, by state, for the `days` days to `today`."""
    start = today - dt.timedelta(days=days - 1)
    rows = (
        Delivery.objects.filter(edition_date__gte=start, edition_date__lte=today)
        .order_by()
        .values_list("edition_date", "status")
        .annotate(n=Count("pk"))
    )
    per_day = {day: DayDeliveries(day, dict.fromkeys(dict(delivery_groups()), 0)) for day in days_ending(today, days)}
    for day, status, n in rows:
        per_day[day].counts[delivery_group(status)] += n
    return list(per_day.values())


@dataclass
class RunProgress:
    """The deliveries of the edition being sent today, by state."""

    edition_date: dt.date | None
    counts: dict[str, int]
    subscribers_taking_it: int

    @property
    def planned(self) -> int:
        return sum(self.counts.values())

    @property
    def in_flight(self) -> int:
        return sum(self.counts.get(status, 0) for status in IN_FLIGHT)

    @property
    def finished_percent(self) -> float | None:
        return round(100 * (self.planned - self.in_flight) / self.planned, 1) if self.planned else None

    def as_json(self) -> dict:
        return {
            "edition_date": self.edition_date.isoformat() if self.edition_date else None,
            "planned": self.planned,
            "counts": self.counts,
            "finished_percent": self.finished_percent,
            "subscribers_taking_it": self.subscribers_taking_it,
            "as_of": timezone.now().isoformat(timespec="seconds"),
        }


def run_progress(today: dt.date) -> RunProgress:
    """Today's run sends the newest edition with papers (see digest.day.plan_day)."""
    edition = latest_edition(today)
    counts = dict.fromkeys(dict(delivery_groups()), 0)
    if edition is None:
        return RunProgress(None, counts, 0)
    rows = Delivery.objects.filter(edition_date=edition.date).order_by().values_list("status").annotate(n=Count("pk"))
    for status, n in rows:
        counts[delivery_group(status)] += n
    return RunProgress(edition.date, counts, Subscriber.objects.taking_edition(edition.date).count())


def papers_most_sent(days: int = SUBSCRIBER_DAYS, limit: int = TOP) -> list[Paper]:
    """Papers in the most emails sent in the last `days` days. Counted in one grouped query
    over the paper ids the deliveries carried (digest/carried.py), then the few papers fetched."""
    # By when the email went out: an old edition sent today counts today.
    since = timezone.now() - dt.timedelta(days=days)
    top = carried.most_sent(since, limit)
    papers = Paper.objects.in_bulk([paper_id for paper_id, _ in top])
    for paper_id, n in top:
        papers[paper_id].times_sent = n
    return [papers[paper_id] for paper_id, _ in top]


def papers_most_liked(today: dt.date, days: int = SUBSCRIBER_DAYS, limit: int = TOP) -> list[Paper]:
    """Papers by 👍 minus 👎 over the period's votes, with both counts, best first."""
    start = today - dt.timedelta(days=days - 1)
    up, down = Count("pk", filter=Q(vote=Rating.Vote.UP)), Count("pk", filter=Q(vote=Rating.Vote.DOWN))
    top = list(
        Rating.objects.filter(updated_at__date__gte=start)
        .order_by()
        .values_list("paper")
        .annotate(up=up, down=down)
        .filter(up__gt=0)
        .order_by(F("down") - F("up"), "paper")[:limit]
    )
    papers = Paper.objects.in_bulk([paper_id for paper_id, _, _ in top])
    for paper_id, ups, downs in top:
        papers[paper_id].likes, papers[paper_id].dislikes = ups, downs
    return [papers[paper_id] for paper_id, _, _ in top]


# --- Ingest ------------------------------------------------------------------------------


def source_family(label: str) -> str:
    """Report labels are "hf" and "arxiv:cs.CL"; the dashboard adds up arXiv's categories."""
    return label.split(":", 1)[0]


@dataclass
class DayIngest:
    day: dt.date
    read: dict[str, int] = field(default_factory=dict)  # per source family: papers read
    stored: int = 0  # papers first listed that day
    errors: list[str] = field(default_factory=list)


def ingest_per_day(today: dt.date, days: int = INGEST_DAYS) -> list[DayIngest]:
    start = today - dt.timedelta(days=days - 1)
    per_day = {day: DayIngest(day, {"hf": 0, "arxiv": 0}) for day in days_ending(today, days)}
    for edition in Edition.objects.filter(date__gte=start, date__lte=today):
        for label, report in edition.source_report.items():
            if "papers" in report:
                family = source_family(label)
                per_day[edition.date].read[family] = per_day[edition.date].read.get(family, 0) + report["papers"]
            elif "error" in report:
                per_day[edition.date].errors.append(f"{label}: {report['error']}")
    stored = (
        Paper.objects.filter(edition_date__gte=start, edition_date__lte=today)
        .order_by()
        .values_list("edition_date")
        .annotate(n=Count("pk"))
    )
    for day, n in stored:
        per_day[day].stored = n
    return list(per_day.values())


@dataclass
class SourceHealth:
    label: str
    last_success: dt.date | None = None
    papers: int = 0
    last_error: dt.date | None = None
    error: str = ""

    @property
    def failing(self) -> bool:
        """Its newest reading failed (an older error that a later success fixed doesn't count)."""
        return self.last_error is not None and (self.last_success is None or self.last_error >= self.last_success)


def source_health(editions_to_scan: int = 60) -> list[SourceHealth]:
    """Per source label: the newest edition it was read for, and its newest error."""
    sources: dict[str, SourceHealth] = {}
    for edition in Edition.objects.order_by("-date").only("date", "source_report")[:editions_to_scan]:
        for label, report in edition.source_report.items():
            health = sources.setdefault(label, SourceHealth(label))
            if "papers" in report and health.last_success is None:
                health.last_success, health.papers = edition.date, report["papers"]
            elif "error" in report and health.last_error is None:
                health.last_error, health.error = edition.date, report["error"]
    return sorted(sources.values(), key=lambda s: s.label)


@dataclass
class LastIngest:
    """The newest day an ingest ran for, and whether any of its sources could be read."""

    edition: Edition
    sources_read: int
    sources_tried: int
    papers_read: int

    @property
    def ok(self) -> bool:
        return self.sources_read > 0


def last_ingest() -> LastIngest | None:
    """/healthz's ingest check and the dashboard's "Last ingest" line: the two agree."""
    edition = Edition.objects.exclude(source_report={}).order_by("-date").first()
    if edition is None:
        return None
    reports = [report for report in edition.source_report.values() if "skipped" not in report]
    read = [report for report in reports if "papers" in report]
    return LastIngest(edition, len(read), len(reports), sum(report["papers"] for report in read))


# --- What came back: bounces and complaints ---------------------------------------------

RETURNED_DAYS = 14
UNREVIEWED_SHOWN = 10
BOUNCES = (ReturnedMessage.Kind.HARD_BOUNCE, ReturnedMessage.Kind.SOFT_BOUNCE)


@dataclass
class DayReturned:
    day: dt.date
    bounces: int = 0
    complaints: int = 0


def returned_per_day(today: dt.date, days: int = RETURNED_DAYS) -> list[DayReturned]:
    """Bounces (hard and soft) and complaints received each day, in one grouped query."""
    start = today - dt.timedelta(days=days - 1)
    rows = (
        ReturnedMessage.objects.filter(received_at__date__gte=start, received_at__date__lte=today)
        .annotate(day=TruncDate("received_at"))
        .order_by()
        .values_list("day")
        .annotate(
            bounces=Count("pk", filter=Q(kind__in=BOUNCES)),
            complaints=Count("pk", filter=Q(kind=ReturnedMessage.Kind.COMPLAINT)),
        )
    )
    per_day = {day: DayReturned(day) for day in days_ending(today, days)}
    for day, bounces, complaints in rows:
        per_day[day].bounces, per_day[day].complaints = bounces, complaints
    return list(per_day.values())


def unreviewed(limit: int = UNREVIEWED_SHOWN) -> tuple[list[ReturnedMessage], int]:
    """The latest messages Paperboy could not place, and how many there are in all."""
    waiting = ReturnedMessage.objects.filter(needs_review=True).defer("raw")
    return list(waiting.order_by("-received_at", "-id")[:limit]), waiting.count()


# --- Everything the page shows -----------------------------------------------------------


@dataclass
class Dashboard:
    today: dt.date
    subscribers_by_status: list[tuple[str, int]]
    growth: Growth
    confirmation: ConfirmationRate
    deliveries: list[DayDeliveries]
    progress: RunProgress
    ingest: list[DayIngest]
    sources: list[SourceHealth]
    last_ingest: LastIngest | None
    topics: list[tuple[str, int]]
    most_sent: list[Paper]
    most_liked: list[Paper]
    matching: str
    returned: list[DayReturned] = field(default_factory=list)
    unreviewed: list[ReturnedMessage] = field(default_factory=list)
    unreviewed_total: int = 0
    delivery_groups: list[tuple[str, str]] = field(default_factory=delivery_groups)
    totals: dict[str, int] = field(default_factory=dict)


def build(today: dt.date | None = None) -> Dashboard:
    today = today or timezone.now().date()
    subscribers = growth(today)
    deliveries_end = deliveries_window_end(today)
    waiting, waiting_total = unreviewed()
    return Dashboard(
        today=today,
        subscribers_by_status=subscribers_by_status(),
        growth=subscribers,
        confirmation=confirmation_rate(today),
        deliveries=deliveries_per_day(deliveries_end),
        progress=run_progress(today),
        ingest=ingest_per_day(today),
        sources=source_health(),
        last_ingest=last_ingest(),
        topics=most_followed_topics(),
        most_sent=papers_most_sent(),
        most_liked=papers_most_liked(today),
        matching=str(semantic.status(load=False)),
        returned=returned_per_day(today),
        unreviewed=waiting,
        unreviewed_total=waiting_total,
        totals={
            "signups": sum(n for _, n in subscribers.signups),
            "unsubscribed": sum(n for _, n in subscribers.unsubscribes),
        },
    )
