"""The subscriber admin: who reads and what they follow. What they were sent (digest counts, a
preview, a test digest, the CSV export) is added by digest's admin (digest/staff/admin.py),
which builds on this class."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.db.models import F, Func, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from subscriptions.models import Interest, Subscriber


def count_of(rows: QuerySet) -> Coalesce:
    """A per-row count as a correlated subquery (rows filtered on OuterRef): the database counts
    for the page's rows only, where a JOIN + GROUP BY would aggregate the whole table first.
    COUNT as a plain function, so Django adds no GROUP BY to the subquery."""
    counted = rows.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted), 0)


class InterestInline(admin.TabularInline):
    model = Interest
    extra = 1
    fields = ["kind", "value"]


@admin.register(Interest)
class InterestAdmin(admin.ModelAdmin):
    list_display = ["value", "kind", "subscriber", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["subscriber"]
    search_fields = ["value", "subscriber__email"]
    raw_id_fields = ["subscriber"]
    date_hierarchy = "created_at"


def compact(moment: dt.datetime | None) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else "-"


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "status",
        "frequency",
        "send_hour",
        "timezone",
        "interest_count",
        "signed_up",
        "confirmed",
    ]
    list_filter = ["status", "frequency"]
    search_fields = ["email", "interests__value"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "signup_mail_sent_at",
        "hard_bounces",
        "status_reason",
    ]
    inlines = [InterestInline]
    actions = ["pause", "resume", "unsubscribe"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        # Staff adding someone by hand mean them to get the next digest; signup starts as pending.
        return {"status": Subscriber.Status.ACTIVE, **super().get_changeform_initial_data(request)}

    def save_model(self, request: HttpRequest, subscriber: Subscriber, form, change: bool) -> None:
        # Staff adding someone as active vouch for the address; record when.
        if subscriber.status == Subscriber.Status.ACTIVE and not subscriber.confirmed_at:
            subscriber.confirmed_at = timezone.now()
        super().save_model(request, subscriber, form, change)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        interests = Interest.objects.filter(subscriber=OuterRef("pk"))
        return super().get_queryset(request).annotate(interest_count=count_of(interests))

    # Dates as 2025-09-01 08:30 rather than "Sept. 1, 2025, 8:30 a.m.": every column fits at 1280 px.
    @admin.display(description="Signed up", ordering="created_at")
    def signed_up(self, subscriber: Subscriber) -> str:
        return compact(subscriber.created_at)

    @admin.display(description="Confirmed", ordering="confirmed_at")
    def confirmed(self, subscriber: Subscriber) -> str:
        return compact(subscriber.confirmed_at)

    @admin.display(description="Interests", ordering="interest_count")
    def interest_count(self, subscriber: Subscriber) -> int:
        return subscriber.interest_count

    @admin.action(description="Pause the selected subscribers", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        changed = self.move(queryset, Subscriber.Status.ACTIVE, Subscriber.Status.PAUSED)
        self.message_user(request, f"Paused {changed} of {queryset.count()} (only active subscribers can be paused).")

    @admin.action(description="Resume the selected paused subscribers", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        # Only paused ones: someone who unsubscribed or bounced must not be signed up again by staff.
        changed = self.move(queryset, Subscriber.Status.PAUSED, Subscriber.Status.ACTIVE)
        self.message_user(request, f"Resumed {changed} of {queryset.count()} (only paused subscribers resume).")

    @staticmethod
    def move(queryset: QuerySet[Subscriber], old: str, new: str) -> int:
        # Conditional update: a subscriber who unsubscribes meanwhile is not resumed by a stale page.
        selected = Subscriber.objects.filter(pk__in=queryset.values("pk"))
        return selected.filter(status=old).update(status=new)

    @admin.action(description="Unsubscribe the selected subscribers")
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        for subscriber in queryset:
            subscriber.unsubscribe()
        self.message_user(request, f"Unsubscribed {queryset.count()} subscribers.", messages.SUCCESS)
