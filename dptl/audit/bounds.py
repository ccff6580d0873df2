"""From the outcomes of a distinguishing test to a lower bound on epsilon.

If a mechanism M is (epsilon, delta)-DP, then for neighbouring datasets D, D' and *any*
event S (any test that says "this output came from D'"),

    P[M(D') in S] <= e^epsilon P[M(D) in S] + delta,

i.e. TPR <= e^epsilon FPR + delta, and the same with D and D' swapped (add/remove one is
symmetric). Hence epsilon >= log((TPR - delta) / FPR). From a finite number of runs we
only know the rates up to sampling error, so we take a Clopper-Pearson *lower* bound on
TPR and an *upper* bound on FPR, each one-sided at level 1 - (1 - c)/2; by the union bound
both hold together with probability >= c, and then

    epsilon >= eps_lb = log((TPR_lo - delta) / FPR_hi)       (0 when TPR_lo <= delta)

with probability >= c. Choosing the test (its threshold and which side of it means "D'")
after looking at the evaluation runs would break this guarantee, so
:func:`choose_threshold` picks it on separate selection runs and :func:`epsilon_lower_bound`
is applied once, to fresh evaluation runs.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from dptl import _validate
from dptl.audit.clopper_pearson import check_confidence, clopper_pearson

__all__ = ["ThresholdRule", "choose_threshold", "epsilon_lower_bound"]


def epsilon_lower_bound(
    true_positives,
    positives: int,
    false_positives,
    negatives: int,
    *,
    delta: float,
    confidence: float = 0.95,
):
    """eps_lb = log((TPR_lo - delta) / FPR_hi) from counts, valid with prob. >= confidence.

    ``true_positives`` of ``positives`` runs on D' and ``false_positives`` of ``negatives``
    runs on D said "D'". Vectorised over the counts; returns floats >= 0.
    """
    delta = _validate.check_delta(delta)
    confidence = check_confidence(confidence)
    each = 1 - (1 - confidence) / 2  # union bound over the two one-sided bounds
    tpr_lo, _ = clopper_pearson(true_positives, positives, each, side="lower")
    _, fpr_hi = clopper_pearson(false_positives, negatives, each, side="upper")
    tpr_lo, fpr_hi = np.asarray(tpr_lo, float), np.asarray(fpr_hi, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = np.where(tpr_lo > delta, np.log(np.maximum(tpr_lo - delta, 1e-300) / fpr_hi), 0.0)
    eps = np.maximum(eps, 0.0)
    return float(eps) if eps.ndim == 0 else eps


@dataclasses.dataclass(frozen=True)
class ThresholdRule:
    """A threshold test on a score, and which dataset it accuses.

    The event is ``side * (score - threshold) > 0``. With ``side = +1`` it is "high score",
    counted as a true positive on runs on D' and a false positive on runs on D; with
    ``side = -1`` it is "low score" and the roles of D and D' swap (the DP inequality holds
    both ways under add/remove one).
    """

    threshold: float
    side: int
    selection_bound: float  # eps_lb the test reached on the selection runs

    def event(self, scores) -> np.ndarray:
        return self.side * (np.asarray(scores) - self.threshold) > 0

    def counts(self, scores_without, scores_with) -> tuple[int, int, int, int]:
        """(true positives, positives, false positives, negatives) of the test."""
        pos, neg = (scores_with, scores_without) if self.side > 0 else (scores_without, scores_with)
        return int(self.event(pos).sum()), len(pos), int(self.event(neg).sum()), len(neg)


def choose_threshold(
    scores_without: np.ndarray,
    scores_with: np.ndarray,
    *,
    delta: float,
    confidence: float = 0.95,
    candidates: int = 256,
) -> ThresholdRule:
    """The threshold test with the largest eps_lb on *selection* runs.

    Candidate thresholds are order statistics of the scores on D (upper tail, for "high
    means D'") and on D' (lower tail, for "low means D'"), geometrically spaced in the
    number of false positives so that the far tail, where the privacy loss is largest, is
    well covered. Each candidate is scored with :func:`epsilon_lower_bound` on the
    selection counts, so thresholds whose false-positive count is too small to be
    trusted are penalised exactly as they will be on the evaluation runs.
    """
    s0 = np.sort(np.asarray(scores_without, np.float64))
    s1 = np.sort(np.asarray(scores_with, np.float64))
    if s0.ndim != 1 or s1.ndim != 1 or not len(s0) or not len(s1):
        raise ValueError("scores_without and scores_with must be non-empty 1-d arrays")
    best = ThresholdRule(threshold=math.inf, side=1, selection_bound=0.0)
    for side, neg, pos in ((1, s0, s1), (-1, -s1[::-1], -s0[::-1])):
        # side -1: swap the roles of D and D' (the DP inequality holds both ways) and negate.
        ranks = np.unique(np.geomspace(1, len(neg), candidates).astype(int))
        thresholds = neg[len(neg) - ranks]  # "D'" when score > threshold: < ranks false positives
        fp = len(neg) - np.searchsorted(neg, thresholds, side="right")
        tp = len(pos) - np.searchsorted(pos, thresholds, side="right")
        eps = epsilon_lower_bound(tp, len(pos), fp, len(neg), delta=delta, confidence=confidence)
        i = int(np.argmax(eps))
        if eps[i] > best.selection_bound:
            best = ThresholdRule(
                threshold=float(side * thresholds[i]), side=side, selection_bound=float(eps[i])
            )
    return best
