"""Paper text and links are untrusted: HTML, <script>, LaTeX, 300-character words, right-to-left
text, emoji and javascript: URLs reach the inbox escaped and harmless (tests/fixtures/hf-hostile.json)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from digest import carried
from digest.models import Delivery, Paper
from tests.digest_mail import hostile_items, html_part, send_edition, text_part
from tests.factories import load_day, make_subscriber

pytestmark = pytest.mark.django_db


class Tags(HTMLParser):
    """Every tag and link attribute of a document, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("href", "src"):
                self.urls.append(value or "")
            if name.startswith("on"):
                self.handlers.append(name)


def parsed(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


@pytest.fixture
def hostile_message(smtp):
    load_day()
    load_day(items=hostile_items())
    ada = make_subscriber("ada@example.com", "reinforcement learning", max_papers=20)
    send_edition()
    hostile = set(Paper.objects.filter(arxiv_id__startswith="2509.9").values_list("pk", flat=True))
    assert hostile <= set(carried.paper_ids(Delivery.objects.get(subscriber=ada)))
    (message,) = smtp.to("ada@example.com")
    return message


def test_html_in_titles_abstracts_and_authors_is_shown_as_text(hostile_message):
    html = html_part(hostile_message)
    tags = parsed(html)
    assert "script" not in tags.tags and "table" not in tags.tags and "i" not in tags.tags
    assert tags.handlers == []
    assert tags.tags.count("img") == html.count('class="thumb"')  # only our thumbnails
    assert 'Reinforcement learning &lt;script&gt;alert("title")&lt;/script&gt; with &lt;b&gt;bold&lt;/b&gt;' in html
    assert '&lt;a href="javascript:alert(1)"&gt;Click here&lt;/a&gt;' in html
    assert '&lt;b&gt;Mallory&lt;/b&gt; "Quote" O\'Brien, Eve &amp; Co' in html
    text = text_part(hostile_message)
    assert 'Reinforcement learning <script>alert("title")</script> with <b>bold</b>' in text  # plain text as is


def test_only_http_links_appear_and_javascript_urls_are_dropped(hostile_message):
    urls = parsed(html_part(hostile_message)).urls
    assert urls and all(url.startswith(("https://", "http://")) for url in urls)
    text = text_part(hostile_message)
    assert "javascript:" not in text.lower()
    assert "data:text/html" not in text
    assert "Code: https://github.com/example-lab/alpha-divergence" in text  # its good link stays
    assert "https://example.org/\U0001f916-project" in text


def test_latex_rtl_and_emoji_arrive_intact_and_readable(hostile_message):
    html, text = html_part(hostile_message), text_part(hostile_message)
    # The title's simple math is shown in Unicode (digest/readable.py); the stored title is as written.
    latex = "α-divergence reinforcement learning with 𝒪(n^2) regret"
    assert latex in html and latex in text
    assert "$" not in html.split(latex)[0][-20:]
    assert Paper.objects.filter(
        title__startswith=r"$\alpha$-divergence reinforcement learning with $\mathcal{O}"
    ).exists()
    arabic = "التعلم المعزز للنماذج اللغوية الكبيرة: reinforcement learning for Arabic"
    assert arabic in html and arabic in text
    assert re.search(rf'<p class="title" dir="auto"[^>]*><a [^>]*>{arabic}</a>', html)  # laid out right to left
    emoji = "🤖 Reinforcement learning for robots 🚀🦾 by 👩‍🔬 scientists 🇫🇷"
    assert emoji in html and emoji in text


def test_a_newline_in_a_title_never_reaches_the_headers(smtp):
    load_day()
    Paper.objects.filter(arxiv_id="2509.00086").update(
        title="Inverse Reinforcement Learning\r\nBcc: victim@example.com\r\nX-Injected: yes", upvotes=999
    )
    make_subscriber("ada@example.com", "inverse reinforcement learning", max_papers=1)
    send_edition()

    (message,) = smtp.messages
    assert message["X-Injected"] is None and message["Bcc"] is None
    assert [e.rcpt_tos for e in smtp.envelopes] == [["ada@example.com"]]
    subject = message["Subject"].strip()
    assert subject.startswith("Paperboy, 3 Sep: Inverse Reinforcement Learning Bcc: victim@example.com")


def test_placeholders_written_into_paper_text_are_left_as_text(smtp):
    load_day()
    load_day(items=hostile_items())
    sneaky = "Reinforcement learning %%pb-0123456789abcdef-unsubscribe_url%% <!--pb:part-end--> {{ unsubscribe_url }}"
    Paper.objects.filter(arxiv_id="2509.90006").update(title=sneaky)
    make_subscriber("ada@example.com", "reinforcement learning", max_papers=20)
    send_edition()

    (message,) = smtp.messages
    assert f"{sneaky}\r\n" in text_part(message)
    html = html_part(message)
    assert "%%pb-0123456789abcdef-unsubscribe_url%% &lt;!--pb:part-end--&gt; {{ unsubscribe_url }}</a>" in html
    assert "abstract whose" in html  # the cards after it are whole


def test_a_subscriber_address_with_a_newline_fails_that_delivery_and_sends_nothing(smtp):
    load_day()
    bad = make_subscriber("mallory@example.com", "reinforcement learning")
    type(bad).objects.filter(pk=bad.pk).update(email="mallory@example.com\r\nBcc: victim@example.com")
    send_edition()

    assert smtp.messages == []
    delivery = Delivery.objects.get(subscriber=bad)
    assert delivery.status in (Delivery.Status.FAILED_TEMPORARY, Delivery.Status.FAILED_PERMANENT)
    assert delivery.last_error.startswith("BadHeaderError: ")
