"""👍/👎 on papers, and the per-subscriber model they train.

Each email carries two signed links per paper (subscriptions.links.feedback_url); the page
they open (digest.reader.feedback) stores a Rating on POST. Once a subscriber has MIN_RATINGS ratings, one of them a 👍,
a logistic regression on paper vectors learns their taste: positives are the 👍 papers,
negatives the 👎 papers plus a sample of the day's papers (weighted lightly: most papers are
of no interest to anyone in particular, but some may be). Its probability is blended into
their ranking, more as ratings accumulate. A plain numpy model: a few dozen rows and a few
hundred dimensions need no library.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
        return cls.fit_many([ratings], background, seed)[0]

    @classmethod
    def fit_many(
        cls, ratings: Sequence[Ratings | None], background: np.ndarray, seed: int = 0
    ) -> list[PreferenceModel | None]:
        """One model per subscriber who has enough ratings, trained together: a chunk's
        subscribers are stacked into one array, padded rows weighing nothing."""
        models: list[PreferenceModel | None] = [None] * len(ratings)
        eligible = [n for n, r in enumerate(ratings) if r is not None and len(r) >= MIN_RATINGS and len(r.liked)]
        if not eligible:
            return models
        rng = np.random.default_rng(seed)
        problems = [training_set(ratings[n], background, rng) for n in eligible]
        rows = max(len(labels) for _, labels, _ in problems)
        features = np.zeros((len(problems), rows, background.shape[1]), dtype=np.float32)
        labels = np.zeros((len(problems), rows), dtype=np.float32)
        weights = np.zeros((len(problems), rows), dtype=np.float32)
        for m, (x, y, w) in enumerate(problems):
            features[m, : len(y)], labels[m, : len(y)], weights[m, : len(y)] = x, y, w
        coefficients, intercepts = logistic_regression(features, labels, weights)
        for m, n in enumerate(eligible):
            weight = min(MAX_WEIGHT, WEIGHT_PER_RATING * len(ratings[n]))
            models[n] = cls(coefficients[m], float(intercepts[m]), weight)
        return models

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        return predict_many([self], vectors)[0]


def predict_many(models: Sequence[PreferenceModel], vectors: np.ndarray) -> np.ndarray:
    """Each model's probabilities for every paper (models x papers), in one product."""
    coefficients = np.stack([m.coefficients for m in models]).astype(np.float32)
    intercepts = np.array([m.intercept for m in models], dtype=np.float32)
    return 1 / (1 + np.exp(-(coefficients @ vectors.T + intercepts[:, None])))


def training_set(
    ratings: Ratings, background: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sample = background[rng.permutation(len(background))[:BACKGROUND_PAPERS]]
    features = np.vstack([ratings.liked, ratings.disliked, sample])
    labels = np.concatenate([np.ones(len(ratings.liked)), np.zeros(len(ratings.disliked) + len(sample))])
    weights = np.concatenate([np.ones(len(ratings)), np.full(len(sample), BACKGROUND_WEIGHT)])
    # Balance the classes so three 👍 are not drowned by thirty background papers.
    for label in (0.0, 1.0):
        weights[labels == label] /= weights[labels == label].sum()
    return features, labels, weights


def logistic_regression(features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Many weighted, L2-regularised logistic regressions at once (features: models x rows x
    dimensions), by gradient descent: the inputs are unit vectors, so a fixed step converges
    in a few hundred iterations."""
    models, _, dimensions = features.shape
    coefficients = np.zeros((models, dimensions, 1), dtype=np.float32)
    intercepts = np.zeros((models, 1), dtype=np.float32)
    scaled = (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)
    transposed = features.transpose(0, 2, 1)
    for _ in range(STEPS):
        logits = (features @ coefficients)[:, :, 0] + intercepts
        error = scaled * (1 / (1 + np.exp(-logits)) - labels)
        coefficients -= LEARNING_RATE * (transposed @ error[:, :, None] + L2 * coefficients)
        intercepts -= LEARNING_RATE * error.sum(axis=1, keepdims=True)
    return coefficients[:, :, 0], intercepts[:, 0]


def ratings_of(subscriber_ids: Iterable[int]) -> dict[int, Ratings]:
    """The ratings of a chunk of subscribers, in one query, as paper vectors."""
    from digest.matching import semantic
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
