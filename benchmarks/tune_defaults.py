"""Choose the solvers' fixed defaults on public synthetic data, never on the shipped features.

    python benchmarks/tune_defaults.py [--methods dp_gd fc ...] [--steps 30 50 100]

The proxy is ``gaussian_mixture_features(seed=1, 60000 x 320, K=10, separation=0.3,
offset=0.8, spectrum_decay=1.0)``: clusters shaped like pretrained backbone features (a
large common component, a fast-decaying spectrum), with the same n, d and K as the shipped
set. For each method a small grid is swept over epsilons (0.3, 1, 8); the printed table is
what ``dptl.solvers.sweep.DEFAULTS`` was chosen from (the best mean accuracy over epsilons).
``--steps`` replaces the grid's step counts (e.g. to see what fewer DP-GD steps would cost).
Choosing hyperparameters on private data would itself cost privacy; this costs none.
"""

from __future__ import annotations

import argparse
import itertools
import time

import jax
import numpy as np

from dptl.data.synthetic import gaussian_mixture_features
from dptl.solvers.sweep import privacy_utility

GRIDS = {
    "dp_gd": {"optimizer": ["sgd", "momentum"], "learning_rate": [1.0, 4.0, 16.0], "steps": [30, 100]},
    "fc": {"steps": [1, 2, 3, 5], "learning_rate": [0.5, 1.0]},
    "newton": {"steps": [1, 2, 3], "hessian_share": [0.25, 0.5]},
    "least_squares": {"cov_share": [0.25, 0.5, 0.75]},
}
EPSILONS = (0.3, 1.0, 8.0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--methods", nargs="+", default=list(GRIDS))
    parser.add_argument("--steps", nargs="+", type=int, help="step counts to try instead")
    args = parser.parse_args()
    fs = gaussian_mixture_features(1, 60000, 10000, 320, 10, separation=0.3, offset=0.8,
                                   spectrum_decay=1.0)
    for method in args.methods:
        grid = GRIDS[method] | ({"steps": args.steps} if args.steps else {})
        print(f"\n{method}: accuracy (%) at epsilons {EPSILONS}", flush=True)
        for values in itertools.product(*grid.values()):
            hp = dict(zip(grid, values, strict=True))
            start = time.perf_counter()
            res = privacy_utility(method, jax.random.key(1), fs.x_train, fs.y_train, fs.x_test,
                                  fs.y_test, epsilons=EPSILONS, num_seeds=2,
                                  num_classes=fs.num_classes, **hp)
            print(f"  {hp}: {np.round(100 * res.mean, 2)} mean {100 * res.mean.mean():.2f}"
                  f" ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
