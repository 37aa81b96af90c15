"""Mail goes out pipelined (RFC 2920) where the server offers it: MAIL, RCPT and DATA in one
write. Refusals at each step come back as smtplib's usual errors and leave the session usable
for the next message; a line that starts with a dot arrives as written."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.core import mail

from mailing import pipelining
from tests.conftest import free_port, require_mail_tool, wait_until

SMTP_SINK = Path("/usr/sbin/smtp-sink")
MESSAGE = (
    b"From: Paperboy <digest@paperboy.example>\r\nTo: ada@example.com\r\nSubject: Today\r\n\r\n"
    b"First line\r\n.A line that starts with a dot\r\n..and one with two\r\n.\r\nLast line\r\n"
)


class StrictPipeliningServer:
    """Offers PIPELINING and answers MAIL, RCPT and DATA only once all three have arrived, so a
    client that waits for each reply in turn gets none and times out. Keeps what it reads."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.commands: list[str] = []
        self.content = b""
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn, conn.makefile("rb") as reader:
            conn.sendall(b"220 strict ESMTP\r\n")
            reader.readline()  # EHLO
            conn.sendall(b"250-strict\r\n250-PIPELINING\r\n250 SIZE 10000000\r\n")
            group = [reader.readline().decode().strip() for _ in range(3)]  # MAIL, RCPT, DATA
            self.commands = group
            conn.sendall(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n")
            while (line := reader.readline()) != b".\r\n":
                self.content += line
            conn.sendall(b"250 2.0.0 Ok: queued\r\n")
            reader.readline()  # QUIT
            conn.sendall(b"221 2.0.0 Bye\r\n")


def test_mail_rcpt_and_data_go_out_together_and_the_content_arrives_as_written():
    server = StrictPipeliningServer()
    session = smtplib.SMTP("127.0.0.1", server.port, timeout=5)
    refused = pipelining.sendmail(session, "bounces+d1@paperboy.example", ["ada@example.com"], MESSAGE)
    session.quit()

    assert refused == {}
    assert server.commands == [
        f"MAIL FROM:<bounces+d1@paperboy.example> SIZE={len(MESSAGE)}",
        "RCPT TO:<ada@example.com>",
        "DATA",
    ]
    unstuffed = b"".join(line[1:] if line.startswith(b".") else line for line in server.content.splitlines(True))
    assert unstuffed == MESSAGE
    assert b"\r\n..A line that starts with a dot\r\n...and one with two\r\n..\r\n" in server.content


class Refusing:
    """aiosmtpd handler refusing what a test names: a sender at MAIL, a recipient at RCPT, or a
    message after its content (by subject). Offers PIPELINING; keeps what it takes."""

    def __init__(self) -> None:
        self.refuse_sender: dict[str, str] = {}
        self.refuse_recipient: dict[str, str] = {}
        self.refuse_subject: dict[str, str] = {}
        self.taken: list[email.message.EmailMessage] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if address in self.refuse_sender:
            return self.refuse_sender[address]
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse_recipient:
            return self.refuse_recipient[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        if message["Subject"] in self.refuse_subject:
            return self.refuse_subject[message["Subject"]]
        self.taken.append(message)
        return "250 OK"


@pytest.fixture
def refusing() -> Refusing:
    handler = Refusing()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def message(subject: str) -> bytes:
    return f"From: digest@paperboy.example\r\nTo: ada@example.com\r\nSubject: {subject}\r\n\r\nHello\r\n".encode()


def test_each_refusal_is_smtplibs_own_error_and_the_session_carries_the_next_message(refusing):
    refusing.refuse_sender["blocked@paperboy.example"] = "550 5.7.1 Sender blocked"
    refusing.refuse_recipient["gone@example.com"] = "550 5.1.1 No such user"
    refusing.refuse_subject["Too big"] = "452 4.3.1 Insufficient system storage"
    session = smtplib.SMTP("127.0.0.1", refusing.port, timeout=5)
    assert session.ehlo()[0] == 250 and session.has_extn("pipelining")

    with pytest.raises(smtplib.SMTPSenderRefused) as sender:
        pipelining.sendmail(session, "blocked@paperboy.example", ["ada@example.com"], message("One"))
    assert (sender.value.smtp_code, sender.value.smtp_error) == (550, b"5.7.1 Sender blocked")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as recipient:
        pipelining.sendmail(session, "digest@paperboy.example", ["gone@example.com"], message("Two"))
    assert recipient.value.recipients == {"gone@example.com": (550, b"5.1.1 No such user")}

    with pytest.raises(smtplib.SMTPDataError) as data:
        pipelining.sendmail(session, "digest@paperboy.example", ["ada@example.com"], message("Too big"))
    assert data.value.smtp_code == 452

    some = pipelining.sendmail(
        session, "digest@paperboy.example", ["gone@example.com", "ada@example.com"], message("Four")
    )
    assert some == {"gone@example.com": (550, b"5.1.1 No such user")}
    assert pipelining.sendmail(session, "digest@paperboy.example", ["ada@example.com"], message("Five")) == {}
    session.quit()
    assert [m["Subject"] for m in refusing.taken] == ["Four", "Five"]


def test_a_server_without_pipelining_gets_one_command_at_a_time(refusing):
    class Plain(Refusing):
        async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
            session.host_name = hostname
            return responses

    plain = Plain()
    controller = Controller(plain, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        session = smtplib.SMTP("127.0.0.1", controller.port, timeout=5)
        assert pipelining.sendmail(session, "digest@paperboy.example", ["ada@example.com"], message("Plain")) == {}
        assert not session.has_extn("pipelining")
        session.quit()
    finally:
        controller.stop()
    assert [m["Subject"] for m in plain.taken] == ["Plain"]


def test_django_sends_through_postfixs_smtp_sink_pipelined(settings):
    require_mail_tool(SMTP_SINK, "postfix")
    # Its own folder in /tmp: smtp-sink writes the dumps as the postfix user, who cannot enter
    # pytest's private tmp_path.
    dumps = Path(tempfile.mkdtemp(prefix="smtp-sink-"))
    dumps.chmod(0o777)
    port = free_port()
    user = ["-u", "postfix"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([str(SMTP_SINK), *user, "-d", f"{dumps}/%H%M%S.", f"127.0.0.1:{port}", "10"])
    try:
        wait_until(lambda: listening(port), 10, "smtp-sink to listen")
        settings.EMAIL_BACKEND = "mailing.backend.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
        messages = [
            mail.EmailMessage(f"Digest {n}", ".dot first\nplain", "digest@paperboy.example", [f"r{n}@example.com"])
            for n in range(3)
        ]
        with mail.get_connection() as connection:
            assert connection.send_messages(messages) == 3
            assert connection.connection.has_extn("pipelining")
        wait_until(lambda: len(list(dumps.iterdir())) == 3, 10, "smtp-sink to write its dumps")
        time.sleep(0.2)  # the last one written out
        dumped = sorted(p.read_bytes().replace(b"\r\n", b"\n") for p in dumps.iterdir())
    finally:
        sink.terminate()
        sink.wait(10)
        shutil.rmtree(dumps)
    for n, dump in enumerate(dumped):
        assert f"X-Rcpt-Args: <r{n}@example.com>".encode() in dump
        assert f"Subject: Digest {n}".encode() in dump and b"\n\n.dot first\nplain" in dump


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
