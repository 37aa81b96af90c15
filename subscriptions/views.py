from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from subscriptions import extensions, links, ratelimit, signup
from subscriptions.forms import EmailForm, PreferencesForm, SignupForm
from subscriptions.models import Subscriber, known_timezones

LIMITED_MESSAGE = "Too many sign-up attempts from here. Please try again in an hour."


def bad_link(request: HttpRequest, status: int = 400) -> HttpResponse:
    return render(request, "subscriptions/bad_link.html", status=status)


def follow_link(
    request: HttpRequest, token: str, read_token: Callable[[str], tuple[int, Any]]
) -> tuple[Subscriber, Any] | HttpResponse:
    """The subscriber a signed link names and what else it carries, or a clear 4xx page: 400
    for a forged or cut-short link, 410 for an expired one, 404 for a removed subscriber."""
    try:
        subscriber_id, carried = read_token(token)
    except signing.SignatureExpired:
        return render(request, "subscriptions/link_expired.html", link_expired_context(), status=410)
    except signing.BadSignature:
        return bad_link(request)
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return bad_link(request, status=404)
    return subscriber, carried


def with_subscriber(read_token: Callable[[str], int]) -> Callable:
    """For views of links that carry only the subscriber: the view gets them, or the visitor
    gets follow_link's 4xx page."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, token: str) -> HttpResponse:
            followed = follow_link(request, token, lambda t: (read_token(t), None))
            if isinstance(followed, HttpResponse):
                return followed
            return view(request, followed[0], token)

        return wrapper

    return decorator


def link_expired_context() -> dict:
    return {"days": settings.PAPERBOY_CONFIRM_DAYS}


# --- Signup ------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """The signup page (digest adds a sample of the email and today's most upvoted papers)."""
    if request.method != "POST":
        return signup_page(request, SignupForm())
    form = SignupForm(request.POST)
    if not form.is_valid():
        return signup_page(request, form)  # costs no allowance: it sends nothing
    if not ratelimit.allow_request_from(request):
        return signup_page(request, form, status=429)
    # Whatever the address's state or its mailbox's limit, the same page: the worker decides
    # what to send (subscriptions/mailing.py).
    signup.sign_up(form)
    return redirect(links.check_inbox_path(form.cleaned_data["email"]))  # a reload posts nothing again


def signup_page(request: HttpRequest, form: SignupForm, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        # Without JavaScript the list cannot follow the typing: the week's most upvoted at first,
        # with the best matches for the topics once the form comes back.
        "offered": extensions.paper_offer().offer(form.topics_entered(), None, form.ticked()),
        "limited": LIMITED_MESSAGE if status == 429 else "",
        "timezones": sorted(known_timezones()),
        **extensions.context_for(extensions.SIGNUP_PAGE),
    }
    return render(request, "subscriptions/signup.html", context, status=status)


@require_http_methods(["GET", "HEAD"])
def check_inbox(request: HttpRequest, token: str) -> HttpResponse:
    """Where a signup or a resend redirects to. The same page whether the address was new or
    known: it must not tell them apart."""
    try:
        email = links.email_from_check_inbox_token(token)
    except signing.BadSignature:  # forged, or a day old: nothing to say but the signup page
        return redirect("home")
    context = {
        "email": email,
        "days": settings.PAPERBOY_CONFIRM_DAYS,
        "resend_form": EmailForm(initial={"email": email}),
    }
    return render(request, "subscriptions/check_inbox.html", context)


@require_http_methods(["GET", "POST"])
def resend(request: HttpRequest) -> HttpResponse:
    """Ask for the confirmation link again."""
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not ratelimit.allow_request_from(request):
            return render(request, "subscriptions/resend.html", {"form": form, "limited": LIMITED_MESSAGE}, status=429)
        # One path for every address: no lookup here, the worker does it.
        signup.resend_confirmation(form.cleaned_data["email"])
        return redirect(links.check_inbox_path(form.cleaned_data["email"]))
    return render(request, "subscriptions/resend.html", {"form": form})


# --- Double opt-in -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button and changes nothing (mail scanners open links); POST confirms: a new
    signup, or what a SignupRequest asked for (preferences, or coming back after leaving)."""
    followed = follow_link(request, token, links.confirm_from_token)
    if isinstance(followed, HttpResponse):
        return followed
    subscriber, request_id = followed
    if request_id is None:
        if request.method == "POST":
            subscriber.confirm()
        waiting = subscriber.status == Subscriber.Status.PENDING
    else:
        if request.method == "POST":
            subscriber.confirm_request(request_id)
        waiting = subscriber.signup_requests.filter(pk=request_id).exists()
    if waiting:
        return render(request, "subscriptions/confirm.html", {"subscriber": subscriber})
    return render(request, "subscriptions/confirmed.html", {"subscriber": subscriber})


# --- Preference center -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@with_subscriber(links.subscriber_id_from_manage_token)
def manage(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    form = PreferencesForm(request.POST or None, instance=subscriber)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved. Your next digest follows these preferences.{ticks_saved(form)}")
        return redirect(request.path)
    return manage_page(request, subscriber, token, form=form)


def ticks_saved(form: PreferencesForm) -> str:
    ticked = len(form.cleaned_data["liked_papers"])
    if ticked == 0:
        return ""
    return " The paper you ticked counts as 👍." if ticked == 1 else f" The {ticked} papers you ticked count as 👍."


def manage_page(
    request: HttpRequest,
    subscriber: Subscriber,
    token: str,
    form: PreferencesForm | None = None,
    email_form: EmailForm | None = None,
    status: int = 200,
) -> HttpResponse:
    form = form or PreferencesForm(instance=subscriber)
    offer = extensions.paper_offer()
    context = {
        "subscriber": subscriber,
        "token": token,
        "form": form,
        "offered": offer.offer(form.topics_entered(), subscriber, form.ticked()),
        "rated": offer.rated(subscriber),
        "email_form": email_form or EmailForm(),
        "timezones": sorted(known_timezones()),
        **extensions.context_for(extensions.MANAGE_PAGE, subscriber=subscriber),
    }
    return render(request, "subscriptions/manage.html", context, status=status)


@require_POST
@with_subscriber(links.subscriber_id_from_manage_token)
def manage_status(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    """Pause or resume."""
    action = request.POST.get("action")
    if action == "pause" and subscriber.pause():
        messages.success(request, "Paused. No digests until you resume.")
    elif action == "resume" and subscriber.must_confirm_to_return:
        signup.ask_to_return(subscriber)
        messages.success(
            request, f"We sent a confirmation link to {subscriber.email}. Digests start again once you follow it."
        )
    elif action == "resume" and subscriber.resume():
        messages.success(request, "Resumed. Your next digest comes at your usual time.")
    return redirect("subscriptions:manage", token=token)


@require_POST
@with_subscriber(links.subscriber_id_from_manage_token)
def change_email(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    """Send a link to the new address; the change happens only when it is followed."""
    form = EmailForm(request.POST)
    if form.is_valid() and form.cleaned_data["email"].casefold() == subscriber.email.casefold():
        form.add_error("email", "That is the address you already use.")
    if not form.is_valid():
        return manage_page(request, subscriber, token, email_form=form)
    if not ratelimit.allow_request_from(request):
        form.add_error(None, LIMITED_MESSAGE)
        return manage_page(request, subscriber, token, email_form=form, status=429)
    # The cleaned address (its stored form) is what is limited and mailed, never the raw POST.
    signup.ask_for_email_change(subscriber, form.cleaned_data["email"])
    messages.success(
        request,
        f"We sent a link to {form.cleaned_data['email']}. Your address changes when you follow it; "
        f"until then, digests keep going to {subscriber.email}.",
    )
    return redirect("subscriptions:manage", token=token)


@require_http_methods(["GET", "POST"])
def email_change(request: HttpRequest, token: str) -> HttpResponse:
    """The link sent to the new address: GET asks, POST moves the subscription."""
    followed = follow_link(request, token, links.email_change_from_token)
    if isinstance(followed, HttpResponse):
        return followed
    subscriber, (new_email, from_email, issued_at) = followed
    context = {"subscriber": subscriber, "new_email": new_email}
    stale = not subscriber.can_change_email(from_email, issued_at)
    if request.method == "GET" or stale:
        # A used link, or one issued before the address last changed, moves nothing.
        return render(request, "subscriptions/email_change.html", {**context, "stale": stale})
    outcome = subscriber.change_email(new_email, from_email, issued_at)
    if outcome == Subscriber.EmailChange.TAKEN:
        return render(request, "subscriptions/email_change_taken.html", context, status=409)
    if outcome == Subscriber.EmailChange.STALE:
        return render(request, "subscriptions/email_change.html", {**context, "stale": True})
    messages.success(request, f"Done: digests now go to {new_email}.")
    return redirect(links.manage_url(subscriber.pk))


# --- Unsubscribe -------------------------------------------------------------------------


@csrf_exempt  # RFC 8058: mail providers POST with no cookies; the signed token is the authority
@require_http_methods(["GET", "POST"])
@with_subscriber(links.subscriber_id_from_unsubscribe_token)  # these links never expire
def unsubscribe(request: HttpRequest, subscriber: Subscriber, token: str) -> HttpResponse:
    """GET shows a one-button page and changes nothing (mail scanners prefetch links);
    POST, from that button or a one-click List-Unsubscribe, unsubscribes and answers 200."""
    if request.method == "POST":
        subscriber.unsubscribe()
        return render(request, "subscriptions/unsubscribed.html", {"subscriber": subscriber})
    return render(request, "subscriptions/unsubscribe_confirm.html", {"subscriber": subscriber})
