"""Real parts for the tests: a local HTTP server playing Hugging Face and arXiv from recorded
fixtures, an SMTP server (aiosmtpd), and a Celery worker process on the configured broker."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = Path(__file__).parent.parent
# The seed day: real titles and abstracts with made-up ids and authors, kept for the matching
# evaluation and the tests that rank, render and deliver its papers (tests/fixtures/make_fixtures.py).
DAY = "2025-09-03"
# Real files as the sources published them (tests/fixtures/real/README.md).
REAL = FIXTURES / "real"
SAMPLE_WEEK_DIR = PROJECT / "digest" / "sample_day"
SAMPLE_DATE = "2026-05-13"  # the bundled sample day: a real, full Hugging Face day


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def hf_day_items() -> list[dict]:
    return json.loads(fixture_bytes(f"hf-{DAY}-p0.json")) + json.loads(fixture_bytes(f"hf-{DAY}-p1.json"))


def real_bytes(name: str) -> bytes:
    return (REAL / name).read_bytes()


def real_hf_day(day: str) -> list[dict]:
    """A real Hugging Face day: the sample week's, or one of tests/fixtures/real/hf-daily/."""
    bundled = SAMPLE_WEEK_DIR / f"hf-{day}.json"
    return json.loads(bundled.read_bytes() if bundled.exists() else real_bytes(f"hf-daily/{day}.json"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def on_the_recorded_day() -> Iterator[None]:
    """Today is the recorded day (arXiv's feeds only ever list today's papers)."""
    with time_machine.travel(dt.datetime.fromisoformat(f"{DAY}T12:00:00+00:00")):
        yield


def wait_until(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(autouse=True)
def own_cache_namespace(settings) -> None:
    """Each test counts rate limits from zero, on the configured cache (Redis under CI), without
    flushing a Redis database the Celery broker may share."""
    settings.CACHES = {"default": {**django_settings.CACHES["default"], "KEY_PREFIX": f"test-{time.time_ns()}"}}


# --- Matching ----------------------------------------------------------------------------


@pytest.fixture
def lexical_only(settings) -> Iterator[None]:
    """The ranking of a machine without the `semantic` extra, chosen through the setting."""
    from digest.matching import semantic

    settings.PAPERBOY_SEMANTIC = "off"
    semantic.load_encoder.cache_clear()
    yield
    settings.PAPERBOY_SEMANTIC = "auto"
    semantic.load_encoder.cache_clear()


# --- Rendering ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_edition_renderers() -> Iterator[None]:
    """Renderers are cached per process and edition (digest.render.renderer_for); each test's
    database starts empty, so one test's cached cards and trending papers must not reach the next."""
    yield
    from digest import deliver, render

    render._renderers.clear()
    deliver._process_indexes.clear()


# --- Sources ----------------------------------------------------------------------------


@dataclass
class FeedServer:
    """Serves /api/daily_papers like Hugging Face (date, p, limit) and /atom/<cat> like arXiv.
    With page_cap, pages hold at most that many items whatever limit asks (an API keeping to
    its default page of 50); hf_bodies serves a day's raw body instead (broken JSON, an error)."""

    url: str
    hf_days: dict[str, list[dict]] = field(default_factory=dict)
    hf_bodies: dict[str, bytes] = field(default_factory=dict)
    page_cap: int | None = None
    feeds: dict[str, bytes] = field(default_factory=dict)
    slow_paths: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def feed_server(settings) -> Iterator[FeedServer]:
    state = FeedServer(url="")
    state.hf_days[DAY] = hf_day_items()
    state.feeds = {
        "cs.CL": fixture_bytes("arxiv-cs.CL.atom"),
        "cs.CV": fixture_bytes("arxiv-cs.CV.rss"),
        "cs.LG": fixture_bytes("arxiv-empty-weekend.atom"),
        "cs.AI": fixture_bytes("arxiv-malformed.atom"),
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            state.requests.append(self.path)
            if parts.path in state.slow_paths:
                time.sleep(3)
            if parts.path == "/api/daily_papers":
                self.daily_papers(parse_qs(parts.query))
            elif parts.path.startswith("/atom/") and parts.path[6:] in state.feeds:
                self.reply(200, state.feeds[parts.path[6:]], "application/atom+xml")
            else:
                self.reply(404, b"not found", "text/plain")

        def daily_papers(self, query: dict[str, list[str]]) -> None:
            limit, page = int(query.get("limit", ["50"])[0]), int(query.get("p", ["0"])[0])
            if limit > 100:
                self.reply(400, b'{"error": "limit must be <= 100"}', "application/json")
                return
            day = query.get("date", [""])[0]
            if day in state.hf_bodies:
                self.reply(200, state.hf_bodies[day], "application/json")
                return
            limit = min(limit, state.page_cap or limit)
            items = state.hf_days.get(day, [])
            self.reply(200, json.dumps(items[page * limit : (page + 1) * limit]).encode(), "application/json")

        def reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.PAPERBOY_HF_API_URL = f"{state.url}/api/daily_papers"
    settings.PAPERBOY_ARXIV_FEED_URL = f"{state.url}/atom"
    settings.PAPERBOY_ARXIV_CATEGORIES = ["cs.CL", "cs.CV"]
    settings.PAPERBOY_ARXIV_PAUSE = 0
    settings.PAPERBOY_SOURCE_TIMEOUT = 1
    yield state
    server.shutdown()
    server.server_close()


# --- SMTP -------------------------------------------------------------------------------


class SMTPSink:
    """A real SMTP server that keeps what it is sent. On demand it hangs up in the middle of
    the next messages (drop_next), refuses them with a reply (refuse_next, refuse_reply), refuses
    a share of all messages at random after DATA, or at RCPT with refuse_mix_at = "rcpt"
    (refuse_mix: reply -> share; `refused` counts them by code), refuses given recipients at
    RCPT (refuse_recipients: address -> reply), answers slowly (delay), or is down for a while
    (outage). A 421 also closes the session, as servers do. `sessions` counts the sessions
    opened (EHLO). It offers PIPELINING, as Postfix and Gmail do, so every refusal above reaches
    the client pipelined (mailing/pipelining.py)."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.drop_next = 0
        self.refuse_next = 0
        self.refuse_reply = "451 4.3.0 Try again later"
        self.refuse_mix: dict[str, float] = {}
        self.refuse_mix_at = "data"
        self.refused: Counter[int] = Counter()
        self.refuse_recipients: dict[str, str] = {}
        self.delay = 0.0
        self.sessions = 0
        self.lock = threading.Lock()
        self.random = random.Random(6)
        self.controller: Controller | None = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:  # noqa: N802
        session.host_name = hostname
        with self.lock:
            self.sessions += 1
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        if self.refuse_mix_at == "rcpt":
            with self.lock:
                reply = self.mixed_refusal()
            if reply:
                if reply.startswith("421"):
                    asyncio.get_running_loop().call_later(0.01, server.transport.close)
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            reply = self.refusal()
            if reply == "drop":
                server.transport.abort()  # hangs up after the data, before any reply
                return "250 OK"
            if reply:
                if reply.startswith("421"):
                    asyncio.get_running_loop().call_later(0.01, server.transport.close)
                return reply
            self.envelopes.append(envelope)
        return "250 OK"

    def refusal(self) -> str:
        """This message's fate: "" to take it, "drop", or a refusal reply (under self.lock)."""
        if self.drop_next:
            self.drop_next -= 1
            return "drop"
        if self.refuse_next:
            self.refuse_next -= 1
            return self.refuse_reply
        return self.mixed_refusal() if self.refuse_mix_at == "data" else ""

    def mixed_refusal(self) -> str:
        """A refusal drawn from refuse_mix, or "" (under self.lock)."""
        draw = self.random.random()
        for reply, share in self.refuse_mix.items():
            if draw < share:
                self.refused[int(reply[:3])] += 1
                return reply
            draw -= share
        return ""

    def outage(self, seconds: float) -> None:
        """Stop listening now and come back on the same port after `seconds`."""
        self.go_down()
        threading.Timer(seconds, self.come_back).start()

    def go_down(self) -> None:
        self.controller.stop()

    def come_back(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [email.message_from_bytes(e.original_content, policy=email.policy.default) for e in self.envelopes]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp(settings) -> Iterator[SMTPSink]:
    sink = SMTPSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.port = port
    sink.controller = controller
    settings.EMAIL_BACKEND = "mailing.backend.EmailBackend"  # what production sends through
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield sink
    sink.controller.stop(no_assert=True)  # it may be stopped by an outage that has not ended


# --- Redis of a test's own ---------------------------------------------------------------


@dataclass
class PrivateRedis:
    """A redis-server of the test's own on a free port, which it may restart (losing everything
    in it, as a Redis without persistence does) without touching the shared server."""

    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(self.answers, 10, "the private redis-server to start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self, down_seconds: float) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def answers(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    server = PrivateRedis(port=free_port())
    server.start()
    yield server
    server.stop()


# --- Celery worker ----------------------------------------------------------------------


def database_url_of_test_db() -> str:
    """The server and worker processes a test starts use the test's database."""
    from digest.devtools.benchmarks.first_load import database_url  # after Django is set up

    return database_url()


@dataclass
class Worker:
    queue: str
    env: dict[str, str]
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    def start(self) -> None:
        from digest.devtools.benchmarks.digest import celery_worker_command

        readies = self.log().count("ready.")
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            celery_worker_command(self.queue, concurrency=1, loglevel="INFO"),
            cwd=PROJECT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: self.log().count("ready.") > readies, 60, "the Celery worker to be ready")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a machine dying would."""
        pids = [
            self.process.pid,
            *map(int, Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()),
        ]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


@pytest.fixture
def worker_settings() -> dict[str, str]:
    """Extra environment for the worker process; override it in a test module to tune it."""
    return {}


@pytest.fixture
def celery_worker(
    smtp: SMTPSink, feed_server: FeedServer, tmp_path: Path, worker_settings: dict[str, str]
) -> Iterator[Worker]:
    """A real `celery worker` process on the broker in settings (Redis when REDIS_URL is set),
    sharing the test database, the SMTP sink and the feed server. Tests using it must be
    transactional (django_db(transaction=True)) so the worker sees their rows, and send to
    `worker.queue` (apply_async(queue=...)); tasks the worker queues itself stay on that queue."""
    queue = f"paperboy-test-{os.getpid()}-{time.time_ns()}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_test_db(),
        "DATABASE_CONN_MAX_AGE": "0",
        "CELERY_QUEUE": queue,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "PAPERBOY_HF_API_URL": f"{feed_server.url}/api/daily_papers",
        "PAPERBOY_ARXIV_FEED_URL": f"{feed_server.url}/atom",
        "PAPERBOY_ARXIV_CATEGORIES": "cs.CL,cs.CV",
        "PAPERBOY_ARXIV_PAUSE": "0",
        "SITE_URL": django_settings.SITE_URL,
        # The test's own cache namespace (own_cache_namespace): counts the worker keeps in Redis,
        # such as a mailbox's signup emails, start from zero with each test, as the test's do.
        "CACHE_KEY_PREFIX": django_settings.CACHES["default"].get("KEY_PREFIX", ""),
        **worker_settings,
    }
    worker = Worker(queue=queue, env=env, log_path=tmp_path / "worker.log")
    worker.start()
    yield worker
    worker.stop()
    print(worker.log()[-5000:])


# --- A real browser: Debian's Chromium driven by Playwright (never `playwright install`). ---

CHROMIUM = Path(os.environ.get("PAPERBOY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = PROJECT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """One Chromium for the session. Without it, browser tests skip, except under CI
    (PAPERBOY_REQUIRE_BROWSER=1), where a missing browser is a failure."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}: apt-get install -y chromium chromium-driver"
        if os.environ.get("PAPERBOY_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django's ORM would refuse to run
    # next to it, though nothing here is concurrent.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page(chromium) -> Iterator[object]:
    """A fresh browser context (no cookies) at desktop width; use page.set_viewport_size for phones."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def save_screenshot(page, name: str) -> Path:
    """Saves a full-page PNG under test-artifacts/screenshots/ (kept by CI, ignored by git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- Staff and tasks ----------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    """The test client, logged in as a superuser."""
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("staff", "staff@example.com", "pw"))
    return client


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Queued tasks run inline: for testing what a task does (test_day_with_worker.py and
    test_delivery_faults.py run them on a real worker and broker)."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


# --- A real IMAP server: Debian's Dovecot, for the bounce mailbox ---------------------------

DOVECOT = Path("/usr/sbin/dovecot")


def require_mail_tool(path: Path, package: str) -> None:
    """Without the tool the test skips, except under CI (PAPERBOY_REQUIRE_MAIL_TOOLS=1)."""
    if not path.exists():
        message = f"{path} not found: apt-get install -y {package}"
        if os.environ.get("PAPERBOY_REQUIRE_MAIL_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Mailbox:
    """A Dovecot of our own over IMAPS on a free port, with one user and a throwaway Maildir."""

    port: int
    user: str
    password: str
    ca_file: str

    def client(self):
        import imaplib
        import ssl

        imap = imaplib.IMAP4_SSL(
            "127.0.0.1", self.port, ssl_context=ssl.create_default_context(cafile=self.ca_file), timeout=10
        )
        imap.login(self.user, self.password)
        return imap

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """What the MTA does with mail to the bounce address: put it in the mailbox."""
        imap = self.client()
        try:
            status, answer = imap.append(folder, None, None, raw)
            assert status == "OK", answer
        finally:
            imap.logout()

    def subjects(self, folder: str = "INBOX") -> list[str]:
        imap = self.client()
        try:
            status, _ = imap.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            _, found = imap.search(None, "UNDELETED")
            subjects = []
            for number in found[0].split():
                _, parts = imap.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                subjects.append(parts[0][1].decode().partition(":")[2].strip())
            return subjects
        finally:
            imap.logout()


@pytest.fixture
def imap_mailbox(settings) -> Iterator[Mailbox]:
    """`dovecot -F -c <generated config>` (never the system service), TLS with a self-signed
    certificate made here, a passwd-file user; settings point the bounce reader at it."""
    import grp
    import pwd
    import shutil
    import tempfile

    require_mail_tool(DOVECOT, "dovecot-imapd")
    # Under /tmp, not tmp_path: Dovecot's unprivileged processes must reach it.
    base = Path(tempfile.mkdtemp(prefix="paperboy-imap-"))
    base.chmod(0o755)
    for name in ("run", "state", "home"):
        (base / name).mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(base / "key.pem"), "-out", str(base / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    if os.geteuid() == 0:  # Dovecot runs neither its login processes nor mail as root
        internal, login, mail_user = "dovecot", "dovenull", "dovecot"
    else:
        internal = login = mail_user = pwd.getpwuid(os.geteuid()).pw_name
    mail_pw = pwd.getpwnam(mail_user)
    os.chown(base / "home", mail_pw.pw_uid, mail_pw.pw_gid)
    password = f"pw-{time.time_ns()}"
    (base / "passwd").write_text(f"bounces:{{PLAIN}}{password}::::::\n")
    port = free_port()
    (base / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
ssl = required
ssl_cert = <{base}/cert.pem
ssl_key = <{base}/key.pem
auth_mechanisms = plain
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_pw.pw_uid} gid={mail_pw.pw_gid} home={base}/home/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = {mail_pw.pw_uid}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
    process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(base / "dovecot.conf")], stderr=subprocess.PIPE)
    mailbox = Mailbox(port=port, user="bounces", password=password, ca_file=str(base / "cert.pem"))

    def answers() -> bool:
        try:
            mailbox.client().logout()
            return True
        except Exception:  # refused while it starts, or a TLS or IMAP error
            return False

    try:
        try:
            wait_until(answers, 20, "Dovecot to answer")
        except AssertionError:
            log = (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""
            process.terminate()
            raise AssertionError(f"Dovecot did not answer: {process.communicate()[1]!r}\n{log}") from None
        settings.PAPERBOY_BOUNCE_IMAP_HOST = "127.0.0.1"
        settings.PAPERBOY_BOUNCE_IMAP_PORT = port
        settings.PAPERBOY_BOUNCE_IMAP_USER = mailbox.user
        settings.PAPERBOY_BOUNCE_IMAP_PASSWORD = password
        settings.PAPERBOY_BOUNCE_IMAP_CA_FILE = mailbox.ca_file
        settings.PAPERBOY_BOUNCE_IMAP_FOLDER = "INBOX"
        settings.PAPERBOY_BOUNCE_IMAP_PROCESSED_FOLDER = "Processed"
        yield mailbox
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(base, ignore_errors=True)
