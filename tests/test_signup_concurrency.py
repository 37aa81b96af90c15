"""Two posts of the same signup at the same moment (a double click, two tabs): one row, one
email. On PostgreSQL the second insert waits for the first and loses on the unique address."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from subscriptions.models import Interest, Subscriber
from tests.signup_helpers import signup_data

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


def test_simultaneous_double_post_stores_one_subscriber_and_sends_one_email():
    start = threading.Barrier(2)
    answers: list[tuple[int, str]] = []

    def post() -> None:
        client = Client()
        start.wait()
        try:
            response = client.post("/", signup_data(email="Ada@example.com"))
            answers.append((response.status_code, response["Location"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert [status for status, _ in answers] == [302, 302]
    assert all(location.startswith("/signup/sent/") for _, location in answers)
    assert Subscriber.objects.count() == 1
    assert Interest.objects.filter(kind="topic").count() == 2
    assert [m.to for m in mail.outbox] == [["Ada@example.com"]]
