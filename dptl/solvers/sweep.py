"""Privacy-utility sweeps: one method, many epsilons and seeds, one compilation.

Noise scales are calibrated on the host for each epsilon (exact GDP or PLD); the method's
pure core takes the noise scales as traced arguments, so the whole curve compiles once: for
least squares, DP-GD and DP-FC the grid is one vmapped call, for DP-Newton one program
batched over the points but for its Hessians (``newton_grid_weights``), and for Poisson
DP-SGD the compiled core runs point by point. The key of pair (e, s) is
``jax.random.split(key, (E, S))[e, s]``, and the solver functions give the same weights when
called with that key.
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
from dptl.privacy import PrivacySpent, spent
from dptl.solvers import dpsgd, fc, least_squares, newton, statistics
from dptl.solvers.dpsgd import dpsgd_release, dpsgd_weights, physical_chunk
from dptl.solvers.inputs import default_ridge, prepare_inputs, preprocess_features
from dptl.solvers.least_squares import least_squares_releases, least_squares_weights
from dptl.solvers.newton import newton_grid_weights, newton_releases

__all__ = [
    "DEFAULTS",
    "METHODS",
    "RULES",
    "SweepResult",
    "privacy_utility",
    "resolve_hyperparameters",
]

# Methods whose grid runs as one vmapped program (checked equal to the point-by-point
# solvers in tests/test_solvers_sweep.py).
_BATCHED = ("least_squares", "dp_gd", "fc")

# Each method's defaults, read from its solver module (one description per method):
# dp_least_squares, dp_sgd (full batch: "dp_gd"; Poisson-subsampled: "dp_sgd"), dp_newton,
# dp_fc. How they were chosen: the modules' docstrings and benchmarks/tune_defaults.py.
DEFAULTS: dict[str, dict[str, Any]] = {
    "least_squares": dict(least_squares.DEFAULTS),
    "dp_gd": dict(dpsgd.DEFAULTS),
    "dp_sgd": dict(dpsgd.SUBSAMPLED_DEFAULTS),
    "newton": dict(newton.DEFAULTS),
    "fc": dict(fc.DEFAULTS),
}
METHODS = tuple(DEFAULTS)
# The constants of the defaults' rules (step counts, ridges): cached results record them, so
# that a changed rule makes a cache stale.
RULES: dict[str, Any] = {
    "dp_gd_steps_bands": [list(b) for b in dpsgd.GD_STEPS_BANDS],
    "dp_gd_learning_rate_private_nonprivate": [
        dpsgd.PRIVATE_LEARNING_RATE,
        dpsgd.NONPRIVATE_LEARNING_RATE,
    ],
    "dp_sgd_learning_rate_bands": [list(b) for b in dpsgd.SGD_LEARNING_RATE_BANDS],
    "dp_sgd_learning_rate_nonprivate": dpsgd.NONPRIVATE_SGD_LEARNING_RATE,
    "fc_ridge_noise_multiple": fc.RIDGE_NOISE_MULTIPLE,
    "newton_ridge_noise_multiple": newton.RIDGE_NOISE_MULTIPLE,
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
        ridge_multiple = newton.RIDGE_NOISE_MULTIPLE
    else:
        rel = fc.fc_releases(
            epsilon,
            delta,
            steps=hp["steps"],
            feature_norm=feature_norm,
            grad_clip=hp["grad_clip"],
            cov_share=hp["cov_share"],
        )
        ridge_multiple = fc.RIDGE_NOISE_MULTIPLE
    ridge = (
        hp["ridge"]
        if hp["ridge"] is not None
        else default_ridge(n, d, rel[0].noise_std, feature_norm, noise_multiple=ridge_multiple)
    )
    return rel, (rel[0].noise_std, rel[1].noise_std, ridge)


def _sampling_rate(hp, n):
    return 1.0 if hp.get("batch_size") is None else hp["batch_size"] / n


def _sweep_data(method, xp, y1h, n, hp):
    """The data in the layout the method's core reads (rows chunked and sharded)."""
    if method in ("dp_gd", "dp_sgd") and _sampling_rate(hp, n) < 1.0:
        return (xp, y1h)  # Poisson sampling gathers its batches from the rows
    return statistics.shard_rows(xp, y1h)


def _point_weights(method, hp, n, data, key, *per_epsilon):
    """Weights of one (epsilon, seed) point of least squares, DP-GD/SGD or DP-FC: the method's
    pure core, as its solver calls it.

    The data travel as arguments, never as closed-over constants: XLA would otherwise
    constant-fold X^T X and the like at compile time, which takes minutes.
    """
    xc, yc = data
    d, num_classes = xc.shape[-1], yc.shape[-1]
    if method in ("dp_gd", "dp_sgd"):
        q = _sampling_rate(hp, n)
        key, _ = jax.random.split(key)  # as dp_sgd: the second key would draw a non-zero init
        return dpsgd_weights(
            key,
            data,
            jnp.zeros((d, num_classes)),
            *per_epsilon,
            hp["grad_clip"],
            hp["learning_rate"],
            steps=hp["steps"],
            optimizer=hp["optimizer"],
            sampling_rate=q,
            num_examples=n,
            physical_batch_size=physical_chunk(q, n),
        )[0]
    if method == "least_squares":
        # per-class Grams do not depend on the noise: under vmap XLA computes them once
        grams = statistics.class_grams(xc, yc) if hp["alpha"] != 1.0 else None
        return least_squares_weights(
            key, xc, yc, *per_epsilon, alpha=hp["alpha"], class_grams=grams
        )
    if method == "fc":
        cov_std, grad_std, ridge = per_epsilon
        return fc.fc_weights(
            key,
            xc,
            yc,
            cov_std,
            grad_std,
            hp["grad_clip"],
            ridge,
            hp["learning_rate"],
            steps=hp["steps"],
            loss=hp["loss"],
        )[0]
    raise ValueError(f"no point-by-point core for {method!r} (DP-Newton: newton_grid_weights)")


@functools.partial(jax.jit, static_argnames=("method", "hp_items", "n"))
def _grid_weights(data, keys, per_eps, *, method, hp_items, n):
    """Weights (E, S, d, K) of a whole grid in one program: vmap over seeds, then epsilons.

    Statistics of the data alone (X^T X, X^T Y, the first gradient at w = 0) are not
    batched, so XLA computes them once for all points. Compiled once per method, shape and
    hyperparameters, and reused by later sweeps.
    """
    hp = dict(hp_items)

    def point(key, *args):
        return _point_weights(method, hp, n, data, key, *args)

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
    if hp.get("steps") is not None:
        _validate.check_positive_int("steps", hp["steps"])
    if method == "fc" and hp["loss"] not in fc.LOSSES:
        raise ValueError(f"loss must be one of {fc.LOSSES}, got {hp['loss']!r}")
    for name in ("learning_rate", "grad_clip", "alpha"):
        if hp.get(name) is not None:
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
    xt = preprocess_features(x_test, feature_norm, preprocess)
    yt = jnp.asarray(y_test)
    data = _sweep_data(method, xp, y1h, n, hp)
    keys = jax.random.split(key, (len(epsilons), num_seeds))
    # hyperparameters given as rules (None) resolved per epsilon; epsilons that resolve to
    # the same values share one compiled grid
    resolved = [resolve_hyperparameters(method, hp, n, e, delta) for e in epsilons]
    groups: dict[tuple, list[int]] = {}
    for e, r in enumerate(resolved):
        groups.setdefault(tuple(sorted(r.items())), []).append(e)
    weights = [None] * len(epsilons)
    plans = [None] * len(epsilons)
    for items, idx in groups.items():
        group_hp = dict(items)
        group_plans = [
            _plan(method, epsilons[e], delta, n, d, num_classes, feature_norm, group_hp)
            for e in idx
        ]
        w = _group_weights(
            method, group_hp, n, d, num_classes, data, keys[np.asarray(idx)], group_plans
        )
        for j, e in enumerate(idx):
            weights[e], plans[e] = w[j], group_plans[j]
    weights = jnp.stack(weights)
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
        resolved=tuple(resolved),
    )


def resolve_hyperparameters(method, hp, n, epsilon, delta):
    """``hp`` with the method's rules applied at this epsilon (values given as None).

    Args:
        method: a key of :data:`DEFAULTS`.
        hp: its hyperparameters (None where a rule applies).
        n: the number of training rows (public).
        epsilon, delta: the privacy target.

    Returns:
        A new dict with every rule resolved.
    """
    if method == "dp_sgd" and hp["learning_rate"] is None:
        return {**hp, "learning_rate": dpsgd.default_sgd_learning_rate(n, epsilon, delta)}
    if method == "dp_gd":
        out = dict(hp)
        if hp["optimizer"] is None:
            out["optimizer"] = dpsgd.default_optimizer(None)
        if hp["steps"] is None:
            out["steps"] = dpsgd.default_gd_steps(n, epsilon, delta)
        if hp["learning_rate"] is None:
            out["learning_rate"] = dpsgd.default_gd_learning_rate(epsilon)
        return out
    return dict(hp)


def _group_weights(method, hp, n, d, num_classes, data, keys, plans):
    """Weights (E, S, d, K) of the epsilons of one group (same resolved hyperparameters)."""
    num_seeds = keys.shape[1]
    per_eps = [jnp.asarray([p[1][i] for p in plans], jnp.float32) for i in range(len(plans[0][1]))]
    if method in _BATCHED:
        hp_items = tuple(sorted(hp.items()))
        return _grid_weights(data, keys, tuple(per_eps), method=method, hp_items=hp_items, n=n)
    elif method == "newton":
        # one program, batched over the points but for the Hessians (newton_grid_weights)
        hess_std, grad_std, ridge = (jnp.repeat(a, num_seeds) for a in per_eps)
        return newton_grid_weights(
            keys.reshape(-1),
            *data,
            hess_std,
            grad_std,
            hp["grad_clip"],
            ridge,
            hp["learning_rate"],
            steps=hp["steps"],
        ).reshape(*keys.shape, d, num_classes)
    else:
        # DP-SGD's Poisson batches do not batch well: each point runs the jit-compiled core,
        # compiled once and reused.
        return jnp.stack(
            [
                jnp.stack(
                    [
                        _point_weights(method, hp, n, data, keys[e, s], *(a[e] for a in per_eps))
                        for s in range(num_seeds)
                    ]
                )
                for e in range(keys.shape[0])
            ]
        )
