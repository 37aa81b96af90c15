"""Staff log in with Chromium, open the dashboard, and watch today's run progress live."""

from __future__ import annotations

import datetime as dt
from email.utils import make_msgid

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from digest import carried
from digest.models import Delivery, Paper
from subscriptions.models import Subscriber
from tests.conftest import save_screenshot
from tests.factories import load_day, make_subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = Delivery.Status


def a_busy_fortnight() -> None:
    """Deliveries over the past days and today's run half done, dated from today (the
    browser's server runs on the real clock)."""
    today = timezone.now().date()
    edition = load_day(today - dt.timedelta(days=1))
    edition.source_report = {
        "hf": {"papers": 98},
        "arxiv:cs.CL": {"papers": 41},
        "arxiv:cs.CV": {"error": "rss.arxiv.org timed out after 20s"},
    }
    edition.save()
    papers = list(Paper.objects.order_by("-upvotes")[:3])
    topics = ["LLM agents", "robot manipulation", "diffusion models", "reinforcement learning"]
    readers = [
        make_subscriber(
            f"reader{n}@example.com",
            topics[n % 4],
            created_at=timezone.now() - dt.timedelta(days=n % 20),
            confirmed_at=timezone.now(),
        )
        for n in range(24)
    ]
    make_subscriber("new@example.com", status=Subscriber.Status.PENDING)
    for back in range(1, 12):
        for n, reader in enumerate(readers[: 10 + back]):
            status = S.FAILED_TEMPORARY if n == 3 and back % 3 == 0 else S.SENT
            add(reader, today - dt.timedelta(days=back + 1), status, papers[n % 3])
    for n, reader in enumerate(readers):
        add(reader, edition.date, [S.SENT, S.SENT, S.PENDING, S.FAILED_PERMANENT][n % 4], papers[n % 3])


def add(subscriber: Subscriber, date: dt.date, status: str, paper: Paper) -> None:
    Delivery.objects.create(
        subscriber=subscriber,
        edition_date=date,
        status=status,
        message_id=make_msgid("test"),
        sent_at=timezone.now() if status == S.SENT else None,
        carried=carried.pack([(paper.pk, 1.0, "", "")]),
    )


def test_staff_log_in_and_see_the_dashboard_update_itself(browser_page, live_server, settings):
    settings.PAPERBOY_DASHBOARD_POLL_SECONDS = 1
    get_user_model().objects.create_superuser("staff", "staff@example.com", "correct horse")
    a_busy_fortnight()
    page = browser_page

    page.goto(f"{live_server.url}/admin/dashboard/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "staff")
    page.fill("#id_password", "correct horse")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/dashboard/")

    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator('[data-count="sent"]').inner_text() == "12"
    assert page.locator('[data-count="pending"]').inner_text() == "6"
    assert page.locator("figure.pb-chart svg").count() == 4
    save_screenshot(page, "dashboard-1280")
    # A count never breaks across lines ("63", not "6" over "3").
    one_line = "td => { const r = document.createRange(); r.selectNodeContents(td); return r.getClientRects().length; }"
    assert page.locator("#pb-most-sent td.num").count() > 0
    for cell in page.locator("#pb-most-sent td.num").all():
        assert cell.evaluate(one_line) == 1, cell.inner_text()

    Delivery.objects.filter(status=S.PENDING).update(status=S.SENT, sent_at=timezone.now())

    page.wait_for_function("document.querySelector('[data-count=\"sent\"]').textContent === '18'", timeout=10_000)
    assert page.locator('[data-field="finished_percent"]').inner_text() == "100"
    assert page.locator('[data-segment="pending"]').evaluate("el => el.style.width") == "0%"
    save_screenshot(page, "dashboard-1280-after-run")

    page.emulate_media(color_scheme="dark")
    save_screenshot(page, "dashboard-1280-dark")
    page.set_viewport_size({"width": 390, "height": 844})
    save_screenshot(page, "dashboard-390")
    # A wide table scrolls inside its card; the page itself never scrolls sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # The subscriber list shows every column at a laptop's width.
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/subscriptions/subscriber/")
    headers = page.locator("#result_list thead th")
    assert headers.count() >= 9
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # Django's .results box scrolls a too-wide table inside itself: nothing may be hidden there either.
    visible_right = page.locator(".results").evaluate("box => box.getBoundingClientRect().right")
    assert page.locator(".results").evaluate("box => box.scrollWidth <= box.clientWidth")
    for index in range(headers.count()):
        right = headers.nth(index).evaluate("th => th.getBoundingClientRect().right")
        assert right <= min(visible_right, 1280), f"column {headers.nth(index).inner_text()!r} is cut off"
    save_screenshot(page, "subscribers-1280")
