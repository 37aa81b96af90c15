from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from subscriptions.models import Interest, Subscriber


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


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "status", "frequency", "send_hour", "timezone", "interest_count", "created_at"]
    list_filter = ["status", "frequency"]
    search_fields = ["email", "interests__value"]
    readonly_fields = ["created_at", "confirmed_at", "unsubscribed_at", "hard_bounces"]
    inlines = [InterestInline]
    actions = ["unsubscribe"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        # Staff adding someone by hand mean them to get the next digest; signup starts as pending.
        return {"status": Subscriber.Status.ACTIVE, **super().get_changeform_initial_data(request)}

    def save_model(self, request: HttpRequest, subscriber: Subscriber, form, change: bool) -> None:
        # Staff adding someone as active vouch for the address; record when.
        if subscriber.status == Subscriber.Status.ACTIVE and not subscriber.confirmed_at:
            subscriber.confirmed_at = timezone.now()
        super().save_model(request, subscriber, form, change)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        return super().get_queryset(request).annotate(interest_count=Count("interests"))

    @admin.display(description="Interests", ordering="interest_count")
    def interest_count(self, subscriber: Subscriber) -> int:
        return subscriber.interest_count

    @admin.action(description="Unsubscribe the selected subscribers")
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        for subscriber in queryset:
            subscriber.unsubscribe()
        self.message_user(request, f"Unsubscribed {queryset.count()} subscribers.", messages.SUCCESS)
