"""One whole day through a real Celery worker process, the configured broker (Redis in CI) and
a real SMTP server: ingest from the (local) sources, plan, send. Faults: test_delivery_faults.py."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.conf import settings

from digest import tasks
from digest.matching.ranker import rank_papers
from digest.models import Delivery, Edition, Paper
from subscriptions.models import Subscriber
from tests.conftest import hf_day_items, wait_until
from tests.factories import make_subscriber

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TOPICS = ["reinforcement learning", "robot manipulation", "state space models", "multimodal reasoning"]
FIRST_TITLE = {  # read off the recorded day by hand: what a reader of each topic should see
    "reinforcement learning": "Reinforcement Learning for Generative AI: A Survey",
    "robot manipulation": "You Only Teach Once: Learn One-Shot Bimanual Robotic Manipulation",
    "state space models": "Birdie: Advancing State Space Models with Reward-Driven Objectives",
    "multimodal reasoning": "Thinking with Images for Multimodal Reasoning",
}


def finished(worker, task_name: str, times: int = 1) -> bool:
    return len(re.findall(rf"Task {re.escape(task_name)}\[[^\]]+\] succeeded", worker.log())) >= times


def test_a_whole_day_reaches_each_active_subscriber_once(celery_worker, smtp, feed_server):
    """The beat's two tasks, as they run every day: ingest today, then the plan that sends."""
    now = dt.datetime.now(dt.UTC)
    if now.minute == 59:
        time.sleep(61 - now.second)  # keep the whole test inside one hour
        now = dt.datetime.now(dt.UTC)
    today = now.date()
    feed_server.hf_days[today.isoformat()] = hf_day_items()
    readers = [make_subscriber(f"reader{n}@example.com", t, send_hour=now.hour) for n, t in enumerate(TOPICS)]
    later = make_subscriber("later@example.com", "reinforcement learning", send_hour=(now.hour + 1) % 24)
    make_subscriber("pending@example.com", "reinforcement learning", status=Subscriber.Status.PENDING)
    make_subscriber("gone@example.com", "reinforcement learning", status=Subscriber.Status.UNSUBSCRIBED)

    tasks.ingest_papers.apply_async(queue=celery_worker.queue)
    # Ingest loads the sentence model and encodes the day's papers and sentences once: on a busy
    # 2-core machine that has taken over a minute.
    wait_until(lambda: finished(celery_worker, "digest.tasks.ingest_papers"), 240, "ingest")
    edition = Edition.objects.get(date=today)
    assert edition.source_report["hf"] == {"papers": 98}
    assert edition.source_report["arxiv:cs.CL"]["papers"] > 0
    assert Paper.objects.count() == 98
    assert Paper.objects.filter(sources=["arxiv", "hf"]).exists()  # one row for a paper both listed

    tasks.plan_due_digests.apply_async(queue=celery_worker.queue)
    wait_until(lambda: len(smtp.messages) == len(readers), 60, "one email per subscriber whose hour it is")
    assert smtp.to(later.email) == []

    papers = list(Paper.objects.filter(edition_date=today))
    for reader, topic in zip(readers, TOPICS, strict=True):
        (message,) = smtp.to(reader.email)
        expected = rank_papers(papers, [topic], reader.max_papers, threshold=0.4)
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        for n, match in enumerate(expected, 1):
            assert f"{n}. {match.paper.title}" in text
        assert FIRST_TITLE[topic] in text
        assert expected[0].paper.arxiv_url in html
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["List-Unsubscribe"].strip() == f"<{reader.unsubscribe_url}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Message-ID"] == Delivery.objects.get(subscriber=reader).message_id

    # Staff's "send now" ignores send hours: only the subscriber still waiting gets one.
    tasks.send_edition_now.apply_async([today.isoformat()], queue=celery_worker.queue)
    wait_until(lambda: len(smtp.to(later.email)) == 1, 60, "the subscriber still waiting")
    task = "digest.tasks.plan_and_send" if settings.PAPERBOY_PLANNING == "shard" else "digest.tasks.send_batch"
    wait_until(lambda: finished(celery_worker, task, 2), 60, "the second chunk")
    assert len(smtp.messages) == len(readers) + 1
    assert not smtp.to("pending@example.com") and not smtp.to("gone@example.com")
