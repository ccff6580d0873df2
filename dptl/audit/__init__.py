"""Statistical privacy audits: empirical lower bounds on epsilon.

A DP claim is an upper bound on how well *any* test can tell M(D) from M(D') for
neighbouring D, D' (add/remove one example). An audit runs the mechanism many times on a
chosen pair, applies a test, and turns its true/false positive rates into a lower bound
eps_lb that holds with a stated confidence. A correct mechanism gives eps_lb <= epsilon;
eps_lb > epsilon proves a bug (a missing sensitivity factor, too little noise, clipping
at the wrong place). An audit cannot prove a mechanism private: it only finds violations.

- :mod:`~dptl.audit.clopper_pearson`: exact binomial confidence bounds;
- :mod:`~dptl.audit.bounds`: eps_lb from counts, and choosing the threshold test;
- :mod:`~dptl.audit.mechanisms`: the solvers' releases (and broken variants) with a
  maximally distinguishable canary;
- :mod:`~dptl.audit.runner`: vmapped runs, the audit and the audit-vs-trials curve.
"""

from dptl.audit.bounds import ThresholdRule, choose_threshold, epsilon_lower_bound
from dptl.audit.clopper_pearson import clopper_pearson
from dptl.audit.mechanisms import (
    BROKEN,
    MECHANISMS,
    AuditedMechanism,
    canary_pair,
    dp_gd_mechanism,
    dp_sgd_mechanism,
    fc_mechanism,
    fc_sgd_mechanism,
    least_squares_mechanism,
    make_mechanism,
    newton_mechanism,
)
from dptl.audit.runner import AuditResult, audit, audit_curve, sample_releases

__all__ = [
    "BROKEN",
    "MECHANISMS",
    "AuditResult",
    "AuditedMechanism",
    "ThresholdRule",
    "audit",
    "audit_curve",
    "canary_pair",
    "choose_threshold",
    "clopper_pearson",
    "dp_gd_mechanism",
    "dp_sgd_mechanism",
    "epsilon_lower_bound",
    "fc_mechanism",
    "fc_sgd_mechanism",
    "least_squares_mechanism",
    "make_mechanism",
    "newton_mechanism",
    "sample_releases",
]
