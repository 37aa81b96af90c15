"""👍/👎 on papers, and the per-subscriber model they train.

Each email carries two signed links per paper (subscriptions.links.feedback_url); the page
they open stores a Rating on POST. Once a subscriber has MIN_RATINGS ratings, one of them a 👍,
a logistic regression on paper vectors learns their taste: positives are the 👍 papers,
negatives the 👎 papers plus a sample of the day's papers (weighted lightly: most papers are
of no interest to anyone in particular, but some may be). Its probability is blended into
their ranking, more as ratings accumulate. A plain numpy model: a few dozen rows and a few
hundred dimensions need no library.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

MIN_RATINGS = 3
BACKGROUND_PAPERS = 30
BACKGROUND_WEIGHT = 0.3
L2 = 0.01
STEPS = 150
LEARNING_RATE = 2.0
WEIGHT_PER_RATING = 0.05
MAX_WEIGHT = 0.7
RATINGS_KEPT = 200  # the most recent; tastes move
UP = "up"
DOWN = "down"
VOTES = (UP, DOWN)


@dataclass
class Ratings:
    """A subscriber's rated papers as vectors."""

    liked: np.ndarray  # rows of paper vectors
    disliked: np.ndarray

    def __len__(self) -> int:
        return len(self.liked) + len(self.disliked)


@dataclass
class PreferenceModel:
    coefficients: np.ndarray
    intercept: float
    weight: float  # how much of the final score it decides

    @classmethod
    def fit(cls, ratings: Ratings | None, background: np.ndarray, seed: int = 0) -> PreferenceModel | None:
        """None until there is something to learn from."""
        if ratings is None or len(ratings) < MIN_RATINGS or not len(ratings.liked):
            return None
        rng = np.random.default_rng(seed + len(ratings))
        sample = background[rng.permutation(len(background))[:BACKGROUND_PAPERS]]
        features = np.vstack([ratings.liked, ratings.disliked, sample]).astype(np.float64)
        labels = np.concatenate([np.ones(len(ratings.liked)), np.zeros(len(ratings.disliked) + len(sample))])
        weights = np.concatenate([np.ones(len(ratings)), np.full(len(sample), BACKGROUND_WEIGHT)])
        # Balance the classes so three 👍 are not drowned by thirty background papers.
        for label in (0.0, 1.0):
            weights[labels == label] /= weights[labels == label].sum()
        coefficients, intercept = logistic_regression(features, labels, weights)
        return cls(coefficients, intercept, min(MAX_WEIGHT, WEIGHT_PER_RATING * len(ratings)))

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        return (1 / (1 + np.exp(-(vectors @ self.coefficients + self.intercept)))).astype(np.float32)


def logistic_regression(features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
    """Weighted, L2-regularised, by gradient descent: the inputs are unit vectors, so a fixed
    step converges in a few hundred iterations."""
    coefficients = np.zeros(features.shape[1])
    intercept = 0.0
    total = weights.sum()
    for _ in range(STEPS):
        predicted = 1 / (1 + np.exp(-(features @ coefficients + intercept)))
        error = weights * (predicted - labels) / total
        coefficients -= LEARNING_RATE * (features.T @ error + L2 * coefficients)
        intercept -= LEARNING_RATE * error.sum()
    return coefficients, intercept


def ratings_of(subscriber_ids: Iterable[int]) -> dict[int, Ratings]:
    """The ratings of a chunk of subscribers, in one query, as paper vectors."""
    from digest import semantic
    from digest.models import Rating

    rows = list(
        Rating.objects.filter(subscriber_id__in=list(subscriber_ids))
        .select_related("paper")
        .order_by("subscriber_id", "-updated_at")
    )
    if not rows:
        return {}
    vectors = semantic.paper_vectors([r.paper for r in rows])
    grouped: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for rating, vector in zip(rows, vectors, strict=True):
        liked, disliked = grouped.setdefault(rating.subscriber_id, ([], []))
        if len(liked) + len(disliked) < RATINGS_KEPT:
            (liked if rating.vote == UP else disliked).append(vector)
    width = vectors.shape[1]
    return {sid: Ratings(stack(liked, width), stack(disliked, width)) for sid, (liked, disliked) in grouped.items()}


def stack(rows: list[np.ndarray], width: int) -> np.ndarray:
    return np.stack(rows) if rows else np.zeros((0, width), dtype=np.float32)
