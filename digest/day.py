"""The flow of one day, in order: sources -> ingest -> match -> render -> deliver.

    ingest_day(date)           sources.py fetches HF and arXiv; ingest.py stores one Paper each
    plan_day(date, now)        match.py ranks the due subscribers chunk by chunk; deliver.py writes
                               their Deliveries and fans each chunk out (PAPERBOY_BATCH_SIZE)
    send_batch(ids)            render.py builds each email; deliver.py sends over one SMTP connection

Celery runs these from digest/tasks.py, planning as a fan-out too (shard_day: each chunk of due
subscribers is planned, matched and sent by whichever worker takes it); the management
commands run them in-process.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Exists, OuterRef
from django.utils import timezone

from digest.deliver import FanOut, PlanResult, ShardOut, plan_edition, send_batch, sendable_batches, shard_edition
from digest.ingest import ingest_day
from digest.matching import semantic
from digest.matching.ranker import edition_matcher
from digest.models import Edition, Paper

__all__ = [
    "PlanResult",
    "ingest_day",
    "latest_edition",
    "plan_day",
    "prepare_matching",
    "send_batch",
    "sendable_batches",
    "shard_day",
]

log = logging.getLogger(__name__)


def latest_edition(on_or_before: dt.date | None = None) -> Edition | None:
    """The newest edition that has papers (an empty Sunday does not hide Friday's)."""
    day = on_or_before or timezone.now().date()
    has_papers = Exists(Paper.objects.filter(edition_date=OuterRef("date")))
    return Edition.objects.filter(has_papers, date__lte=day).order_by("-date").first()


def prepare_matching(edition_date: dt.date) -> None:
    """Compute what ranking the edition needs (paper vectors, stored on the rows; sentence vectors,
    in the shared cache) as soon as its papers arrive, so the first preview or plan finds them
    ready instead of a reader waiting for them."""
    papers = list(Paper.objects.filter(edition_date=edition_date))
    if papers:
        semantic.share_sentence_vectors(papers)  # first: the matcher then finds them all in memory
        edition_matcher(papers)


def plan_day(
    edition_date: dt.date | None = None,
    now: dt.datetime | None = None,
    respect_send_hour: bool = True,
    dry_run: bool = False,
    fan_out: FanOut | None = None,
) -> tuple[Edition | None, PlanResult]:
    """Plan the deliveries of an edition (the newest one if no date is given), passing each
    chunk of new delivery ids to `fan_out` (Celery queues a send task per chunk)."""
    now = now or timezone.now()
    edition = Edition.objects.filter(date=edition_date).first() if edition_date else latest_edition(now.date())
    if edition is None:
        log.warning("No edition %s to send", edition_date or "yet")
        return None, PlanResult()
    result = plan_edition(edition, now, respect_send_hour, dry_run, fan_out)
    log.info(
        "%s %s: %d new deliveries, %d not due yet, %d with nothing matched",
        "Dry run of" if dry_run else "Planned",
        edition.date,
        result.planned,
        result.not_due,
        result.nothing_matched,
    )
    return edition, result


def shard_day(
    edition_date: dt.date | None, now: dt.datetime | None, respect_send_hour: bool, shard_out: ShardOut
) -> tuple[Edition | None, PlanResult]:
    """plan_day as a fan-out: hand each chunk of due subscribers of the edition (the newest one
    if no date is given) to `shard_out`, for a worker to plan and send (deliver.plan_and_send_shard)."""
    now = now or timezone.now()
    edition = Edition.objects.filter(date=edition_date).first() if edition_date else latest_edition(now.date())
    if edition is None:
        log.warning("No edition %s to send", edition_date or "yet")
        return None, PlanResult()
    result = shard_edition(edition, now, respect_send_hour, shard_out)
    log.info("%s: %d chunks of due subscribers handed out, %d not due yet", edition.date, result.chunks, result.not_due)
    return edition, result
