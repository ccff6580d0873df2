"""Running a mechanism many times on D and D' and turning the runs into eps_lb.

Protocol of :func:`audit` (``trials`` runs on each dataset, fresh noise every run):

1. Selection runs (a fraction of ``trials``): the release, flattened to a vector o, is
   reduced to a score s = <o - m_0, w> with Fisher's linear discriminant
   w = S^{-1} (m_1 - m_0) (m_0, m_1: mean release on D and D'; S: pooled covariance of the
   coordinates). For Gaussian noise with a fixed covariance this is the likelihood-ratio
   (Neyman-Pearson optimal) test's statistic, learned from the runs instead of from the
   code; the full covariance lets it exploit noise that is wrongly shared between
   coordinates (e.g. between classes). On these
   runs :func:`~dptl.audit.bounds.choose_threshold` also picks the threshold and side.
2. Evaluation runs (the rest, with other keys): the *fixed* test is applied once and
   :func:`~dptl.audit.bounds.epsilon_lower_bound` turns its counts into
   eps_lb = log((TPR_lo - delta) / FPR_hi), valid with probability >= ``confidence``.

Run i on dataset j uses the key fold_in(k_{phase, j}, i): keys are never reused, runs are
vmapped over them in fixed-size chunks (one compilation per mechanism), and the runs of an
audit with fewer trials are a prefix of those of a larger one, so :func:`audit_curve`
shows one growing experiment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dptl import _validate
from dptl.audit.bounds import ThresholdRule, choose_threshold, epsilon_lower_bound
from dptl.audit.clopper_pearson import check_confidence
from dptl.audit.mechanisms import AuditedMechanism

__all__ = ["AuditResult", "audit", "audit_curve", "sample_releases"]

CHUNK = 8192  # runs per vmapped call


@dataclasses.dataclass(frozen=True, kw_only=True)
class AuditResult:
    """One audit: the claim, the empirical lower bound, and the counts behind it."""

    name: str
    broken: str
    claimed_epsilon: float
    true_epsilon: float
    delta: float
    confidence: float
    trials: int
    selection_trials: int
    epsilon_lower_bound: float
    test: ThresholdRule
    true_positives: int
    positives: int
    false_positives: int
    negatives: int
    # evaluation scores on D and D' (only with keep_scores=True)
    scores: tuple | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def caught(self) -> bool:
        """The runs prove (at ``confidence``) that the claim is false."""
        return self.epsilon_lower_bound > self.claimed_epsilon

    def __str__(self) -> str:
        what = self.name + (f" [BROKEN: {self.broken}]" if self.broken else "")
        return (
            f"{what}: claimed eps {self.claimed_epsilon:g}, audited eps >= "
            f"{self.epsilon_lower_bound:.3f} ({self.confidence:.0%} conf., {self.trials} runs "
            f"per dataset; TP {self.true_positives}/{self.positives}, FP "
            f"{self.false_positives}/{self.negatives})" + ("  CAUGHT" if self.caught else "")
        )


_COMPILED: dict = {}


def _runner(mech: AuditedMechanism):
    """jit(vmap) over run indices i of observe(release(fold_in(key, i), x, y, scales)).

    Cached per release function (and symmetric names): the data and the scales are traced
    arguments, so every mechanism built on one release function shares one compilation.
    """
    cache_key = (mech.release, mech.symmetric)
    fn = _COMPILED.get(cache_key)
    if fn is None:

        def run(key, index, x, y, scales):
            return mech.observe(mech.release(jax.random.fold_in(key, index), x, y, scales))

        runs = jax.vmap(run, in_axes=(None, 0, None, None, None))
        chunk = lambda key, start, x, y, scales: runs(
            key, start + jnp.arange(CHUNK, dtype=jnp.uint32), x, y, scales
        )
        fn = _COMPILED[cache_key] = jax.jit(chunk)
    return fn


def sample_releases(
    mech: AuditedMechanism, key: jax.Array, runs: int, *, canary: bool
) -> np.ndarray:
    """(runs, m) flattened releases of runs 0..runs-1 on D' (canary) or D."""
    runs = _validate.check_positive_int("runs", runs)
    fn = _runner(mech)
    x, y = mech.with_canary if canary else mech.without
    out = []
    for lo in range(0, runs, CHUNK):
        # always CHUNK runs (one shape, one compilation); the excess is dropped
        block = np.asarray(fn(key, np.uint32(lo), x, y, mech.scales), np.float64)
        out.append(block[: runs - lo])
    return np.concatenate(out)


def _split_trials(trials, selection_fraction) -> tuple[int, int]:
    trials = _validate.check_positive_int("trials", trials, minimum=2)
    f = _validate.check_open_unit("selection_fraction", selection_fraction)
    sel = min(trials - 1, max(1, round(f * trials)))
    return sel, trials - sel


def _keys(key):
    if not isinstance(key, jax.Array) or key.shape not in ((), (2,)):
        raise TypeError(f"key must be a jax.random key (jax.random.key or PRNGKey), got {key!r}")
    k_sel, k_eval = jax.random.split(key)
    return jax.random.split(k_sel), jax.random.split(k_eval)


def _scorer(sel0: np.ndarray, sel1: np.ndarray):
    m0, m1 = sel0.mean(0), sel1.mean(0)
    cov = 0.5 * (
        np.atleast_2d(np.cov(sel0, rowvar=False)) + np.atleast_2d(np.cov(sel1, rowvar=False))
    )
    # a tiny ridge keeps near-singular directions (noise shared between coordinates, which
    # leaves their difference noise-free) in the test, with very large weights
    ridge = 1e-12 * max(np.trace(cov) / len(cov), 1e-300)
    w = np.linalg.solve(cov + ridge * np.eye(len(cov)), m1 - m0)
    return lambda obs: (obs - m0) @ w


def _result(mech, choice, e0, e1, trials, sel, confidence, keep_scores=False):
    tp, pos, fp, neg = choice.counts(e0, e1)
    eps = epsilon_lower_bound(tp, pos, fp, neg, delta=mech.delta, confidence=confidence)
    return AuditResult(
        name=mech.name,
        broken=mech.broken,
        claimed_epsilon=mech.epsilon,
        true_epsilon=mech.true_epsilon,
        delta=mech.delta,
        confidence=confidence,
        trials=trials,
        selection_trials=sel,
        epsilon_lower_bound=float(eps),
        test=choice,
        true_positives=tp,
        positives=pos,
        false_positives=fp,
        negatives=neg,
        scores=(e0, e1) if keep_scores else None,
    )


def audit_curve(
    mech: AuditedMechanism,
    key: jax.Array,
    trials: Sequence[int],
    *,
    confidence: float = 0.95,
    selection_fraction: float = 0.25,
    keep_scores: bool = False,
) -> list[AuditResult]:
    """:func:`audit` at every number of ``trials``, sharing the runs (prefixes of the largest).

    Each point is a valid audit on its own (probability >= ``confidence``); the largest
    point of a curve of T points holds with probability >= 1 - T (1 - confidence) (union
    bound). ``keep_scores=True`` keeps each audit's evaluation scores (``result.scores``).
    """
    if isinstance(trials, int) or not len(trials):
        raise ValueError(f"trials must be a non-empty sequence of integers, got {trials!r}")
    confidence = check_confidence(confidence)
    splits = [_split_trials(t, selection_fraction) for t in trials]
    (k_s0, k_s1), (k_e0, k_e1) = _keys(key)
    n_sel = max(s for s, _ in splits)
    n_eval = max(e for _, e in splits)
    sel0 = sample_releases(mech, k_s0, n_sel, canary=False)
    sel1 = sample_releases(mech, k_s1, n_sel, canary=True)
    ev0 = sample_releases(mech, k_e0, n_eval, canary=False)
    ev1 = sample_releases(mech, k_e1, n_eval, canary=True)
    out = []
    for t, (s, e) in zip(trials, splits, strict=True):
        score = _scorer(sel0[:s], sel1[:s])
        choice = choose_threshold(
            score(sel0[:s]), score(sel1[:s]), delta=mech.delta, confidence=confidence
        )
        out.append(
            _result(mech, choice, score(ev0[:e]), score(ev1[:e]), t, s, confidence, keep_scores)
        )
    return out


def audit(
    mech: AuditedMechanism,
    key: jax.Array,
    *,
    trials: int,
    confidence: float = 0.95,
    selection_fraction: float = 0.25,
) -> AuditResult:
    """Empirical lower bound on the epsilon of ``mech`` from ``trials`` runs per dataset.

    ``selection_fraction`` of the runs choose the test, the rest evaluate it. The bound
    holds with probability >= ``confidence`` over the runs: if it exceeds the claimed
    epsilon (``result.caught``), the claim is false (or an event of probability
    <= 1 - confidence happened).
    """
    if not isinstance(mech, AuditedMechanism):
        raise TypeError(f"mech must be an AuditedMechanism, got {type(mech).__name__}")
    if isinstance(trials, Sequence):
        raise TypeError("trials must be one integer (use audit_curve for several)")
    return audit_curve(
        mech, key, [trials], confidence=confidence, selection_fraction=selection_fraction
    )[0]
