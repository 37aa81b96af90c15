from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from digest import carried, tasks
from digest.day import latest_edition
from digest.matching import semantic
from digest.models import Delivery, Edition, Paper, ReturnedMessage
from digest.staff import actions as staff
from digest.staff import exports
from subscriptions.admin import SubscriberAdmin, count_of
from subscriptions.models import Subscriber


def delivery_count(**conditions) -> Coalesce:
    return count_of(Delivery.objects.filter(edition_date=OuterRef("date"), **conditions))


def paper_count() -> Coalesce:
    return count_of(Paper.objects.filter(edition_date=OuterRef("date")))


@admin.register(Edition)
class EditionAdmin(admin.ModelAdmin):
    list_display = ["date", "ingested_at", "papers_listed", "source_summary", "sent_count", "open_count"]
    date_hierarchy = "date"
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
                papers_total=paper_count(),
                sent=delivery_count(status=Delivery.Status.SENT),
                unsent=delivery_count(status__in=[s for s in Delivery.Status.values if s != Delivery.Status.SENT]),
            )
        )

    @admin.display(description="Papers", ordering="papers_total")
    def papers_listed(self, edition: Edition) -> int:
        return edition.papers_total

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
    list_display = ["arxiv_id", "title", "edition_date", "upvotes", "sources_list", "times_sent"]
    date_hierarchy = "edition_date"
    search_fields = ["arxiv_id", "title", "authors"]
    readonly_fields = ["created_at", "updated_at"]

    def get_changelist(self, request: HttpRequest, **kwargs):
        return PaperChangeList

    def has_delete_permission(self, request: HttpRequest, obj: Paper | None = None) -> bool:
        # A paper some email carried is part of what was sent (the deliveries' pages, the counts):
        # it stays. Only one nobody was sent can go, one at a time (no bulk delete action).
        if obj is not None and carried.carrying(obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Sent")
    def times_sent(self, paper: Paper) -> int:
        # Set on the page's papers by PaperChangeList; a paper shown elsewhere is counted alone.
        if not hasattr(paper, "sent_total"):
            paper.sent_total = carried.sent_counts([paper]).get(paper.pk, 0)
        return paper.sent_total

    @admin.display(description="Sources")
    def sources_list(self, paper: Paper) -> str:
        return ", ".join(paper.sources)


class PaperChangeList(ChangeList):
    """The paper list, with how many sent emails carried each paper of the page: one grouped
    query over the deliveries of the editions that can hold them (digest/carried.py)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        papers = list(self.result_list)  # evaluates the page once; the template reuses these rows
        counts = carried.sent_counts(papers)
        for paper in papers:
            paper.sent_total = counts.get(paper.pk, 0)


class MaybeTwiceFilter(admin.SimpleListFilter):
    """Deliveries an attempt of which had an unknown outcome: the reader may have two copies."""

    title = "outcome unknown"
    parameter_name = "uncertain"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "An attempt's outcome is unknown (may have arrived twice)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> QuerySet[Delivery]:
        return queryset.filter(uncertain_attempts__gt=0) if self.value() == "yes" else queryset


class ReturnedMessageInline(admin.TabularInline):
    """The bounces and complaints that came back about it: what changed it, and why."""

    model = ReturnedMessage
    fields = ["received_at", "message_link", "status", "reason", "outcome"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "message that came back"
    verbose_name_plural = "messages that came back (bounces, complaints)"

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="What")
    def message_link(self, row: ReturnedMessage) -> str:
        url = reverse("admin:digest_returnedmessage_change", args=[row.pk])
        return format_html('<a href="{}">{}</a>', url, row.get_kind_display())


@admin.register(ReturnedMessage)
class ReturnedMessageAdmin(admin.ModelAdmin):
    """Everything that came back to the bounce address; what needs review is what Paperboy could
    not place (not recognised, or naming no delivery of ours)."""

    list_display = ["received_at", "kind", "needs_review", "recipient", "status", "subject", "outcome"]
    list_filter = ["needs_review", "kind", "source"]
    search_fields = ["recipient", "subject", "sender", "subscriber__email"]
    date_hierarchy = "received_at"
    list_select_related = ["subscriber"]
    fields = [
        "received_at", "source", "kind", "needs_review", "delivery", "subscriber", "recipient", "status", "reason",
        "outcome", "sender", "subject", "message_text",
    ]  # fmt: skip
    readonly_fields = [f for f in fields if f != "needs_review"]  # staff clear needs_review once looked at

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Message as received")
    def message_text(self, row: ReturnedMessage) -> str:
        return format_html('<pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">{}</pre>', row.text)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "subscriber",
        "edition_date",
        "status",
        "paper_count",
        "attempts",
        "copies",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", MaybeTwiceFilter]
    date_hierarchy = "edition_date"
    list_select_related = ["subscriber"]
    search_fields = ["subscriber__email", "message_id"]
    search_help_text = "An email address, a Message-ID, or a paper's arXiv id: the deliveries that carried it"
    readonly_fields = [
        "subscriber",
        "edition_date",
        "status",
        "message_id",
        "attempts",
        "copies",
        "created_at",
        "claimed_at",
        "retry_at",
        "sent_at",
        "retry_until",
        "last_error",
        "attempt_history",
        "papers_carried",
    ]
    exclude = ["attempt_log", "uncertain_attempts", "carried"]
    inlines = [ReturnedMessageInline]
    actions = ["resend_failed", "mark_for_retry", "export_csv"]

    # Deliveries are written by the pipeline; staff read them and requeue with the action.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        # Every field is the pipeline's: nothing to save (the actions requeue from the list).
        no_save = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**no_save, **(extra_context or {})})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).annotate(paper_count=carried.PaperCount())

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Delivery], search_term: str):
        # Which papers went to whom: an arXiv id finds the deliveries that carried the paper.
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        paper = Paper.objects.filter(arxiv_id=search_term.strip()).first() if search_term.strip() else None
        if paper is not None:
            found = found | queryset.filter(pk__in=carried.carrying(paper).values("pk"))
        return found, may_have_duplicates

    @admin.display(description="Papers", ordering="paper_count")
    def paper_count(self, delivery: Delivery) -> int:
        return delivery.paper_count

    @admin.display(description="Copies delivered", ordering="uncertain_attempts")
    def copies(self, delivery: Delivery) -> str:
        return delivery.copies_delivered

    @admin.display(description="What it carried")
    def papers_carried(self, delivery: Delivery) -> str:
        items = delivery.carried_items()
        if not items:
            return "No papers"
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td><a href="{}">{}</a> {}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    item.rank,
                    reverse("admin:digest_paper_change", args=[item.paper.pk]),
                    item.paper.arxiv_id,
                    item.paper.display_title,
                    f"{item.score:.2f}",
                    item.matched_interest or ("trending" if not item.matched else ""),
                    item.why,
                )
                for item in items
            ),
        )
        return format_html(
            "<table><tr><th>#</th><th>Paper</th><th>Score</th><th>Interest</th><th>Why</th></tr>{}</table>", rows
        )

    @admin.display(description="Attempts log")
    def attempt_history(self, delivery: Delivery) -> str:
        if not delivery.attempt_log:
            return "No attempt yet"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((a["at"], a["result"], a.get("reply", "")) for a in delivery.attempt_log),
        )
        return format_html("<table><tr><th>Time (UTC)</th><th>Result</th><th>SMTP reply</th></tr>{}</table>", rows)

    @admin.action(description="Resend failed deliveries", permissions=["change"])
    def resend_failed(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        count = staff.resend_failed(selected)
        skipped = f"; {len(selected) - count} not in a failed state were left alone" if count < len(selected) else ""
        self.message_user(request, f"{count} failed deliveries queued to be sent again{skipped}.", messages.SUCCESS)

    @admin.action(description="Export selected deliveries as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> StreamingHttpResponse:
        selected = Delivery.objects.filter(pk__in=queryset.values("pk"))
        return exports.csv_response("deliveries", exports.DELIVERY_HEADER, exports.delivery_rows(selected))

    @admin.action(description="Send again (only for rows you have checked were not delivered)")
    def mark_for_retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        retry = Q(
            status__in=[Delivery.Status.SENDING, Delivery.Status.FAILED_TEMPORARY, Delivery.Status.FAILED_PERMANENT]
        )
        ids = list(queryset.filter(retry).values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=ids).update(status=Delivery.Status.PENDING, attempts=0, retry_until=None)
        transaction.on_commit(partial(tasks.send_batch.delay, ids))
        self.message_user(request, f"{len(ids)} deliveries queued to be sent again.", messages.SUCCESS)


# --- What subscribers were sent -----------------------------------------------------------

admin.site.unregister(Subscriber)


@admin.register(Subscriber)
class SubscriberWithDigestsAdmin(SubscriberAdmin):
    """subscriptions' admin, with the digests each subscriber was sent and the staff actions on them."""

    list_display = [*SubscriberAdmin.list_display[:-2], "sent_count", *SubscriberAdmin.list_display[-2:]]
    readonly_fields = [*SubscriberAdmin.readonly_fields, "digest_preview"]
    actions = [*SubscriberAdmin.actions, "send_test_digest", "export_csv"]
    inlines = [*SubscriberAdmin.inlines, ReturnedMessageInline]

    def get_inlines(self, request: HttpRequest, obj: Subscriber | None):
        # A subscriber being added has had nothing come back (and the add form stays as it was).
        return self.inlines if obj is not None else SubscriberAdmin.inlines

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        sent = Delivery.objects.filter(subscriber=OuterRef("pk"), status=Delivery.Status.SENT)
        return super().get_queryset(request).annotate(sent_total=count_of(sent))

    @admin.display(description="Sent", ordering="sent_total")
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
