"""The bytes of a text + HTML email, written straight from its strings.

Django builds an email.message tree for every message and serialises it (`message().as_bytes()`),
which cost more CPU per digest than rendering it (benchmark_render: 1.2 ms against 0.34 ms). A
digest is always the same shape: text/plain, then one text/html alternative, UTF-8, no
attachment. For that shape this writes what Django would (the same headers, encoded and folded
by the email package's own rules, and 8bit parts), encoding only the few headers that need it;
any other message, or a part with a line over SMTP's 998-byte limit (which Django would send
quoted-printable), is left to Django. `tests/test_wire.py` checks both agree on real digests.
"""

from __future__ import annotations

import re
import secrets
from email.header import Header
from email.utils import formatdate

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.message import DNS_NAME, forbid_multi_line_headers, make_msgid

NEWLINE = re.compile(r"\r\n|\r|\n")  # what the email package's generator takes for a line end
LONGEST_LINE = 998  # RFC 5322 2.1.1, without its CRLF
FOLD_AT = 78  # compat32's max_line_length, as Django's serialisation uses
CRLF = "\r\n"
PART_HEADERS = b'; charset="utf-8"\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
PLAIN_PART = b"\r\nContent-Type: text/plain" + PART_HEADERS
HTML_PART = b"\r\nContent-Type: text/html" + PART_HEADERS


def message_bytes(message: EmailMessage) -> bytes:
    """The message as the SMTP backend sends it (CRLF line ends, before dot-stuffing)."""
    parts = text_and_html(message)
    if parts is not None:
        try:
            text, html = (part.encode() for part in parts)
        except UnicodeEncodeError:  # lone surrogates: the email package knows what to do with them
            parts = None
    if parts is None or longest_line(text, html) > LONGEST_LINE:  # Django sends such parts quoted-printable
        return message.message().as_bytes(linesep=CRLF)
    boundary = new_boundary()
    while boundary in text or boundary in html:  # as the email package makes sure
        boundary = new_boundary()
    head = [f'Content-Type: multipart/alternative;\r\n boundary="{boundary.decode()}"', "MIME-Version: 1.0"]
    head += [header_line(name, value) for name, value in main_headers(message)]
    return b"".join(
        (
            CRLF.join(head).encode(),
            b"\r\n\r\n--" + boundary + PLAIN_PART, text,
            b"\r\n--" + boundary + HTML_PART, html,
            b"\r\n--" + boundary + b"--\r\n",
        )
    )  # fmt: skip


def text_and_html(message: EmailMessage) -> tuple[str, str] | None:
    """The text and HTML parts with CRLF line ends, if the message has the digest's shape
    (text/plain, one text/html alternative, UTF-8, no attachment); else None."""
    if not isinstance(message, EmailMultiAlternatives) or message.attachments or len(message.alternatives) != 1:
        return None
    html, mimetype = message.alternatives[0]
    if (message.encoding or settings.DEFAULT_CHARSET).lower() != "utf-8" or not message.body:
        return None
    if message.content_subtype != "plain" or mimetype != "text/html" or message.alternative_subtype != "alternative":
        return None
    return with_crlf(message.body), with_crlf(html)


def with_crlf(text: str) -> str:
    lines = text.split("\n") if "\r" not in text else NEWLINE.split(text)  # str.split: the fast one
    return CRLF.join(lines)


def longest_line(*parts: bytes) -> int:
    return max(len(line) for part in parts for line in part.split(b"\r\n"))


def new_boundary() -> bytes:
    return b"===============%019d==" % secrets.randbits(63)


def main_headers(message: EmailMessage) -> list[tuple[str, str]]:
    """The top-level headers in Django's order (EmailMessage.message), each value as Django's
    SafeMIME classes encode it (forbid_multi_line_headers raises BadHeaderError on a newline)."""
    headers = [("Subject", message.subject), ("From", message.extra_headers.get("From", message.from_email))]
    for name, addresses in (("To", message.to), ("Cc", message.cc), ("Reply-To", message.reply_to)):
        if addresses:
            headers.append((name, message.extra_headers.get(name, ", ".join(str(a) for a in addresses))))
    names = {key.lower() for key in message.extra_headers}
    if "date" not in names:
        headers.append(("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
    if "message-id" not in names:
        headers.append(("Message-ID", make_msgid(domain=DNS_NAME)))
    headers += [(n, v) for n, v in message.extra_headers.items() if n.lower() not in {"from", "to", "cc", "reply-to"}]
    encoding = message.encoding or settings.DEFAULT_CHARSET
    return [forbid_multi_line_headers(name, value, encoding) for name, value in headers]


def header_line(name: str, value: str) -> str:
    """`Name: value`, folded as the email package's compat32 policy folds it on output."""
    if isinstance(value, str) and len(name) + 2 + len(value) <= FOLD_AT and value.isascii() and "\n" not in value:
        return f"{name}: {value}"
    return f"{name}: " + Header(value, header_name=name).encode(linesep=CRLF, maxlinelen=FOLD_AT)
