"""One record per method: its name, its solver function, its defaults and its plan.

The records are what everything else reads: the ``dp_*`` functions' signatures take their
defaults from the same solver-module ``DEFAULTS`` (pinned by tests/test_solvers_defaults.py),
the sweep (:mod:`dptl.solvers.sweep`) runs a record's plan and pure core, ``dptl train``
and ``dptl compare`` take a record's name, and the lessons and benchmarks label curves with
``label``. A record's name is the name its results carry (``LastLayerResult.method``): the
solver function's name, and ``"dp_gd"`` for ``dp_sgd`` at full batch.

=====================  ===============================  =============================
name                   solver and defaults              make_plan (rules + releases)
=====================  ===============================  =============================
``dp_least_squares``   ``dp_least_squares``             ``least_squares_plan``
``dp_gd``              ``dp_sgd``, full batch           ``dpsgd_plan``
``dp_sgd``             ``dp_sgd``, batch 3,000          ``dpsgd_plan``
``dp_newton``          ``dp_newton``                    ``newton_plan``
``dp_fc``              ``dp_fc``                        ``fc_plan``
``dp_fc_sgd``          ``dp_fc_sgd``                    ``fc_sgd_plan``
=====================  ===============================  =============================
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping
from typing import Any

from dptl.solvers import dpsgd, fc, fc_sgd, least_squares, newton
from dptl.solvers.plan import Plan
from dptl.solvers.result import LastLayerResult

__all__ = ["METHODS", "Method", "defaults_for"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Method:
    """A DP last-layer method.

    Attributes:
        name: the sweep key, the value of ``dptl train --method`` and ``dptl compare
            --methods``, and the ``method`` of its results.
        label: how figures and tables name it.
        solver: the ``dp_*`` function that trains it.
        defaults: its hyperparameters and their defaults (None: a rule of the plan); the
            solver called with these is the method at its defaults.
        make_plan: the solver module's ``*_plan(epsilon, delta, *, num_examples, dim,
            num_classes, feature_norm, **hyperparameters) -> Plan``, which the solver calls
            too: the rules resolved and the releases calibrated.
    """

    name: str
    label: str
    solver: Callable[..., LastLayerResult]
    defaults: Mapping[str, Any]
    make_plan: Callable[..., Plan]

    def __post_init__(self):  # read-only: a record is shared by every caller
        object.__setattr__(self, "defaults", types.MappingProxyType(dict(self.defaults)))

    def check_hyperparameters(self, hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
        """The defaults with ``hyperparameters`` over them; unknown names are an error."""
        unknown = set(hyperparameters) - set(self.defaults)
        if unknown:
            raise ValueError(
                f"unknown hyperparameters for {self.name!r}: {sorted(unknown)}; "
                f"known: {sorted(self.defaults)}"
            )
        return {**self.defaults, **hyperparameters}

    def plan(
        self,
        epsilon: float,
        delta: float,
        *,
        num_examples: int,
        dim: int,
        num_classes: int,
        feature_norm: float = 1.0,
        **hyperparameters,
    ) -> Plan:
        """The method's plan at its defaults, ``hyperparameters`` overriding them.

        Args:
            epsilon, delta: the privacy target.
            num_examples, dim, num_classes: n, d and K (public).
            feature_norm: C, the features' norm after preprocessing.
            **hyperparameters: overrides of :attr:`defaults`.

        Returns:
            The :class:`~dptl.solvers.plan.Plan`: resolved hyperparameters and releases.
        """
        return self.make_plan(
            epsilon,
            delta,
            num_examples=num_examples,
            dim=dim,
            num_classes=num_classes,
            feature_norm=feature_norm,
            **self.check_hyperparameters(hyperparameters),
        )


METHODS: Mapping[str, Method] = types.MappingProxyType(
    {
        m.name: m
        for m in (
            Method(
                name="dp_least_squares",
                label="DP least squares",
                solver=least_squares.dp_least_squares,
                defaults=least_squares.DEFAULTS,
                make_plan=least_squares.least_squares_plan,
            ),
            Method(
                name="dp_gd",
                label="DP-GD (full batch)",
                solver=dpsgd.dp_sgd,
                defaults=dpsgd.DEFAULTS,
                make_plan=dpsgd.dpsgd_plan,
            ),
            Method(
                name="dp_sgd",
                label="DP-SGD (Poisson)",
                solver=dpsgd.dp_sgd,
                defaults=dpsgd.SUBSAMPLED_DEFAULTS,
                make_plan=dpsgd.dpsgd_plan,
            ),
            Method(
                name="dp_newton",
                label="DP-Newton",
                solver=newton.dp_newton,
                defaults=newton.DEFAULTS,
                make_plan=newton.newton_plan,
            ),
            Method(
                name="dp_fc",
                label="DP-FC",
                solver=fc.dp_fc,
                defaults=fc.DEFAULTS,
                make_plan=fc.fc_plan,
            ),
            Method(
                name="dp_fc_sgd",
                label="DP-FC-SGD",
                solver=fc_sgd.dp_fc_sgd,
                defaults=fc_sgd.DEFAULTS,
                make_plan=fc_sgd.fc_sgd_plan,
            ),
        )
    }
)


def defaults_for(method: str, num_examples: int) -> tuple[dict[str, Any], str]:
    """A method's defaults for n training rows, and what changed.

    A default batch larger than n cannot be sampled: the batch becomes None (full batch),
    where the plan's rules give ``dp_sgd`` DP-GD's settings and ``dp_fc_sgd`` is DP-FC with
    the one-vs-all loss and no centring. Reads the public n only.

    Args:
        method: a key of :data:`METHODS`.
        num_examples: n, the number of training rows.

    Returns:
        (hyperparameters, note): the note is "" when the defaults apply as they are.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    hp = dict(METHODS[method].defaults)
    batch = hp.get("batch_size")
    if batch is not None and batch > num_examples:
        hp["batch_size"] = None
        return hp, f"its default batch {batch:,} exceeds n = {num_examples:,}: full batch"
    return hp, ""
