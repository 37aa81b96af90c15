"""Signing up: store a pending subscriber and send the confirmation link (double opt-in).

A stranger must not learn whether an address is subscribed, so a known address gets the
same answer on the page as a new one; what differs is only the email, which goes to the
address's owner: an active or paused subscriber gets their manage link, and one who never
confirmed or has left starts over with a fresh confirmation link.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from subscriptions import emails
from subscriptions.forms import SignupForm
from subscriptions.models import Subscriber


def sign_up(form: SignupForm) -> None:
    email = form.cleaned_data["email"]
    with transaction.atomic():
        known = Subscriber.objects.select_for_update().with_email(email).first()
        if known is None:
            created = create_pending(form, email)
            if created is not None:
                emails.send_confirmation(created)
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
    if not subscriber.claim_signup_mail():
        return  # we wrote to this address moments ago (a double click): one email is enough
    if subscriber.status in (Subscriber.Status.ACTIVE, Subscriber.Status.PAUSED):
        # Their preferences stay as they are: only the manage link may change them.
        emails.send_already_subscribed(subscriber)
        return
    restart(subscriber, form)


def restart(subscriber: Subscriber, form: SignupForm) -> None:
    """Pending, unsubscribed or bounced: nothing goes to them until they confirm, so the new
    form's preferences replace the old and a fresh link is sent."""
    form.apply_to(subscriber, status=Subscriber.Status.PENDING)
    emails.send_confirmation(subscriber)


def resend_confirmation(email: str) -> None:
    """The "resend" path: whatever the address's state, the page answers the same."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().with_email(email).first()
        if subscriber is None or not subscriber.claim_signup_mail():
            return
        if subscriber.status == Subscriber.Status.PENDING:
            emails.send_confirmation(subscriber)
        elif subscriber.status in (Subscriber.Status.ACTIVE, Subscriber.Status.PAUSED):
            emails.send_already_subscribed(subscriber)
