"""Signed links in emails and pages. One salt per purpose, so a token made for one job opens no
other. django.core.signing checks SECRET_KEY_FALLBACKS too, so links signed before a key
rotation keep working until the old key is dropped from the fallbacks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

# Salts are part of every token ever sent: never rename one.
UNSUBSCRIBE_SALT = "paperboy.unsubscribe"
MANAGE_SALT = "paperboy.manage"
CONFIRM_SALT = "paperboy.confirm"
EMAIL_CHANGE_SALT = "paperboy.email-change"
FEEDBACK_SALT = "paperboy.feedback"
WEB_VIEW_SALT = "paperboy.web-view"
FEED_SALT = "paperboy.feed"
CHECK_INBOX_SALT = "paperboy.check-inbox"


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def sign(salt: str, payload: Any, *, timestamped: bool = False) -> str:
    signer = signing.TimestampSigner(salt=salt) if timestamped else signing.Signer(salt=salt)
    return signer.sign_object(payload)


def unsign(salt: str, token: str, *, max_age: dt.timedelta | None = None) -> Any:
    """The payload; raises signing.BadSignature for a forged or truncated token and
    signing.SignatureExpired (a subclass) for one older than max_age."""
    if max_age is not None:
        return signing.TimestampSigner(salt=salt).unsign_object(token, max_age=max_age)
    return signing.Signer(salt=salt).unsign_object(token)


def unsign_id(salt: str, token: str, *, max_age: dt.timedelta | None = None) -> int:
    value = unsign(salt, token, max_age=max_age)
    if not isinstance(value, int) or isinstance(value, bool):
        raise signing.BadSignature("unexpected payload")
    return value


# Links without expiry: the link in a year-old email must still work, and every email to one
# subscriber carries the same link.


def unsubscribe_token(subscriber_id: int) -> str:
    return sign(UNSUBSCRIBE_SALT, subscriber_id)


def subscriber_id_from_unsubscribe_token(token: str) -> int:
    """Raises signing.BadSignature for a forged or truncated token."""
    return unsign_id(UNSUBSCRIBE_SALT, token)


def unsubscribe_url(subscriber_id: int) -> str:
    return absolute(reverse("subscriptions:unsubscribe", args=[unsubscribe_token(subscriber_id)]))


def manage_url(subscriber_id: int) -> str:
    """The preference center."""
    return absolute(reverse("subscriptions:manage", args=[sign(MANAGE_SALT, subscriber_id)]))


def feed_url(subscriber_id: int) -> str:
    """The private Atom feed of one subscriber's digests."""
    return absolute(reverse("digest:feed", args=[sign(FEED_SALT, subscriber_id)]))


def feedback_url(subscriber_id: int, paper_id: int, vote: str) -> str:
    """A 👍 ("up") or 👎 ("down") link for one paper in one subscriber's email."""
    return absolute(reverse("digest:feedback", args=[sign(FEEDBACK_SALT, [subscriber_id, paper_id, vote])]))


def web_view_url(subscriber_id: int, edition_date: dt.date) -> str:
    """The "view in browser" page of one subscriber's digest for one edition."""
    payload = [subscriber_id, edition_date.isoformat()]
    return absolute(reverse("digest:web-view", args=[sign(WEB_VIEW_SALT, payload)]))


# Links that expire: they prove control of an address at one moment.


def confirm_url(subscriber_id: int, request_id: int | None = None) -> str:
    """A new signup's link confirms the pending subscriber; one naming a SignupRequest applies
    what that request asked for (models.Subscriber.confirm_request)."""
    payload = subscriber_id if request_id is None else [subscriber_id, request_id]
    return absolute(reverse("subscriptions:confirm", args=[sign(CONFIRM_SALT, payload, timestamped=True)]))


def email_change_url(subscriber_id: int, new_email: str, from_email: str, issued_at: dt.datetime) -> str:
    """Bound to the address it moves from and to the moment it was issued: it works once, and
    not after any other change of address (Subscriber.change_email)."""
    payload = [subscriber_id, new_email, from_email, issued_at.isoformat()]
    token = sign(EMAIL_CHANGE_SALT, payload, timestamped=True)
    return absolute(reverse("subscriptions:email-change", args=[token]))


# Readers for the pages behind these links. Each raises signing.BadSignature for a forged,
# truncated or other-purpose token, and signing.SignatureExpired (a subclass) for a stale one.


def confirm_max_age() -> dt.timedelta:
    """Confirmation and address-change links last as long as an unconfirmed signup is kept."""
    return dt.timedelta(days=settings.PAPERBOY_CONFIRM_DAYS)


def subscriber_id_from_manage_token(token: str) -> int:
    return unsign_id(MANAGE_SALT, token)


def subscriber_id_from_feed_token(token: str) -> int:
    return unsign_id(FEED_SALT, token)


def confirm_from_token(token: str) -> tuple[int, int | None]:
    """(subscriber id, the SignupRequest id or None) from a confirmation link."""
    value = unsign(CONFIRM_SALT, token, max_age=confirm_max_age())
    match value:
        case int(subscriber_id) if not isinstance(value, bool):
            return subscriber_id, None
        case [int(subscriber_id), int(request_id)] if not isinstance(subscriber_id, bool) and not isinstance(
            request_id, bool
        ):
            return subscriber_id, request_id
    raise signing.BadSignature("unexpected payload")


def email_change_from_token(token: str) -> tuple[int, tuple[str, str, dt.datetime]]:
    """(subscriber id, (the new address, the address it moves from, when the link was issued))."""
    value = unsign(EMAIL_CHANGE_SALT, token, max_age=confirm_max_age())
    match value:
        case [int(subscriber_id), str(new_email), str(from_email), str(issued)] if not isinstance(subscriber_id, bool):
            try:
                return subscriber_id, (new_email, from_email, dt.datetime.fromisoformat(issued))
            except ValueError:
                pass
        case [int(), str()]:
            # Issued before links were bound to an address: it may have been used already.
            raise signing.SignatureExpired("an address-change link of the old kind")
    raise signing.BadSignature("unexpected payload")


def data_url(subscriber_id: int) -> str:
    """The JSON download of one subscriber's data; the manage token authorises it."""
    return absolute(reverse("digest:data", args=[sign(MANAGE_SALT, subscriber_id)]))


# The page after a signup or a resend is reached by a redirect (a reload posts nothing again); its
# URL carries the address it names, signed, for a day.

CHECK_INBOX_MAX_AGE = dt.timedelta(days=1)


def check_inbox_path(email: str) -> str:
    return reverse("subscriptions:check-inbox", args=[sign(CHECK_INBOX_SALT, email, timestamped=True)])


def email_from_check_inbox_token(token: str) -> str:
    """Raises signing.BadSignature for a forged or truncated token, SignatureExpired after a day."""
    email = unsign(CHECK_INBOX_SALT, token, max_age=CHECK_INBOX_MAX_AGE)
    if not isinstance(email, str):
        raise signing.BadSignature("unexpected payload")
    return email
