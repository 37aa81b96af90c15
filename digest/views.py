from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from digest import feedback as ratings
from digest.models import Paper
from subscriptions.models import Subscriber


@csrf_exempt  # the signed token is the authority; mail apps' browsers often refuse the CSRF cookie
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    """A 👍/👎 link from an email. GET shows a one-button page and changes nothing (mail
    scanners open every link); POST, from that button, stores the rating."""
    try:
        subscriber_id, paper_id, vote = ratings.parse_token(token)
    except signing.BadSignature:
        return render(request, "subscriptions/bad_link.html", status=400)
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    paper = Paper.objects.filter(pk=paper_id).first()
    if subscriber is None or paper is None:
        return render(request, "subscriptions/bad_link.html", status=404)
    context = {"paper": paper, "up": vote == ratings.UP}
    if request.method == "POST":
        ratings.record(subscriber.pk, paper.pk, vote)
        return render(request, "digest/feedback_thanks.html", context)
    return render(request, "digest/feedback_confirm.html", context)
