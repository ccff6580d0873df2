"""Choose DP-FC's defaults on PUBLIC data, never on the private or the evaluation rows.

    python benchmarks/tune_defaults.py [--seeds 3] [--out docs/results/tune_defaults.json]

Data: ``data/sklearn_digits_efficientnet_lite0_112.npz``, scikit-learn's bundled digits
through the same ImageNet EfficientNet-Lite0 at 112 px (see data/README.md): a public data
set that is not Fashion-MNIST, so nothing here is a release about the private training rows
and nothing touches the shipped test set. Train on its 1,437 training rows, score on its 360
test rows (public too).

Transfer by signal-to-noise. Every release's noise is fixed by (epsilon, delta) while the
signal of a sum over examples grows with n, so a run at GDP mu on n rows sees the noise a run
at mu' = mu n / n' sees on n' rows. The defaults are meant for a deployment of n_target rows
(the shipped Fashion-MNIST set: 60,000, a public count) at target epsilons 0.1, 1 and 8, so
each target is tuned on the digits at mu_tune = mu(eps) * n_target / n_digits. The rules
that come out are therefore rules in public quantities (n, epsilon, delta): the step count
as a function of n mu, the budget share and the ridge as multiples of the noise scale.

The grid: loss (softmax with Boehning's bound, one-vs-all), steps, covariance share, ridge
as a multiple of the covariance noise's spectral scale, learning rate. The selection rule,
fixed before looking: the one setting with the best mean accuracy over the three targets.
It is what ``dptl.solvers.fc.DEFAULTS`` and ``default_steps`` hold (the script prints both).
Measured (3 seeds, 74 s): ova, 5 steps, share 0.5, ridge 0.1 x the noise scale, lr 0.5
(85.4 / 92.6 / 95.1 % on the digits at the three targets); the ridge is the decisive knob
(1.0 x, the old default, loses 1.5-3 points); loss and share are within the noise of the
360 test rows. With no noise (epsilon = inf) nothing is tuned: 20 steps, to convergence.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from dptl.data import load_shipped
from dptl.privacy import gdp_epsilon, gdp_mu
from dptl.solvers import statistics
from dptl.solvers.dpsgd import DEFAULTS as GD_DEFAULTS
from dptl.solvers.fc import DEFAULTS, RIDGE_NOISE_MULTIPLE, default_steps, fc_releases, fc_weights
from dptl.solvers.inputs import default_ridge, prepare_inputs, preprocess_features
from dptl.solvers.sweep import privacy_utility

PUBLIC_SET = "sklearn_digits_efficientnet_lite0_112"
N_TARGET = 60_000
TARGET_EPSILONS = (0.1, 1.0, 8.0)
DELTA = 1e-5
GRID = {
    "loss": ["softmax", "ova"],
    "steps": [1, 2, 3, 5, 10, 20],
    "cov_share": [0.3, 0.5, 0.7],
    "ridge_multiple": [0.03, 0.1, 0.3, 1.0],
    "learning_rate": [0.5, 1.0],
}


def tuning_epsilon(target_epsilon: float, n_public: int) -> float:
    """The epsilon on the public set whose mu matches the target's n mu."""
    return gdp_epsilon(gdp_mu(target_epsilon, DELTA) * N_TARGET / n_public, DELTA)


@functools.partial(jax.jit, static_argnames=("steps", "loss"))
def _accuracy(key, xc, yc, xt, yt, cov_std, grad_std, ridge, learning_rate, *, steps, loss):
    """Test accuracy of one DP-FC run (the solver's own core; data as arguments, so only
    ``steps`` and ``loss`` recompile)."""
    w, _ = fc_weights(
        key, xc, yc, cov_std, grad_std, 1.0, ridge, learning_rate, steps=steps, loss=loss
    )
    return jnp.mean(jnp.argmax(xt @ w, axis=-1) == yt)


def run_grid(fs, seeds: int) -> list[dict]:
    n, d = fs.num_train, fs.dim
    xp, y1h, _ = prepare_inputs(fs.x_train, fs.y_train, fs.num_classes, 1.0, "normalize")
    xc, yc = statistics.shard_rows(xp, y1h)
    xt, yt = preprocess_features(fs.x_test), jnp.asarray(fs.y_test)
    rows = []
    for target in TARGET_EPSILONS:
        eps = tuning_epsilon(target, n)
        for values in itertools.product(*GRID.values()):
            hp = dict(zip(GRID, values, strict=True))
            cov, grad = fc_releases(eps, DELTA, steps=hp["steps"], cov_share=hp["cov_share"])
            ridge = default_ridge(n, d, cov.noise_std, noise_multiple=hp["ridge_multiple"])
            acc = [
                float(
                    _accuracy(
                        jax.random.key(s),
                        xc,
                        yc,
                        xt,
                        yt,
                        cov.noise_std,
                        grad.noise_std,
                        ridge,
                        hp["learning_rate"],
                        steps=hp["steps"],
                        loss=hp["loss"],
                    )
                )
                for s in range(seeds)
            ]
            rows.append(
                {
                    "target_epsilon": target,
                    "tuning_epsilon": eps,
                    **hp,
                    "accuracy": float(np.mean(acc)),
                    "std": float(np.std(acc)),
                }
            )
    return rows


GD_GRID = {
    "learning_rate": [4.0, 16.0, 64.0, 256.0],
    "steps": [30, 100, 300],
    "optimizer": ["momentum"],
}


def tune_dp_gd(fs, seeds: int) -> list[dict]:
    """DP-GD (full batch) on the public set at the targets' n mu; prints the pick."""
    eps = [tuning_epsilon(t, fs.num_train) for t in TARGET_EPSILONS]
    rows = []
    for values in itertools.product(*GD_GRID.values()):
        hp = dict(zip(GD_GRID, values, strict=True))
        res = privacy_utility(
            "dp_gd",
            jax.random.key(0),
            fs.x_train,
            fs.y_train,
            fs.x_test,
            fs.y_test,
            epsilons=eps,
            num_seeds=seeds,
            delta=DELTA,
            num_classes=fs.num_classes,
            **hp,
        )
        rows.append({**hp, "accuracy": res.mean.tolist(), "std": res.std.tolist()})
    rows.sort(key=lambda r: -np.mean(r["accuracy"]))
    print(
        f"\nDP-GD at targets {TARGET_EPSILONS} (tuned at eps {[round(e, 4) for e in eps]}): top 5"
    )
    for r in rows[:5]:
        accs = " / ".join(f"{100 * a:.2f}" for a in r["accuracy"])
        print(f"  {100 * np.mean(r['accuracy']):6.2f}  ({accs})  { ({k: r[k] for k in GD_GRID}) }")
    print(f"library defaults (dptl.solvers.dpsgd): {GD_DEFAULTS}")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="docs/results/tune_defaults.json")
    args = parser.parse_args()
    fs = load_shipped(PUBLIC_SET).astype("float32")
    start = time.perf_counter()
    rows = run_grid(fs, args.seeds)
    print(
        f"DP-FC on the public {PUBLIC_SET} ({fs.num_train} train / {fs.num_test} test rows), "
        f"{args.seeds} seeds, {time.perf_counter() - start:.0f} s; targets n = {N_TARGET}"
    )
    best = {}
    for target in TARGET_EPSILONS:
        at = sorted(
            (r for r in rows if r["target_epsilon"] == target), key=lambda r: -r["accuracy"]
        )
        best[target] = at[0]
        print(
            f"\ntarget eps {target:g} (tuned at eps {at[0]['tuning_epsilon']:.4g} on the public set): top 5"
        )
        for r in at[:5]:
            hp = {
                k: r[k] for k in ("loss", "steps", "cov_share", "ridge_multiple", "learning_rate")
            }
            print(f"  {100 * r['accuracy']:6.2f} ± {100 * r['std']:.2f}  {hp}")
        rule = {
            "steps": default_steps(N_TARGET, target, DELTA),
            "ridge_multiple": RIDGE_NOISE_MULTIPLE,
        }
        print(f"  the library's rule at this target: {rule}")
    # the selection rule, fixed beforehand: the one setting (steps included) with the best
    # mean accuracy over the three targets; eps = inf is not tuned (no noise to trade against)
    keys = ("loss", "steps", "cov_share", "ridge_multiple", "learning_rate")
    means = {}
    for r in rows:
        means.setdefault(tuple(r[k] for k in keys), []).append(r["accuracy"])
    ranked = sorted(means.items(), key=lambda kv: -np.mean(kv[1]))
    print("\nsettings by mean accuracy over the targets: top 5 (the first is the pick)")
    for k, accs in ranked[:5]:
        print(f"  {100 * np.mean(accs):6.2f}  {dict(zip(keys, k, strict=True))}")
    library = {
        **DEFAULTS,
        "steps": default_steps(N_TARGET, 1.0, DELTA),
        "ridge_multiple": RIDGE_NOISE_MULTIPLE,
    }
    print(f"library defaults (dptl.solvers.fc): { {k: library[k] for k in keys} }")
    gd_rows = tune_dp_gd(fs, args.seeds)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "public_set": PUBLIC_SET,
                "n_target": N_TARGET,
                "delta": DELTA,
                "grid": GRID,
                "rows": rows,
                "dp_gd_grid": GD_GRID,
                "dp_gd_rows": gd_rows,
            },
            indent=1,
            default=lambda v: None if math.isinf(v) else v,
        )
    )


if __name__ == "__main__":
    main()
