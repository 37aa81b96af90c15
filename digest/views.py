from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from digest.day import latest_edition


def home(request: HttpRequest) -> HttpResponse:
    """The newest edition's papers, most upvoted first."""
    edition = latest_edition()
    papers = edition.papers().order_by("-upvotes", "arxiv_id")[:50] if edition else []
    return render(request, "digest/home.html", {"edition": edition, "papers": papers})
