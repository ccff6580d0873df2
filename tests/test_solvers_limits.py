"""Zero-noise limits: epsilon = inf with no clipping binding reproduces the non-private
solvers, each written here independently in float64 NumPy from its textbook definition.

Features are already of norm C (so "normalize" is the identity) and the gradient clip norm is
huge (so clipping never binds). The data has the standard shapes of ``_solver_cases`` so
that the jit-compiled solvers are reused.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from _solver_cases import STEPS, D, K, N  # noqa: E402

from dptl.solvers import dp_fc, dp_least_squares, dp_newton, dp_sgd

C = 1.5
NO_CLIP = 1e6
INF = math.inf


@pytest.fixture(scope="module")
def data():
    """A separable mixture of K clusters, rows scaled to norm exactly C."""
    rng = np.random.default_rng(7)
    means = rng.normal(0, 1.5, (K, D))
    y = rng.integers(0, K, N).astype(np.int32)
    x = means[y] + rng.normal(size=(N, D))
    x = C * x / np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), y, np.eye(K)[y], x.astype(np.float32).astype(np.float64)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _no_noise(result):
    assert result.epsilon == INF
    assert all(r.noise_std == 0 for r in result.privacy.releases)


def test_least_squares_is_closed_form_ridge(data):
    x32, y, y1h, x = data
    ridge = 0.3
    res = dp_least_squares(
        jax.random.key(0), x32, y, epsilon=INF, num_classes=K, feature_norm=C, ridge=ridge
    )
    _no_noise(res)
    expect = np.linalg.solve(x.T @ x + ridge * np.eye(D), x.T @ y1h)
    np.testing.assert_allclose(res.weights, expect, rtol=1e-4, atol=1e-5 * np.abs(expect).max())
    np.testing.assert_array_equal(res.bias, 0)


def test_least_squares_default_ridge_without_noise_is_a_tiny_public_floor(data):
    x32, y, y1h, x = data
    res = dp_least_squares(jax.random.key(0), x32, y, epsilon=INF, num_classes=K, feature_norm=C)
    ridge = res.config["ridge"]
    assert ridge == pytest.approx(1e-4 * N * C**2 / D)
    expect = np.linalg.solve(x.T @ x + ridge * np.eye(D), x.T @ y1h)
    np.testing.assert_allclose(res.weights, expect, rtol=1e-4, atol=1e-5 * np.abs(expect).max())


def test_least_squares_alpha_is_the_reweighted_one_vs_all_ridge(data):
    """Class k minimises sum_{i in k} (1 - w^T x_i)^2 + alpha sum_{i not in k} (w^T x_i)^2
    + ridge ||w||^2: (X_k^T X_k + alpha X_{-k}^T X_{-k} + ridge I) w_k = X_k^T 1."""
    x32, y, y1h, x = data
    alpha, ridge = 0.3, 0.2
    res = dp_least_squares(
        jax.random.key(0),
        x32,
        y,
        epsilon=INF,
        num_classes=K,
        feature_norm=C,
        ridge=ridge,
        alpha=alpha,
    )
    _no_noise(res)
    for k in range(K):
        pos, neg = x[y == k], x[y != k]
        w = np.linalg.solve(pos.T @ pos + alpha * neg.T @ neg + ridge * np.eye(D), pos.sum(0))
        np.testing.assert_allclose(res.weights[:, k], w, rtol=1e-4, atol=1e-5 * np.abs(w).max())


def test_dp_gd_is_plain_gradient_descent_on_mean_softmax_cross_entropy(data):
    x32, y, y1h, x = data
    lr, steps = 5.0, STEPS["dp_gd"]
    res = dp_sgd(
        jax.random.key(0),
        x32,
        y,
        epsilon=INF,
        num_classes=K,
        feature_norm=C,
        steps=steps,
        learning_rate=lr,
        grad_clip=NO_CLIP,
        optimizer="sgd",
    )
    _no_noise(res)
    assert res.method == "dp_gd"
    w = np.zeros((D, K))
    for _ in range(steps):
        w -= lr * x.T @ (_softmax(x @ w) - y1h) / N  # gradient of the mean cross-entropy
    assert np.abs(w).max() > 0.5  # the steps moved far from the zero start
    np.testing.assert_allclose(res.weights, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("loss", ["softmax", "ova"])
def test_dp_fc_is_the_covariance_preconditioned_step(data, loss):
    """w <- w - lr (c X^T X + r I)^{-1} P X^T (p(X w) - Y), from zero, X the rows centred on
    their mean and rescaled to norm C: softmax p, c = 1/2 and P the projection onto zero-sum
    columns; one-vs-all sigmoid p, c = 1/4 and P = I. The ridge r damps the preconditioner
    only (no penalty on the loss)."""
    x32, y, y1h, x = data
    lr, ridge, steps = 0.7, 0.2, STEPS["dp_fc"]
    res = dp_fc(
        jax.random.key(0),
        x32,
        y,
        epsilon=INF,
        num_classes=K,
        feature_norm=C,
        loss=loss,
        steps=steps,
        learning_rate=lr,
        ridge=ridge,
        grad_clip=NO_CLIP,
    )
    _no_noise(res)
    # without noise the centre is the exact mean, and the rows are centred and rescaled to C
    np.testing.assert_allclose(res.center, x.mean(axis=0), rtol=1e-5, atol=1e-6)
    x = x - x.mean(axis=0)
    x = C * x / np.linalg.norm(x, axis=1, keepdims=True)
    c, link = (0.5, _softmax) if loss == "softmax" else (0.25, _sigmoid)
    precond = c * x.T @ x + ridge * np.eye(D)
    w = np.zeros((D, K))
    for _ in range(steps):
        grad = x.T @ (link(x @ w) - y1h)
        if loss == "softmax":
            grad -= grad.mean(axis=1, keepdims=True)
        w -= lr * np.linalg.solve(precond, grad)
    assert np.abs(w).max() > 0.5  # the steps moved far from the zero start
    np.testing.assert_allclose(res.weights, w, rtol=1e-4, atol=1e-5)


def _ova_objective(w, x, y1h, ridge):
    z = x @ w
    return float(np.sum(np.logaddexp(0, z) - y1h * z) + ridge / 2 * np.sum(w**2))


def test_dp_newton_is_exact_newton_on_ridge_one_vs_all_logistic(data):
    """Class k: w_k <- w_k - lr H_k^{-1} g_k, H_k = X^T diag(p_k (1 - p_k)) X + r I,
    g_k = X^T (p_k - y_k) + r w_k: Newton on sum_i log(1 + e^{z}) - y z + r/2 ||w||^2."""
    x32, y, y1h, x = data
    lr, ridge, steps = 1.0, 0.5, STEPS["dp_newton"]
    res = dp_newton(
        jax.random.key(0),
        x32,
        y,
        epsilon=INF,
        num_classes=K,
        feature_norm=C,
        steps=steps,
        learning_rate=lr,
        ridge=ridge,
        grad_clip=NO_CLIP,
    )
    _no_noise(res)
    w = np.zeros((D, K))
    objective = [_ova_objective(w, x, y1h, ridge)]
    for _ in range(steps):
        p = _sigmoid(x @ w)
        for k in range(K):
            h = (x * (p[:, k] * (1 - p[:, k]))[:, None]).T @ x + ridge * np.eye(D)
            g = x.T @ (p[:, k] - y1h[:, k]) + ridge * w[:, k]
            w[:, k] -= lr * np.linalg.solve(h, g)
        objective.append(_ova_objective(w, x, y1h, ridge))
    assert objective[-1] < 0.6 * objective[0]  # Newton makes fast progress
    np.testing.assert_allclose(res.weights, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("solver", [dp_least_squares, dp_sgd, dp_newton, dp_fc])
def test_non_private_solvers_fit_an_easy_problem(data, solver):
    x32, y, _, _ = data
    kw = (
        {}
        if solver is dp_least_squares
        else {"steps": STEPS[{dp_sgd: "dp_gd", dp_newton: "dp_newton", dp_fc: "dp_fc"}[solver]]}
    )
    res = solver(jax.random.key(0), x32, y, epsilon=INF, num_classes=K, feature_norm=C, **kw)
    assert res.accuracy(x32, y) > 0.9
    np.testing.assert_array_equal(res.predict(x32), np.argmax(res.logits(x32), axis=1))
