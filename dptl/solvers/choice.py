"""``--method auto``: which solver to train, by a public rule in n, K, epsilon and delta.

The rule is read off the defaults-against-frontier measurements (``benchmarks/frontier.py``,
``docs/results/frontier*.json``) on the three shipped Fashion-MNIST feature sets (112 px
ImageNet features with n = 60,000; 32 px ImageNet and 112 px random-weight features with
n = 10,000; K = 10 throughout), by the signal-to-noise scale n mu (mu the GDP mu of
(epsilon, delta); the full-batch gradient's signal grows with n, its noise is fixed by mu):

- n mu >= 5,600 (and epsilon = inf): DP-FC (``dp_fc``). Within 0.1 points of the best
  default in every measured cell there (n mu 16,000 to 100,000, and no noise), the best by
  1.15 points at (60,000, epsilon 8).
- n mu < 5,600: full-batch DP-GD (``dp_gd``: ``dp_sgd`` with its defaults), the best or within 0.7 of
  the best in every measured cell (n mu 325 to 2,700) but one: at (60,000, epsilon 0.1)
  subsampled DP-SGD (batch 3,000) is 1.04 points above it (83.24 +/- 0.49 against 82.20 +/-
  0.57). The rule does not pick subsampled DP-SGD, whose defaults do not transfer (on the
  random-weight features it is 2.4-11.9 points below its own frontier), nor DP-FC, which is
  up to 3.9 points short here (random-weight features at epsilon 1).

5,600 is the band bound of DP-GD's step rule (the geometric mean of the public tuning
targets' n mu 1,951 and 16,083). The rule reads only public quantities (n is public under
add/remove-one, K is public input, epsilon and delta are the user's target), so choosing by
it costs no privacy. Outside the measured range (n below 10,000 or above 60,000, K other
than 10) it is an extrapolation, and ``reason`` says so.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dptl import _validate
from dptl.privacy import signal_to_noise
from dptl.solvers.dpsgd import GD_STEPS_BANDS
from dptl.solvers.methods import METHODS, defaults_for

__all__ = [
    "MEASURED_NUM_CLASSES",
    "MEASURED_NUM_EXAMPLES",
    "FC_MIN_SIGNAL_TO_NOISE",
    "MethodChoice",
    "choose_method",
    "resolve_method",
]

MEASURED_NUM_EXAMPLES = (10_000, 60_000)
MEASURED_NUM_CLASSES = (10,)
# n mu from which --method auto trains DP-FC: the bound of DP-GD's top step band (5,600)
FC_MIN_SIGNAL_TO_NOISE = GD_STEPS_BANDS[-2][0]


@dataclasses.dataclass(frozen=True)
class MethodChoice:
    """The method (a key of ``dptl.solvers.METHODS``), why it was chosen, and the arguments
    its solver runs with (the record's defaults, resolved for n by
    ``dptl.solvers.methods.defaults_for``)."""

    method: str
    reason: str
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


def choose_method(
    *, num_examples: int, num_classes: int, epsilon: float, delta: float
) -> MethodChoice:
    """The solver ``--method auto`` trains, from public quantities only.

    Args:
        num_examples: n, the number of training rows (public under add/remove-one).
        num_classes: K, the public class count.
        epsilon, delta: the privacy target (``epsilon=inf`` for the non-private counterpart).

    Returns:
        A :class:`MethodChoice`: ``dp_fc`` where n mu >= :data:`FC_MIN_SIGNAL_TO_NOISE` (or
        epsilon = inf), else ``dp_gd`` (full-batch DP-GD), with the measurement behind it.
    """
    n = _validate.check_positive_int("num_examples", num_examples)
    k = _validate.check_public_num_classes(num_classes)
    epsilon = _validate.check_epsilon(epsilon)
    snr = signal_to_noise(n, epsilon, delta)
    lo, hi = MEASURED_NUM_EXAMPLES
    inside = lo <= n <= hi and k in MEASURED_NUM_CLASSES
    where = (
        "within the measured range"
        if inside
        else f"an extrapolation: measured for n in [{lo:,}, {hi:,}] and K = 10, here n = {n:,}, "
        f"K = {k}"
    )
    if snr >= FC_MIN_SIGNAL_TO_NOISE:
        return MethodChoice(
            "dp_fc",
            f"n mu = {snr:,.0f} >= {FC_MIN_SIGNAL_TO_NOISE:,.0f}: DP-FC at its defaults was within "
            "0.1 points of the best method in every such measured cell "
            f"(docs/results/frontier*.json); {where}",
        )
    return MethodChoice(
        "dp_gd",
        f"n mu = {snr:,.0f} < {FC_MIN_SIGNAL_TO_NOISE:,.0f}: full-batch DP-GD at its defaults was "
        "the best method, or within 0.7 points of it, in every such measured cell but one "
        "(1.04 below subsampled DP-SGD at n = 60,000, epsilon 0.1) "
        f"(docs/results/frontier*.json); {where}",
    )


def resolve_method(
    method: str, *, num_examples: int, num_classes: int, epsilon: float, delta: float
) -> MethodChoice:
    """The method to run for ``method`` ("auto" or a key of ``dptl.solvers.METHODS``) and its
    solver's arguments.

    Explicit names pass through; "auto" is :func:`choose_method`. The options are the
    method's defaults; where a default batch is larger than n they make it full batch
    (``defaults_for``: ``dp_sgd`` is then DP-GD, ``dp_fc_sgd`` DP-FC with the one-vs-all
    loss), and the reason says so. Reads public quantities only.
    """
    if method == "auto":
        choice = choose_method(
            num_examples=num_examples, num_classes=num_classes, epsilon=epsilon, delta=delta
        )
        choice = dataclasses.replace(choice, reason=f"--method auto: {choice.reason}")
    elif method in METHODS:
        choice = MethodChoice(method, "chosen by the caller")
    else:
        raise ValueError(f"method must be 'auto' or one of {list(METHODS)}, got {method!r}")
    options, note = defaults_for(choice.method, num_examples)
    reason = f"{choice.reason}; {note}" if note else choice.reason
    return dataclasses.replace(choice, options=options, reason=reason)
