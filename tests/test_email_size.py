"""Gmail clips HTML past about 102 KB, hiding the footer and its unsubscribe link: the largest
digest a subscriber can ask for stays under 90 KB, and max_papers is capped to make it so."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from digest import carried
from digest.day import plan_day
from digest.models import Delivery, Paper
from digest.render import TRENDING_COUNT
from subscriptions.models import MAX_PAPERS, Subscriber
from tests.conftest import hf_day_items
from tests.digest_mail import html_part, send_edition, text_part
from tests.factories import EDITION_DATE, load_day, make_subscriber

pytestmark = pytest.mark.django_db


def make_every_paper_as_long_as_the_longest_real_one() -> None:
    papers = [item["paper"] for item in hf_day_items()]
    longest_title = max((p["title"] for p in papers), key=len)
    longest_abstract = max((p["summary"] for p in papers), key=len)
    for paper in Paper.objects.all():
        paper.title = f"{longest_title} ({paper.arxiv_id})"
        paper.abstract, paper.ai_summary = longest_abstract, ""
        paper.authors = [f"Author Withaverylongname {n}" for n in range(40)]
        paper.github_url = f"https://github.com/a-research-laboratory-name/{paper.arxiv_id}-official-implementation"
        paper.project_url = f"https://a-research-laboratory-name.github.io/projects/{paper.arxiv_id}/index.html"
        paper.thumbnail_url = f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{paper.arxiv_id}.png"
        paper.upvotes, paper.comments = 1000 + paper.pk, 100
        paper.save()


def test_the_largest_allowed_digest_stays_under_90_kb_with_nothing_cut(smtp):
    load_day()
    make_every_paper_as_long_as_the_longest_real_one()
    make_subscriber("ada@example.com", "language models", max_papers=MAX_PAPERS)
    plan_day(EDITION_DATE, respect_send_hour=False)
    for delivery in Delivery.objects.all():  # every why-line as long as a plan keeps
        delivery.carried["whys"] = ["Partly matches your topic " + "w" * 274 for _ in delivery.carried["whys"]]
        assert {len(why) for why in delivery.carried["whys"]} == {carried.WHY_CHARS}
        delivery.save(update_fields=["carried"])
    send_edition()

    (message,) = smtp.messages
    html = html_part(message)
    assert html.count('class="card"') == MAX_PAPERS + TRENDING_COUNT
    print(f"largest allowed digest: {len(html.encode())} bytes of HTML")
    assert len(html.encode()) < 90_000
    assert "Unsubscribe" in html[-1500:]
    assert text_part(message).count("https://arxiv.org/abs/") == MAX_PAPERS + TRENDING_COUNT


def test_an_oversized_digest_is_cut_short_and_keeps_its_footer(smtp):
    load_day()
    make_every_paper_as_long_as_the_longest_real_one()
    Paper.objects.update(title="Language models " + "and their many applications " * 60)
    make_subscriber("ada@example.com", "language models", max_papers=MAX_PAPERS)
    send_edition()

    (message,) = smtp.messages
    html = html_part(message)
    cards = html.count('class="card"')
    assert 10 < cards < MAX_PAPERS
    assert len(html.encode()) <= 90_000
    assert "Unsubscribe" in html[-1500:]
    assert f"{cards} new papers matched your interests today" in html  # the header counts what is shown
    assert text_part(message).count("https://arxiv.org/abs/") == cards  # both parts carry the same papers


def test_max_papers_is_capped_in_forms_and_in_the_database():
    subscriber = Subscriber(email="ada@example.com", max_papers=MAX_PAPERS + 1)
    with pytest.raises(ValidationError) as error:
        subscriber.full_clean()
    assert f"less than or equal to {MAX_PAPERS}" in str(error.value)
    with pytest.raises(IntegrityError):
        subscriber.save()
