"""Privacy-utility sweeps: one method, many epsilons and seeds, one compilation.

A method is a record of :mod:`dptl.solvers.methods`, named as its results are ("dp_fc",
"dp_gd", ...). For each epsilon the method's own plan (the function its solver calls)
resolves the rules and calibrates the noise on the host (exact GDP or PLD); the method's
pure core takes the noise stds and the ridge as traced arguments, so the whole curve
compiles once: for least squares, DP-GD, DP-SGD and DP-FC the grid is one vmapped call,
for DP-Newton one program batched over the points but for its Hessians
(``newton_grid_weights``), and for DP-FC-SGD the compiled core runs point by point. The key of pair (e, s) is ``jax.random.split(key, (E,
S))[e, s]``, and the solver functions give the same weights when called with that key.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from dptl import _validate
from dptl.privacy import PrivacySpent
from dptl.solvers import dpsgd, fc, newton, statistics
from dptl.solvers.dpsgd import dpsgd_weights, physical_chunk
from dptl.solvers.fc_sgd import fc_sgd_core
from dptl.solvers.inputs import center_features, prepare_inputs, preprocess_features
from dptl.solvers.least_squares import least_squares_weights
from dptl.solvers.methods import METHODS
from dptl.solvers.newton import newton_grid_weights

__all__ = [
    "DEFAULTS",
    "METHODS",
    "RULES",
    "SweepResult",
    "privacy_utility",
]

# Methods whose grid runs as one vmapped program (checked equal to the point-by-point
# solvers in tests/test_solvers_sweep.py).
_BATCHED = ("dp_least_squares", "dp_gd", "dp_sgd", "dp_fc")

# Each method's defaults, from its record (dptl.solvers.methods): the sweep's keys are the
# methods' names. How the defaults were chosen: the solver modules' docstrings and
# benchmarks/tune_defaults.py.
DEFAULTS: dict[str, dict[str, Any]] = {name: dict(m.defaults) for name, m in METHODS.items()}
# The constants of the defaults' rules (step counts, ridges): cached results record them, so
# that a changed rule makes a cache stale.
RULES: dict[str, Any] = {
    "dp_gd_steps_bands": [list(b) for b in dpsgd.GD_STEPS_BANDS],
    "dp_gd_learning_rate_private_nonprivate": [
        dpsgd.PRIVATE_LEARNING_RATE,
        dpsgd.NONPRIVATE_LEARNING_RATE,
    ],
    "dp_sgd_steps_optimizer": [dpsgd.SUBSAMPLED_STEPS, dpsgd.SUBSAMPLED_OPTIMIZER],
    "dp_sgd_learning_rate_bands": [list(b) for b in dpsgd.SGD_LEARNING_RATE_BANDS],
    "dp_sgd_learning_rate_nonprivate": dpsgd.NONPRIVATE_SGD_LEARNING_RATE,
    "dp_fc_ridge_noise_multiple": fc.RIDGE_NOISE_MULTIPLE,
    "dp_fc_ridge_minimum": fc.RIDGE_MINIMUM,
    "dp_newton_ridge_noise_multiple": newton.RIDGE_NOISE_MULTIPLE,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepResult:
    """Test accuracy of one method for every (epsilon, seed) pair."""

    method: str
    epsilons: np.ndarray  # (E,)
    accuracy: np.ndarray  # (E, S)
    privacy: tuple[PrivacySpent, ...]  # one per epsilon
    config: dict[str, Any]  # the hyperparameters asked for (None: the method's rule)
    resolved: tuple[dict[str, Any], ...] = ()  # per epsilon, the rules applied

    @property
    def mean(self) -> np.ndarray:
        return self.accuracy.mean(axis=1)

    @property
    def std(self) -> np.ndarray:
        return self.accuracy.std(axis=1)


def _sampling_rate(hp, n):
    return 1.0 if hp.get("batch_size") is None else hp["batch_size"] / n


def _sweep_data(method, xp, y1h, n, hp):
    """The data in the layout the method's core reads (rows chunked and sharded)."""
    if method == "dp_fc_sgd":
        return (xp, y1h, *statistics.shard_rows(xp, y1h))
    if method == "dp_sgd" and _sampling_rate(hp, n) < 1.0:
        return (xp, y1h)  # Poisson sampling gathers its batches from the rows
    return statistics.shard_rows(xp, y1h)


def _traced(plan):
    """A plan's per-epsilon values that the compiled core takes as arguments: the noise stds,
    then the ridge where the method has one."""
    ridge = plan.hyperparameters.get("ridge")
    return plan.noise_stds + (() if ridge is None else (ridge,))


def _static(plan):
    """A plan's hyperparameters that the compiled core specialises on (all but the ridge)."""
    return tuple(sorted((k, v) for k, v in plan.hyperparameters.items() if k != "ridge"))


def _point_weights(method, hp, n, data, key, *per_epsilon, feature_norm=1.0):
    """(weights, centre) of one (epsilon, seed) point of every method but DP-Newton: the
    method's pure core, as its solver calls it. The centre is None but for a centring DP-FC.

    The data travel as arguments, never as closed-over constants: XLA would otherwise
    constant-fold X^T X and the like at compile time, which takes minutes.
    """
    if method in ("dp_gd", "dp_sgd"):
        xc, yc = data
        d, num_classes = xc.shape[-1], yc.shape[-1]
        q = _sampling_rate(hp, n)
        key, k_init = jax.random.split(key)  # as dp_sgd
        return dpsgd_weights(
            key,
            data,
            hp["init_scale"] * jax.random.normal(k_init, (d, num_classes)),
            *per_epsilon,
            hp["grad_clip"],
            hp["learning_rate"],
            steps=hp["steps"],
            optimizer=hp["optimizer"],
            sampling_rate=q,
            num_examples=n,
            physical_batch_size=physical_chunk(q, n),
        )[0], None
    if method == "dp_least_squares":
        xc, yc = data
        # per-class Grams do not depend on the noise: under vmap XLA computes them once
        grams = statistics.class_grams(xc, yc) if hp["alpha"] != 1.0 else None
        weights = least_squares_weights(
            key, xc, yc, *per_epsilon, alpha=hp["alpha"], class_grams=grams
        )
        return weights, None
    if method == "dp_fc":
        xc, yc = data
        *stds, ridge = per_epsilon
        weights, _, center = fc.fc_fit(
            key,
            xc,
            yc,
            stds,
            hp["grad_clip"],
            ridge,
            hp["learning_rate"],
            steps=hp["steps"],
            loss=hp["loss"],
            feature_norm=feature_norm,
        )
        return weights, center
    if method == "dp_fc_sgd":
        return fc_sgd_core(key, data, *per_epsilon, hyperparameters=hp, num_examples=n)[0], None
    raise ValueError(f"no point-by-point core for {method!r} (DP-Newton: newton_grid_weights)")


@functools.partial(jax.jit, static_argnames=("method", "hp_items", "n", "feature_norm"))
def _grid_weights(data, keys, per_eps, *, method, hp_items, n, feature_norm):
    """Weights (E, S, d, K) and centres ((E, S, d) or None) of a whole grid in one program:
    vmap over seeds, then epsilons.

    Statistics of the data alone (X^T X, X^T Y, the first gradient at w = 0) are not
    batched, so XLA computes them once for all points. Compiled once per method, shape and
    hyperparameters, and reused by later sweeps.
    """
    hp = dict(hp_items)

    def point(key, *args):
        return _point_weights(method, hp, n, data, key, *args, feature_norm=feature_norm)

    seeds = jax.vmap(point, in_axes=(0,) + (None,) * len(per_eps))
    return jax.vmap(seeds, in_axes=(0,) + (0,) * len(per_eps))(keys, *per_eps)


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

    Args:
        method: a key of :data:`METHODS` (a method's name, e.g. "dp_fc").
        key: the sweep's PRNG key; point (e, s) trains with ``jax.random.split(key, (E,
            S))[e, s]``, and the method's solver gives the same weights with that key.
        x_train, y_train, x_test, y_test: features and integer labels.
        epsilons: the privacy targets (``inf``: no noise).
        num_seeds, delta, num_classes, feature_norm, preprocess: as named.
        **hyperparameters: overrides of the method's :data:`DEFAULTS`.

    Returns:
        A :class:`SweepResult`; its ``resolved`` holds each epsilon's plan's hyperparameters.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    record = METHODS[method]
    hp = record.check_hyperparameters(hyperparameters)
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
    # every rule resolved and every release calibrated per epsilon, by the method's own plan
    plans = [
        record.make_plan(
            e,
            delta,
            num_examples=n,
            dim=d,
            num_classes=num_classes,
            feature_norm=feature_norm,
            **hp,
        )
        for e in epsilons
    ]
    xt = preprocess_features(x_test, feature_norm, preprocess)
    yt = jnp.asarray(y_test)
    data = _sweep_data(method, xp, y1h, n, plans[0].hyperparameters)
    keys = jax.random.split(key, (len(epsilons), num_seeds))
    # epsilons whose plans differ only in traced values (noise stds, ridge) share one program
    groups: dict[tuple, list[int]] = {}
    for e, plan in enumerate(plans):
        groups.setdefault(_static(plan), []).append(e)
    weights, centers = [None] * len(epsilons), [None] * len(epsilons)
    for static, idx in groups.items():
        per_eps = [
            jnp.asarray(col, jnp.float32)
            for col in zip(*(_traced(plans[e]) for e in idx), strict=True)
        ]
        w, c = _group_weights(
            method, dict(static), n, data, keys[np.asarray(idx)], per_eps, feature_norm
        )
        for j, e in enumerate(idx):
            weights[e] = w[j]
            centers[e] = None if c is None else c[j]
    weights = jnp.stack(weights)
    finite = np.asarray(jnp.all(jnp.isfinite(weights), axis=(-2, -1)))
    if not finite.all():
        e = int(np.argwhere(~finite)[0, 0])
        raise FloatingPointError(
            f"{method} produced non-finite weights at epsilon {epsilons[e]}; lower the "
            "learning rate or raise the ridge"
        )
    if centers[0] is None:
        acc = np.asarray(jnp.mean(jnp.argmax(xt @ weights, axis=-1) == yt, axis=-1), dtype=float)
    else:
        acc = np.asarray(
            _centered_accuracy(xt, yt, weights, jnp.stack(centers), feature_norm=feature_norm),
            dtype=float,
        )
    return SweepResult(
        method=method,
        epsilons=epsilons,
        accuracy=acc,
        privacy=tuple(plan.spent(delta) for plan in plans),
        config=hp,
        resolved=tuple(plan.hyperparameters for plan in plans),
    )


@functools.partial(jax.jit, static_argnames=("feature_norm",))
def _centered_accuracy(xt, yt, weights, centers, *, feature_norm):
    """Test accuracy (E, S) of centred models: each point's rows centred on its own centre
    (the model's preprocessing), one point at a time (no (E, S, N, d) intermediate)."""

    def one(point):
        w, c = point
        return jnp.mean(jnp.argmax(center_features(xt, c, feature_norm) @ w, axis=-1) == yt)

    flat = (weights.reshape(-1, *weights.shape[2:]), centers.reshape(-1, centers.shape[-1]))
    return jax.lax.map(one, flat).reshape(weights.shape[:2])


def _group_weights(method, hp, n, data, keys, per_eps, feature_norm):
    """Weights (E, S, d, K) and centres ((E, S, d) or None) of the epsilons of one group
    (same static hyperparameters)."""
    num_seeds = keys.shape[1]
    if method in _BATCHED:
        hp_items = tuple(sorted(hp.items()))
        return _grid_weights(
            data,
            keys,
            tuple(per_eps),
            method=method,
            hp_items=hp_items,
            n=n,
            feature_norm=feature_norm,
        )
    if method == "dp_newton":
        # one program, batched over the points but for the Hessians (newton_grid_weights)
        xc, yc = data
        hess_std, grad_std, ridge = (jnp.repeat(a, num_seeds) for a in per_eps)
        return newton_grid_weights(
            keys.reshape(-1),
            xc,
            yc,
            hess_std,
            grad_std,
            hp["grad_clip"],
            ridge,
            hp["learning_rate"],
            steps=hp["steps"],
        ).reshape(*keys.shape, xc.shape[-1], yc.shape[-1]), None
    # DP-FC-SGD: each point runs the jit-compiled core, compiled once and reused.
    weights = [
        [
            _point_weights(method, hp, n, data, keys[e, s], *(a[e] for a in per_eps))[0]
            for s in range(num_seeds)
        ]
        for e in range(keys.shape[0])
    ]
    return jnp.stack([jnp.stack(row) for row in weights]), None
