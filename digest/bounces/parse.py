"""What a returned message is: a complaint (ARF, RFC 5965), a bounce (a DSN, RFC 3464, read
here for its status codes, or one of the non-standard formats `flufl.bounce` knows), an
auto-reply (RFC 3834 and the usual vacation markers), or none of these.

Only the kind, the status and the reason come from the message's text; which delivery it is
about comes from the signed VERP address (verp.py), never from the addresses a bounce lists.
"""

from __future__ import annotations

import email
import email.errors
import email.message
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.parser import HeaderParser

from flufl.bounce import all_failures

from digest.models import ReturnedMessage

Kind = ReturnedMessage.Kind

COMPLAINT_TYPES = {"abuse", "fraud", "virus", "other"}  # "not-spam" and "auth-failure" are not complaints
MAILBOX_FULL = re.compile(r"quota|mailbox (is )?full|over ?quota|insufficient (disk )?space|storage", re.IGNORECASE)
VACATION_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|auto:|vacation|away from)",
    re.IGNORECASE,
)
STATUS_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass
class Report:
    kind: str
    recipient: str = ""
    status: str = ""
    reason: str = ""


def parse(raw: bytes) -> email.message.Message:
    return email.message_from_bytes(raw)


def classify(message: email.message.Message) -> Report:
    for reader in (complaint, delivery_status, non_standard_bounce, auto_reply):
        report = reader(message)
        if report is not None:
            return report
    return Report(Kind.UNKNOWN, reason=excerpt(message))


# --- Complaints ---------------------------------------------------------------------------


def complaint(message: email.message.Message) -> Report | None:
    part = first_part(message, "message/feedback-report")
    if part is None:
        return None
    fields = part_fields(part)
    feedback_type = (fields.get("Feedback-Type") or "").strip().lower()
    if feedback_type not in COMPLAINT_TYPES:
        return Report(Kind.AUTO_REPLY, reason=f"Feedback report of type {feedback_type or 'unknown'}: not a complaint")
    reporter = fields.get("Reported-Domain") or fields.get("User-Agent") or header(message, "From")
    reason = f"Feedback-Type: {feedback_type} (reported by {reporter})".strip()
    return Report(Kind.COMPLAINT, recipient=address_of(fields.get("Original-Rcpt-To", "")), reason=reason)


# --- Bounces ------------------------------------------------------------------------------


def delivery_status(message: email.message.Message) -> Report | None:
    """A DSN: the worst of its per-recipient reports (failed over delayed)."""
    part = first_part(message, "message/delivery-status")
    if part is None:
        return None
    recipients = [f for f in status_blocks(part) if f.get("Action")]
    failed = [f for f in recipients if f["Action"].strip().lower().startswith("fail")]
    delayed = [f for f in recipients if f["Action"].strip().lower().startswith("delay")]
    if not failed and not delayed:
        return Report(Kind.AUTO_REPLY, reason="Delivery status notification: delivered or relayed")
    fields = (failed or delayed)[0]
    status = status_code(fields.get("Status", ""))
    diagnostic = " ".join((fields.get("Diagnostic-Code") or fields.get("Status") or "").split())
    named = [fields.get("Final-Recipient") or "", fields.get("Original-Recipient") or ""]
    recipient = address_of(next((n for n in named if n.strip().lower().startswith("rfc822")), named[0]))
    if not failed:
        return Report(Kind.DELAYED, recipient, status, diagnostic)
    return Report(failure_kind(status, f"{diagnostic} {fields.get('Status', '')}"), recipient, status, diagnostic)


def non_standard_bounce(message: email.message.Message) -> Report | None:
    temporary, permanent = all_failures(message)
    if not temporary and not permanent:
        return None
    if auto_reply(message) is not None and not permanent_markers(message):
        return None  # a vacation message a heuristic mistook for a bounce
    text = excerpt(message)
    addresses = sorted(a.decode(errors="replace") for a in (permanent or temporary))
    status = status_code(text)
    if not permanent:
        return Report(Kind.DELAYED, addresses[0], status, text)
    return Report(failure_kind(status or "5.0.0", text), addresses[0], status, text)


def failure_kind(status: str, text: str) -> str:
    """RFC 3463: 5.1.x bad address, 5.2.2 mailbox full (soft), 4.x.x temporary; 5.2.3, 5.3.4,
    5.6.x and 5.7.x are about the message (size, content, policy), not the address."""
    if status.startswith("4.") or status == "5.2.2" or MAILBOX_FULL.search(text):
        return Kind.SOFT_BOUNCE
    if status in ("5.2.3", "5.3.4") or status.startswith(("5.6.", "5.7.")):
        return Kind.REFUSED
    return Kind.HARD_BOUNCE


def permanent_markers(message: email.message.Message) -> bool:
    return (message.get_content_type() == "multipart/report") or bool(
        re.search(r"mailer-daemon|postmaster", header(message, "From"), re.IGNORECASE)
    )


# --- Auto-replies -------------------------------------------------------------------------


def auto_reply(message: email.message.Message) -> Report | None:
    auto_submitted = header(message, "Auto-Submitted").lower()
    markers = [
        auto_submitted.startswith("auto-replied") and "Auto-Submitted: auto-replied",
        message.get("X-Autoreply") and "X-Autoreply",
        message.get("X-Autorespond") and "X-Autorespond",
        header(message, "Precedence").lower() == "auto_reply" and "Precedence: auto_reply",
        VACATION_SUBJECT.search(header(message, "Subject")) and "a vacation subject",
    ]
    found = [m for m in markers if m]
    if not found:
        return None
    return Report(Kind.AUTO_REPLY, reason=f"Auto-reply ({', '.join(found)}): {header(message, 'Subject')}"[:500])


# --- Reading parts ------------------------------------------------------------------------


def first_part(message: email.message.Message, content_type: str) -> email.message.Message | None:
    return next((p for p in message.walk() if p.get_content_type() == content_type), None)


def status_blocks(part: email.message.Message) -> list[email.message.Message]:
    """The header blocks of a message/delivery-status part: per message, then per recipient."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    text = part.get_payload(decode=True) or b""
    blocks = re.split(r"\r?\n\s*\r?\n", text.decode(errors="replace"))
    return [HeaderParser().parsestr(block) for block in blocks if block.strip()]


def part_fields(part: email.message.Message) -> email.message.Message:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        return payload[0]
    return HeaderParser().parsestr((part.get_payload(decode=True) or b"").decode(errors="replace"))


def status_code(text: str) -> str:
    match = STATUS_CODE.search(text or "")
    return ".".join(match.groups()) if match else ""


def address_of(field: str) -> str:
    """'rfc822; ada@example.org' -> 'ada@example.org'."""
    value = field.split(";", 1)[-1].strip().strip("<>")
    return value[:254]


def header(message: email.message.Message, name: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    try:
        return " ".join(str(make_header(decode_header(str(value)))).split())
    except (UnicodeDecodeError, LookupError, email.errors.HeaderParseError):
        return " ".join(str(value).split())


def excerpt(message: email.message.Message, limit: int = 600) -> str:
    """The first words of its first text part: enough for staff to see what it says."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset() or "utf-8"
            try:
                text = payload.decode(charset, errors="replace")
            except LookupError:
                text = payload.decode("utf-8", errors="replace")
            return " ".join(text.split())[:limit]
    return ""


def searchable_text(message: email.message.Message) -> str:
    """Every header and decoded text part, nested messages included: where a VERP address may be."""
    chunks = [str(k) + ": " + str(v) for k, v in message.items()]
    for part in message.walk():
        chunks.extend(f"{k}: {v}" for k, v in part.items())
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                chunks.append(payload.decode("utf-8", errors="replace"))
    return "\n".join(chunks)
