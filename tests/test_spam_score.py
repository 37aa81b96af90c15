"""SpamAssassin's shipped rules (Debian's `spamassassin`, local tests only: -L) score a real
digest, a confirmation and a manage-link email, as the SMTP server received them, at most 1.0."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from subscriptions import emails
from subscriptions.models import Subscriber
from tests.conftest import require_mail_tool
from tests.digest_mail import send_edition
from tests.factories import load_day, make_subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lexical_only")]

SPAMASSASSIN = Path("/usr/bin/spamassassin")
MOST = 1.0


def spam_report(raw: bytes, home: Path) -> tuple[float, str]:
    """The score and the rules that fired. SpamAssassin keeps its state (user prefs, Bayes) in
    $HOME: a throwaway one, and no autolearning, so no run depends on an earlier one."""
    command = [str(SPAMASSASSIN), "-L", "-t", "--cf=bayes_auto_learn 0"]
    env = {**os.environ, "HOME": str(home)}
    result = subprocess.run(command, input=raw, capture_output=True, timeout=120, check=False, env=env)
    out = result.stdout.decode(errors="replace")
    score = float(re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", out, re.M).group(1))
    rules = re.search(r"^Content analysis details:.*?\n\n(.*?)(?:\n\n|\Z)", out, re.S | re.M)
    return score, rules.group(1) if rules else out[-2000:]


def received(smtp) -> bytes:
    (envelope,) = smtp.envelopes
    smtp.envelopes.clear()
    return b"Return-Path: <" + envelope.mail_from.encode() + b">\r\n" + envelope.original_content


def test_a_digest_a_confirmation_and_a_manage_link_email_score_at_most_one(smtp, settings, tmp_path):
    require_mail_tool(SPAMASSASSIN, "spamassassin")
    settings.SITE_URL = "https://paperboy.example.org"
    load_day()
    ada = make_subscriber("ada@example.org", "reinforcement learning", "language model agents")
    pending = make_subscriber("bob@example.org", "robot manipulation", status=Subscriber.Status.PENDING)

    send_edition()
    digest = received(smtp)
    emails.send_now("confirm", pending.email, {"confirm_url": "https://paperboy.example.org/confirm/x/", "days": 7,
                                                "topics": ["robot manipulation"], "subscriber": pending})  # fmt: skip
    confirmation = received(smtp)
    emails.send_now("already-subscribed", ada.email, {"manage_url": ada.manage_url, "subscriber": ada})
    manage = received(smtp)

    for name, raw in (("digest", digest), ("confirmation", confirmation), ("manage link", manage)):
        score, rules = spam_report(raw, tmp_path)
        print(f"{name}: {score}\n{rules}")
        assert score <= MOST, f"the {name} scored {score}:\n{rules}"
