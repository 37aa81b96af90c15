from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from digest import semantic, tasks
from digest.models import Delivery, DeliveryItem, Edition, Paper


def delivery_count(**conditions) -> Coalesce:
    deliveries = Delivery.objects.filter(edition_date=OuterRef("date"), **conditions).order_by()
    return Coalesce(Subquery(deliveries.values("edition_date").annotate(n=Count("pk")).values("n")), 0)


@admin.register(Edition)
class EditionAdmin(admin.ModelAdmin):
    list_display = ["date", "ingested_at", "source_summary", "sent_count", "open_count"]
    readonly_fields = ["date", "created_at", "ingested_at", "source_report"]
    actions = ["send_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # editions come from ingest

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        # Staff see at a glance whether matching runs with embeddings or fell back to lexical.
        extra_context = {"subtitle": f"Matching: {semantic.status(load=False)}", **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Edition]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                sent=delivery_count(status=Delivery.Status.SENT),
                unsent=delivery_count(status__in=[s for s in Delivery.Status.values if s != Delivery.Status.SENT]),
            )
        )

    @admin.display(description="Sources")
    def source_summary(self, edition: Edition) -> str:
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in edition.source_summaries()))

    @admin.display(description="Sent", ordering="sent")
    def sent_count(self, edition: Edition) -> int:
        return edition.sent

    @admin.display(description="Not sent", ordering="unsent")
    def open_count(self, edition: Edition) -> int:
        return edition.unsent

    @admin.action(description="Send this edition now to everyone due, ignoring send hours")
    def send_now(self, request: HttpRequest, queryset: QuerySet[Edition]) -> None:
        for edition in queryset:
            transaction.on_commit(partial(tasks.send_edition_now.delay, edition.date.isoformat()))
        self.message_user(request, "Queued; the deliveries appear below as the worker sends them.", messages.SUCCESS)


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ["arxiv_id", "title", "edition_date", "upvotes", "sources_list"]
    list_filter = ["edition_date"]
    search_fields = ["arxiv_id", "title", "authors"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="Sources")
    def sources_list(self, paper: Paper) -> str:
        return ", ".join(paper.sources)


class DeliveryItemInline(admin.TabularInline):
    model = DeliveryItem
    fields = ["rank", "paper", "rounded_score", "why"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    @admin.display(description="#")
    def rank(self, item: DeliveryItem) -> int:
        return item.position + 1

    @admin.display(description="Score")
    def rounded_score(self, item: DeliveryItem) -> str:
        return f"{item.score:.2f}"


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "edition_date", "status", "paper_count", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "edition_date"]
    list_select_related = ["subscriber"]
    search_fields = ["subscriber__email", "message_id"]
    readonly_fields = [
        "subscriber",
        "edition_date",
        "status",
        "message_id",
        "attempts",
        "created_at",
        "sent_at",
        "last_error",
    ]
    inlines = [DeliveryItemInline]
    actions = ["mark_for_retry"]

    # Deliveries are written by the pipeline; staff read them and requeue with the action.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).annotate(paper_count=Count("items"))

    @admin.display(description="Papers", ordering="paper_count")
    def paper_count(self, delivery: Delivery) -> int:
        return delivery.paper_count

    @admin.action(description="Send again (only for rows you have checked were not delivered)")
    def mark_for_retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        retry = Q(status__in=[Delivery.Status.SENDING, Delivery.Status.FAILED, Delivery.Status.GAVE_UP])
        ids = list(queryset.filter(retry).values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=ids).update(status=Delivery.Status.PENDING, attempts=0)
        transaction.on_commit(partial(tasks.send_batch.delay, ids))
        self.message_user(request, f"{len(ids)} deliveries queued to be sent again.", messages.SUCCESS)
