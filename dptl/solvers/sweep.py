"""Privacy-utility sweeps: one method, many epsilons and seeds, one compilation.

Noise scales are calibrated on the host for each epsilon (exact GDP or PLD); the method's
pure core takes the noise scales as traced arguments, so the whole curve compiles once: for
least squares, DP-GD and DP-FC the grid is one vmapped call, for DP-Newton and Poisson DP-SGD
the compiled core runs point by point. The key of
pair (e, s) is ``jax.random.split(key, (E, S))[e, s]``, and the solver functions give the
same weights when called with that key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from dptl import _validate
from dptl.privacy import PrivacySpent, spent
from dptl.solvers import statistics
from dptl.solvers.dpsgd import dpsgd_release, dpsgd_weights, physical_chunk
from dptl.solvers.fc import fc_releases, fc_weights
from dptl.solvers.inputs import default_ridge, prepare_inputs, preprocess_features
from dptl.solvers.least_squares import least_squares_releases, least_squares_weights
from dptl.solvers.newton import newton_releases, newton_weights

__all__ = ["METHODS", "SweepResult", "privacy_utility", "DEFAULTS"]

# Methods whose grid runs as one vmapped program (checked equal to the point-by-point
# solvers in tests/test_solvers_sweep.py).
_BATCHED = ("least_squares", "dp_gd", "fc")

# Fixed defaults, never tuned on the shipped data: dp_gd and fc were chosen by
# benchmarks/tune_defaults.py on a synthetic proxy shaped like backbone features; the others
# are plain textbook choices (equal budget split, one or two second-order steps).
DEFAULTS: dict[str, dict[str, Any]] = {
    "least_squares": {"cov_share": 0.5, "alpha": 1.0, "ridge": None},
    "dp_gd": {"steps": 100, "learning_rate": 4.0, "grad_clip": 1.0, "optimizer": "momentum"},
    "dp_sgd": {
        "steps": 300,
        "batch_size": 3000,
        "learning_rate": 4.0,
        "grad_clip": 1.0,
        "optimizer": "sgd",
        "accountant": "pld",
    },
    "newton": {
        "steps": 2,
        "learning_rate": 1.0,
        "hessian_share": 0.5,
        "grad_clip": 1.0,
        "ridge": None,
    },
    "fc": {"steps": 3, "learning_rate": 0.5, "cov_share": 0.5, "grad_clip": 1.0, "ridge": None},
}
METHODS = tuple(DEFAULTS)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepResult:
    """Test accuracy of one method for every (epsilon, seed) pair."""

    method: str
    epsilons: np.ndarray  # (E,)
    accuracy: np.ndarray  # (E, S)
    privacy: tuple[PrivacySpent, ...]  # one per epsilon
    config: dict[str, Any]

    @property
    def mean(self) -> np.ndarray:
        return self.accuracy.mean(axis=1)

    @property
    def std(self) -> np.ndarray:
        return self.accuracy.std(axis=1)


def _plan(method, epsilon, delta, n, d, num_classes, feature_norm, hp):
    """(releases, per-epsilon traced arguments) for one epsilon."""
    if method == "least_squares":
        rel = least_squares_releases(
            epsilon, delta, feature_norm=feature_norm, cov_share=hp["cov_share"], alpha=hp["alpha"]
        )
        ridge = (
            hp["ridge"]
            if hp["ridge"] is not None
            else default_ridge(n, d, rel[0].noise_std, feature_norm)
        )
        return rel, (rel[0].noise_std, rel[1].noise_std, ridge)
    if method in ("dp_gd", "dp_sgd"):
        rel = (
            dpsgd_release(
                epsilon,
                delta,
                num_examples=n,
                steps=hp["steps"],
                batch_size=hp.get("batch_size"),
                grad_clip=hp["grad_clip"],
                accountant=hp.get("accountant", "pld"),
            ),
        )
        return rel, (rel[0].noise_std,)
    if method == "newton":
        rel = newton_releases(
            epsilon,
            delta,
            num_classes=num_classes,
            steps=hp["steps"],
            feature_norm=feature_norm,
            grad_clip=hp["grad_clip"],
            hessian_share=hp["hessian_share"],
        )
    else:
        rel = fc_releases(
            epsilon,
            delta,
            steps=hp["steps"],
            feature_norm=feature_norm,
            grad_clip=hp["grad_clip"],
            cov_share=hp["cov_share"],
        )
    ridge = (
        hp["ridge"]
        if hp["ridge"] is not None
        else default_ridge(n, d, rel[0].noise_std, feature_norm)
    )
    return rel, (rel[0].noise_std, rel[1].noise_std, ridge)


def _core(method, xp, y1h, n, hp) -> tuple[Callable, Any]:
    """(fit, data): fit(data, key, *per-epsilon args) -> weights.

    The data travel as arguments, never as closed-over constants: XLA would otherwise
    constant-fold X^T X and the like at compile time, which takes minutes.
    """
    if method in ("dp_gd", "dp_sgd"):
        q = 1.0 if hp.get("batch_size") is None else hp["batch_size"] / n
        data = statistics.shard_rows(xp, y1h) if q == 1.0 else (xp, y1h)
        physical = physical_chunk(q, n)

        def fit(data, key, noise_std):
            key, _ = jax.random.split(key)  # as dp_sgd: the second key would draw a non-zero init
            w0 = jnp.zeros((xp.shape[1], y1h.shape[1]))
            return dpsgd_weights(
                key,
                data,
                w0,
                noise_std,
                hp["grad_clip"],
                hp["learning_rate"],
                steps=hp["steps"],
                optimizer=hp["optimizer"],
                sampling_rate=q,
                num_examples=n,
                physical_batch_size=physical,
            )[0]

        return fit, data
    xc, yc = statistics.shard_rows(xp, y1h)
    if method == "least_squares":
        grams = statistics.class_grams(xc, yc) if hp["alpha"] != 1.0 else None

        def fit(data, key, cs, ys, ridge):
            return least_squares_weights(
                key, *data, cs, ys, ridge, alpha=hp["alpha"], class_grams=grams
            )

        return fit, (xc, yc)
    core = newton_weights if method == "newton" else fc_weights

    def fit(data, key, s1, s2, ridge):
        return core(
            key, *data, s1, s2, hp["grad_clip"], ridge, hp["learning_rate"], steps=hp["steps"]
        )[0]

    return fit, (xc, yc)


def privacy_utility(
    method: str,
    key: jax.Array,
    x_train,
    y_train,
    x_test,
    y_test,
    *,
    epsilons: Sequence[float],
    num_seeds: int = 3,
    delta: float = 1e-5,
    num_classes: int | None = None,
    feature_norm: float = 1.0,
    preprocess: str = "normalize",
    **hyperparameters,
) -> SweepResult:
    """Test accuracy of ``method`` at every epsilon for ``num_seeds`` seeds.

    ``method`` is one of :data:`METHODS`; ``hyperparameters`` override :data:`DEFAULTS`.
    """
    if method not in DEFAULTS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    unknown = set(hyperparameters) - set(DEFAULTS[method])
    if unknown:
        raise ValueError(
            f"unknown hyperparameters for {method!r}: {sorted(unknown)}; "
            f"known: {sorted(DEFAULTS[method])}"
        )
    hp = {**DEFAULTS[method], **hyperparameters}
    # The pure cores trace these values, so check them here, naming the argument.
    if "steps" in hp:
        _validate.check_positive_int("steps", hp["steps"])
    for name in ("learning_rate", "grad_clip", "alpha"):
        if name in hp:
            _validate.check_positive(name, hp[name])
    if hp.get("ridge") is not None:
        _validate.check_nonnegative("ridge", hp["ridge"])
    epsilons = np.asarray([_validate.check_epsilon(e) for e in epsilons], dtype=float)
    if epsilons.size == 0:
        raise ValueError("epsilons must list at least one value")
    num_seeds = _validate.check_positive_int("num_seeds", num_seeds)
    xp, y1h, num_classes = prepare_inputs(
        x_train, y_train, num_classes, feature_norm, preprocess, x_name="x_train", y_name="y_train"
    )
    _validate.check_features(x_test, "x_test")
    if x_test.shape[1] != xp.shape[1]:
        raise ValueError(f"x_test has {x_test.shape[1]} features but x_train has {xp.shape[1]}")
    _validate.check_labels(np.asarray(y_test), num_classes, "y_test", n=x_test.shape[0])
    n, d = xp.shape
    plans = [_plan(method, e, delta, n, d, num_classes, feature_norm, hp) for e in epsilons]
    per_eps = [jnp.asarray([p[1][i] for p in plans], jnp.float32) for i in range(len(plans[0][1]))]
    xt = preprocess_features(x_test, feature_norm, preprocess)
    yt = jnp.asarray(y_test)
    fit, data = _core(method, xp, y1h, n, hp)

    keys = jax.random.split(key, (len(epsilons), num_seeds))
    if method in _BATCHED:
        # One compiled call for the whole grid: vmap over seeds, then epsilons. Statistics of
        # the data alone (X^T X, X^T Y, the first gradient at w = 0) are not batched, so XLA
        # computes them once for all points; only the noise and what follows is per point.
        point = jax.vmap(fit, in_axes=(None, 0) + (None,) * len(per_eps))
        weights = jax.jit(jax.vmap(point, in_axes=(None, 0) + (0,) * len(per_eps)))(
            data, keys, *per_eps
        )
    else:
        # DP-Newton's K Hessians per step and DP-SGD's Poisson batches do not batch well
        # (a vmapped Newton sweep holds E*S*K d x d products and ran ~2x slower): each
        # point calls the jit-compiled core, compiled once for the grid.
        weights = jnp.stack(
            [
                jnp.stack([fit(data, keys[e, s], *(a[e] for a in per_eps)) for s in range(num_seeds)])
                for e in range(len(epsilons))
            ]
        )
    finite = np.asarray(jnp.all(jnp.isfinite(weights), axis=(-2, -1)))
    if not finite.all():
        e = int(np.argwhere(~finite)[0, 0])
        raise FloatingPointError(
            f"{method} produced non-finite weights at epsilon {epsilons[e]}; lower the "
            "learning rate or raise the ridge"
        )
    acc = np.asarray(jnp.mean(jnp.argmax(xt @ weights, axis=-1) == yt, axis=-1), dtype=float)
    accountant = hp.get("accountant", "pld") if method == "dp_sgd" else "exact"
    return SweepResult(
        method=method,
        epsilons=epsilons,
        accuracy=acc,
        privacy=tuple(spent(p[0], delta, accountant) for p in plans),
        config=hp,
    )
