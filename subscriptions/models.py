"""Who gets mail and what they want."""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from subscriptions import addresses, extensions, links

DEFAULT_MAX_PAPERS = 10
# The largest digest (this many papers, longest real abstracts, plus the trending ones) must
# stay under Gmail's ~102 KB clipping: tests/test_email_size.py holds it under 90 KB.
MAX_PAPERS = 25
# Below the matched papers, a digest lists up to this many of the day's trending papers, labelled
# as not matched to the reader: on top of their "matched papers per email", as the form says.
TRENDING_PAPERS = 3


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_address(address: str) -> None:
    try:
        addresses.canonical(address)
    except addresses.UnsafeAddressError as error:
        raise ValidationError(str(error)) from None


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

    def with_email(self, email: str) -> SubscriberQuerySet:
        """In its stored form (addresses.py) and case-insensitive, the way the unique constraint
        compares (and so using its index)."""
        stored = addresses.stored_form(email)
        return self.alias(email_lower=Lower("email")).filter(email_lower=Lower(models.Value(stored)))

    def unconfirmed_expired(self, now: dt.datetime) -> SubscriberQuerySet:
        """Signups never confirmed whose last confirmation link has run out. Someone confirmed
        once and signing up again is left alone: deleting them would delete their history."""
        cutoff = now - dt.timedelta(days=settings.PAPERBOY_CONFIRM_DAYS)
        return self.filter(status=Subscriber.Status.PENDING, confirmed_at__isnull=True, signup_mail_sent_at__lt=cutoff)


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

    email = models.EmailField(max_length=254, validators=[validate_address])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    signup_mail_sent_at = models.DateTimeField(
        default=timezone.now, help_text="Last confirmation or already-subscribed email; expiry counts from it"
    )
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
        default=DEFAULT_MAX_PAPERS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PAPERS)],
        help_text="At most this many papers per email",
    )
    hard_bounces = models.PositiveIntegerField(
        default=0, help_text="Permanent refusals (5xx) of this address; bounced after PAPERBOY_BOUNCES_BEFORE_DISABLE"
    )
    email_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="Last move to a new address; address-change links issued before it are void"
    )
    status_reason = models.CharField(
        max_length=300, blank=True, help_text="Why mail stopped, when a bounce or a complaint stopped it"
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
                condition=models.Q(max_papers__gte=1, max_papers__lte=MAX_PAPERS), name="subscriber_max_papers_range"
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        # One stored form per mailbox, whoever writes the row (signup, admin, a script), so
        # the unique constraint holds for every spelling of an address.
        self.email = addresses.stored_form(self.email)
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

    def record_hard_bounce(self, limit: int) -> bool:
        """Count a permanent refusal of this address; at `limit` the subscriber is bounced and
        gets no more mail. Atomic, so two workers bouncing at once count twice. True if bounced."""
        Subscriber.objects.filter(pk=self.pk).update(hard_bounces=models.F("hard_bounces") + 1)
        return bool(
            Subscriber.objects.filter(pk=self.pk, hard_bounces__gte=limit, status=self.Status.ACTIVE).update(
                status=self.Status.BOUNCED
            )
        )

    @property
    def unsubscribe_url(self) -> str:
        return links.unsubscribe_url(self.pk)

    @property
    def manage_url(self) -> str:
        return links.manage_url(self.pk)

    # Status changes are single UPDATEs guarded by the old status, so a double click or two
    # tabs cannot apply one twice; each returns whether it changed anything.

    def confirm(self) -> bool:
        # Confirming proves the address takes mail again: its old bounces no longer count.
        return self.move(
            {self.Status.PENDING}, self.Status.ACTIVE, confirmed_at=timezone.now(), hard_bounces=0, status_reason=""
        )

    def pause(self) -> bool:
        return self.move({self.Status.ACTIVE}, self.Status.PAUSED)

    def resume(self) -> bool:
        """From paused only. Back after an unsubscribe or a bounce takes a new confirmation of
        the address (a SignupRequest): whoever holds an old manage link may not restart mail."""
        return self.move({self.Status.PAUSED}, self.Status.ACTIVE)

    @property
    def must_confirm_to_return(self) -> bool:
        return self.status in (self.Status.UNSUBSCRIBED, self.Status.BOUNCED)

    def confirm_request(self, request_id: int) -> bool:
        """The address confirmed what one signup (or "subscribe again") asked for: apply its
        preferences, if it carries any, and make the subscription active. Each request's link
        works once, and confirming one voids the others. False if it is used or gone."""
        with transaction.atomic():
            request = SignupRequest.objects.select_for_update().filter(pk=request_id, subscriber=self).first()
            if request is None:
                return False
            if request.preferences:
                self.apply_preferences(request.preferences)
            Subscriber.objects.filter(pk=self.pk).update(
                status=self.Status.ACTIVE,
                confirmed_at=timezone.now(),
                unsubscribed_at=None,
                hard_bounces=0,
                status_reason="",
            )
            self.signup_requests.all().delete()
        self.refresh_from_db()
        return True

    def apply_preferences(self, preferences: dict) -> None:
        """What PreferencesForm.preferences() stored: settings, every kind of interest, and the
        papers ticked under "papers like these?" (requests stored before them have none)."""
        for name, value in preferences["fields"].items():
            setattr(self, name, value)
        with transaction.atomic():
            self.save(update_fields=list(preferences["fields"]))
            self.replace_interests(preferences["interests"])
            extensions.paper_offer().keep(self, preferences.get("liked_papers", []))

    def move(self, from_statuses: set[str], to_status: str, **fields) -> bool:
        changed = Subscriber.objects.filter(pk=self.pk, status__in=from_statuses).update(status=to_status, **fields)
        self.refresh_from_db()
        return changed == 1

    class EmailChange(models.TextChoices):
        DONE = "done"
        TAKEN = "taken"  # another subscription has the new address
        STALE = "stale"  # the link is used, or the address has changed since it was issued

    def can_change_email(self, from_email: str, issued_at: dt.datetime) -> bool:
        """Whether an address-change link issued at `issued_at` for `from_email` still works."""
        moved_since = self.email_changed_at is not None and self.email_changed_at >= issued_at
        return self.email.casefold() == addresses.stored_form(from_email).casefold() and not moved_since

    def change_email(self, new_email: str, from_email: str, issued_at: dt.datetime) -> str:
        """Move the subscription to `new_email`, if it is still at `from_email` and has not
        moved since the link was issued at `issued_at`: so each link works once, and an old one
        (A->B, then B->C) cannot move it back. One guarded UPDATE: two posts apply it once."""
        not_moved_since = models.Q(email_changed_at__isnull=True) | models.Q(email_changed_at__lt=issued_at)
        try:
            with transaction.atomic():  # a savepoint, so a caller's transaction survives the conflict
                moved = (
                    Subscriber.objects.filter(not_moved_since, pk=self.pk)
                    .with_email(from_email)
                    .update(email=addresses.stored_form(new_email), email_changed_at=timezone.now())
                )
        except IntegrityError:
            return self.EmailChange.TAKEN
        self.refresh_from_db()
        return self.EmailChange.DONE if moved else self.EmailChange.STALE

    def claim_signup_mail(self) -> bool:
        """True for at most one caller per cooldown: a double-posted form sends one email."""
        now = timezone.now()
        cutoff = now - dt.timedelta(seconds=settings.PAPERBOY_SIGNUP_MAIL_COOLDOWN)
        claimed = Subscriber.objects.filter(pk=self.pk, signup_mail_sent_at__lte=cutoff).update(signup_mail_sent_at=now)
        return claimed == 1

    def interest_values(self, kind: str) -> list[str]:
        return [i.value for i in self.interests.all() if i.kind == kind]

    def replace_interests(self, values_by_kind: dict[str, list[str]]) -> None:
        """Make these kinds hold exactly these values; kinds not named are left as they are."""
        for kind, values in values_by_kind.items():
            self.interests.filter(kind=kind).exclude(value__in=values).delete()
            kept = set(self.interests.filter(kind=kind).values_list("value", flat=True))
            Interest.objects.bulk_create(
                [Interest(subscriber=self, kind=kind, value=v) for v in values if v not in kept]
            )


class Interest(models.Model):
    """One thing a subscriber follows (or, for an exclusion, does not want); digest/matching/ranker.py
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


class SignupRequestQuerySet(models.QuerySet):
    def expired(self, now: dt.datetime) -> SignupRequestQuerySet:
        return self.filter(created_at__lt=now - dt.timedelta(days=settings.PAPERBOY_CONFIRM_DAYS))


class SignupRequest(models.Model):
    """What a signup for an address we already know asked for (its preferences), or, without
    any, a request to start digests again after an unsubscribe or a bounce. Nothing changes
    until the address follows the confirmation link naming this row (Subscriber.confirm_request):
    a stranger's signup cannot overwrite a former subscriber's settings. Kept here rather than
    signed into the link: twenty long topics and authors would make a link longer than many
    servers and mail clients take."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="signup_requests")
    preferences = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = SignupRequestQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Signup request {self.pk} for subscriber {self.subscriber_id}"
