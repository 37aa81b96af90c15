"""Signing up: store a pending subscriber and have the confirmation link sent (double opt-in).

A stranger must not learn whether an address is subscribed, so a known address gets the
same answer on the page as a new one; what differs is only the email, which goes to the
address's owner: an active or paused subscriber gets their manage link, and anyone else a
confirmation link for what this signup asked for. Nor may a stranger change anything of a
known address: the new preferences wait in a SignupRequest until the address confirms them.

Every email is sent by a Celery worker after the commit (mailing.py), never in the request.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from subscriptions import tasks
from subscriptions.forms import SignupForm
from subscriptions.mailing import queue_after_commit
from subscriptions.models import SignupRequest, Subscriber


def sign_up(form: SignupForm) -> None:
    email = form.cleaned_data["email"]  # in its stored form (addresses.canonical)
    with transaction.atomic():
        known = Subscriber.objects.select_for_update().with_email(email).first()
        if known is None:
            created = create_pending(form, email)
            if created is not None:
                queue_after_commit(tasks.send_new_signup_email, created.pk)
                return
            # A concurrent post of the same address (a double click) stored it first.
            known = Subscriber.objects.select_for_update().with_email(email).get()
        answer_known_address(known, form)


def create_pending(form: SignupForm, email: str) -> Subscriber | None:
    """The new pending subscriber with its interests, or None if the address was stored
    meanwhile (PostgreSQL makes our insert wait for theirs, then fail on the unique address)."""
    try:
        with transaction.atomic():  # a savepoint: losing the race leaves the outer transaction usable
            return form.apply_to(Subscriber(email=email, status=Subscriber.Status.PENDING))
    except IntegrityError:
        if Subscriber.objects.with_email(email).exists():
            return None
        raise  # not the address: a real error, not a race to paper over


def answer_known_address(subscriber: Subscriber, form: SignupForm) -> None:
    if subscriber.status in (Subscriber.Status.ACTIVE, Subscriber.Status.PAUSED):
        # Their preferences stay as they are: only the manage link may change them.
        queue_after_commit(tasks.send_signup_email, subscriber.pk)
        return
    # Pending, unsubscribed or bounced: the row stays as it is until the address confirms.
    request = SignupRequest.objects.create(subscriber=subscriber, preferences=form.preferences())
    queue_after_commit(tasks.send_signup_email, subscriber.pk, request.pk)


def ask_to_return(subscriber: Subscriber) -> None:
    """ "Subscribe again" on the manage page of someone who left or bounced: a confirmation of
    the address, which then restarts digests with the preferences they have."""
    with transaction.atomic():
        request = SignupRequest.objects.create(subscriber=subscriber, preferences=None)
        queue_after_commit(tasks.send_signup_email, subscriber.pk, request.pk)


def resend_confirmation(email: str) -> None:
    """The "resend" path: the same for every address, known or not (the worker looks it up)."""
    queue_after_commit(tasks.resend_signup_email, email)


def ask_for_email_change(subscriber: Subscriber, new_email: str) -> None:
    queue_after_commit(tasks.send_email_change_email, subscriber.pk, new_email)
