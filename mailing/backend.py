"""Django's SMTP backend, sending each message's final bytes signed (mailing.dkim_signing) and
from the envelope sender it asks for (`envelope_sender`), else from its From address, pipelined
where the server offers it (mailing.pipelining)."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address

from mailing import dkim_signing, pipelining, wire


def set_envelope_sender(message: EmailMessage, address: str) -> None:
    """Bounces of this message go to `address` (its Return-Path); From and Reply-To stay as they are."""
    message.envelope_sender = address


class EmailBackend(smtp.EmailBackend):
    def _send(self, email_message: EmailMessage) -> bool:
        # Django's own _send, with the envelope sender and the signature added.
        if not email_message.recipients():
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        sender = getattr(email_message, "envelope_sender", None) or email_message.from_email
        from_email = sanitize_address(sender, encoding)
        recipients = [sanitize_address(address, encoding) for address in email_message.recipients()]
        data = dkim_signing.sign(wire.message_bytes(email_message))
        try:
            pipelining.sendmail(self.connection, from_email, recipients, data)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
