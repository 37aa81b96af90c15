"""What a topic scores on papers in general: the history in the database, else the bundled sample."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from digest.ingest import ingest_records
from digest.matching import background
from digest.matching.evaluation import real_days
from digest.sources import parse_hf_items
from tests.factories import EDITION_DATE, load_day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lexical_only")]


def test_a_fresh_install_judges_topics_against_the_bundled_sample():
    load_day()  # 98 papers: too little history

    past = background.from_database(excluding=[])
    assert len(past) == len(background.bundled_papers()) == 285
    assert past.document_frequency["generat"] > 50  # "generation" is a common word in general
    assert past.document_frequency["retriev"] < 40


def test_with_enough_history_the_database_is_the_background_without_the_editions_own_papers():
    for n, day in enumerate(real_days.days()):
        items = json.loads((real_days.HERE / f"hf-{day.date}.json").read_bytes())
        ingest_records(parse_hf_items(items), EDITION_DATE - dt.timedelta(days=n + 1))
    load_day()
    edition = [i["paper"]["id"] for i in json.loads((real_days.HERE / "hf-2026-06-01.json").read_bytes())]

    past = background.from_database(excluding=edition)
    ids = {p.arxiv_id for p in past.papers}
    assert len(ids) == 42 + 44 + 98  # every other paper in the database: under SIZE
    assert not ids & set(edition)
    assert not ids & {p.arxiv_id for p in background.bundled_papers()}
