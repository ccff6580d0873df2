"""``--method auto``: which solver to train, by a public rule in n, K, epsilon and delta.

The rule is read off the defaults-against-frontier measurements (``benchmarks/frontier.py``,
``docs/results/frontier*.json``) on the three shipped Fashion-MNIST feature sets (112 px
ImageNet features with n = 60,000; 32 px ImageNet and 112 px random-weight features on
their first n = 10,000 rows; K = 10 throughout; epsilon 0.1, 1, 8 and inf, so n mu from 325
to 100,000): DP-FC (``dp_fc``, which centres its features on a noisy mean since 2026-11-30)
is the most accurate default in every private cell, by up to 17 points over the next method
(50.75 % against DP-GD's 33.59 % on the random-weight features at epsilon 0.1), and without
privacy too, by 0.02-0.05 points (since its damping's lower bound, fifth session of
2026-11-30; before, DP-GD was 0.10 above it on the 32-px set and DP-Newton 0.18 on the
random-weight set). Before the centring the rule took full-batch DP-GD below n mu 5,600, where DP-FC was up to 3.9 points short.
The rule reads only public quantities (n is public under add/remove-one, K is public input,
epsilon and delta are the user's target), so choosing by it costs no privacy. Outside the
measured range (n below 10,000 or above 60,000, K other than 10) it is an extrapolation,
and ``reason`` says so.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dptl import _validate
from dptl.privacy import signal_to_noise
from dptl.solvers.methods import METHODS, defaults_for

__all__ = [
    "MEASURED_NUM_CLASSES",
    "MEASURED_NUM_EXAMPLES",
    "MethodChoice",
    "choose_method",
    "resolve_method",
]

MEASURED_NUM_EXAMPLES = (10_000, 60_000)
MEASURED_NUM_CLASSES = (10,)


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
        A :class:`MethodChoice`: ``dp_fc``, with the measurement behind it and n mu.
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
    return MethodChoice(
        "dp_fc",
        f"n mu = {snr:,.0f}: DP-FC at its defaults was the most accurate method in every "
        "measured cell (n mu 325 to 100,000, and without privacy; "
        f"docs/results/frontier*.json); {where}",
    )


def resolve_method(
    method: str, *, num_examples: int, num_classes: int, epsilon: float, delta: float
) -> MethodChoice:
    """The method to run for ``method`` ("auto" or a key of ``dptl.solvers.METHODS``) and its
    solver's arguments.

    Explicit names pass through; "auto" is :func:`choose_method`. The options are the
    method's defaults; where a default batch is larger than n they make it full batch
    (``defaults_for``: ``dp_sgd`` is then DP-GD, ``dp_fc_sgd`` DP-FC with the one-vs-all
    loss, uncentred), and the reason says so. Reads public quantities only.
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
