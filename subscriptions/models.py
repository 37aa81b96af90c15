"""Who gets mail and what they want."""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from subscriptions import links

DEFAULT_MAX_PAPERS = 10


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone(name: str) -> None:
    if name not in known_timezones():
        raise ValidationError(f"{name!r} is not a time zone we know; use a name like Europe/Paris.")


class SubscriberQuerySet(models.QuerySet):
    def active(self) -> SubscriberQuerySet:
        return self.filter(status=Subscriber.Status.ACTIVE)

    def taking_edition(self, edition_date: dt.date) -> SubscriberQuerySet:
        """Active subscribers whose frequency includes this edition date."""
        daily = models.Q(frequency=Subscriber.Frequency.DAILY)
        weekly_today = models.Q(frequency=Subscriber.Frequency.WEEKLY, weekly_day=edition_date.weekday())
        return self.active().filter(daily | weekly_today)


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone], help_text="IANA name, e.g. Europe/Paris"
    )
    send_hour = models.PositiveSmallIntegerField(
        default=8, choices=[(h, f"{h:02d}:00") for h in range(24)], help_text="Local hour the digest goes out"
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.DAILY)
    weekly_day = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY, help_text="For weekly digests"
    )
    max_papers = models.PositiveSmallIntegerField(
        default=DEFAULT_MAX_PAPERS, help_text="At most this many papers per email"
    )

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="subscriber_email_ci_unique",
                violation_error_message="A subscriber with this email address already exists.",
            ),
            models.CheckConstraint(condition=models.Q(send_hour__lte=23), name="subscriber_send_hour_valid"),
            models.CheckConstraint(
                condition=models.Q(max_papers__gte=1, max_papers__lte=50), name="subscriber_max_papers_range"
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip()
        super().save(*args, **kwargs)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def last_send_slot(self, now: dt.datetime) -> dt.datetime:
        """The latest moment at or before `now` when this subscriber's local send hour began."""
        local_now = now.astimezone(self.zone)
        slot = local_now.replace(hour=self.send_hour, minute=0, second=0, microsecond=0)
        if slot > local_now:
            slot = (local_now - dt.timedelta(days=1)).replace(hour=self.send_hour, minute=0, second=0, microsecond=0)
        return slot

    def unsubscribe(self) -> None:
        """Takes effect at once: planning and sending both skip non-active subscribers."""
        if self.status != self.Status.UNSUBSCRIBED:
            self.status = self.Status.UNSUBSCRIBED
            self.unsubscribed_at = timezone.now()
            self.save(update_fields=["status", "unsubscribed_at"])

    @property
    def unsubscribe_url(self) -> str:
        return links.unsubscribe_url(self.pk)


class Interest(models.Model):
    """One thing a subscriber follows (or, for an exclusion, does not want); digest/match.py
    ranks papers by every kind. subscriptions/interests.py turns typed lines into these."""

    class Kind(models.TextChoices):
        TOPIC = "topic", "Topic"
        CATEGORY = "category", "arXiv category"
        AUTHOR = "author", "Author"
        PAPER = "paper", "Seed paper"
        EXCLUDE = "exclude", "Exclusion (not: …)"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="interests")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TOPIC)
    value = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "kind", "value"], name="interest_unique_per_subscriber")
        ]
        ordering = ["kind", "value"]

    def __str__(self) -> str:
        return self.value if self.kind == self.Kind.TOPIC else f"{self.get_kind_display()}: {self.value}"
