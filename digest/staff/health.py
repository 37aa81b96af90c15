"""/healthz for load balancers and monitoring: database, broker, last ingest, last digest.

Public, so it says only ok/fail per check and when things last happened; the reasons go to the
log. 503 when any requested check fails. A load balancer that should only care whether this web
process can serve asks for `?check=database` (a stale ingest is no reason to stop serving
unsubscribe links); monitoring asks for everything.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

from digest.models import Delivery
from digest.staff.dashboard import last_ingest
from subscriptions.models import Subscriber

log = logging.getLogger(__name__)
BROKER_TIMEOUT_SECONDS = 2


@dataclass
class CheckResult:
    ok: bool
    at: dt.datetime | None = None  # when the thing checked last happened, where that applies
    note: str = ""  # fixed wording only: the page is public

    def as_json(self) -> dict:
        result: dict = {"status": "ok" if self.ok else "fail"}
        if self.at is not None:
            result["last"] = self.at.isoformat(timespec="seconds")
        if self.note:
            result["note"] = self.note
        return result


def check_database() -> CheckResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        log.exception("Health check: database unreachable")
        return CheckResult(False, note="unreachable")
    return CheckResult(True)


def check_broker() -> CheckResult:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=BROKER_TIMEOUT_SECONDS,
        ) as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception:
        log.exception("Health check: broker unreachable")
        return CheckResult(False, note="unreachable")
    return CheckResult(True)


def is_recent(moment: dt.datetime, max_age_hours: int) -> bool:
    return timezone.now() - moment <= dt.timedelta(hours=max_age_hours)


def check_ingest() -> CheckResult:
    """The newest day an ingest ran for: fails if none of its sources could be read (the
    dashboard's "Last ingest" line says the same), or if it is older than the allowed age."""
    last = last_ingest()
    if last is None:
        return CheckResult(False, note="never")
    if not last.ok:
        log.error("Health check: the ingest of %s read no source", last.edition.date)
        return CheckResult(False, note="no source read")
    ok = is_recent(last.edition.created_at, settings.PAPERBOY_HEALTH_INGEST_MAX_AGE_HOURS)
    return CheckResult(ok, last.edition.created_at, "" if ok else "stale")


def check_digest() -> CheckResult:
    """When the last digest email went out. With nobody to send to, there is nothing to be late."""
    last_sent = Delivery.objects.aggregate(last=Max("sent_at"))["last"]
    if last_sent is None:
        if not Subscriber.objects.active().exists():
            return CheckResult(True, note="no active subscribers")
        return CheckResult(False, note="never")
    ok = is_recent(last_sent, settings.PAPERBOY_HEALTH_DIGEST_MAX_AGE_HOURS)
    return CheckResult(ok, last_sent, "" if ok else "stale")


CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "broker": check_broker,
    "ingest": check_ingest,
    "digest": check_digest,
}


# Room for every check named once, and a few repeats from a hand-written probe URL.
MAX_CHECK_PARAMETERS = 2 * len(CHECKS)


def run_check(name: str) -> CheckResult:
    """A check that cannot run (the database is down under the ingest check) fails; it never 500s."""
    try:
        return CHECKS[name]()
    except Exception:
        log.exception("Health check %s could not run", name)
        return CheckResult(False, note="error")


@never_cache
@require_safe  # GET, and HEAD for probes that only read the status
def healthz(request: HttpRequest) -> JsonResponse:
    asked = request.GET.getlist("check")
    if len(asked) > MAX_CHECK_PARAMETERS:
        # Each check opens its own connection: a long list must not make this page dear.
        return JsonResponse({"error": f"at most {MAX_CHECK_PARAMETERS} check parameters"}, status=400)
    names = list(dict.fromkeys(asked)) or list(CHECKS)  # each check once, in the order asked
    unknown = [name for name in names if name not in CHECKS]
    if unknown:
        return JsonResponse({"error": f"unknown check {unknown[0][:40]!r}; known: {', '.join(CHECKS)}"}, status=400)
    results = {name: run_check(name) for name in names}
    healthy = all(result.ok for result in results.values())
    body = {
        "status": "ok" if healthy else "fail",
        "checks": {name: result.as_json() for name, result in results.items()},
        "time": timezone.now().isoformat(timespec="seconds"),
    }
    return JsonResponse(body, status=200 if healthy else 503)
