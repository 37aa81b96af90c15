"""The local mail catcher's inbox: `manage.py mailcatcher` saves each message it receives as an
.eml file under var/mail/, and these views (routed only when DEBUG) show them in the browser."""

from __future__ import annotations

import email
import email.policy
import time
from email.message import EmailMessage
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render


def save(raw: bytes) -> Path:
    folder = Path(settings.MAILCATCHER_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.time_ns()}.eml"
    path.write_bytes(raw)
    return path


def read(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def find(name: str) -> Path:
    path = Path(settings.MAILCATCHER_DIR) / f"{name}.eml"
    if not name.isdigit() or not path.exists():
        raise Http404("No such message")
    return path


def inbox(request: HttpRequest) -> HttpResponse:
    folder = Path(settings.MAILCATCHER_DIR)
    paths = sorted(folder.glob("*.eml"), reverse=True)[:200] if folder.exists() else []
    messages = [{"name": p.stem, "message": read(p)} for p in paths]
    for entry in messages:  # a folded header decodes with a leading space
        entry["subject"] = str(entry["message"]["Subject"] or "(no subject)").strip()
    return render(request, "digest/dev_mail_inbox.html", {"messages": messages, "folder": folder})


def message(request: HttpRequest, name: str) -> HttpResponse:
    msg = read(find(name))
    text = msg.get_body(preferencelist=("plain",))
    return render(
        request,
        "digest/dev_mail_message.html",
        {"name": name, "message": msg, "headers": msg.items(), "text": text.get_content() if text else ""},
    )


def message_html(request: HttpRequest, name: str) -> HttpResponse:
    html = read(find(name)).get_body(preferencelist=("html",))
    if html is None:
        raise Http404("This message has no HTML part")
    response = HttpResponse(html.get_content())
    # Shown in an iframe of our own page; it may not run scripts.
    response["Content-Security-Policy"] = "script-src 'none'"
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response
