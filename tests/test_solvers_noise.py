"""Noise: every release gets Gaussian noise of the stated std, independent across classes,
steps and releases, fresh for every key, and the same key gives the same result.

The solvers do not return their noisy statistics, so the noise is recovered from the
weights through the update rules, which are linear in the noise in these set-ups:

- the Gaussian mechanism's noise does not depend on the data, so runs with the same key on
  the same features but different labels share their noise; the stacked solutions of the
  linear systems ``(A + N + ridge I) w_j = b_j`` then determine the symmetric noise N;
- on all-zero features every clipped gradient is zero, so a gradient step moves the weights
  by the gradient noise alone (exactly for DP-GD, up to 1e-4 for a huge ridge otherwise).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _solver_cases import (  # noqa: E402
    DELTA,
    FEATURE_NORM,
    GRAD_CLIP,
    POISSON,
    STANDARD_SOLVERS,
    STEPS,
    D,
    K,
    N,
    poisson_run,
    release,
    run_standard,
    standard_data,
    standard_run,
)

from dptl.solvers import dp_fc, dp_least_squares, dp_newton, dp_sgd, statistics
from dptl.solvers.fc import fc_weights, noisy_feature_mean
from dptl.solvers.inputs import prepare_inputs
from dptl.solvers.least_squares import least_squares_weights
from dptl.solvers.newton import newton_weights

NO_CLIP = 1e6  # a clip norm that never binds: per-example gradients have norm <= C sqrt(K)


# ---------------------------------------------------------------- helpers


def _std_ok(samples, std, n_sigma=5.0):
    """Empirical std of zero-mean samples within n_sigma standard errors of ``std``."""
    samples = np.asarray(samples, np.float64).ravel()
    rel = np.sqrt(np.mean(samples**2)) / std
    tol = n_sigma / np.sqrt(2 * samples.size)
    assert abs(rel - 1) < tol, f"empirical std / stated = {rel:.4f} (tolerance {tol:.3f})"
    assert abs(samples.mean()) < n_sigma * std / np.sqrt(samples.size)


def _uncorrelated(a, b, label):
    """Samples (S, p) and (S, q): pooled same-position correlation and (for S >= 30) every
    pairwise one near zero (a shared or reused noise draw gives correlation 1)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    s = a.shape[0]
    m = min(a.shape[1], b.shape[1])
    pooled = np.corrcoef(a[:, :m].ravel(), b[:, :m].ravel())[0, 1]
    assert abs(pooled) < 5 / np.sqrt(s * m), (label, pooled)
    if s < 30:
        return
    za = (a - a.mean(0)) / a.std(0)
    zb = (b - b.mean(0)) / b.std(0)
    pairwise = np.abs(za.T @ zb / s)
    assert pairwise.max() < min(0.9, 6 / np.sqrt(s)), (label, pairwise.max())


def _upper(m):
    iu = np.triu_indices(m.shape[-1])
    return np.asarray(m)[..., iu[0], iu[1]]


def _check_symmetric_noise(noise, std):
    """(…, d, d) recovered noise: symmetric, upper triangle (diagonal included) N(0, std^2)."""
    noise = np.asarray(noise, np.float64)
    np.testing.assert_allclose(noise, np.swapaxes(noise, -1, -2), atol=2e-3 * std)
    d = noise.shape[-1]
    _std_ok(noise[..., np.arange(d), np.arange(d)], std)
    _std_ok(noise[..., np.triu_indices(d, 1)[0], np.triu_indices(d, 1)[1]], std)


def _label_sets(num_sets, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, K, N) for _ in range(num_sets)]).astype(np.int32)


def _prepared(labels):
    """The standard features (normalised to C) and one-hot labels, as numpy float64."""
    x, _ = standard_data()
    xp, y1h, _ = prepare_inputs(x, labels, K, FEATURE_NORM, "normalize")
    return np.asarray(xp, np.float64), np.asarray(y1h, np.float64)


def _over_keys(fn, keys, *args):
    """Stack fn(key, *args) over keys, one call per key: the key stays unbatched (XLA
    compiles a vmap over keys of the random number generator very slowly on CPU)."""
    return np.stack([np.asarray(fn(key, *args), np.float64) for key in keys])


def _solve_right(w_cols, r_cols):
    """M with M @ w_cols = r_cols (columns stacked; exactly determined or least squares)."""
    return np.linalg.lstsq(w_cols.T, r_cols.T, rcond=None)[0].T


# ---------------------------------------------------------------- least squares


def test_least_squares_noise_has_the_stated_std_and_is_independent():
    """Solver level: W_j = (A + N_A + r I)^{-1} (B_j + N_B) for four label sets, same key.

    (A + N_A + r I)(W_1 - W_j) = B_1 - B_j determines N_A (each difference has rank K - 1,
    as the columns of B_j always sum to X^T 1), then N_B = (A + N_A + r I) W_1 - B_1.
    epsilon = 8 keeps A + N_A positive definite, so the PSD projection is the identity.
    """
    x, _ = standard_data()
    labels = _label_sets(4)
    ridge = 1.0
    xp, _ = _prepared(labels[0])
    a = xp.T @ xp
    noise_a, noise_b = [], []
    for seed in range(40):
        key = jax.random.key(seed)
        results = [
            dp_least_squares(
                key,
                x,
                y,
                epsilon=8.0,
                delta=DELTA,
                num_classes=K,
                feature_norm=FEATURE_NORM,
                ridge=ridge,
            )
            for y in labels
        ]
        ws = [np.asarray(r.weights, np.float64) for r in results]
        bs = [_prepared(y)[0].T @ _prepared(y)[1] for y in labels]
        m = _solve_right(
            np.hstack([ws[0] - w for w in ws[1:]]), np.hstack([bs[0] - b for b in bs[1:]])
        )
        noise_a.append(m - ridge * np.eye(D) - a)
        noise_b.append(m @ ws[0] - bs[0])
    cov_std = release(results[0], "X^T X").noise_std
    xty_std = release(results[0], "X^T Y").noise_std
    assert cov_std > 0 and xty_std > 0
    _check_symmetric_noise(noise_a, cov_std)
    _std_ok(noise_b, xty_std)
    _uncorrelated(_upper(np.array(noise_a)), np.array(noise_b).reshape(40, -1), "X^T X vs X^T Y")
    _uncorrelated(np.array(noise_b)[:, :, 0], np.array(noise_b)[:, :, 1], "X^T Y classes 0, 1")
    assert not np.allclose(noise_a[0], noise_a[1])  # fresh noise for every key


def test_per_class_gram_noise_is_independent_across_classes():
    """The alpha variant: class k solves (G~_k + alpha (G~ - G~_k) + r I) w_k = b_k with
    G~_k = G_k + N_k. With the X^T Y noise off, d label sets (same key) determine
    E_k = (1 - alpha) N_k + alpha sum_j N_j for every class, hence every N_k."""
    alpha, ridge, std = 0.5, 1.0, 0.7
    labels = _label_sets(D, seed=1)
    prepared = [_prepared(y) for y in labels]
    chunked = [statistics.shard_rows(*(jnp.asarray(a, jnp.float32) for a in p)) for p in prepared]
    xc = chunked[0][0]
    yc = jnp.stack([c[1] for c in chunked])
    keys = jax.random.split(jax.random.key(5), 60)
    solve = jax.jit(
        jax.vmap(
            lambda key, yc: least_squares_weights(key, xc, yc, std, 0.0, ridge, alpha=alpha),
            in_axes=(None, 0),
        )
    )
    w = _over_keys(solve, keys, yc)  # (keys, label sets, d, K)
    xp = prepared[0][0]
    grams = np.stack([np.einsum("nk,nd,ne->kde", y1h, xp, xp) for _, y1h in prepared])
    systems = (1 - alpha) * grams + alpha * grams.sum(1, keepdims=True) + ridge * np.eye(D)
    b = np.stack([xp.T @ y1h for _, y1h in prepared])  # (label sets, d, K)
    noise = np.empty((len(keys), K, D, D))
    for s in range(len(keys)):
        e = np.stack(
            [
                _solve_right(
                    w[s, :, :, k].T,
                    (b[:, :, k] - np.einsum("jde,je->jd", systems[:, k], w[s, :, :, k])).T,
                )
                for k in range(K)
            ]
        )
        total = e.sum(0) / (1 - alpha + alpha * K)
        noise[s] = (e - alpha * total) / (1 - alpha)
    _check_symmetric_noise(noise, std)
    for k in range(K):
        for j in range(k):
            _uncorrelated(_upper(noise[:, k]), _upper(noise[:, j]), f"class Grams {k}, {j}")


# ---------------------------------------------------------------- DP-FC and DP-Newton


def test_fc_covariance_noise_has_the_given_std():
    """fc_weights with the gradient noise off, one step of size 1 from zero:
    w = -(proj(A + N)/4 + r I)^{-1} g with g = X^T (1/2 - Y); three label sets give d
    independent columns (sum_k g_k = X^T 1 (K/2 - 1) whatever the labels)."""
    ridge, std = 1.0, 0.7
    labels = _label_sets(3, seed=2)
    prepared = [_prepared(y) for y in labels]
    xc = statistics.shard_rows(jnp.asarray(prepared[0][0], jnp.float32))[0]
    yc = jnp.stack([statistics.shard_rows(jnp.asarray(p[1], jnp.float32))[0] for p in prepared])
    keys = jax.random.split(jax.random.key(6), 60)
    run = jax.jit(
        jax.vmap(
            lambda key, yc: fc_weights(
                key, xc, yc, std, 0.0, NO_CLIP, ridge, 1.0, steps=1, loss="ova"
            )[0],
            in_axes=(None, 0),
        )
    )
    w = _over_keys(run, keys, yc)  # (keys, label sets, d, K)
    xp = prepared[0][0]
    g = np.hstack([xp.T @ (0.5 - y1h) for _, y1h in prepared])
    noise = [
        4 * (_solve_right(np.hstack(list(w[s])), -g) - ridge * np.eye(D)) - xp.T @ xp
        for s in range(len(keys))
    ]
    _check_symmetric_noise(noise, std)


def test_newton_hessian_noise_has_the_given_std_and_is_independent_across_classes():
    """newton_weights with the gradient noise off, one step from zero: all p = 1/2, so
    H_k = X^T X / 4 for every class and label set, w_k = -(H + N_k + r I)^{-1} g_k; d label
    sets (same key) determine every N_k."""
    ridge, std = 1.0, 0.7
    labels = _label_sets(D, seed=3)
    prepared = [_prepared(y) for y in labels]
    xc = statistics.shard_rows(jnp.asarray(prepared[0][0], jnp.float32))[0]
    yc = jnp.stack([statistics.shard_rows(jnp.asarray(p[1], jnp.float32))[0] for p in prepared])
    keys = jax.random.split(jax.random.key(7), 60)
    run = jax.jit(
        jax.vmap(
            lambda key, yc: newton_weights(key, xc, yc, std, 0.0, NO_CLIP, ridge, 1.0, steps=1)[0],
            in_axes=(None, 0),
        )
    )
    w = _over_keys(run, keys, yc)  # (keys, label sets, d, K)
    xp = prepared[0][0]
    h = xp.T @ xp / 4
    g = np.stack([xp.T @ (0.5 - y1h) for _, y1h in prepared])  # (label sets, d, K)
    noise = np.stack(
        [
            np.stack(
                [
                    _solve_right(w[s, :, :, k].T, -g[:, :, k].T) - ridge * np.eye(D) - h
                    for k in range(K)
                ]
            )
            for s in range(len(keys))
        ]
    )
    _check_symmetric_noise(noise, std)
    for k in range(K):
        for j in range(k):
            _uncorrelated(_upper(noise[:, k]), _upper(noise[:, j]), f"Hessians {k}, {j}")


@pytest.mark.parametrize("solver", ["dp_fc", "dp_newton"])
def test_gradient_noise_on_zero_features_has_the_stated_std(solver):
    """On zero features the clipped gradient sums are 0 and the Hessians / covariance are
    pure noise, tiny against a huge ridge r: with lr = 1, DP-Newton's w_{t+1} ~= -N_t / r
    (its loss has the penalty r/2 ||w||^2; error ~1e-4), DP-FC's w_T ~= -sum_t N_t / r (r
    only damps its preconditioner), whose entries have std sqrt(T) s. DP-FC runs its
    one-vs-all loss here (the softmax loss's projection of the noise onto zero-sum columns
    is checked in test_fc_softmax_noise_is_projected_onto_zero_sum_columns)."""
    x = np.zeros((N, D), np.float32)
    y = np.arange(N) % K
    # DP-FC uncentred: centred zero rows would be the centre's noise direction (the centre's
    # noise is checked in test_fc_center_noise_has_the_stated_std)
    fc = functools.partial(dp_fc, loss="ova", learning_rate=1.0, center_share=0.0)
    fn = fc if solver == "dp_fc" else dp_newton
    kw = dict(
        epsilon=1.0,
        delta=DELTA,
        num_classes=K,
        feature_norm=FEATURE_NORM,
        grad_clip=GRAD_CLIP,
        steps=STEPS[solver],
    )
    matrix_std = fn(jax.random.key(0), x, y, **kw).privacy.releases[0].noise_std
    ridge = 1e4 * matrix_std * np.sqrt(D)
    noise = []
    for seed in range(30):
        res = fn(jax.random.key(seed), x, y, ridge=ridge, **kw)
        noise.append(-ridge * np.asarray(res.weights, np.float64))
    grad_std = release(res, "clipped gradient sum").noise_std
    noise = np.array(noise)
    _std_ok(noise, grad_std * (np.sqrt(STEPS[solver]) if solver == "dp_fc" else 1.0))
    for k in range(K):
        for j in range(k):
            _uncorrelated(noise[:, :, k], noise[:, :, j], f"{solver} gradient classes {k}, {j}")


@pytest.mark.parametrize("core", ["fc ova", "fc softmax", "newton"])
def test_gradient_noise_is_independent_across_steps(core):
    """Cores on zero features with the matrix noise off: the preconditioner is exactly r I.

    DP-Newton (its loss has the penalty r/2 ||w||^2): with lr = 1, w_{t+1} = -N_t / r and the
    recorded noisy gradient of step t >= 1 is N_t + r w_t = N_t - N_{t-1}: its squared norm
    is 2 d K s^2 on average for independent steps (0 if a step reused the previous step's
    noise). DP-FC (r only damps the preconditioner): w_T = -sum_t N_t / r, whose squared
    norm is T d K s^2 / r^2 for independent steps (T^2 d K s^2 / r^2 if every step reused
    one draw), and every recorded gradient is N_t alone. DP-FC's softmax loss projects the
    noise onto the zero-sum columns first (post-processing): d (K - 1) in place of d K."""
    xc, yc = statistics.shard_rows(
        np.zeros((N, D), np.float32), np.asarray(jax.nn.one_hot(np.arange(N) % K, K))
    )
    if core == "newton":
        fn, steps, kw, dof = newton_weights, STEPS["dp_newton"], {}, D * K
    else:
        loss = core.split()[1]
        fn, steps, kw = fc_weights, STEPS["dp_fc"], {"loss": loss}
        dof = D * (K - 1) if loss == "softmax" else D * K
    std, ridge = 0.8, 50.0
    runs = [
        fn(jax.random.key(s), xc, yc, 0.0, std, GRAD_CLIP, ridge, 1.0, steps=steps, **kw)
        for s in range(40)
    ]
    norms = np.array([np.asarray(h["noisy_grad_norm"]) for _, h in runs]) ** 2 / (dof * std**2)
    assert norms[:, 0].mean() == pytest.approx(1.0, abs=5 * np.sqrt(2 / (dof * 40)))
    if core == "newton":
        assert norms[:, 1:].mean() == pytest.approx(
            2.0, abs=10 * np.sqrt(2 / (dof * norms[:, 1:].size))
        )
        return
    assert norms[:, 1:].mean() == pytest.approx(1.0, abs=10 * np.sqrt(2 / (dof * norms.size)))
    final = np.array([np.sum((ridge * np.asarray(w, np.float64)) ** 2) for w, _ in runs])
    assert steps > 1
    assert final.mean() / (dof * std**2 * steps) == pytest.approx(
        1.0, abs=5 * np.sqrt(2 / (dof * 40))
    )


def test_fc_softmax_noise_is_projected_onto_zero_sum_columns():
    """Zero features, no covariance noise, one step: w = -P N / r with P = I - 1 1^T / K on
    the classes: every row of w sums to zero, and the entries have variance s^2 (K-1)/K."""
    xc, yc = statistics.shard_rows(
        np.zeros((N, D), np.float32), np.asarray(jax.nn.one_hot(np.arange(N) % K, K))
    )
    std, ridge = 0.8, 2.0
    w = np.stack(
        [
            np.asarray(
                fc_weights(
                    jax.random.key(s), xc, yc, 0.0, std, 1.0, ridge, 1.0, steps=1, loss="softmax"
                )[0]
            )
            for s in range(200)
        ]
    )
    np.testing.assert_allclose(w.sum(axis=2), 0.0, atol=1e-5)
    var = (ridge * w).var()
    assert var == pytest.approx(std**2 * (K - 1) / K, rel=0.1)


# ---------------------------------------------------------------- DP-GD / DP-SGD


def test_dp_gd_noise_has_the_stated_std_and_is_independent_across_classes_and_steps():
    """Zero features, plain SGD from zero: w_{t+1} - w_t = -lr N_t / n exactly."""
    x = np.zeros((N, D), np.float32)
    y = np.arange(N) % K
    lr, steps = 1.0, 20
    noise = []
    for seed in range(5):
        res = dp_sgd(
            jax.random.key(seed),
            x,
            y,
            epsilon=1.0,
            delta=DELTA,
            num_classes=K,
            steps=steps,
            learning_rate=lr,
            optimizer="sgd",
            grad_clip=GRAD_CLIP,
            record_weights=True,
        )
        w = np.concatenate([np.zeros((1, D, K)), np.asarray(res.history["weights"])])
        noise.append(-N * np.diff(w, axis=0) / lr)
    noise = np.array(noise)  # (seeds, steps, d, K)
    std = release(res, "clipped gradient sum").noise_std
    assert release(res, "clipped gradient sum").count == steps
    _std_ok(noise, std)
    flat = noise.reshape(-1, D, K)
    for k in range(K):
        for j in range(k):
            _uncorrelated(flat[:, :, k], flat[:, :, j], f"DP-GD classes {k}, {j}")
    _uncorrelated(
        noise[:, :-1].reshape(-1, D * K), noise[:, 1:].reshape(-1, D * K), "DP-GD steps t, t+1"
    )


def test_dp_sgd_noise_is_added_to_the_sum_and_divided_by_the_expected_batch():
    """Poisson DP-SGD on zero features: w_{t+1} - w_t = -lr N_t / (q n), N_t ~ N(0, s^2)."""
    p = POISSON
    res = poisson_run()
    w = np.concatenate([np.zeros((1, p["d"], p["k"])), np.asarray(res.history["weights"])])
    noise = -p["batch_size"] * np.diff(w, axis=0) / p["learning_rate"]  # q n = batch_size
    _std_ok(noise, release(res, "clipped gradient sum").noise_std)
    _uncorrelated(
        noise[:-1].reshape(p["steps"] - 1, -1),
        noise[1:].reshape(p["steps"] - 1, -1),
        "DP-SGD steps t, t+1",
    )


# ---------------------------------------------------------------- keys


@pytest.mark.parametrize("solver", STANDARD_SOLVERS)
def test_same_key_same_result_other_key_other_result(solver):
    first = standard_run(solver)
    again = run_standard(solver, jax.random.key(0))
    other = run_standard(solver, jax.random.key(1))
    np.testing.assert_array_equal(np.asarray(first.weights), np.asarray(again.weights))
    assert first.privacy == again.privacy
    assert not np.allclose(np.asarray(first.weights), np.asarray(other.weights), atol=1e-6)
    assert np.all(np.isfinite(np.asarray(first.weights)))


def test_fc_center_noise_has_the_stated_std():
    """DP-FC's centre: n c - sum_i x_i is the feature-sum release's noise, N(0, s^2 I) with
    the stated s, independent across coordinates and fresh for every key (the key that
    draws it is split off before the covariance and the steps: test below)."""
    res = standard_run("dp_fc")
    std = release(res, "feature sum (centre)").noise_std
    x, y = standard_data()
    xp, y1h, _ = prepare_inputs(x, y, K, FEATURE_NORM, "normalize")
    xc, yc = statistics.shard_rows(xp, y1h)
    total = np.asarray(xp, np.float64).sum(0)
    keys = jax.random.split(jax.random.key(7), 400)
    means = jax.vmap(lambda k: noisy_feature_mean(k, xc, yc, std))(keys)
    noise = N * np.asarray(means, np.float64) - total
    _std_ok(noise, std)
    for i in range(D):
        for j in range(i):
            _uncorrelated(noise[:, i : i + 1], noise[:, j : j + 1], f"centre {i}, {j}")


def test_solvers_pass_their_stated_noise_stds_to_the_cores():
    """Each solver's weights are its pure core's at the stated noise stds (same key), so the
    core-level noise checks above apply to the stds reported in result.privacy."""
    x, y = standard_data()
    xp, y1h, _ = prepare_inputs(x, y, K, FEATURE_NORM, "normalize")
    xc, yc = statistics.shard_rows(xp, y1h)
    key = jax.random.key(0)
    for name, core in [("dp_fc", fc_weights), ("dp_newton", newton_weights)]:
        res = standard_run(name)
        stds = [r.noise_std for r in res.privacy.releases]
        k, centring = key, {}
        if name == "dp_fc":  # the centre first, with its own key, then the core with it
            cov_std, grad_std, center_std = stds
            stds = [cov_std, grad_std]
            k, k_center = jax.random.split(key)
            center = noisy_feature_mean(k_center, xc, yc, center_std)
            np.testing.assert_allclose(res.center, center, rtol=1e-5, atol=1e-7)
            centring = {"center": center, "feature_norm": FEATURE_NORM}
        expect = core(
            k,
            xc,
            yc,
            *stds,
            GRAD_CLIP,
            res.config["ridge"],
            res.config["learning_rate"],
            steps=STEPS[name],
            **({"loss": res.config["loss"], **centring} if name == "dp_fc" else {}),
        )[0]
        np.testing.assert_allclose(res.weights, expect, rtol=1e-5, atol=1e-7)
    # (plain least squares is checked against its stated stds at the solver level above)
    res = standard_run("dp_least_squares_alpha")
    stds = [r.noise_std for r in res.privacy.releases]
    core = jax.jit(least_squares_weights, static_argnames="alpha")
    expect = core(key, xc, yc, *stds, res.config["ridge"], alpha=0.5)
    np.testing.assert_allclose(res.weights, expect, rtol=1e-4, atol=1e-6)
