"""The page a 👍/👎 link in an email opens: it stores the reader's Rating of one paper."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from digest.matching.feedback import UP, VOTES
from digest.models import Paper, Rating
from subscriptions import links
from subscriptions.models import Subscriber


@csrf_exempt  # the signed token is the authority; mail apps' browsers often refuse the CSRF cookie
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    """A 👍/👎 link from an email. GET shows a one-button page and changes nothing (mail
    scanners open every link); POST, from that button, stores the rating."""
    try:
        subscriber_id, paper_id, vote = parse_token(token)
    except signing.BadSignature:
        return render(request, "subscriptions/bad_link.html", status=400)
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    paper = Paper.objects.filter(pk=paper_id).first()
    if subscriber is None or paper is None:
        return render(request, "subscriptions/bad_link.html", status=404)
    given = Rating.objects.filter(subscriber=subscriber, paper=paper).first()
    context = {"paper": paper, "up": vote == UP, "subscriber": subscriber, "given": given}
    if request.method == "POST":
        record(subscriber.pk, paper.pk, vote)
        return render(request, "digest/feedback_thanks.html", context)
    return render(request, "digest/feedback_confirm.html", context)


def parse_token(token: str) -> tuple[int, int, str]:
    """(subscriber id, paper id, vote) from a feedback link's token; raises
    signing.BadSignature for a forged, truncated or malformed one."""
    payload = links.unsign(links.FEEDBACK_SALT, token)
    match payload:
        case [int(subscriber_id), int(paper_id), str(vote)] if vote in VOTES:
            return subscriber_id, paper_id, vote
    raise signing.BadSignature("unexpected payload")


def record(subscriber_id: int, paper_id: int, vote: str) -> None:
    """Store a vote; voting again on the same paper replaces it (one row, last word counts)."""
    Rating.objects.update_or_create(subscriber_id=subscriber_id, paper_id=paper_id, defaults={"vote": vote})
