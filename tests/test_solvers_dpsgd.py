"""DP-SGD: real Poisson sampling, logical batches by accumulation, and its accounting.

The Poisson runs share the shapes and static arguments of ``_solver_cases.poisson_run``
(n = 400, d = 16, K = 4, expected batch 40, 10 steps) so that the compiled step is reused.
"""

from __future__ import annotations

import math

import dp_accounting as dpa
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _solver_cases import POISSON, poisson_run, release  # noqa: E402

from dptl.privacy import epsilon_of_event
from dptl.solvers import dp_sgd
from dptl.solvers.dpsgd import dpsgd_weights, physical_chunk
from dptl.solvers.inputs import prepare_inputs

P = POISSON
Q = P["batch_size"] / P["n"]
GROUPS = P["d"]  # example i has feature vector e_{i // 25}: 16 groups of 25 examples
GROUP_SIZE = P["n"] // GROUPS


def _batch_counts(seed):
    """Per-step, per-group batch counts of a noiseless DP-SGD run, read off the weights.

    Every example has label 0 and features e_{group}; at W ~ 0 (tiny learning rate) its
    gradient is e_group (1/K - e_0)^T, so step t moves w[group, 0] by
    lr * count_{t, group} * (1 - 1/K) / (q n): the weights count the sampled examples.
    """
    lr = 1e-3
    x = np.repeat(np.eye(GROUPS, dtype=np.float32), GROUP_SIZE, axis=0)
    y = np.zeros(P["n"], np.int32)
    res = dp_sgd(
        jax.random.key(seed),
        x,
        y,
        epsilon=math.inf,
        num_classes=P["k"],
        batch_size=P["batch_size"],
        steps=P["steps"],
        learning_rate=lr,
        optimizer="sgd",
        grad_clip=10.0,
        record_weights=True,
    )
    w = np.concatenate([np.zeros((1, GROUPS, P["k"])), np.asarray(res.history["weights"], float)])
    return np.diff(w, axis=0)[:, :, 0] * P["batch_size"] / (lr * (1 - 1 / P["k"]))


def test_poisson_sampling_is_real():
    counts = np.concatenate([_batch_counts(seed) for seed in range(10)])  # (100 steps, groups)
    # whole examples are counted (the update is divided by the *expected* batch size q n)
    np.testing.assert_allclose(counts, np.round(counts), atol=0.02)
    counts = np.round(counts)
    sizes = counts.sum(axis=1)
    qn, var = Q * P["n"], P["n"] * Q * (1 - Q)  # Binomial(n, q) batch sizes
    assert len(np.unique(sizes)) > 5  # the batch size varies
    assert abs(sizes.mean() - qn) < 5 * math.sqrt(var / sizes.size)
    assert 0.5 * var < sizes.var(ddof=1) < 1.6 * var
    # every part of the data set is sampled at rate q (not a prefix, not a fixed subset)
    per_group = counts.mean(axis=0)
    assert np.all(
        np.abs(per_group - Q * GROUP_SIZE)
        < 5 * math.sqrt(GROUP_SIZE * Q * (1 - Q) / counts.shape[0])
    )
    assert counts.max() <= GROUP_SIZE


def test_logical_batch_by_accumulation_gives_the_same_weights():
    """Physical chunks of 7 rows (fewer than any batch) vs dp_sgd's default chunk (the
    expected batch plus 4 standard deviations): same key, same noise (added once per
    logical step), same weights."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(P["n"], P["d"])).astype(np.float32)
    y = rng.integers(0, P["k"], P["n"])
    xp, y1h, _ = prepare_inputs(x, y, P["k"], 1.0, "normalize")
    w0 = jnp.zeros((P["d"], P["k"]))
    key = jax.random.key(11)

    def run(physical):  # keyword order as in dp_sgd, so the compiled step is reused
        return dpsgd_weights(
            key,
            (xp, y1h),
            w0,
            2.0,
            0.5,
            1.0,
            steps=P["steps"],
            optimizer="sgd",
            sampling_rate=Q,
            num_examples=P["n"],
            physical_batch_size=physical,
            record_weights=True,
        )[0]

    big, small = run(physical_chunk(Q, P["n"])), run(7)  # dp_sgd's default chunk, and 7
    np.testing.assert_allclose(small, big, rtol=1e-5, atol=1e-6)
    assert np.abs(np.asarray(big)).max() > 0.01
    # the same through dp_sgd's physical_batch_size (noiseless here; the noise is above)
    kw = dict(
        epsilon=math.inf,
        batch_size=P["batch_size"],
        steps=P["steps"],
        record_weights=True,
        num_classes=P["k"],
    )
    default = dp_sgd(key, x, y, **kw)
    chunked = dp_sgd(key, x, y, physical_batch_size=7, **kw)
    np.testing.assert_allclose(chunked.weights, default.weights, rtol=1e-5, atol=1e-6)


def test_subsampled_run_is_accounted_with_pld():
    res = poisson_run()
    privacy = res.privacy
    rel = release(res, "clipped gradient sum")
    assert privacy.accountant == "pld"
    assert privacy.delta == P["delta"]
    assert rel.count == P["steps"] and rel.sampling_rate == pytest.approx(Q)
    assert rel.sensitivity == 1.0  # grad_clip
    assert 0.999 * P["epsilon"] <= privacy.epsilon <= P["epsilon"]
    # re-check with dp_accounting directly, from the stated noise multiplier
    acc = dpa.pld.PLDAccountant(dpa.NeighboringRelation.ADD_OR_REMOVE_ONE)
    acc.compose(dpa.PoissonSampledDpEvent(Q, dpa.GaussianDpEvent(rel.noise_multiplier)), P["steps"])
    assert acc.get_epsilon(P["delta"]) == pytest.approx(privacy.epsilon, rel=1e-3)
    assert epsilon_of_event(privacy.dp_event, P["delta"]) == pytest.approx(P["epsilon"], rel=1e-3)
    # RDP is an upper bound of the same event, looser than PLD
    assert epsilon_of_event(privacy.dp_event, P["delta"], "rdp") > privacy.epsilon
    # without amplification by sampling the same noise would cost far more
    full = dpa.pld.PLDAccountant(dpa.NeighboringRelation.ADD_OR_REMOVE_ONE)
    full.compose(dpa.GaussianDpEvent(rel.noise_multiplier), P["steps"])
    assert full.get_epsilon(P["delta"]) > 3 * privacy.epsilon
