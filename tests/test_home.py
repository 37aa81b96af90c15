from __future__ import annotations

import pytest

from digest.models import Paper
from tests.factories import load_day

pytestmark = pytest.mark.django_db


def test_home_page_shows_the_newest_editions_top_papers(client):
    load_day()
    top = Paper.objects.order_by("-upvotes", "arxiv_id").first()

    page = client.get("/").content.decode()

    assert "Wednesday 3 September 2025" in page
    assert top.title in page and top.arxiv_url in page


def test_html_in_a_title_is_escaped_on_the_home_page(client):
    load_day()
    Paper.objects.filter(pk=Paper.objects.order_by("-upvotes").first().pk).update(title="<script>alert(1)</script>")

    page = client.get("/").content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_home_page_before_any_papers_says_how_to_load_them(client):
    assert "ingest_papers" in client.get("/").content.decode()
