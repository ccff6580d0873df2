"""Time a full privacy-utility sweep against a straightforward NumPy implementation.

    python benchmarks/solver_sweep.py                 # shipped features, 60000 x 320, K=10
    python benchmarks/solver_sweep.py --synthetic     # generated features of the same shape

Sweep: 5 epsilons x 3 seeds x 4 solvers (DP least squares, DP-GD, DP-Newton, DP-FC) with the
fixed defaults of ``dptl.solvers.sweep.DEFAULTS``. dptl runs each sweep as one compiled
program (``privacy_utility``), compiled once and reused (timed cold, with compilation, and
warm). The baseline is the same mathematics in NumPy, one (epsilon, seed) at a time, as a
plain script would do it; it uses the same noise scales, so its accuracies match dptl's in
distribution. Prints the times, the ratio, the accuracies of both, and the sweep's arithmetic
floor on this machine: its unavoidable matrix products at the best f32 rate measured here
("peak") and at NumPy's rates on the sweep's own shapes ("shapes"), its eigendecompositions
at XLA's rate. Targets: dptl warm sweep <= 10 s on 2 CPU cores and >= 5x faster than the
baseline.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from dptl.data import load_shipped
from dptl.data.synthetic import gaussian_mixture_features
from dptl.solvers.methods import METHODS as RECORDS
from dptl.solvers.sweep import privacy_utility

EPSILONS = (0.1, 0.3, 1.0, 3.0, 8.0)
METHODS = ("dp_least_squares", "dp_gd", "dp_newton", "dp_fc")


# --------------------------------------------------------------------------------- NumPy
def _sym_noise(rng, d, std):
    z = rng.normal(0, std, (d, d))
    return np.triu(z) + np.triu(z, 1).T


def _psd(a):
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.maximum(w, 0)) @ v.T


def _clipped_grad(w, x, y, clip, link):
    z = x @ w
    if link == "softmax":
        z = np.exp(z - z.max(1, keepdims=True))
        p = z / z.sum(1, keepdims=True)
    else:
        p = 1 / (1 + np.exp(-z))
    r = p - y
    norms = np.linalg.norm(x, axis=1) * np.linalg.norm(r, axis=1)
    return x.T @ (r * np.minimum(1, clip / np.maximum(norms, 1e-30))[:, None])


def _center(x, c):
    """Rows x_i - c rescaled to norm 1 (DP-FC's centring; features have norm C = 1)."""
    z = x - c
    return (z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-30)).astype(np.float32)


def numpy_fit(method, rng, x, y, args, hp):
    """(weights, centre or None) of one point."""
    n, d = x.shape
    k = y.shape[1]
    if method == "dp_least_squares":
        cov_std, xty_std, ridge = args
        a = _psd(x.T @ x + _sym_noise(rng, d, cov_std)) + ridge * np.eye(d)
        return np.linalg.solve(a, x.T @ y + rng.normal(0, xty_std, (d, k))), None
    w = np.zeros((d, k), np.float32)  # float32 like x: a float64 w would upcast x every step
    if method == "dp_gd":
        (std,) = args
        momentum = {"sgd": 0.0, "momentum": 0.9}[hp["optimizer"]]  # optax.sgd(lr, momentum)
        trace = np.zeros_like(w)
        for _ in range(hp["steps"]):
            noise = rng.normal(0, std, w.shape).astype(np.float32)
            g = (_clipped_grad(w, x, y, hp["grad_clip"], "softmax") + noise) / n
            trace = g + momentum * trace
            w = w - hp["learning_rate"] * trace
        return w, None
    s1, s2, *center_std, ridge = args
    center = None
    if center_std:  # DP-FC's centre: the noisy feature sum over n, the rows centred on it
        center = (x.sum(0) + rng.normal(0, center_std[0], d)) / n
        x = _center(x, center)
    if method == "dp_fc":  # the ridge damps the preconditioner only
        bound = {"softmax": 0.5, "ova": 0.25}[hp["loss"]]
        pre = bound * _psd(x.T @ x + _sym_noise(rng, d, s1)) + ridge * np.eye(d)
    for _ in range(hp["steps"]):
        noise = rng.normal(0, s2, w.shape).astype(np.float32)
        if method == "dp_fc":
            g = _clipped_grad(w, x, y, hp["grad_clip"], hp["loss"]) + noise
            if hp["loss"] == "softmax":  # onto the zero-sum columns
                g -= g.mean(axis=1, keepdims=True)
            w = (w - hp["learning_rate"] * np.linalg.solve(pre, g)).astype(np.float32)
        else:  # DP-Newton: one-vs-all with the penalty ridge/2 ||w||^2
            g = _clipped_grad(w, x, y, hp["grad_clip"], "ova") + noise + ridge * w
            p = 1 / (1 + np.exp(-(x @ w)))
            for c in range(k):
                h = (x * (p[:, c] * (1 - p[:, c]))[:, None]).T @ x
                h = _psd(h + _sym_noise(rng, d, s1)) + ridge * np.eye(d)
                w[:, c] -= hp["learning_rate"] * np.linalg.solve(h, g[:, c])
    return w, center


def numpy_sweep(method, x, y1h, x_test, y_test, seeds):
    n, d = x.shape
    acc = np.zeros((len(EPSILONS), seeds))
    for e, eps in enumerate(EPSILONS):
        plan = _plan(method, eps, n, d, y1h.shape[1])
        hp = plan.hyperparameters
        args = plan.noise_stds + ((hp["ridge"],) if "ridge" in hp else ())
        for s in range(seeds):
            w, c = numpy_fit(method, np.random.default_rng(1000 * e + s), x, y1h, args, hp)
            xt = x_test if c is None else _center(x_test, c)
            acc[e, s] = np.mean(np.argmax(xt @ w, 1) == y_test)
    return acc


def _plan(method, epsilon, n, d, k):
    """``method``'s plan at its defaults: its rules resolved, its releases calibrated."""
    return RECORDS[method].plan(epsilon, 1e-5, num_examples=n, dim=d, num_classes=k)


def _best_seconds(fn, repeats=3):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _steps_per_point(n, d, k, seeds):
    """{solver: [steps of each (epsilon, seed) point]}, the defaults' rules resolved."""
    return {
        m: [
            _plan(m, e, n, d, k).hyperparameters.get("steps", 0)
            for e in EPSILONS
            for _ in range(seeds)
        ]
        for m in METHODS
    }


def sweep_work(n, d, k, steps):
    """{solver: (product GFLOP, Gram GFLOP, eighs)} that no implementation of its sweep avoids,
    for the step counts ``steps`` ({solver: [steps of each point]}).

    Products of X with columns (all points' K columns, or K at w = 0): 2 n d columns flops.
    A Gram or Hessian: its lower triangle, n d (d + 1) flops. What depends on the data alone
    (X^T X, X^T Y, the gradient and Hessians at w = 0) is counted once; DP-FC centres the
    rows on each point's own noisy mean, so its X^T X and first gradient are per point.
    Solves and elementwise work are not counted.
    """
    points = len(steps["dp_least_squares"])
    product, gram = 2 * n * d * k, n * d * (d + 1)  # one point's product; a Gram
    first_grad = 2 * 2 * n * d * k  # at w = 0, shared by every point
    later = {"dp_newton": sum(t - 1 for t in steps["dp_newton"])}  # steps after the first
    work = {
        "dp_least_squares": (2 * n * d * k, gram, points),
        "dp_gd": (sum(steps["dp_gd"]) * 2 * product, 0, 0),
        "dp_newton": (
            first_grad + later["dp_newton"] * 2 * product,
            gram + later["dp_newton"] * k * gram,
            sum(steps["dp_newton"]) * k,
        ),
        "dp_fc": (sum(steps["dp_fc"]) * 2 * product, points * gram, points),
    }
    return {m: (p / 1e9, g / 1e9, e) for m, (p, g, e) in work.items()}


def _numpy_rates(x, columns):
    """GFLOP/s of NumPy's BLAS (float32, best of 5): on 4096^2, on the sweep's products of
    X with ``columns`` columns (the fastest of X W, X^T R and R^T X) and on a weighted Gram
    (X * s)^T X, whose full product is counted."""
    rng = np.random.default_rng(0)
    n, d = x.shape
    a = rng.standard_normal((4096, 4096), dtype=np.float32)
    w = rng.standard_normal((d, columns), dtype=np.float32)
    r = rng.standard_normal((n, columns), dtype=np.float32)
    s = rng.random(n, dtype=np.float32)[:, None]
    product = min(
        _best_seconds(f, repeats=5) for f in (lambda: x @ w, lambda: x.T @ r, lambda: r.T @ x)
    )
    return (
        2 * 4096**3 / _best_seconds(lambda: a @ a, repeats=5) / 1e9,
        2 * n * d * columns / product / 1e9,
        2 * n * d * d / _best_seconds(lambda: (x * s).T @ x, repeats=5) / 1e9,
    )


def _print_floor(fs, seeds, warm):
    """The sweep's arithmetic floor on this machine, two ways. Peak: its unavoidable products
    at the best f32 rate measured here (NumPy's BLAS on 4096^2). Shapes: the same flops at
    NumPy's rate on the sweep's own shapes (60000 x 320 times P K columns; Hessian-shaped
    Grams, credited with the full product's rate for the triangle alone). Both count the
    eigendecompositions at XLA's batched rate and leave out solves and elementwise work.
    Peak is a hard lower bound here; shapes is what this machine's BLAS delivers on the
    sweep's shapes, the floor an implementation on it can expect."""
    n, d = fs.x_train.shape
    points = len(EPSILONS) * seeds
    x = np.asarray(fs.x_train, np.float32)
    peak, product_rate, gram_rate = _numpy_rates(x, points * fs.num_classes)
    work = sweep_work(n, d, fs.num_classes, _steps_per_point(n, d, fs.num_classes, seeds))
    batch = max(e for *_, e in work.values())
    m = jax.random.normal(jax.random.key(0), (batch, d, d))
    m = m + jnp.swapaxes(m, 1, 2)
    eigh = jax.jit(jnp.linalg.eigh)
    per_eigh = _best_seconds(lambda: jax.block_until_ready(eigh(m))) / batch
    print(
        f"\narithmetic floor: peak = at NumPy's best f32 rate ({peak:.0f} GFLOP/s on 4096^2);"
        f" shapes = at NumPy's rates on the sweep's shapes ({product_rate:.0f} GFLOP/s for"
        f" {n} x {d} times {points * fs.num_classes} columns, {gram_rate:.0f} for {d} x {d}"
        f" Grams); eigh at XLA's {per_eigh * 1e3:.1f} ms per {d} x {d}:"
    )
    print(f"{'solver':<15}{'GFLOP':>8}{'eighs':>7}{'peak s':>9}{'shapes s':>10}{'dptl s':>8}")
    totals = np.zeros(3)
    for name, (products, grams, eighs) in work.items():
        row = np.array(
            [
                (products + grams) / peak + eighs * per_eigh,
                products / product_rate + grams / gram_rate + eighs * per_eigh,
                warm[name][0],
            ]
        )
        totals += row
        print(
            f"{name:<15}{products + grams:>8.0f}{eighs:>7}{row[0]:>9.2f}{row[1]:>10.2f}"
            f"{row[2]:>8.2f}"
        )
    print(f"{'total':<15}{'':>15}{totals[0]:>9.2f}{totals[1]:>10.2f}{totals[2]:>8.2f}")


# --------------------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthetic", action="store_true", help="generated 60000 x 320 features")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    if args.synthetic:
        fs = gaussian_mixture_features(
            0, 60000, 10000, 320, 10, separation=0.3, offset=0.8, spectrum_decay=1.0
        )
    else:
        fs = load_shipped("efficientnet_lite0_112").astype(np.float32)
    print(
        f"{fs!r}; {len(EPSILONS)} epsilons x {args.seeds} seeds x {len(METHODS)} solvers;"
        f" {jax.device_count()} {jax.default_backend()} device(s)"
    )

    def run_dptl():
        out = {}
        for m in METHODS:
            start = time.perf_counter()
            res = privacy_utility(
                m,
                jax.random.key(0),
                fs.x_train,
                fs.y_train,
                fs.x_test,
                fs.y_test,
                epsilons=EPSILONS,
                num_seeds=args.seeds,
                num_classes=fs.num_classes,
            )
            out[m] = (time.perf_counter() - start, res.mean)
        return out

    cold = run_dptl()
    warm = run_dptl()
    t_cold = sum(v[0] for v in cold.values())
    t_warm = sum(v[0] for v in warm.values())
    print(
        f"\n{'solver':<15}{'dptl cold s':>12}{'dptl warm s':>12}   accuracy per epsilon {EPSILONS}"
    )
    for m in METHODS:
        print(f"{m:<15}{cold[m][0]:>12.2f}{warm[m][0]:>12.2f}   {np.round(100 * warm[m][1], 2)}")
    print(f"{'total':<15}{t_cold:>12.2f}{t_warm:>12.2f}")
    _print_floor(fs, args.seeds, warm)
    if args.skip_baseline:
        return
    # float32 like dptl (float64 would make the baseline ~2x slower for no reason)
    x = np.asarray(fs.x_train, np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    xt = np.asarray(fs.x_test, np.float32)
    xt /= np.linalg.norm(xt, axis=1, keepdims=True)
    y1h = np.eye(fs.num_classes, dtype=np.float32)[fs.y_train]
    print(f"\n{'solver':<15}{'numpy s':>12}   accuracy per epsilon")
    t_np = 0.0
    for m in METHODS:
        start = time.perf_counter()
        acc = numpy_sweep(m, x, y1h, xt, fs.y_test, args.seeds)
        t = time.perf_counter() - start
        t_np += t
        print(f"{m:<15}{t:>12.2f}   {np.round(100 * acc.mean(1), 2)}")
    print(f"{'total':<15}{t_np:>12.2f}")
    print(f"\nspeed-up of dptl (warm) over NumPy: {t_np / t_warm:.1f}x; cold: {t_np / t_cold:.1f}x")
    print(
        f"target: warm sweep <= 10 s ({'met' if t_warm <= 10 else 'NOT met'}),"
        f" >= 5x ({'met' if t_np / t_warm >= 5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
