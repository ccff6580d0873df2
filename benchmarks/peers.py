"""dptl's solvers side by side with peer DP libraries on the shipped features.

    pip install torch==2.13.0 && pip install -e '.[bench]'   # once: CPU torch, then the peers
    nice -n 10 python benchmarks/peers.py                    # ~20-35 min on 2 busy CPU cores

Data: the shipped Fashion-MNIST EfficientNet-Lite0 features (60000 x 320 train, 10000 test,
10 classes), every row normalised to norm C = 1 by ``dptl.solvers.preprocess_features``
(a per-example map, so no privacy cost), the same rows for every method. Privacy: epsilon
0.1, 1 and 8, delta 1e-5, 3 seeds each. Prints a table of test accuracy (mean +- std over
seeds) and wall seconds per fit, and writes ``docs/results/peers.{json,md,html}``.

Methods and how their hyperparameters were chosen (never tuned on the shipped data):

- dptl (add/remove, (epsilon, delta)-DP, exact GDP or PLD accounting): DP least squares,
  DP-GD, DP-SGD, DP-Newton, DP-FC, each its record of ``dptl.solvers.METHODS`` at its
  defaults (chosen on the public digits by ``benchmarks/tune_defaults.py``).
- Opacus DP-SGD on ``torch.nn.Linear(320, 10, bias=False)`` zero-initialised, Poisson
  sampling, ``make_private_with_epsilon`` (its default PRV accountant, add/remove), with
  dptl's DP-SGD defaults: expected batch 3000, 300 steps (15 epochs), dptl's learning-rate
  rule (lr 8 at epsilon 0.1, 32 at 1 and 8 on these 60,000 rows), plain SGD,
  clip 1, mean cross-entropy (noise sum divided by the expected batch size).
- JAX Privacy 2.x DP-SGD: its ``clipped_grad``, ``gaussian_privatizer`` and Poisson
  ``CyclicPoissonSampling``, noise calibrated by its ``DpsgdTrainingAccountant`` (PLD,
  add/remove), with the same DP-SGD hyperparameters as Opacus and dptl.
- IBM diffprivlib ``LogisticRegression`` (objective perturbation, one-vs-rest, epsilon
  split over classes) and ``LinearRegression`` (functional mechanism on one-hot targets,
  argmax of the 10 outputs): library defaults, plus the data-independent bounds that the
  normalisation gives (``data_norm=1``; ``bounds_X=(-1, 1)`` per feature, ``bounds_y=(0, 1)``).
  diffprivlib is pure epsilon-DP (delta = 0) and its sensitivities are for replace-one
  neighbours. dptl's add/remove (epsilon, delta) guarantee implies replace-one
  (2 epsilon, ~2 delta), so LogisticRegression runs twice: at the same epsilon (the same
  number, a guarantee at least as strong as dptl's) and at 2 epsilon (the replace-one budget
  dptl's guarantee implies: the most generous reading for the peer). LinearRegression runs
  at the same epsilon only (it splits epsilon ~54,000 ways and is at chance either way).
  See docs/peers.md.

Wall times are of one process on a shared machine (run under ``nice``) and are noisy. dptl's
seconds per fit are from a second (warm, compiled) sweep divided by its number of fits; its
first, compiling sweep is in the JSON as ``cold_seconds``.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import platform
import time
import warnings
from importlib import metadata
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from dptl.data import load_shipped
from dptl.solvers import preprocess_features
from dptl.solvers.methods import METHODS
from dptl.solvers.sweep import privacy_utility

EPSILONS = (0.1, 1.0, 8.0)
DELTA = 1e-5
FEATURE_NORM = 1.0
OUT = Path(__file__).resolve().parents[1] / "docs" / "results"

DPTL = {
    "dp_least_squares": "dptl DP least squares",
    "dp_gd": "dptl DP-GD",
    "dp_sgd": "dptl DP-SGD",
    "dp_newton": "dptl DP-Newton",
    "dp_fc": "dptl DP-FC",
}


def sgd_settings(n, eps):
    """dptl's subsampled DP-SGD at its defaults on n rows at eps (rules resolved): the
    settings every DP-SGD peer gets (batch, steps, the learning-rate rule, clip)."""
    return (
        METHODS["dp_sgd"].plan(eps, DELTA, num_examples=n, dim=320, num_classes=10).hyperparameters
    )


# ----------------------------------------------------------------------------- dptl
def run_dptl(method, fs, epsilons, seeds):
    def sweep():
        start = time.perf_counter()
        res = privacy_utility(
            method,
            jax.random.key(0),
            fs.x_train,
            fs.y_train,
            fs.x_test,
            fs.y_test,
            epsilons=epsilons,
            num_seeds=seeds,
            delta=DELTA,
            num_classes=fs.num_classes,
            feature_norm=FEATURE_NORM,
        )
        return res, time.perf_counter() - start

    _, cold = sweep()
    res, warm = sweep()
    fits = len(epsilons) * seeds
    return {
        "name": DPTL[method],
        "library": "dptl",
        "neighbouring": "add/remove",
        "delta": DELTA,
        "hyperparameters": {k: v for k, v in res.config.items()},
        "cold_seconds": cold,
        "results": [
            {
                "epsilon": float(e),
                "epsilon_run": float(e),
                "epsilon_spent": float(res.privacy[i].epsilon),
                "accuracy": [float(a) for a in res.accuracy[i]],
                "seconds_per_fit": warm / fits,
            }
            for i, e in enumerate(epsilons)
        ],
    }


# ----------------------------------------------------------------------------- peers
def _per_fit(fit, epsilons, seeds, run_epsilon=lambda e: e):
    """fit(epsilon_run, seed) -> (accuracy, epsilon spent or None), timed per call."""
    results = []
    for e in epsilons:
        accs, times, spent = [], [], []
        for s in range(seeds):
            start = time.perf_counter()
            acc, eps_spent = fit(run_epsilon(e), s)
            times.append(time.perf_counter() - start)
            accs.append(float(acc))
            spent.append(eps_spent)
        results.append(
            {
                "epsilon": float(e),
                "epsilon_run": float(run_epsilon(e)),
                "epsilon_spent": None if spent[0] is None else float(max(spent)),
                "accuracy": accs,
                "seconds_per_fit": float(np.mean(times)),
            }
        )
    return results


def diffprivlib_logistic(x, y, xt, yt):
    from diffprivlib.models import LogisticRegression
    from sklearn.exceptions import ConvergenceWarning

    def fit(eps, seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = LogisticRegression(epsilon=eps, data_norm=FEATURE_NORM, random_state=seed)
            clf.fit(x, y)
        return np.mean(clf.predict(xt) == yt), eps

    return fit


def diffprivlib_linear(x, y, xt, yt, num_classes):
    from diffprivlib.models import LinearRegression

    y1h = np.eye(num_classes, dtype=np.float64)[y]
    d = x.shape[1]
    bounds_x = (-FEATURE_NORM * np.ones(d), FEATURE_NORM * np.ones(d))  # |x_j| <= ||x|| <= C
    bounds_y = (np.zeros(num_classes), np.ones(num_classes))

    def fit(eps, seed):
        reg = LinearRegression(epsilon=eps, bounds_X=bounds_x, bounds_y=bounds_y, random_state=seed)
        reg.fit(x, y1h)
        return np.mean(np.argmax(reg.predict(xt), axis=1) == yt), eps

    return fit


def opacus_dpsgd(x, y, xt, yt, num_classes):
    import torch
    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    n, d = x.shape
    sgd = sgd_settings(n, 1.0)  # batch and steps do not depend on epsilon
    batch, steps = sgd["batch_size"], sgd["steps"]
    steps_per_epoch = n // batch
    if steps % steps_per_epoch or n % batch:
        raise ValueError("Opacus counts epochs: steps must be a multiple of n / batch_size")
    epochs = steps // steps_per_epoch
    xtr, ytr = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    xte = torch.from_numpy(xt)

    def fit(eps, seed):
        torch.manual_seed(seed)
        model = torch.nn.Linear(d, num_classes, bias=False)
        torch.nn.init.zeros_(model.weight)  # zero-init last layer, as dptl
        opt = torch.optim.SGD(model.parameters(), lr=sgd_settings(n, eps)["learning_rate"])
        loader = DataLoader(
            TensorDataset(xtr, ytr),
            batch_size=batch,
            generator=torch.Generator().manual_seed(seed),
        )
        engine = PrivacyEngine()  # default accountant: PRV
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "secure RNG turned off": expected in a benchmark
            model, opt, loader = engine.make_private_with_epsilon(
                module=model,
                optimizer=opt,
                data_loader=loader,
                target_epsilon=eps,
                target_delta=DELTA,
                epochs=epochs,
                max_grad_norm=sgd["grad_clip"],
                poisson_sampling=True,
            )
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(epochs):
            for xb, yb in loader:
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()
        with torch.no_grad():
            acc = (model(xte).argmax(1).numpy() == yt).mean()
        return acc, engine.get_epsilon(DELTA)

    return fit


def jax_privacy_dpsgd(x, y, xt, yt, num_classes):
    import jax_privacy
    import optax
    from jax_privacy import accounting, batch_selection, noise_addition

    n, d = x.shape
    sgd = sgd_settings(n, 1.0)  # batch and steps do not depend on epsilon
    batch, steps, clip = sgd["batch_size"], sgd["steps"], sgd["grad_clip"]
    q = batch / n
    accountant = accounting.DpsgdTrainingAccountant(accounting.PldAccountantConfig())
    xd = jnp.asarray(x)
    yd = jax.nn.one_hot(jnp.asarray(y), num_classes)
    xtd = jnp.asarray(xt)

    def loss(w, xb, yb):  # one example: xb (d,), yb (K,)
        return -jnp.sum(yb * jax.nn.log_softmax(xb @ w))

    # Microbatches of 512 examples: the same sum, but the per-example gradients of the whole
    # batch at once (3072 x 320 x 10) made each step ~35x slower on this CPU.
    grad_sum = jax_privacy.clipped_grad(
        loss, l2_clip_norm=clip, batch_argnums=(1, 2), keep_batch_dim=False, microbatch_size=512
    )

    @functools.cache  # once per epsilon, as dptl's sweep calibrates once per epsilon
    def calibrate(eps):
        nm = accounting.calibrate_noise_multiplier(
            target_epsilon=eps,
            accountant=accountant,
            batch_sizes=batch,
            num_updates=steps,
            num_samples=n,
            target_delta=DELTA,
        )
        return nm, accountant.compute_epsilon(
            steps,
            accounting.DpParams(noise_multipliers=nm, batch_size=batch, num_samples=n, delta=DELTA),
        )

    def fit(eps, seed):
        nm, spent = calibrate(eps)
        tx = optax.chain(
            noise_addition.gaussian_privatizer(stddev=nm * clip, prng_key=seed),
            optax.scale(1.0 / batch),  # divide the noisy sum by the expected batch size
            optax.sgd(sgd_settings(n, eps)["learning_rate"]),
        )

        @jax.jit
        def step(w, state, idx):
            g = grad_sum(w, xd[idx], yd[idx], is_padding_example=idx < 0)
            updates, state = tx.update(g, state, w)
            return optax.apply_updates(w, updates), state

        w = jnp.zeros((d, num_classes))
        state = tx.init(w)
        sampler = batch_selection.CyclicPoissonSampling(sampling_prob=q, iterations=steps)
        for idx in sampler.batch_iterator(n, rng=seed):
            # Pad to a few fixed shapes (index -1: a padding example, zero gradient) so jit
            # compiles a handful of programs, not one per Poisson batch size.
            idx = batch_selection.pad_to_multiple_of(idx, 1024)
            w, state = step(w, state, jnp.asarray(idx))
        acc = float(jnp.mean(jnp.argmax(xtd @ w, axis=1) == jnp.asarray(yt)))
        return acc, spent

    return fit


def peers(x, y, xt, yt, num_classes, epsilons, seeds, skip):
    """Yield one result dict per peer method, as each finishes."""
    dpsgd_hp = {k: sgd_settings(len(y), 1.0)[k] for k in ("steps", "batch_size", "grad_clip")}
    dpsgd_hp["learning_rate"] = {e: sgd_settings(len(y), e)["learning_rate"] for e in epsilons}
    dpsgd_hp["optimizer"] = "sgd (no momentum), zero init, no bias"
    spec = []
    if "jax_privacy" not in skip:
        spec.append(
            (
                "JAX Privacy DP-SGD",
                "jax-privacy",
                lambda: jax_privacy_dpsgd(x, y, xt, yt, num_classes),
                {**dpsgd_hp, "accountant": "pld (DpsgdTrainingAccountant)"},
                "add/remove",
                DELTA,
                lambda e: e,
            )
        )
    if "diffprivlib" not in skip:
        for label, factor in (("", 1.0), (" at 2 eps", 2.0)):
            rel = "replace-one" + (" (run at 2 epsilon)" if factor == 2 else "")
            spec.append(
                (
                    "diffprivlib LogisticRegression" + label,
                    "diffprivlib",
                    lambda: diffprivlib_logistic(x, y, xt, yt),
                    {"data_norm": FEATURE_NORM, "C": 1.0, "max_iter": 100, "fit_intercept": True},
                    rel,
                    0.0,
                    lambda e, f=factor: f * e,
                )
            )
        # LinearRegression at the same epsilon only: its functional mechanism splits the
        # budget over 1 + Kd + d(d+1)/2 = 54,561 Laplace releases, chance-level either way.
        spec += [
            (
                "diffprivlib LinearRegression",
                "diffprivlib",
                lambda: diffprivlib_linear(x, y, xt, yt, num_classes),
                {
                    "bounds_X": f"(-{FEATURE_NORM}, {FEATURE_NORM}) per feature",
                    "bounds_y": "(0, 1) per class",
                    "fit_intercept": True,
                    "targets": "one-hot, prediction argmax",
                },
                "replace-one",
                0.0,
                lambda e: e,
            ),
        ]
    # Opacus last: the slowest per fit here (per-sample gradients by hooks on CPU).
    if "opacus" not in skip:
        spec.append(
            (
                "Opacus DP-SGD",
                "opacus",
                lambda: opacus_dpsgd(x, y, xt, yt, num_classes),
                {**dpsgd_hp, "accountant": "prv (Opacus default)"},
                "add/remove",
                DELTA,
                lambda e: e,
            )
        )
    for name, lib, make, hp, rel, delta, run_eps in spec:
        print(f"  {name} ...", flush=True)
        yield {
            "name": name,
            "library": lib,
            "neighbouring": rel,
            "delta": delta,
            "hyperparameters": hp,
            "results": _per_fit(make(), epsilons, seeds, run_eps),
        }


# ----------------------------------------------------------------------------- output
def _cell(r):
    a = np.asarray(r["accuracy"]) * 100
    return f"{a.mean():5.2f} ± {a.std():4.2f} ({r['seconds_per_fit']:.2f} s)"


def markdown_table(methods, epsilons):
    head = "| method | neighbouring, delta | " + " | ".join(f"ε = {e:g}" for e in epsilons) + " |"
    rule = "|---|---|" + "---:|" * len(epsilons)
    rows = [
        f"| {m['name']} | {m['neighbouring']}, δ = {m['delta']:g} | "
        + " | ".join(_cell(r) for r in m["results"])
        + " |"
        for m in methods
    ]
    return "\n".join([head, rule, *rows])


def figure(methods, epsilons, seeds):
    import plotly.graph_objects as go

    fig = go.Figure()
    for m in methods:
        acc = np.asarray([r["accuracy"] for r in m["results"]]) * 100
        fig.add_trace(
            go.Scatter(
                x=[r["epsilon"] for r in m["results"]],
                y=acc.mean(1),
                error_y={"type": "data", "array": acc.std(1), "visible": True},
                mode="lines+markers",
                name=m["name"],
                line={"dash": "solid" if m["library"] == "dptl" else "dot"},
            )
        )
    fig.update_layout(
        title=f"Shipped Fashion-MNIST EfficientNet-Lite0 features: test accuracy vs epsilon "
        f"(delta 1e-5; mean ± std over {seeds} seeds)",
        xaxis={"title": "epsilon", "type": "log", "tickvals": list(epsilons)},
        yaxis={"title": "test accuracy (%)"},
        legend={"title": "method (dashed: peer library)"},
        template="plotly_white",
    )
    return fig


def _version(pkg):
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epsilons", type=float, nargs="+", default=list(EPSILONS))
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["dptl", "opacus", "jax_privacy", "diffprivlib"],
        help="leave these out (for a quick look; the committed results have all)",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder for peers.{json,md,html}")
    parser.add_argument(
        "--from-json", type=Path, help="only redraw the table and figure from a results file"
    )
    args = parser.parse_args()
    if args.from_json:
        res = json.loads(args.from_json.read_text())
        write_outputs(res["setup"], res["methods"], args.out)
        return
    epsilons = tuple(args.epsilons)

    fs = load_shipped("efficientnet_lite0_112").astype(np.float32)
    # The same per-example normalisation for every method (dptl repeats it inside; a no-op).
    x = np.asarray(preprocess_features(fs.x_train, FEATURE_NORM), np.float32)
    xt = np.asarray(preprocess_features(fs.x_test, FEATURE_NORM), np.float32)
    y, yt = np.asarray(fs.y_train), np.asarray(fs.y_test)
    fs_norm = type(fs)(x, y, xt, yt, fs.class_names, fs.metadata)
    print(
        f"{fs!r}; epsilons {epsilons}, delta {DELTA:g}, {args.seeds} seeds; rows normalised "
        f"to norm {FEATURE_NORM:g}"
    )
    setup = {
        "command": "nice -n 10 python benchmarks/peers.py",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "features": "shipped efficientnet_lite0_112 (Fashion-MNIST, 112 px, 320-d)",
        "train": int(x.shape[0]),
        "test": int(xt.shape[0]),
        "dim": int(x.shape[1]),
        "num_classes": int(fs.num_classes),
        "preprocessing": f"every row normalised to norm {FEATURE_NORM:g} (dptl preprocess_features)",
        "epsilons": list(epsilons),
        "delta": DELTA,
        "seeds": args.seeds,
        "machine": f"{platform.machine()}, {jax.device_count()} {jax.default_backend()} device(s), "
        "2 CPU cores shared with other jobs, run under nice -n 10: wall times are noisy",
        "versions": {
            p: _version(p)
            for p in (
                "dptl",
                "jax",
                "jaxlib",
                "numpy",
                "torch",
                "opacus",
                "diffprivlib",
                "jax-privacy",
                "scikit-learn",
            )
        },
    }
    methods = []
    args.out.mkdir(parents=True, exist_ok=True)

    def save():  # after every method, so an interrupted run keeps what it computed
        (args.out / "peers.json").write_text(
            json.dumps({"setup": setup, "methods": methods}, indent=1) + "\n"
        )

    if "dptl" not in args.skip:
        for m in DPTL:
            print(f"  {DPTL[m]} ...", flush=True)
            methods.append(_summarise(run_dptl(m, fs_norm, epsilons, args.seeds)))
            save()
    for m in peers(x, y, xt, yt, fs.num_classes, epsilons, args.seeds, args.skip):
        methods.append(_summarise(m))
        save()
    write_outputs(setup, methods, args.out)


def _summarise(m):
    for r in m["results"]:
        a = np.asarray(r["accuracy"])
        r["mean"], r["std"] = float(a.mean()), float(a.std())
    return m


def write_outputs(setup, methods, out):
    """Print the table and write peers.{json,md,html} under ``out``."""
    epsilons = tuple(setup["epsilons"])
    x_shape, xt_shape = (setup["train"],), (setup["test"],)
    table = markdown_table(methods, epsilons)
    print("\ntest accuracy % (mean ± std over seeds) and (wall seconds per fit):\n")
    print(table)
    best = {}
    for i, e in enumerate(epsilons):
        ours = max(
            (m for m in methods if m["library"] == "dptl"),
            key=lambda m: m["results"][i]["mean"],
            default=None,
        )
        theirs = max(
            (m for m in methods if m["library"] != "dptl"),
            key=lambda m: m["results"][i]["mean"],
            default=None,
        )
        if ours and theirs:
            best[e] = (
                ours["name"],
                ours["results"][i]["mean"],
                theirs["name"],
                theirs["results"][i]["mean"],
            )
            print(
                f"epsilon {e:g}: best dptl {ours['name']} {100 * best[e][1]:.2f}% vs best peer "
                f"{theirs['name']} {100 * best[e][3]:.2f}%"
            )

    (out / "peers.json").write_text(
        json.dumps({"setup": setup, "methods": methods}, indent=1) + "\n"
    )
    (out / "peers.md").write_text(
        "# dptl vs peer DP libraries (generated by `benchmarks/peers.py`)\n\n"
        f"Shipped Fashion-MNIST EfficientNet-Lite0 features, {x_shape[0]} train / "
        f"{xt_shape[0]} test, rows normalised to norm {FEATURE_NORM:g}; delta {DELTA:g} "
        f"(diffprivlib: pure DP, delta 0); {setup['seeds']} seeds. Cells: test accuracy % "
        "(mean ± std over seeds) and wall seconds per fit on a shared 2-core CPU (noisy). "
        "See ../peers.md for how the comparison was set up.\n\n" + table + "\n"
    )
    figure(methods, epsilons, setup["seeds"]).write_html(
        out / "peers.html", include_plotlyjs="cdn", full_html=True
    )
    print(f"\nwrote {out}/peers.json, peers.md, peers.html")


if __name__ == "__main__":
    main()
