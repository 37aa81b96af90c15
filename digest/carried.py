"""What a delivery carried: its email's papers, in order, stored on the Delivery row itself.

Planning writes it in the same INSERT as the row (one row per email, no second table):

    Delivery.carried = {
        "papers": [paper ids, in the email's order],
        "scores": [rounded to 4 places; 0 for trending papers],
        "whys": [the email's distinct why-lines], "why_of": "0011122",   # one digit per paper
        "interests": [its distinct matched interests, "" for trending], "interest_of": "0000111",
    }

An email's 13 or so why-lines are two or three distinct ones ("Matches your topic ...",
"Trending today ..."), so each is stored once and each paper names its own by one base-62
digit: the row stays small, which matters because sending UPDATEs it three times (pending,
sending, sent) and PostgreSQL writes the whole row each time.

After PAPERBOY_KEEP_DELIVERY_DETAIL_DAYS the housekeeping task compacts it to
{"papers", "scores", "matched"} ("matched": how many of the first papers were matched, not
trending): the counts of what was sent stay true, the why-lines and the reader's interests go.
Everything that reads a plan reads it through this module: the papers of many deliveries are
fetched in one query, and per-paper counts are one grouped query over the JSON arrays (each
vendor's JSON table function in `elements`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Func, IntegerField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from digest.models import Delivery, Paper

# A paper is only in editions from its own date to six days later (weekly digests take the week's
# papers, deliver.WEEKLY_WINDOW_DAYS): per-paper counts read only that window.
EDITIONS_PER_PAPER = 7
SCORE_PLACES = 4
WHY_CHARS = 300
COMPACT_BATCH = 2000
NOT_KEPT_INTEREST = "(not kept)"  # a compacted matched paper: still "For you", its interest gone
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # an email holds at most 28


@dataclass(frozen=True)
class CarriedPaper:
    """One paper of an email, as staff pages, the feed and the exports show it."""

    paper: Paper
    position: int
    score: float
    matched_interest: str  # "" when trending, or when not kept
    why: str  # "Why not kept after N days" once compacted
    matched: bool  # in "For you", not trending
    kept: bool = True  # the why-line and interest are still stored

    @property
    def rank(self) -> int:
        return self.position + 1


def pack(rows: Iterable[tuple[int, float, str, str]]) -> dict[str, Any]:
    """Delivery.carried from (paper id, score, matched interest, why) in the email's order."""
    papers, scores, interests, whys = [], [], [], []
    for paper_id, score, interest, why in rows:
        papers.append(paper_id)
        scores.append(round(float(score), SCORE_PLACES) if score else 0)
        interests.append(interest)
        whys.append(why[:WHY_CHARS])
    distinct_whys, why_of = distinct(whys)
    distinct_interests, interest_of = distinct(interests)
    return {
        "papers": papers,
        "scores": scores,
        "whys": distinct_whys,
        "why_of": why_of,
        "interests": distinct_interests,
        "interest_of": interest_of,
    }


def distinct(values: list[str]) -> tuple[list[str], str]:
    """(the distinct values in order of first appearance, each value's index as one digit)."""
    index: dict[str, int] = {}
    for value in values:
        index.setdefault(value, len(index))
    if len(index) > len(DIGITS):
        raise ValueError(f"an email with {len(index)} distinct why-lines or interests: at most {len(DIGITS)}")
    return list(index), "".join(DIGITS[index[value]] for value in values)


def expanded(values: list[str], of: str) -> list[str]:
    return [values[DIGITS.index(digit)] for digit in of]


def compacted(carried: dict[str, Any]) -> dict[str, Any]:
    """The plan without its why-lines and interests: what the retention task keeps."""
    if "whys" not in carried:
        return carried
    matched = sum(1 for interest in expanded(carried["interests"], carried["interest_of"]) if interest)
    return {"papers": carried.get("papers", []), "scores": carried.get("scores", []), "matched": matched}


def paper_ids(delivery: Delivery) -> list[int]:
    return list((delivery.carried or {}).get("papers", []))


def why_not_kept() -> str:
    return f"Why not kept after {settings.PAPERBOY_KEEP_DELIVERY_DETAIL_DAYS} days"


def entries(carried: dict[str, Any]) -> list[tuple[int, float, str, str, bool, bool]]:
    """(paper id, score, interest, why, matched, kept) of each paper, in order; no query."""
    carried = carried or {}
    papers, scores = carried.get("papers", []), carried.get("scores", [])
    if "whys" in carried:
        interests = expanded(carried["interests"], carried["interest_of"])
        whys = expanded(carried["whys"], carried["why_of"])
        return [(p, s, i, w, bool(i), True) for p, s, i, w in zip(papers, scores, interests, whys, strict=True)]
    matched, note = carried.get("matched", 0), why_not_kept()
    return [(p, s, "", note, n < matched, False) for n, (p, s) in enumerate(zip(papers, scores, strict=True))]


def prefetch(deliveries: Sequence[Delivery]) -> None:
    """Read the papers of all these deliveries in one query and attach each delivery's
    CarriedPapers (Delivery.carried_items() then costs nothing)."""
    papers = Paper.objects.in_bulk({p for delivery in deliveries for p in paper_ids(delivery)})
    for delivery in deliveries:
        # Kept with the plan it was read from: a row refreshed since is read again.
        delivery._carried_items = (delivery.carried, items_from(delivery, papers))


def items_from(delivery: Delivery, papers: dict[int, Paper]) -> list[CarriedPaper]:
    """The delivery's CarriedPapers with these papers (a paper deleted since is left out)."""
    return [
        CarriedPaper(papers[p], position, s, i, w, m, k)
        for position, (p, s, i, w, m, k) in enumerate(entries(delivery.carried))
        if p in papers
    ]


def items_of(delivery: Delivery) -> list[CarriedPaper]:
    cached = getattr(delivery, "_carried_items", None)
    if cached is None or cached[0] is not delivery.carried:
        prefetch([delivery])
        cached = delivery._carried_items
    return cached[1]


class PaperCount(Func):
    """How many papers a delivery carried, in SQL (to annotate and sort by)."""

    output_field = IntegerField()

    def __init__(self) -> None:
        super().__init__()

    def as_sql(self, compiler, connection, **extra):
        table = connection.ops.quote_name(Delivery._meta.db_table)
        if connection.vendor == "postgresql":
            return f"COALESCE(jsonb_array_length({table}.carried -> 'papers'), 0)", []
        return f"COALESCE(json_array_length({table}.carried, '$.papers'), 0)", []


def elements(alias: str) -> tuple[str, str]:
    """(the FROM clause's join expanding `alias`.carried's paper ids, the paper id expression):
    each vendor's JSON table function."""
    if connection.vendor == "postgresql":
        return f"CROSS JOIN LATERAL jsonb_array_elements_text({alias}.carried -> 'papers') AS p(value)", "p.value::int"
    return f"JOIN json_each({alias}.carried, '$.papers') AS p", "p.value"


def count_papers(
    deliveries: QuerySet[Delivery], among: Sequence[int] | None = None, limit: int | None = None
) -> list[tuple[int, int]]:
    """(paper id, how many of these deliveries carried it), most first: one grouped query over
    the JSON arrays of the rows `deliveries` selects (keep it to a window of dates), optionally
    only for the papers `among`."""
    inner, params = deliveries.order_by().values("pk").query.sql_with_params()
    join, paper = elements("d")
    sql = f"SELECT {paper} AS paper_id, COUNT(*) AS n FROM {Delivery._meta.db_table} d {join} WHERE d.id IN ({inner})"
    params = list(params)
    if among is not None:
        if not among:
            return []
        sql += f" AND {paper} IN ({', '.join(['%s'] * len(among))})"
        params += [int(p) for p in among]
    sql += " GROUP BY 1 ORDER BY n DESC, paper_id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(p), n) for p, n in cursor.fetchall()]


def sent_counts(papers: Sequence[Paper]) -> dict[int, int]:
    """How many sent emails carried each of these papers: one query, over the editions that can
    hold them (from the earliest one's date to six days after the latest's)."""
    if not papers:
        return {}
    first = min(p.edition_date for p in papers)
    last = max(p.edition_date for p in papers) + dt.timedelta(days=EDITIONS_PER_PAPER - 1)
    window = Delivery.objects.filter(status=Delivery.Status.SENT, edition_date__range=(first, last))
    return dict(count_papers(window, among=[p.pk for p in papers]))


def most_sent(since: dt.datetime, limit: int) -> list[tuple[int, int]]:
    """(paper id, emails) of the papers in the most emails sent since then, most first."""
    return count_papers(Delivery.objects.filter(status=Delivery.Status.SENT, sent_at__gte=since), limit=limit)


def carrying(paper: Paper) -> QuerySet[Delivery]:
    """The deliveries that carried this paper (in the editions that can hold it)."""
    last = paper.edition_date + dt.timedelta(days=EDITIONS_PER_PAPER - 1)
    table = connection.ops.quote_name(Delivery._meta.db_table)
    if connection.vendor == "postgresql":
        sql, params = f"({table}.carried -> 'papers') @> %s::jsonb", [json.dumps([paper.pk])]
    else:
        sql, params = f"EXISTS (SELECT 1 FROM json_each({table}.carried, '$.papers') WHERE value = %s)", [paper.pk]
    return Delivery.objects.filter(
        RawSQL(sql, params, output_field=BooleanField()), edition_date__range=(paper.edition_date, last)
    )


def compact_old(days: int | None = None) -> int:
    """Compact the plans of finished deliveries of editions more than `days` days old
    (PAPERBOY_KEEP_DELIVERY_DETAIL_DAYS), a batch at a time; returns how many."""
    days = settings.PAPERBOY_KEEP_DELIVERY_DETAIL_DAYS if days is None else days
    before = timezone.now().date() - dt.timedelta(days=days)
    old = (
        Delivery.objects.filter(edition_date__lt=before, carried__has_key="whys")
        .exclude(status__in=[*Delivery.SENDABLE, Delivery.Status.SENDING])
        .order_by()
    )
    total = 0
    while rows := list(old.values_list("pk", "carried")[:COMPACT_BATCH]):
        Delivery.objects.bulk_update([Delivery(pk=pk, carried=compacted(c)) for pk, c in rows], ["carried"])
        total += len(rows)
    return total
