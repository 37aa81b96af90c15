"""The paths around the bounce tests' main road: soft bounces by their status (mailbox full,
greylisting), feedback reports that are not complaints, a mailbox without a processed folder or
without MOVE, and `receive_bounces` as an operator runs it (--imap once, --smtp until stopped)."""

from __future__ import annotations

import io
import os
import signal
import smtplib
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection

from digest import tasks
from digest.bounces import imap, parse
from digest.models import Delivery, ReturnedMessage
from subscriptions.models import Subscriber
from tests.bounce_mail import BOUNCES, envelope_to, returned
from tests.conftest import PROJECT, free_port
from tests.digest_mail import send_edition
from tests.factories import load_day, make_subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lexical_only")]
Kind = ReturnedMessage.Kind
TOPIC = "reinforcement learning"


def postfix_dsn_with_status(status: str) -> bytes:
    raw = (BOUNCES / "postfix-dsn.eml").read_bytes().replace(b"Status: 5.0.0", f"Status: {status}".encode())
    return raw.replace(b"{{VERP}}", b"bounces+d1-0@bounces.example.org").replace(b"{{RECIPIENT}}", b"ada@example.org")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("5.2.2", Kind.SOFT_BOUNCE),  # mailbox full: it may empty
        ("4.7.1", Kind.SOFT_BOUNCE),  # greylisted, or refused for now
        ("5.1.1", Kind.HARD_BOUNCE),  # no such mailbox
        ("5.7.1", Kind.REFUSED),  # the message was refused (policy), not the address
    ],
)
def test_a_status_notification_is_read_by_its_status_code(status, kind):
    report = parse.classify(parse.parse(postfix_dsn_with_status(status)))

    assert report.kind == kind
    assert report.status == status


def test_a_feedback_report_that_is_not_about_spam_is_no_complaint():
    raw = (BOUNCES / "arf-complaint.eml").read_bytes().replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")

    report = parse.classify(parse.parse(raw))

    assert report.kind != Kind.COMPLAINT
    assert "not-spam" in report.reason


def test_a_mailbox_without_a_processed_folder_is_emptied_and_one_without_move_is_copied_then_expunged(
    smtp, imap_mailbox, settings, monkeypatch
):
    load_day()
    ada, bob = make_subscriber("ada@example.org", TOPIC), make_subscriber("bob@example.org", TOPIC)
    send_edition()

    imap_mailbox.deliver(returned("postfix-dsn.eml", envelope_to(smtp, ada.email)))
    settings.PAPERBOY_BOUNCE_IMAP_PROCESSED_FOLDER = ""
    assert tasks.read_bounce_mailbox() == 1
    assert imap_mailbox.subjects("INBOX") == []
    assert imap_mailbox.subjects("Processed") == []

    # A server without the MOVE extension: COPY, then \Deleted and EXPUNGE. Through the command.
    settings.PAPERBOY_BOUNCE_IMAP_PROCESSED_FOLDER = "Done"
    monkeypatch.setattr(imap, "server_capabilities", lambda _server: set())
    imap_mailbox.deliver(returned("arf-complaint.eml", envelope_to(smtp, bob.email)))
    call_command("receive_bounces", "--imap", stdout=io.StringIO())

    assert imap_mailbox.subjects("INBOX") == []
    assert len(imap_mailbox.subjects("Done")) == 1
    assert Subscriber.objects.get(pk=ada.pk).status == Subscriber.Status.BOUNCED
    assert Subscriber.objects.get(pk=bob.pk).status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db(transaction=True)
def test_receive_bounces_over_smtp_takes_a_relayed_bounce_and_stops_cleanly_on_sigterm(smtp, settings):
    load_day()
    ada = make_subscriber("ada@example.org", TOPIC)
    send_edition()
    envelope = envelope_to(smtp, ada.email)
    port = free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
    }
    command = [sys.executable, "manage.py", "receive_bounces", "--smtp", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "127.0.0.1" in process.stdout.readline()  # listening
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as relay:
            refused = relay.sendmail("", [envelope.mail_from], returned("gmail.eml", envelope))
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)

    assert refused == {}
    assert process.returncode == 0, err[-2000:]
    ada.refresh_from_db()
    assert ada.status == Subscriber.Status.BOUNCED
    assert ada.deliveries.get().status == Delivery.Status.FAILED_PERMANENT
    assert ReturnedMessage.objects.get().source == ReturnedMessage.Source.SMTP
