"""Batched training sweeps for the lessons: one compiled, vmapped call per curve.

:func:`dpsgd_accuracy` trains DP-SGD (Poisson sampling) or DP-GD (full batch) for every
(noise std, seed) pair at once with the solvers' pure core
(:func:`dptl.solvers.dpsgd.dpsgd_weights`), so a whole accuracy-vs-epsilon curve costs about
one batched run. Noise multipliers are calibrated on the host by :func:`noise_multipliers`
(exact GDP for full batch, PLD otherwise), memoised because PLD calibration takes seconds.
Other methods use :func:`dptl.solvers.sweep.privacy_utility`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dptl import _validate
from dptl.privacy import dpsgd_noise_multiplier
from dptl.solvers import statistics
from dptl.solvers.dpsgd import dpsgd_weights
from dptl.solvers.inputs import prepare_inputs, preprocess_features

__all__ = ["dpsgd_accuracy", "noise_multiplier", "noise_multipliers"]


@functools.lru_cache(maxsize=4096)
def noise_multiplier(epsilon: float, delta: float, sampling_rate: float, steps: int) -> float:
    """sigma of DP-SGD (exact GDP at q = 1, PLD otherwise); 0 for epsilon = inf."""
    if math.isinf(epsilon):
        return 0.0
    accountant = "exact" if sampling_rate == 1.0 else "pld"
    return dpsgd_noise_multiplier(epsilon, delta, sampling_rate, steps, accountant)


def noise_multipliers(
    epsilons: Sequence[float], delta: float, num_examples: int, batch_size: int | None, steps: int
) -> np.ndarray:
    q = 1.0 if batch_size is None or batch_size >= num_examples else batch_size / num_examples
    return np.asarray([noise_multiplier(float(e), delta, q, int(steps)) for e in epsilons])


def dpsgd_accuracy(
    key: jax.Array,
    x_train,
    y_train,
    x_test,
    y_test,
    *,
    noise_multipliers: Sequence[float],
    num_seeds: int,
    num_classes: int,
    batch_size: int | None,
    steps: int,
    learning_rate: float = 4.0,
    optimizer: str = "sgd",
    grad_clip: float = 1.0,
    init_scale: float = 0.0,
    feature_norm: float = 1.0,
    record_every: int | None = None,
) -> np.ndarray:
    """Test accuracy (E, S) of DP-SGD/DP-GD for each noise multiplier and seed.

    ``batch_size=None`` (or >= n) is full-batch DP-GD. ``init_scale`` > 0 starts from
    N(0, init_scale^2) weights (drawn per seed) instead of zero. With ``record_every`` the
    accuracy is also evaluated along the way: the result is (E, S, steps // record_every)
    (valid only as "accuracy after t steps of a run calibrated for ``steps``").
    """
    _validate.check_positive("learning_rate", learning_rate)
    xp, y1h, k = prepare_inputs(x_train, y_train, num_classes, feature_norm, "normalize")
    n, d = xp.shape
    q = 1.0 if batch_size is None or batch_size >= n else batch_size / n
    data = statistics.shard_rows(xp, y1h) if q == 1.0 else (xp, y1h)
    physical = max(1, math.ceil(q * n + 4 * math.sqrt(q * n))) if q < 1 else 4096
    xt = preprocess_features(x_test, feature_norm, "normalize")
    yt = jnp.asarray(np.asarray(y_test))
    stds = jnp.asarray(np.asarray(noise_multipliers, float) * grad_clip, jnp.float32)

    def one(k_run, std, data, xt, yt):
        k_init, k_train = jax.random.split(k_run)
        w0 = init_scale * jax.random.normal(k_init, (d, k))
        w, hist = dpsgd_weights(
            k_train,
            data,
            w0,
            std,
            grad_clip,
            learning_rate,
            steps=steps,
            optimizer=optimizer,
            sampling_rate=q,
            num_examples=n,
            physical_batch_size=physical,
            record_weights=record_every is not None,
        )
        if record_every is None:
            return jnp.mean(jnp.argmax(xt @ w, -1) == yt)
        ws = hist["weights"][record_every - 1 :: record_every]  # (R, d, K)
        return jnp.mean(jnp.argmax(jnp.einsum("nd,rdk->rnk", xt, ws), -1) == yt, axis=-1)

    keys = jax.random.split(key, (len(stds), num_seeds))
    # the data are arguments, not closed-over constants, which XLA would constant-fold at
    # compile time (seconds per call on the 10,000 test rows)
    shared = (None, None, None)
    fn = jax.jit(jax.vmap(jax.vmap(one, in_axes=(0, None, *shared)), in_axes=(0, 0, *shared)))
    return np.asarray(fn(keys, stds, data, xt, yt))
