"""The staff dashboard and its forms. Routed by digest.admin_site, behind the admin's login."""

from __future__ import annotations

import logging
import smtplib

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from digest.day import latest_edition
from digest.models import Edition
from digest.staff import actions as staff
from digest.staff import dashboard as figures
from digest.staff.charts import Series, stacked_bars
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)

GROUP_COLORS = {"sent": "#16a34a", "failed": "#dc2626", "pending": "#a1a1aa", "sending": "#f59e0b"}
OTHER_COLOR = "#64748b"
SOURCE_COLORS = {"hf": "#f59e0b", "arxiv": "#b31b1b"}
SOURCE_LABELS = {"hf": "Hugging Face", "arxiv": "arXiv"}


class IngestNowForm(forms.Form):
    date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="arXiv's feeds only list today's papers, so other days read Hugging Face only.",
    )

    def clean_date(self):
        date = self.cleaned_data["date"]
        if date > timezone.now().date():
            raise forms.ValidationError("That day has not happened yet.")
        return date


class TestDigestForm(forms.Form):
    subscriber = forms.EmailField(label="As subscriber", help_text="Their topics and their papers for the edition.")
    address = forms.EmailField(label="Send to")
    date = forms.DateField(
        label="Edition",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty for the newest edition.",
    )

    def clean_subscriber(self) -> Subscriber:
        email = self.cleaned_data["subscriber"]
        subscriber = Subscriber.objects.filter(email__iexact=email).first()
        if subscriber is None:
            raise forms.ValidationError(f"No subscriber has the address {email}.")
        return subscriber

    def clean_date(self) -> Edition:
        date = self.cleaned_data["date"]
        edition = Edition.objects.filter(date=date).first() if date else latest_edition()
        if edition is None or not edition.papers().exists():
            raise forms.ValidationError(f"There is no edition with papers for {date or 'any day yet'}.")
        return edition


def delivery_chart(days: list[figures.DayDeliveries], groups: list[tuple[str, str]]) -> SafeString:
    series = [
        Series(label, [day.counts[group] for day in days], GROUP_COLORS.get(group, OTHER_COLOR))
        for group, label in groups
    ]
    return stacked_bars("Deliveries per edition day", [f"{day.day:%b %-d}" for day in days], series)


def ingest_chart(days: list[figures.DayIngest]) -> SafeString:
    series = [
        Series(f"{SOURCE_LABELS[family]} papers read", [day.read.get(family, 0) for day in days], color)
        for family, color in SOURCE_COLORS.items()
    ]
    return stacked_bars("Papers read per source per day", [f"{day.day:%b %-d}" for day in days], series)


def growth_charts(growth: figures.Growth) -> tuple[SafeString, SafeString]:
    labels = [f"{day:%b %-d}" for day, _ in growth.signups]
    subscribed = [n for _, n in growth.subscribed]
    size = stacked_bars(
        "Subscribers over time",
        labels,
        [Series("Subscribed", subscribed, "#2563eb")],
        summary=f"from {subscribed[0]} to {subscribed[-1]}",
    )
    flows = stacked_bars(
        "Sign-ups and unsubscribes per day",
        labels,
        [
            Series("Sign-ups", [n for _, n in growth.signups], "#16a34a"),
            Series("Unsubscribes", [n for _, n in growth.unsubscribes], "#dc2626"),
        ],
    )
    return size, flows


def progress_states(progress: figures.RunProgress, groups: list[tuple[str, str]]) -> list[dict]:
    return [
        {
            "group": group,
            "label": label,
            "count": progress.counts[group],
            "color": GROUP_COLORS.get(group, OTHER_COLOR),
            "width": round(100 * progress.counts[group] / progress.planned, 2) if progress.planned else 0,
        }
        for group, label in groups
    ]


def blank_ingest_form() -> IngestNowForm:
    return IngestNowForm(initial={"date": timezone.now().date()})


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    # ?as=<email>: the subscriber admin's "send a test digest" action fills the form in.
    return render_dashboard(request, blank_ingest_form(), TestDigestForm(initial={"subscriber": request.GET.get("as")}))


def render_dashboard(
    request: HttpRequest, ingest_form: IngestNowForm, test_form: TestDigestForm, status: int = 200
) -> HttpResponse:
    data = figures.build()
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "d": data,
        "growth_charts": growth_charts(data.growth),
        "delivery_chart": delivery_chart(data.deliveries, data.delivery_groups),
        "ingest_chart": ingest_chart(data.ingest),
        "progress_states": progress_states(data.progress, data.delivery_groups),
        "delivery_rows": [
            (day.day, [day.counts[group] for group, _ in data.delivery_groups])
            for day in reversed(data.deliveries)
            if day.total
        ],
        "failed_statuses": ",".join(staff.FAILED_STATUSES),
        "poll_seconds": settings.PAPERBOY_DASHBOARD_POLL_SECONDS,
        "ingest_form": ingest_form,
        "test_form": test_form,
    }
    return render(request, "admin/paperboy/dashboard.html", context, status=status)


@require_GET
def run_progress(request: HttpRequest) -> JsonResponse:
    return JsonResponse(figures.run_progress(timezone.now().date()).as_json())


@require_POST
def ingest_now(request: HttpRequest) -> HttpResponse:
    form = IngestNowForm(request.POST)
    if not form.is_valid():
        return render_dashboard(request, form, TestDigestForm(), status=400)
    staff.queue_ingest(form.cleaned_data["date"])
    messages.success(
        request,
        f"Ingest of {form.cleaned_data['date']:%Y-%m-%d} queued: a worker reads the sources now, "
        "and the figures below update when it is done.",
    )
    return redirect("admin:dashboard")


@require_POST
def test_digest(request: HttpRequest) -> HttpResponse:
    form = TestDigestForm(request.POST)
    if not form.is_valid():
        return render_dashboard(request, blank_ingest_form(), form, status=400)
    subscriber, address, edition = (form.cleaned_data[k] for k in ("subscriber", "address", "date"))
    try:
        subject = staff.send_test_digest(subscriber, address, edition)
    except staff.NothingToSendError as error:
        form.add_error(None, str(error))
        return render_dashboard(request, blank_ingest_form(), form, status=400)
    except (smtplib.SMTPException, OSError) as error:
        log.exception("Test digest to %s could not be sent", address)
        messages.error(request, f"The mail server did not take the test digest: {type(error).__name__}: {error}")
        return redirect("admin:dashboard")
    messages.success(request, f"Sent \u201c{subject}\u201d to {address}.")
    return redirect("admin:dashboard")
