from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

# Admin modules load once every app is ready, so subscriptions may use digest's pieces here.
from digest import exports
from digest.admin import count_of
from digest.day import latest_edition
from digest.models import Delivery
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
    date_hierarchy = "created_at"


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "status",
        "frequency",
        "send_hour",
        "timezone",
        "interest_count",
        "sent_count",
        "created_at",
        "confirmed_at",
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
        "digest_preview",
    ]
    inlines = [InterestInline]
    actions = ["pause", "resume", "unsubscribe", "send_test_digest", "export_csv"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        # Staff adding someone by hand mean them to get the next digest; signup starts as pending.
        return {"status": Subscriber.Status.ACTIVE, **super().get_changeform_initial_data(request)}

    def save_model(self, request: HttpRequest, subscriber: Subscriber, form, change: bool) -> None:
        # Staff adding someone as active vouch for the address; record when.
        if subscriber.status == Subscriber.Status.ACTIVE and not subscriber.confirmed_at:
            subscriber.confirmed_at = timezone.now()
        super().save_model(request, subscriber, form, change)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                interest_count=count_of(Interest.objects.filter(subscriber=OuterRef("pk"))),
                sent_total=count_of(Delivery.objects.filter(subscriber=OuterRef("pk"), status=Delivery.Status.SENT)),
            )
        )

    @admin.display(description="Interests", ordering="interest_count")
    def interest_count(self, subscriber: Subscriber) -> int:
        return subscriber.interest_count

    @admin.display(description="Digests sent", ordering="sent_total")
    def sent_count(self, subscriber: Subscriber) -> int:
        return subscriber.sent_total

    @admin.display(description="Preview")
    def digest_preview(self, subscriber: Subscriber) -> str:
        edition = latest_edition()
        if subscriber.pk is None or edition is None:
            return "Available once the subscriber is saved and an edition has papers."
        query = urlencode({"subscriber": subscriber.pk, "date": edition.date.isoformat()})
        url = f"{reverse('digest:staff-preview')}?{query}"
        return format_html('<a href="{}">Preview their digest of {}</a>', url, edition.date.isoformat())

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

    @admin.action(description="Send a test digest as this subscriber…")
    def send_test_digest(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> HttpResponseRedirect | None:
        if queryset.count() != 1:
            self.message_user(request, "Select one subscriber to send a test digest as.", messages.WARNING)
            return None
        url = f"{reverse('admin:dashboard')}?{urlencode({'as': queryset.get().email})}#pb-test-digest"
        return HttpResponseRedirect(url)

    @admin.action(description="Export selected subscribers as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> StreamingHttpResponse:
        selected = Subscriber.objects.filter(pk__in=queryset.values("pk"))
        return exports.csv_response("subscribers", exports.SUBSCRIBER_HEADER, exports.subscriber_rows(selected))
