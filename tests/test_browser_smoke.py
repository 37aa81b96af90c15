"""The browser fixture itself: Chromium loads a page served by the test server."""

import pytest

from tests.conftest import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_home_page_renders_in_chromium(browser_page, live_server):
    browser_page.goto(live_server.url + "/")

    assert "Paperboy" in browser_page.title()
    assert save_screenshot(browser_page, "smoke-home-1280").stat().st_size > 1000
