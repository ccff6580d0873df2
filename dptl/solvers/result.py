"""The one result type every solver returns."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from dptl import _validate
from dptl.privacy import PrivacySpent
from dptl.solvers.inputs import preprocess_features

__all__ = ["LastLayerResult"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class LastLayerResult:
    """A trained last layer: logits = preprocess(x) @ weights + bias.

    ``preprocess`` maps each row to norm ``feature_norm`` ("normalize") or at most it
    ("clip"), then, where ``center`` is set (DP-FC's released noisy feature mean), to
    x - center rescaled to that norm (:func:`dptl.solvers.inputs.preprocess_features`).
    ``privacy`` says what was released and the (epsilon, delta) it cost; ``history`` holds
    per-step values where the method has steps (all post-processing of private releases).
    """

    method: str
    weights: jax.Array  # (d, K)
    bias: jax.Array  # (K,)
    privacy: PrivacySpent
    feature_norm: float = 1.0
    preprocess: str = "normalize"
    center: jax.Array | None = None  # (d,): a released noisy feature mean, or None
    history: dict[str, Any] = dataclasses.field(default_factory=dict)
    config: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not bool(jnp.all(jnp.isfinite(self.weights))):
            raise FloatingPointError(
                f"{self.method} produced non-finite weights; lower the learning rate or raise "
                "the ridge"
            )

    @property
    def epsilon(self) -> float:
        return self.privacy.epsilon

    @property
    def delta(self) -> float:
        return self.privacy.delta

    @property
    def num_classes(self) -> int:
        return int(self.weights.shape[1])

    def logits(self, x) -> jax.Array:
        _validate.check_features(x, "x")
        if x.shape[1] != self.weights.shape[0]:
            raise ValueError(
                f"x has {x.shape[1]} features but the model expects {self.weights.shape[0]}"
            )
        xp = preprocess_features(x, self.feature_norm, self.preprocess, self.center)
        return xp @ self.weights + self.bias

    def predict(self, x) -> np.ndarray:
        return np.asarray(jnp.argmax(self.logits(x), axis=-1))

    def accuracy(self, x, y) -> float:
        y = np.asarray(y)
        _validate.check_labels(y, self.num_classes, "y", n=x.shape[0])
        return float(np.mean(self.predict(x) == y))

    def __repr__(self) -> str:
        eps = "inf" if math.isinf(self.epsilon) else f"{self.epsilon:.4g}"
        return (
            f"LastLayerResult({self.method}, d={self.weights.shape[0]}, K={self.num_classes},"
            f" ({eps}, {self.delta:.3g})-DP)"
        )
