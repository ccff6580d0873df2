"""Mechanisms: clipping, normalisation, Gaussian noise (plain and symmetric), PSD projection.

Statistical checks use many draws from fixed keys and tolerances of several standard errors
(CLT), so they are deterministic and far from flaky. Sensitivity checks use float64 NumPy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from dptl.privacy import (
    clip_rows,
    gaussian_noise,
    normalize_rows,
    project_psd,
    symmetric_gaussian_noise,
)


def _rows_with_mixed_norms(seed=0, n=64, d=8, batch=()):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(*batch, n, d))
    x *= 10 ** rng.uniform(-2, 2, size=(*batch, n, 1))  # norms from ~0.03 to ~300
    return x.astype(np.float32)


def _norms(x):
    return np.linalg.norm(np.asarray(x, np.float64), axis=-1)


# ------------------------------------------------------------------------------------ clipping


@pytest.mark.parametrize("clip_norm", [0.1, 1.0, 3.0])
def test_clip_rows_bounds_norms_and_keeps_small_rows(clip_norm):
    x = _rows_with_mixed_norms()
    out = np.asarray(clip_rows(jnp.asarray(x), clip_norm))
    norms_in, norms_out = _norms(x), _norms(out)
    assert (norms_out <= clip_norm * (1 + 1e-6)).all()
    small = norms_in <= clip_norm
    big = ~small
    assert small.any() and big.any()
    np.testing.assert_array_equal(out[small], x[small])  # untouched, bit for bit
    np.testing.assert_allclose(norms_out[big], clip_norm, rtol=1e-6)
    # direction is kept: clipping only rescales
    cos = (out[big] * x[big]).sum(-1) / (norms_out[big] * norms_in[big])
    np.testing.assert_allclose(cos, 1.0, rtol=1e-5)


def test_clip_rows_zero_rows_batches_and_infinite_norm():
    x = _rows_with_mixed_norms(seed=1, batch=(3,))
    x[1, 5] = 0.0
    out = np.asarray(clip_rows(jnp.asarray(x), 1.0))
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[1, 5], 0.0)
    # leading axes are batch axes: same as clipping each (n, d) block on its own
    for b in range(3):
        np.testing.assert_array_equal(out[b], np.asarray(clip_rows(jnp.asarray(x[b]), 1.0)))
    # clip_norm = inf means no clipping
    np.testing.assert_array_equal(np.asarray(clip_rows(jnp.asarray(x), np.inf)), x)


def test_clip_rows_under_jit_with_traced_norm():
    x = jnp.asarray(_rows_with_mixed_norms(seed=2))
    out = jax.jit(clip_rows)(x, 0.5)
    np.testing.assert_allclose(np.asarray(out), np.asarray(clip_rows(x, 0.5)), rtol=1e-6)
    batched = jax.vmap(clip_rows, in_axes=(None, 0))(x, jnp.array([0.5, 2.0]))
    assert (_norms(batched[0]) <= 0.5 * (1 + 1e-6)).all()
    assert (_norms(batched[1]) <= 2.0 * (1 + 1e-6)).all()


@pytest.mark.parametrize("norm", [0.25, 1.0, 7.0])
def test_normalize_rows_gives_exact_norm(norm):
    x = _rows_with_mixed_norms(seed=3)
    out = np.asarray(normalize_rows(jnp.asarray(x), norm))
    np.testing.assert_allclose(_norms(out), norm, rtol=2e-6)
    cos = (out * x).sum(-1) / (_norms(out) * _norms(x))
    np.testing.assert_allclose(cos, 1.0, rtol=1e-5)


def test_normalize_rows_default_and_zero_rows():
    x = _rows_with_mixed_norms(seed=4)
    x[3] = 0.0
    out = np.asarray(normalize_rows(jnp.asarray(x)))
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[3], 0.0)
    keep = np.ones(len(x), bool)
    keep[3] = False
    np.testing.assert_allclose(_norms(out[keep]), 1.0, rtol=2e-6)


# ------------------------------------------------------------------------------ Gaussian noise


def test_gaussian_noise_std_matches():
    n, std = 200_000, 2.5
    z = np.asarray(gaussian_noise(jax.random.key(11), (n,), std), np.float64)
    se_std = std / np.sqrt(2 * n)
    assert abs(z.std() - std) < 5 * se_std
    assert abs(z.mean()) < 5 * std / np.sqrt(n)
    # and it is Gaussian, not merely of the right variance
    assert stats.kstest(z[:20_000] / std, "norm").pvalue > 1e-3


def test_gaussian_noise_shape_dtype_keys():
    key = jax.random.key(3)
    a = gaussian_noise(key, (4, 5), 1.0)
    assert a.shape == (4, 5) and a.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(a), np.asarray(gaussian_noise(key, (4, 5), 1.0)))
    b = gaussian_noise(jax.random.key(4), (4, 5), 1.0)
    assert not np.allclose(np.asarray(a), np.asarray(b))
    k1, k2 = jax.random.split(key)
    assert not np.allclose(
        np.asarray(gaussian_noise(k1, (4, 5), 1.0)), np.asarray(gaussian_noise(k2, (4, 5), 1.0))
    )
    # std scales one draw linearly; std 0 is no noise at all
    np.testing.assert_allclose(
        np.asarray(gaussian_noise(key, (4, 5), 3.0)), 3 * np.asarray(a), rtol=1e-6
    )
    np.testing.assert_array_equal(np.asarray(gaussian_noise(key, (4, 5), 0.0)), 0.0)


def test_gaussian_noise_vmaps_over_std():
    stds = jnp.array([0.0, 1.0, 4.0])
    z = jax.vmap(lambda s: gaussian_noise(jax.random.key(5), (50_000,), s))(stds)
    got = np.asarray(z, np.float64).std(axis=1)
    assert got[0] == 0.0
    np.testing.assert_allclose(got[1:], [1.0, 4.0], rtol=5 / np.sqrt(2 * 50_000))


# ------------------------------------------------------------------- symmetric Gaussian noise

N_DRAWS, N_CLASSES, DIM, STD = 20_000, 3, 5, 1.7


@pytest.fixture(scope="module")
def symmetric_draws():
    """N_DRAWS independent draws of a (N_CLASSES, DIM, DIM) batch of symmetric noise."""
    z = symmetric_gaussian_noise(jax.random.key(21), DIM, STD, (N_DRAWS, N_CLASSES))
    return np.asarray(z, np.float64)


def test_symmetric_noise_is_exactly_symmetric(symmetric_draws):
    z = symmetric_draws
    assert z.shape == (N_DRAWS, N_CLASSES, DIM, DIM)
    np.testing.assert_array_equal(z, np.swapaxes(z, -1, -2))
    single = np.asarray(symmetric_gaussian_noise(jax.random.key(0), DIM, 0.3))
    assert single.shape == (DIM, DIM)
    np.testing.assert_array_equal(single, single.T)


def test_symmetric_noise_every_entry_has_std(symmetric_draws):
    z = symmetric_draws.reshape(-1, DIM, DIM)  # classes are i.i.d. too
    n = len(z)
    entry_std = z.std(axis=0)  # (DIM, DIM): diagonal and off-diagonal alike
    # a common slip, z + z^T, would give 2*std on the diagonal and sqrt(2)*std off it
    assert np.abs(entry_std - STD).max() < 5 * STD / np.sqrt(2 * n), entry_std
    assert np.abs(z.mean(axis=0)).max() < 5 * STD / np.sqrt(n)
    iu = np.triu_indices(DIM)
    upper = z[:, iu[0], iu[1]] / STD
    assert stats.kstest(upper[:2000].ravel(), "norm").pvalue > 1e-3


def test_symmetric_noise_upper_triangle_uncorrelated(symmetric_draws):
    iu = np.triu_indices(DIM)
    upper = symmetric_draws[:, 0][:, iu[0], iu[1]]  # (N, 15), diagonal included
    corr = np.corrcoef(upper, rowvar=False)
    off = corr[~np.eye(len(corr), dtype=bool)]
    assert np.abs(off).max() < 5 / np.sqrt(N_DRAWS), np.abs(off).max()


def test_symmetric_noise_batch_is_independent(symmetric_draws):
    iu = np.triu_indices(DIM)
    # all classes' upper triangles side by side: (N, K * 15), every pair uncorrelated
    flat = symmetric_draws[:, :, iu[0], iu[1]].reshape(N_DRAWS, -1)
    corr = np.corrcoef(flat, rowvar=False)
    off = corr[~np.eye(len(corr), dtype=bool)]
    assert np.abs(off).max() < 5 / np.sqrt(N_DRAWS), np.abs(off).max()
    # within one (K, d, d) draw no two classes share their noise
    one = symmetric_draws[0]
    for i in range(N_CLASSES):
        for j in range(i + 1, N_CLASSES):
            assert not np.isclose(one[i], one[j]).any()


def test_symmetric_noise_keys():
    key = jax.random.key(8)
    a = np.asarray(symmetric_gaussian_noise(key, DIM, 1.0))
    np.testing.assert_array_equal(a, np.asarray(symmetric_gaussian_noise(key, DIM, 1.0)))
    b = np.asarray(symmetric_gaussian_noise(jax.random.key(9), DIM, 1.0))
    assert not np.isclose(a, b).any()
    np.testing.assert_array_equal(np.asarray(symmetric_gaussian_noise(key, DIM, 0.0)), 0.0)


# ------------------------------------------------------------------------------ PSD projection


def _eigen_clip(m, floor):
    """The definition: symmetrise, clip eigenvalues at floor (float64 NumPy)."""
    sym = (m + np.swapaxes(m, -1, -2)) / 2
    w, v = np.linalg.eigh(sym)
    return (v * np.maximum(w, floor)[..., None, :]) @ np.swapaxes(v, -1, -2)


def _random_symmetric(rng, d=6, batch=()):
    a = rng.normal(size=(*batch, d, d))
    return (a + np.swapaxes(a, -1, -2)) / 2


@pytest.mark.parametrize("floor", [0.0, 0.5])
def test_project_psd_eigenvalues_at_least_floor(floor):
    rng = np.random.default_rng(0)
    m = _random_symmetric(rng, batch=(20,))
    p = np.asarray(project_psd(jnp.asarray(m, jnp.float32), floor), np.float64)
    np.testing.assert_allclose(p, np.swapaxes(p, -1, -2), atol=1e-5)
    eig = np.linalg.eigvalsh((p + np.swapaxes(p, -1, -2)) / 2)
    assert eig.min() >= floor - 1e-5
    np.testing.assert_allclose(p, _eigen_clip(m, floor), atol=1e-4)


def test_project_psd_idempotent_and_identity_on_psd():
    rng = np.random.default_rng(1)
    m = jnp.asarray(_random_symmetric(rng, batch=(5,)), jnp.float32)
    p = project_psd(m)
    np.testing.assert_allclose(np.asarray(project_psd(p)), np.asarray(p), atol=1e-5)
    b = rng.normal(size=(5, 6, 6))
    psd = jnp.asarray(b @ np.swapaxes(b, -1, -2), jnp.float32)
    np.testing.assert_allclose(np.asarray(project_psd(psd)), np.asarray(psd), rtol=1e-4, atol=1e-4)


def test_project_psd_is_frobenius_nearest():
    rng = np.random.default_rng(2)
    m = rng.normal(size=(6, 6))  # not symmetric: the projection symmetrises first
    p = np.asarray(project_psd(jnp.asarray(m, jnp.float32)), np.float64)
    np.testing.assert_allclose(p, _eigen_clip(m, 0.0), atol=1e-4)
    np.testing.assert_allclose(
        p, np.asarray(project_psd(jnp.asarray((m + m.T) / 2, jnp.float32))), atol=1e-5
    )
    best = np.linalg.norm(m - p)
    # no PSD matrix is closer: random ones, and small PSD-preserving moves around p
    for _ in range(200):
        b = rng.normal(size=(6, 6)) * rng.uniform(0.1, 2.0)
        assert np.linalg.norm(m - b @ b.T) >= best - 1e-5
        e = rng.normal(size=(6, 6)) * 1e-2
        q = _eigen_clip(p + (e + e.T) / 2, 0.0)
        assert np.linalg.norm(m - q) >= best - 1e-5


def test_project_psd_batched_and_jit():
    rng = np.random.default_rng(3)
    m = jnp.asarray(_random_symmetric(rng, d=5, batch=(4,)), jnp.float32)
    batched = np.asarray(jax.jit(project_psd)(m, 0.1))
    for i in range(4):
        np.testing.assert_allclose(batched[i], np.asarray(project_psd(m[i], 0.1)), atol=1e-5)


# ------------------------------------------------------------------------ release sensitivity


@pytest.mark.parametrize("clip_norm", [0.5, 1.0, 3.0])
def test_symmetric_release_sensitivity_is_c_squared(clip_norm):
    """Upper triangle (diagonal included) of x x^T has L2 norm <= ||x||^2 = C^2."""
    rng = np.random.default_rng(4)
    d = 10
    iu = np.triu_indices(d)
    x = rng.normal(size=(2000, d)) * rng.uniform(0.01, 3.0, size=(2000, d))  # varied shapes
    x *= clip_norm / np.linalg.norm(x, axis=1, keepdims=True)
    outer = x[:, :, None] * x[:, None, :]
    upper_norm = np.linalg.norm(outer[:, iu[0], iu[1]], axis=1)
    assert (upper_norm <= clip_norm**2 * (1 + 1e-12)).all()
    # ||triu||^2 = (||x||^4 + sum x_i^4) / 2, so the bound is attained by a basis vector
    np.testing.assert_allclose(upper_norm**2, (clip_norm**4 + (x**4).sum(1)) / 2, rtol=1e-10)
    e = np.zeros(d)
    e[3] = clip_norm
    assert np.linalg.norm(np.outer(e, e)[iu]) == pytest.approx(clip_norm**2)


def test_one_extreme_example_moves_statistics_by_at_most_sensitivity():
    """Add one example of norm 1e3 to a clipped dataset: Gram moves <= C^2, X^T Y <= C."""
    rng = np.random.default_rng(5)
    c, d, k = 1.5, 8, 4
    x = np.asarray(clip_rows(jnp.asarray(_rows_with_mixed_norms(seed=6, d=d)), c), np.float64)
    y = np.eye(k)[rng.integers(0, k, len(x))]
    outlier = rng.normal(size=(1, d))
    outlier *= 1e3 / np.linalg.norm(outlier)
    xo = np.asarray(clip_rows(jnp.asarray(outlier, jnp.float32), c), np.float64)
    yo = np.eye(k)[[2]]
    iu = np.triu_indices(d)
    gram_diff = (x.T @ x + xo.T @ xo) - x.T @ x
    assert np.linalg.norm(gram_diff[iu]) <= c**2 * (1 + 1e-5)
    cross_diff = (x.T @ y + xo.T @ yo) - x.T @ y
    assert np.linalg.norm(cross_diff) <= c * (1 + 1e-5)
    # per-class Gram matrices, all classes together: only class 2's block moves
    per_class = lambda xs, ys: np.einsum("ni,nj,nk->kij", xs, xs, ys)  # noqa: E731
    diff = per_class(np.vstack([x, xo]), np.vstack([y, yo])) - per_class(x, y)
    assert np.linalg.norm(diff[:, iu[0], iu[1]]) <= c**2 * (1 + 1e-5)
