"""The bytes mailing/wire.py writes for a digest are the message Django would have built: the
same headers in the same order with the same values, the same parts, the same text and HTML,
lines within SMTP's limit. Checked on real digests, hostile papers, a weekly digest, non-ASCII
names and subjects; anything of another shape is left to Django."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage as ParsedMessage

import pytest
import time_machine
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.test import override_settings

from digest import deliver
from digest.day import plan_day
from digest.models import Delivery
from mailing import wire
from subscriptions.models import Subscriber
from tests.digest_mail import hostile_items
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db


def parsed(data: bytes) -> ParsedMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def parts(message: ParsedMessage) -> list[tuple]:
    return [
        (p.get_content_type(), p.get_content_charset(), p["Content-Transfer-Encoding"]) for p in message.iter_parts()
    ]


def django_and_wire(message: EmailMessage) -> tuple[bytes, bytes]:
    with time_machine.travel("2026-05-13T06:00:00+00:00", tick=False):  # one Date for both
        return message.message().as_bytes(linesep="\r\n"), wire.message_bytes(message)


def assert_same_message(message: EmailMessage) -> bytes:
    ours_django, ours_wire = django_and_wire(message)
    django, written = parsed(ours_django), parsed(ours_wire)
    assert [(k, str(v)) for k, v in written.items() if k != "Content-Type"] == [
        (k, str(v)) for k, v in django.items() if k != "Content-Type"
    ]
    assert written.get_content_type() == django.get_content_type()
    assert parts(written) == parts(django)
    for kind in ("plain", "html"):
        assert written.get_body((kind,)).get_content() == django.get_body((kind,)).get_content()
    assert max(len(line) for line in ours_wire.split(b"\r\n")) <= 998
    assert b"\n" not in ours_wire.replace(b"\r\n", b"")  # every line end is CRLF
    # The header block folds as Django's does, byte for byte, but for the boundary.
    head = ours_wire.split(b"\r\n\r\n", 1)[0].split(b"\r\n", 2)[2]
    assert head == ours_django.split(b"\r\n\r\n", 1)[0].split(b"\r\n", 2)[2]
    return ours_wire


def digests_of_the_day() -> list[EmailMultiAlternatives]:
    plan_day(EDITION_DATE, respect_send_hour=False)
    deliveries = Delivery.objects.filter(edition_date=EDITION_DATE).select_related("subscriber").order_by("pk")
    return [deliver.render(d) for d in deliveries]


def test_real_digests_come_out_as_django_would_write_them(settings):
    settings.PAPERBOY_REPLY_TO = "editors@paperboy.example"
    load_day()
    make_subscriber("ada@example.com", "reinforcement learning", "robot manipulation")
    make_subscriber(
        "grace@example.com",
        "diffusion models",
        frequency=Subscriber.Frequency.WEEKLY,
        weekly_day=EDITION_DATE.weekday(),
    )
    make_subscriber("linus@exämple.com", "large language models", max_papers=20)
    messages = digests_of_the_day()
    assert len(messages) == 3
    for message in messages:
        data = assert_same_message(message)
        assert b"Content-Transfer-Encoding: 8bit" in data


def test_hostile_papers_come_out_the_same_too():
    load_day()
    load_day(items=hostile_items())
    make_subscriber("ada@example.com", "reinforcement learning", max_papers=20)
    (message,) = digests_of_the_day()
    assert_same_message(message)


@override_settings(DEFAULT_FROM_EMAIL="Paperboy Ünïcode <digest@paperboy.example>")
def test_non_ascii_names_and_subjects_are_encoded_as_django_encodes_them():
    message = EmailMultiAlternatives(
        subject="Vos articles du jour : « diffusion » et l’apprentissage — 10 de plus " * 2,
        body="Bonjour\nÀ demain\n",
        from_email="Paperboy Ünïcode <digest@paperboy.example>",
        to=["Ada Lovelace <ada@exämple.com>"],
        headers={"Message-ID": "<1@paperboy.example>", "List-Id": "Paperboy <digest.paperboy.example>"},
    )
    message.attach_alternative("<p>Bonjour</p>\n<p>À demain</p>", "text/html")
    data = assert_same_message(message)
    assert b"=?utf-8?" in data.split(b"\r\n\r\n")[0]


def test_other_shapes_and_long_lines_are_left_to_django():
    plain = EmailMessage("Hello", "Just text", "a@paperboy.example", ["ada@example.com"])
    long_line = EmailMultiAlternatives("Hello", "x" * 1200, "a@paperboy.example", ["ada@example.com"])
    long_line.attach_alternative("<p>hi</p>", "text/html")
    assert wire.text_and_html(plain) is None
    for message in (plain, long_line):
        django, written = (parsed(b) for b in django_and_wire(message))
        assert written.get_body(("plain",)).get_content() == django.get_body(("plain",)).get_content()
    assert parsed(wire.message_bytes(long_line)).get_body(("plain",))["Content-Transfer-Encoding"] == "quoted-printable"
