from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from subscriptions import links
from subscriptions.models import Subscriber


@csrf_exempt  # RFC 8058: mail providers POST with no cookies; the signed token is the authority
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a one-button page and changes nothing (mail scanners prefetch links);
    POST, from that button or a one-click List-Unsubscribe, unsubscribes and answers 200."""
    try:
        subscriber_id = links.subscriber_id_from_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "subscriptions/bad_link.html", status=400)
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return render(request, "subscriptions/bad_link.html", status=404)
    if request.method == "POST":
        subscriber.unsubscribe()
        return render(request, "subscriptions/unsubscribed.html", {"subscriber": subscriber})
    return render(request, "subscriptions/unsubscribe_confirm.html", {"subscriber": subscriber})


def link_not_built(request: HttpRequest, token: str) -> HttpResponse:
    """Placeholder for a signed-link page that is not built yet."""
    return render(request, "subscriptions/bad_link.html", status=404)
