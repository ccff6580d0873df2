"""DP last-layer solvers on fixed features. Each returns a :class:`LastLayerResult`.

- :func:`dp_least_squares`: noisy X^T X and X^T Y, released once (+ the papers' alpha variant).
- :func:`dp_sgd`: DP-SGD / DP-GD / DP-Adam on the softmax loss, real Poisson sampling.
- :func:`dp_newton`: one-vs-all logistic Newton with noisy per-class Hessians every step.
- :func:`dp_fc`: one noisy feature covariance shared as preconditioner by all classes/steps.
- :func:`dp_fc_sgd`: DP-FC's noisy covariance preconditioning Poisson-subsampled steps.

Each method is one record of :data:`METHODS` (:mod:`dptl.solvers.methods`), named as its
results are: its solver, its defaults and its plan (rules and releases), which the sweep,
``dptl train``, ``dptl compare``, the lessons and the benchmarks read.

Neighbouring relation: add/remove one example; the number of examples n and the class
count K are public (every solver requires ``num_classes``; none reads it from the labels).
"""

from dptl.solvers.dpsgd import dp_sgd
from dptl.solvers.fc import dp_fc
from dptl.solvers.fc_sgd import dp_fc_sgd
from dptl.solvers.inputs import preprocess_features
from dptl.solvers.least_squares import dp_least_squares
from dptl.solvers.methods import METHODS, Method
from dptl.solvers.newton import dp_newton
from dptl.solvers.result import LastLayerResult

__all__ = [
    "METHODS",
    "LastLayerResult",
    "Method",
    "dp_fc",
    "dp_fc_sgd",
    "dp_least_squares",
    "dp_newton",
    "dp_sgd",
    "preprocess_features",
]
