"""One message over an open smtplib session with ESMTP PIPELINING (RFC 2920) where the server
offers it: MAIL, RCPT and DATA go out in one write and their replies are read together, then the
content and its final dot. Two round trips a message instead of smtplib's four (its sendmail
waits for each reply in turn), and half the system calls on both sides.

Outcomes are smtplib's own, so callers tell them apart as before: SMTPSenderRefused (MAIL),
SMTPRecipientsRefused (every RCPT), SMTPDataError (DATA or the content); a 421 closes the
session, another refusal resets the transaction so the session can carry the next message.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Sequence

CRLF = b"\r\n"
LINE_START_DOT = re.compile(rb"(?m)^\.")  # RFC 5321 4.5.2: a line's leading dot is doubled
CLOSING = 421


def sendmail(session: smtplib.SMTP, from_addr: str, to_addrs: Sequence[str], msg: bytes) -> dict[str, tuple]:
    """Send `msg` (bytes with CRLF line ends) from `from_addr` to `to_addrs`; returns the refused
    recipients when some (not all) were refused, as smtplib.SMTP.sendmail does."""
    session.ehlo_or_helo_if_needed()
    if not session.has_extn("pipelining"):
        return session.sendmail(from_addr, list(to_addrs), msg)
    size = f" SIZE={len(msg)}" if session.has_extn("size") else ""
    commands = [f"MAIL FROM:{smtplib.quoteaddr(from_addr)}{size}"]
    commands += [f"RCPT TO:{smtplib.quoteaddr(address)}" for address in to_addrs]
    commands.append("DATA")
    if any("\r" in command or "\n" in command for command in commands):
        raise ValueError("command and arguments contain prohibited newline characters")
    session.send("".join(f"{command}\r\n" for command in commands))

    mail_code, mail_reply = reply_or_close(session)
    if mail_code == CLOSING:
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, from_addr)
    refused: dict[str, tuple] = {}
    for address in to_addrs:
        code, reply = reply_or_close(session)
        if code not in (250, 251):
            refused[address] = (code, reply)
        if code == CLOSING:
            raise smtplib.SMTPRecipientsRefused(refused)
    data_code, data_reply = reply_or_close(session)
    if data_code == CLOSING:
        raise smtplib.SMTPDataError(data_code, data_reply)

    if mail_code != 250 or len(refused) == len(to_addrs) or data_code != 354:
        if data_code == 354:  # a server that took DATA all the same: end it with no content
            session.send(b"." + CRLF)
            reply_or_close(session)
        reset(session)
        if mail_code != 250:
            raise smtplib.SMTPSenderRefused(mail_code, mail_reply, from_addr)
        if len(refused) == len(to_addrs):
            raise smtplib.SMTPRecipientsRefused(refused)
        raise smtplib.SMTPDataError(data_code, data_reply)

    content = LINE_START_DOT.sub(b"..", msg)
    if not content.endswith(CRLF):
        content += CRLF
    session.send(content + b"." + CRLF)
    code, reply = reply_or_close(session)
    if code != 250:
        if code != CLOSING:
            reset(session)
        raise smtplib.SMTPDataError(code, reply)
    return refused


def reply_or_close(session: smtplib.SMTP) -> tuple[int, bytes]:
    """The next reply; after a 421 ("closing the session") the session is closed on our side too."""
    code, reply = session.getreply()
    if code == CLOSING:
        session.close()
    return code, reply


def reset(session: smtplib.SMTP) -> None:
    """End the refused transaction (RSET) so the session can carry the next message."""
    try:
        session.rset()
    except smtplib.SMTPServerDisconnected:
        pass
