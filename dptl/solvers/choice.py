"""``--method auto``: which solver to train, by a public rule in n, K and epsilon.

The rule is read off the defaults-against-frontier measurements (``benchmarks/frontier.py``,
``docs/results/frontier*.json``): on the three shipped Fashion-MNIST feature sets (112 px
ImageNet features with n = 60,000; 32 px ImageNet and 112 px random-weight features with
n = 10,000; K = 10 throughout) full-batch DP-GD (``dp_sgd`` with its defaults) is the most
accurate method at its defaults at every measured epsilon (0.1, 1, 8), by 1.0 to 11 points;
without privacy (epsilon = inf) DP-FC's non-private counterpart (``dp_fc``) is within 0.7
points of the best on every set, while DP-GD's, the best on the two pretrained sets, is 6.9
points short on the random-weights set (its 300 steps do not converge there), so the rule
switches there. The rule
reads only public quantities (n is public under add/remove-one, K is public input, epsilon is
the user's target), so choosing by it costs no privacy. Outside the measured range (n below
10,000 or above 60,000, K other than 10) it is an extrapolation, and ``reason`` says so.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any

from dptl import _validate

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
    """The solver function's name and why it was chosen."""

    method: str  # a key of dptl.solvers.SOLVERS
    reason: str
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # beyond the defaults


def choose_method(*, num_examples: int, num_classes: int, epsilon: float) -> MethodChoice:
    """The solver ``--method auto`` trains, from public quantities only.

    Args:
        num_examples: n, the number of training rows (public under add/remove-one).
        num_classes: K, the public class count.
        epsilon: the target epsilon (``inf`` for the non-private counterpart).

    Returns:
        A :class:`MethodChoice`: ``dp_sgd`` (full-batch DP-GD) at finite epsilon, ``dp_fc``
        at epsilon = inf, with the measurement behind it.
    """
    n = _validate.check_positive_int("num_examples", num_examples)
    k = _validate.check_public_num_classes(num_classes)
    epsilon = _validate.check_epsilon(epsilon)
    lo, hi = MEASURED_NUM_EXAMPLES
    inside = lo <= n <= hi and k in MEASURED_NUM_CLASSES
    where = (
        "within the measured range"
        if inside
        else f"an extrapolation: measured for n in [{lo:,}, {hi:,}] and K = 10, here n = {n:,}, "
        f"K = {k}"
    )
    if math.isinf(epsilon):
        return MethodChoice(
            "dp_fc",
            "without noise DP-FC's counterpart was within 0.7 points of the best default on "
            f"every shipped feature set (docs/results/frontier*.json); {where}",
        )
    return MethodChoice(
        "dp_sgd",
        "full-batch DP-GD at its defaults was the most accurate method at epsilon 0.1, 1 and 8 "
        f"on every shipped feature set (docs/results/frontier*.json); {where}",
    )


def resolve_method(
    method: str, *, num_examples: int, num_classes: int, epsilon: float
) -> MethodChoice:
    """The solver to run for ``method`` ("auto" or a key of ``dptl.solvers.SOLVERS``).

    Explicit names pass through; "auto" is :func:`choose_method`. Where a default cannot
    apply to n rows (DP-FC-SGD's batch larger than n), ``options`` makes it full batch,
    which for ``dp_fc_sgd`` is DP-FC with the one-vs-all loss. Reads public quantities only.
    """
    from dptl.solvers import SOLVERS

    if method == "auto":
        choice = choose_method(num_examples=num_examples, num_classes=num_classes, epsilon=epsilon)
        choice = dataclasses.replace(choice, reason=f"--method auto: {choice.reason}")
    elif method in SOLVERS:
        choice = MethodChoice(method, "chosen by the caller")
    else:
        raise ValueError(f"method must be 'auto' or one of {sorted(SOLVERS)}, got {method!r}")
    batch = inspect.signature(SOLVERS[choice.method]).parameters.get("batch_size")
    if choice.method == "dp_fc_sgd" and batch.default > num_examples:
        return dataclasses.replace(
            choice,
            options={"batch_size": None},
            reason=f"{choice.reason}; its default batch {batch.default} exceeds n = "
            f"{num_examples}: full batch",
        )
    return choice
