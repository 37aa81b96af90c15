"""Turning what a subscriber types, one interest per line, into Interest kinds.

    reinforcement learning        a topic (free text)
    not: medical imaging          an exclusion: papers about it are left out
    arXiv:2509.01234, 2509.01234  a seed paper: papers like it are sent
    cat: cs.CL                    an arXiv category  (or just "cs.CL")
    author: Ada Lovelace          an author

Signup and the preference page (issue 3) call parse_interest_lines; matching reads the kinds.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from subscriptions.models import Interest

MAX_LENGTH = 200
ARXIV_ID = re.compile(r"^(?:arxiv:\s*|https?://arxiv\.org/(?:abs|pdf)/)?(\d{4}\.\d{4,5})(?:v\d+)?(?:\.pdf)?$", re.I)
CATEGORY = re.compile(r"^[a-z\-]+(?:\.[a-z]{2,})?$", re.I)
KNOWN_ARCHIVES = ("cs.", "stat.", "math.", "eess.", "physics.", "q-bio.", "q-fin.", "econ.", "astro-ph", "cond-mat")
PREFIXES = {
    "not": Interest.Kind.EXCLUDE,
    "author": Interest.Kind.AUTHOR,
    "by": Interest.Kind.AUTHOR,
    "cat": Interest.Kind.CATEGORY,
    "category": Interest.Kind.CATEGORY,
    "topic": Interest.Kind.TOPIC,
    "paper": Interest.Kind.PAPER,
}


def parse_interest_line(line: str) -> tuple[str, str]:
    """(kind, value) for one line; raises ValidationError with a message for the form."""
    text = " ".join(line.split())
    prefix, colon, rest = text.partition(":")
    kind = PREFIXES.get(prefix.strip().lower()) if colon else None
    if kind is not None:
        value = rest.strip()
    else:
        kind, value = Interest.Kind.TOPIC, text
    if kind in (Interest.Kind.TOPIC, Interest.Kind.PAPER) and (seed := ARXIV_ID.match(value)):
        kind, value = Interest.Kind.PAPER, seed.group(1)
    elif kind == Interest.Kind.PAPER:
        raise ValidationError(f"{value!r} is not an arXiv id; write it like 2509.01234.")
    elif kind == Interest.Kind.TOPIC and CATEGORY.match(value) and value.lower().startswith(KNOWN_ARCHIVES):
        kind = Interest.Kind.CATEGORY
    if not value:
        raise ValidationError(f"{line.strip()!r} says what kind of interest it is, but not what.")
    if len(value) > MAX_LENGTH:
        raise ValidationError(f"Keep each interest under {MAX_LENGTH} characters.")
    return kind, value


def parse_interest_lines(text: str) -> list[tuple[str, str]]:
    """One (kind, value) per non-empty line, duplicates dropped, in order. All errors at once,
    so nothing the subscriber typed is lost to a single bad line."""
    parsed: dict[tuple[str, str], tuple[str, str]] = {}
    errors = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            kind, value = parse_interest_line(line)
        except ValidationError as error:
            errors.extend(error.messages)
            continue
        parsed.setdefault((kind, value.lower()), (kind, value))
    if errors:
        raise ValidationError(errors)
    return list(parsed.values())
