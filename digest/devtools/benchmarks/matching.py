from __future__ import annotations

import random
import resource
import time
from dataclasses import replace

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from digest.matching import feedback, semantic
from digest.matching.evaluation.harness import papers as sample_papers
from digest.matching.ranker import AUTHOR, CATEGORY, EXCLUDE, TOPIC, EditionMatcher, Interest, Profile
from digest.matching.text import tokens
from digest.sources import PaperRecord

CHUNK = 500  # digest.deliver.PLAN_CHUNK


class MatchingBenchmark(BaseCommand):
    """Run by `manage.py benchmark_matching`."""

    help = (
        "Time the matching of many synthetic subscribers (overlapping interests, some exclusions, "
        "authors, categories and ratings) against a synthetic day of papers made from the sample day, "
        "in chunks as planning does. Prints seconds and peak memory. Touches no database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subscribers", type=int, default=100_000)
        parser.add_argument("--papers", type=int, default=1_000)
        parser.add_argument("--rated", type=float, default=0.02, help="share of subscribers with ratings")
        parser.add_argument("--seed", type=int, default=4)

    def handle(self, *args, subscribers: int, papers: int, rated: float, seed: int, **options) -> None:
        rng = random.Random(seed)
        self.stdout.write(f"Ranking: {semantic.status()}; threshold {settings.PAPERBOY_MATCH_THRESHOLD}")
        day = synthetic_papers(papers, rng)

        started = time.perf_counter()
        vectors = semantic.paper_vectors(day)
        self.report(f"paper vectors for {papers} papers (once per day, then stored on Paper)", started)
        if semantic.is_semantic():
            started = time.perf_counter()
            sentences = semantic.sentence_vectors(day)
            self.report(
                f"{len(sentences.vectors)} abstract sentence vectors (once per edition, then cached by text)", started
            )

        started = time.perf_counter()
        profiles = synthetic_profiles(subscribers, day, vectors, rated, rng)
        unique = len({i for p in profiles for i in p.interests})
        self.report(
            f"{subscribers} synthetic subscribers, {unique} distinct interests (setup, not timed below)", started
        )

        started = time.perf_counter()
        matcher = EditionMatcher(day, settings.PAPERBOY_MATCH_THRESHOLD, send_trending_when_empty=True)
        sent = empty = papers_sent = 0
        for start in range(0, len(profiles), CHUNK):
            for ranking in matcher.rank_many(profiles[start : start + CHUNK]):
                sent += bool(ranking.matches) and not ranking.trending_fallback
                empty += ranking.trending_fallback
                papers_sent += len(ranking.matches)
        elapsed = self.report(f"matching {subscribers} subscribers x {papers} papers", started)
        self.stdout.write(
            f"  {sent} matched, {empty} got the trending fallback, "
            f"{papers_sent / max(subscribers, 1):.1f} papers each; {subscribers / elapsed:,.0f} subscribers/s"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        self.stdout.write(f"peak memory (RSS): {peak:,.0f} MiB")

    def report(self, what: str, started: float) -> float:
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        self.stdout.write(f"{elapsed:8.2f} s  {what}  (peak RSS so far {peak:,.0f} MiB)")
        return elapsed


def synthetic_papers(count: int, rng: random.Random) -> list[PaperRecord]:
    """Real titles and abstracts of the sample day, recombined: each paper takes one paper's
    title and first half of abstract and another's second half, so texts differ."""
    base = list(sample_papers())
    day = []
    for n in range(count):
        first, second = base[n % len(base)], rng.choice(base)
        half_a, half_b = first.abstract[: len(first.abstract) // 2], second.abstract[len(second.abstract) // 2 :]
        day.append(
            replace(
                first,
                arxiv_id=f"2609.{n:05d}",
                abstract=f"{half_a} {half_b}",
                upvotes=rng.randint(0, 200),
                categories=[rng.choice(["cs.CL", "cs.CV", "cs.LG", "cs.AI", "cs.RO"])],
            )
        )
    return day


def synthetic_profiles(
    count: int, day: list[PaperRecord], vectors: np.ndarray, rated: float, rng: random.Random
) -> list[Profile]:
    """Topics drawn with a long tail from the day's keywords and title phrases, so subscribers
    share many topics, as real ones do."""
    phrases = sorted({k for p in day for k in p.ai_keywords} | {" ".join(tokens(p.title)[:2]) for p in day})
    weights = [1 / (rank + 1) for rank in range(len(phrases))]
    rng.shuffle(phrases)
    authors = sorted({a for p in day for a in p.authors})
    profiles = []
    for _ in range(count):
        interests = {Interest(TOPIC, t) for t in rng.choices(phrases, weights, k=rng.randint(1, 5))}
        if rng.random() < 0.1:
            interests.add(Interest(EXCLUDE, rng.choices(phrases, weights)[0]))
        if rng.random() < 0.05 and authors:
            interests.add(Interest(AUTHOR, rng.choice(authors)))
        if rng.random() < 0.05:
            interests.add(Interest(CATEGORY, rng.choice(["cs.CL", "cs.CV", "cs.RO"])))
        ratings = None
        if rng.random() < rated:
            picked = rng.sample(range(len(day)), 12)
            ratings = feedback.Ratings(vectors[picked[:4]], vectors[picked[4:]])
        profiles.append(Profile(sorted(interests, key=lambda i: (i.kind, i.value)), 10, ratings))
    return profiles
