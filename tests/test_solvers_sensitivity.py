"""Sensitivity of every release, before noise (add/remove one example).

Each solver states, in ``result.privacy.releases``, the L2 sensitivity of what it releases.
Here a data set of clean examples gets one extreme extra example (raw norm 1e6, far above
the feature norm C) that goes through the solvers' own preprocessing (``prepare_inputs``,
"normalize" and "clip"); every released statistic, computed with the solvers' own
statistics code on sharded, chunked rows, may move by at most the stated sensitivity in
L2/Frobenius norm over the released entries. Symmetric matrices are released as their
upper triangle (diagonal included), so that is what is measured. The worst case (an
axis-aligned example, all one-vs-all probabilities 1/2) attains the bound, so the stated
sensitivities are also tight.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _solver_cases import FEATURE_NORM as C  # noqa: E402
from _solver_cases import GRAD_CLIP as G  # noqa: E402
from _solver_cases import K, release, standard_run  # noqa: E402

from dptl.solvers import statistics
from dptl.solvers.fc import fc_centering, noisy_feature_mean
from dptl.solvers.inputs import prepare_inputs
from dptl.solvers.logistic import clipped_gradient_sum, clipped_gradient_sum_chunked, ova_hessians

N, D = 257, 6
RTOL = 2e-3  # float32 sums of a few hundred rows, then a difference
PREPROCESS = ("normalize", "clip")


@pytest.fixture(scope="module")
def stated():
    """The sensitivities the solvers report (feature norm C = 1.5, clip G = 0.4, K = 3)."""
    ls, ls_alpha = standard_run("dp_least_squares"), standard_run("dp_least_squares_alpha")
    gd, newton, fc = standard_run("dp_gd"), standard_run("dp_newton"), standard_run("dp_fc")
    return {
        "gram": release(ls, "X^T X").sensitivity,
        "cross": release(ls, "X^T Y").sensitivity,
        "class_grams": release(ls_alpha, "per-class X_k^T X_k").sensitivity,
        "softmax_grad": release(gd, "clipped gradient sum").sensitivity,
        "ova_hessians": release(newton, "one-vs-all Hessians").sensitivity,
        "newton_grad": release(newton, "clipped gradient sum").sensitivity,
        "fc_gram": release(fc, "feature covariance X^T X").sensitivity,
        "fc_grad": release(fc, "clipped gradient sum").sensitivity,
        "fc_center": release(fc, "feature sum (centre)").sensitivity,
    }


def test_stated_sensitivities_are_the_closed_forms(stated):
    assert stated["gram"] == pytest.approx(C**2)
    assert stated["fc_gram"] == pytest.approx(C**2)
    assert stated["cross"] == pytest.approx(C)
    assert stated["class_grams"] == pytest.approx(C**2)
    assert stated["softmax_grad"] == pytest.approx(G)
    assert stated["newton_grad"] == pytest.approx(G)
    assert stated["fc_grad"] == pytest.approx(G)
    assert stated["fc_center"] == pytest.approx(C)
    assert stated["ova_hessians"] == pytest.approx(math.sqrt(K) * C**2 / 4)


def _clean_raw(rng):
    """Raw clean features: norms spread around C (clipping binds for some of them)."""
    x = rng.normal(size=(N, D))
    x *= (C * rng.uniform(0.3, 1.6, N) / np.linalg.norm(x, axis=1))[:, None]
    return x.astype(np.float32), rng.integers(0, K, N)


def _extremes(rng):
    """Extreme examples of norm 1e6 with their labels: two axis-aligned (the worst case for
    the Gram matrices), two in random directions, with every class represented."""
    dirs = [np.eye(D)[0], np.eye(D)[3]] + [v / np.linalg.norm(v) for v in rng.normal(size=(2, D))]
    return [((1e6 * v).astype(np.float32), i % K, i < 2) for i, v in enumerate(dirs)]


@functools.cache
def _neighbours(preprocess, seed=1):
    """[(xc, yc, xc', yc', axis_aligned)] for D and D + one extreme example, chunked and
    sharded as the solvers do, every data set through the solvers' ``prepare_inputs``."""
    rng = np.random.default_rng(seed)
    x, y = _clean_raw(rng)
    xp, y1h, _ = prepare_inputs(x, y, K, C, preprocess)
    assert float(jnp.linalg.norm(xp, axis=1).max()) <= C * (1 + 1e-5)
    base = statistics.shard_rows(xp, y1h, chunk_rows=64)
    out = []
    for extreme, label, axis_aligned in _extremes(rng):
        xp2, y1h2, _ = prepare_inputs(
            np.vstack([x, extreme[None]]), np.append(y, label), K, C, preprocess
        )
        assert float(jnp.linalg.norm(xp2[-1])) <= C * (1 + 1e-5)
        out.append((*base, *statistics.shard_rows(xp2, y1h2, chunk_rows=64), axis_aligned))
    return out


def _upper(m):
    """The released entries of a (…, d, d) symmetric statistic: upper triangle + diagonal."""
    m = np.asarray(m, np.float64)
    return m[..., np.triu_indices(m.shape[-1])[0], np.triu_indices(m.shape[-1])[1]]


_GRAM, _CROSS, _CLASS_GRAMS = (
    jax.jit(f) for f in (statistics.gram, statistics.cross, statistics.class_grams)
)


def _move(a, b):
    return float(np.linalg.norm(np.asarray(b, np.float64) - np.asarray(a, np.float64)))


@pytest.mark.parametrize("preprocess", PREPROCESS)
def test_sufficient_statistics_move_at_most_their_sensitivity(stated, preprocess):
    gram, cross, class_grams = _GRAM, _CROSS, _CLASS_GRAMS
    worst = {"gram": 0.0, "cross": 0.0, "class_grams": 0.0}
    for xc, yc, xc2, yc2, axis_aligned in _neighbours(preprocess):
        moves = {
            "gram": _move(_upper(gram(xc)), _upper(gram(xc2))),
            "cross": _move(cross(xc, yc), cross(xc2, yc2)),
            "class_grams": _move(_upper(class_grams(xc, yc)), _upper(class_grams(xc2, yc2))),
        }
        for name, move in moves.items():
            assert move <= stated[name] * (1 + RTOL), (name, move, stated[name])
            worst[name] = max(worst[name], move)
        # the full symmetric matrix moves by ||x||^2 too (Frobenius of x x^T)
        full = _move(gram(xc), gram(xc2))
        assert full <= stated["gram"] * (1 + RTOL)
        if axis_aligned:  # x x^T has one non-zero entry: the bound C^2 is attained
            assert moves["gram"] == pytest.approx(stated["gram"], rel=RTOL)
    # the extreme example ends up with norm exactly C, so X^T Y moves by exactly C
    assert worst["cross"] == pytest.approx(stated["cross"], rel=RTOL)
    assert worst["class_grams"] == pytest.approx(stated["class_grams"], rel=RTOL)


@pytest.mark.parametrize("preprocess", PREPROCESS)
def test_feature_sum_moves_at_most_c_and_centred_rows_have_norm_c(stated, preprocess):
    """DP-FC's centre release, sum_i x_i, moves by the extra row's norm (<= C, attained by
    the extreme example); given the released centre every row is rescaled to norm C (padding
    rows stay zero), so the covariance and gradient releases keep their sensitivities."""
    feature_sum = jax.jit(lambda xc: statistics.chunked_sum(lambda x: x.sum(axis=0), xc))
    moves = []
    for xc, _, xc2, yc2, _ in _neighbours(preprocess):
        moves.append(_move(feature_sum(xc), feature_sum(xc2)))
        center = noisy_feature_mean(jax.random.key(0), xc2, yc2, 0.0)  # the exact mean
        _, scale, row_norms = fc_centering(xc2, yc2, center, C)
        norms = np.asarray(jnp.linalg.norm(scale[..., None] * (xc2 - center), axis=-1))
        np.testing.assert_allclose(norms, np.asarray(row_norms), rtol=1e-5)  # as the steps use
        rows = np.asarray(yc2.sum(-1)) > 0
        assert center.shape == (D,) and rows.sum() == N + 1 < rows.size  # padding present
        np.testing.assert_allclose(norms[rows], C, rtol=1e-5)
        assert np.all(norms[~rows] == 0)
    assert max(moves) <= stated["fc_center"] * (1 + RTOL)
    assert max(moves) == pytest.approx(stated["fc_center"], rel=RTOL)


@pytest.mark.parametrize("loss", ["softmax", "ova"])
def test_centred_releases_are_those_of_the_centred_rows(loss):
    """DP-FC keeps X and carries its centring as (c, s, r): its covariance and clipped
    gradient sum equal those of the materialised centred rows x_i' = (x_i - c) C / ||x_i -
    c|| (padding rows zero), so the sensitivities pinned above for rows of norm <= C hold."""
    from dptl.solvers.fc import noisy_covariance
    from dptl.solvers.inputs import center_features

    xc, yc, *_ = _neighbours("normalize")[0]
    center = jnp.asarray(np.random.default_rng(5).normal(0, 0.3, D), jnp.float32)
    centering = fc_centering(xc, yc, center, C)
    rows = jnp.sum(yc, axis=-1, keepdims=True) > 0
    centred = jnp.where(rows, center_features(xc, center, C), 0.0)
    w = jnp.asarray(np.random.default_rng(6).normal(0, 1.0, (D, K)), jnp.float32)
    np.testing.assert_allclose(
        clipped_gradient_sum_chunked(w, xc, yc, G, loss, centering=centering),
        clipped_gradient_sum_chunked(w, centred, yc, G, loss),
        rtol=1e-4,
        atol=1e-5,
    )
    key = jax.random.key(0)
    np.testing.assert_allclose(
        noisy_covariance(key, xc, 0.0, centering),
        noisy_covariance(key, centred, 0.0),
        rtol=1e-4,
        atol=1e-4,
    )


@pytest.mark.parametrize("preprocess", PREPROCESS)
@pytest.mark.parametrize("loss", ["softmax", "ova"])
def test_clipped_gradient_sum_moves_at_most_grad_clip(stated, preprocess, loss):
    w = jnp.asarray(np.random.default_rng(2).normal(0, 1.0, (D, K)), jnp.float32)
    grad_sum = jax.jit(lambda xc, yc: clipped_gradient_sum_chunked(w, xc, yc, G, loss=loss))
    bound = stated["softmax_grad" if loss == "softmax" else "newton_grad"]
    assert bound == stated["fc_grad"]
    moves = [
        _move(grad_sum(xc, yc), grad_sum(xc2, yc2))
        for xc, yc, xc2, yc2, _ in _neighbours(preprocess)
    ]
    assert max(moves) <= bound * (1 + RTOL)
    assert max(moves) >= bound * 0.99  # clipping binds for the extreme example


def test_clipped_gradient_sum_of_a_poisson_batch_ignores_masked_rows():
    """The flat (Poisson-batch) form: a masked-out row adds nothing, a kept one <= G."""
    rng = np.random.default_rng(3)
    x, y = _clean_raw(rng)
    xp, y1h, _ = prepare_inputs(
        np.vstack([x, 1e6 * np.ones((1, D), np.float32)]), np.append(y, 0), K, C, "clip"
    )
    w = jnp.asarray(rng.normal(size=(D, K)), jnp.float32)
    mask = jnp.ones(N + 1).at[N].set(0.0)
    grad_sum = jax.jit(clipped_gradient_sum)
    without = grad_sum(w, xp[:N], y1h[:N], G, jnp.ones(N))
    masked = grad_sum(w, xp, y1h, G, mask)
    kept = grad_sum(w, xp, y1h, G, jnp.ones(N + 1))
    assert _move(without, masked) <= 1e-4
    assert _move(without, kept) <= G * (1 + RTOL)


@pytest.mark.parametrize("preprocess", PREPROCESS)
def test_ova_hessians_move_at_most_sqrt_k_c2_over_4(stated, preprocess):
    bound = stated["ova_hessians"]
    w_random = jnp.asarray(np.random.default_rng(4).normal(0, 1.0, (D, K)), jnp.float32)
    hess_of = jax.jit(ova_hessians)
    for w in (w_random, jnp.zeros((D, K))):
        hess = functools.partial(hess_of, w)
        worst = 0.0
        for xc, _, xc2, _, axis_aligned in _neighbours(preprocess):
            move = _move(_upper(hess(xc)), _upper(hess(xc2)))
            assert move <= bound * (1 + RTOL)
            worst = max(worst, move)
            if axis_aligned and not w.any():
                # at W = 0 every p_k = 1/2: sqrt(K) (1/4) ||x||^2 exactly
                assert move == pytest.approx(bound, rel=RTOL)
        assert worst > 0.2 * bound
