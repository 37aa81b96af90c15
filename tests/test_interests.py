"""What a subscriber types, one interest per line, becomes the right kind of interest."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from subscriptions.interests import parse_interest_lines


def test_each_line_becomes_its_kind():
    text = """
        reinforcement learning
        not: medical imaging
        arXiv:2509.01234
        2509.00010v2
        https://arxiv.org/abs/2401.00001
        cs.CL
        author: Ada  Lovelace
    """

    assert parse_interest_lines(text) == [
        ("topic", "reinforcement learning"),
        ("exclude", "medical imaging"),
        ("paper", "2509.01234"),
        ("paper", "2509.00010"),
        ("paper", "2401.00001"),
        ("category", "cs.CL"),
        ("author", "Ada Lovelace"),
    ]


def test_blank_lines_and_repeats_are_dropped_keeping_the_first_spelling():
    assert parse_interest_lines("Robots\n\n  robots \nNot: Robots\n") == [("topic", "Robots"), ("exclude", "Robots")]


def test_a_colon_that_is_not_a_known_prefix_stays_part_of_the_topic():
    assert parse_interest_lines("vision: transformers") == [("topic", "vision: transformers")]


def test_every_bad_line_is_reported_at_once():
    with pytest.raises(ValidationError) as error:
        parse_interest_lines("not:\nrobots\npaper: attention is all you need\n" + "x" * 201)

    assert error.value.messages == [
        "'not:' says what kind of interest it is, but not what.",
        "'attention is all you need' is not an arXiv id; write it like 2509.01234.",
        "Keep each interest under 200 characters.",
    ]
