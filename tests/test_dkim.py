"""DKIM: every message leaves signed (digests and the web's emails alike), and the signature
verifies on the message exactly as the SMTP server received it."""

from __future__ import annotations

import base64
import re
import subprocess

import dkim
import pytest

from digest.models import Edition
from digest.staff.actions import send_test_digest
from subscriptions import emails
from tests.digest_mail import send_edition
from tests.factories import load_day, make_subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lexical_only")]

SELECTOR, DOMAIN = "pb2025", "paperboy.test"


@pytest.fixture
def dkim_key(settings, tmp_path) -> bytes:
    """A fresh RSA key in settings; returns the TXT record to publish at SELECTOR._domainkey.DOMAIN."""
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    settings.PAPERBOY_DKIM_SELECTOR, settings.PAPERBOY_DKIM_DOMAIN = SELECTOR, DOMAIN
    settings.PAPERBOY_DKIM_PRIVATE_KEY = key.read_text()
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def dns_answer(record: bytes):
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return lookup


def signed_headers(raw: bytes) -> set[str]:
    signature = re.search(rb"^DKIM-Signature:(.*?)\r\n(?! )", raw, re.S | re.M).group(1)
    tags = dict(re.findall(r"(\w+)=([^;]*)", re.sub(r"\s+", "", signature.decode())))
    assert tags["c"] == "relaxed/relaxed" and tags["d"] == DOMAIN and tags["s"] == SELECTOR
    return {h.lower() for h in tags["h"].split(":")}


def test_a_digest_is_signed_and_verifies_as_received_including_the_one_click_headers(smtp, dkim_key):
    load_day()
    make_subscriber("ada@example.org", "reinforcement learning")

    send_edition()

    (envelope,) = smtp.envelopes
    raw = envelope.original_content
    assert dkim.verify(raw, dnsfunc=dns_answer(dkim_key))
    assert {"from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe", "list-unsubscribe-post"} <= (
        signed_headers(raw)
    )
    # Someone swapping the one-click address on the way breaks the signature.
    forged = re.sub(rb"List-Unsubscribe:\s*<[^>]+>", b"List-Unsubscribe: <https://evil.example/u>", raw)
    assert forged != raw and not dkim.verify(forged, dnsfunc=dns_answer(dkim_key))


def test_web_triggered_mail_is_signed_too(smtp, dkim_key):
    subscriber = make_subscriber("ada@example.org", "reinforcement learning")

    emails.send_now(
        "already-subscribed", subscriber.email, {"manage_url": subscriber.manage_url, "subscriber": subscriber}
    )

    (envelope,) = smtp.envelopes
    assert dkim.verify(envelope.original_content, dnsfunc=dns_answer(dkim_key))


def test_without_a_key_nothing_is_signed(smtp, settings):
    settings.PAPERBOY_DKIM_SELECTOR = settings.PAPERBOY_DKIM_DOMAIN = settings.PAPERBOY_DKIM_PRIVATE_KEY = ""
    subscriber = make_subscriber("ada@example.org", "reinforcement learning")

    emails.send_now(
        "already-subscribed", subscriber.email, {"manage_url": subscriber.manage_url, "subscriber": subscriber}
    )

    assert b"DKIM-Signature" not in smtp.envelopes[0].original_content


def test_a_test_digest_carries_no_unsubscribe_header_of_anyone(smtp):
    load_day()
    ada = make_subscriber("ada@example.org", "reinforcement learning")

    send_test_digest(ada, "staff@paperboy.test", Edition.objects.get())

    (message,) = smtp.to("staff@paperboy.test")
    assert message["Subject"].startswith("[Test] ")
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
