"""Lesson 3: DP least squares against DP logistic regression (full-batch DP-GD).

Cached sweep (``python -m dptl.lessons.precompute linear_logistic``): test accuracy of
both methods across epsilon for three data settings x examples per class x the logistic
solver's step budget:

- ``real, 10 classes``: the shipped Fashion-MNIST features, ``n_per_class`` examples of
  each class (the first ones in the shuffled file);
- ``simulated, 10 / 100 classes``: a **simulation calibrated on the real features**
  (:func:`calibrated_simulation`): Gaussian classes with the real features' overall mean,
  their total between-class spread and their pooled within-class covariance. It stands in
  for many-class data (ImageNet has 1000 classes) that we cannot ship.

Hyperparameters (learning rate, ridge, budget split) are the fixed defaults of
:data:`dptl.solvers.sweep.DEFAULTS`, not tuned on the test set.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from dptl.data import FeatureSet
from dptl.lessons.cache import cached
from dptl.lessons.checks import decided_winner, is_decided
from dptl.lessons.data import fingerprint
from dptl.lessons.explorer import Control, Explorer, epsilon_axis, fmt_eps, subplots
from dptl.privacy import normalize_rows
from dptl.solvers.sweep import DEFAULTS, RULES, privacy_utility

__all__ = [
    "EXERCISE",
    "LL_DEFAULTS",
    "calibrated_simulation",
    "exercise_answer",
    "findings",
    "linear_logistic_explorer",
    "linear_logistic_sweep",
    "per_class_subset",
]

LS_COLOR, LOGISTIC_COLOR = "#636efa", "#ef553b"  # plotly's first two colours

LL_DEFAULTS = dict(
    epsilons=[0.1, 0.5, 2.0, 8.0, float("inf")],
    settings=["real, 10 classes", "simulated, 10 classes", "simulated, 100 classes"],
    n_per_class=[5, 20, 100],
    logistic_steps=[10, 100],
    num_test_per_class=50,
    num_seeds=2,
    delta=1e-5,
    seed=0,
)


def per_class_subset(x, y, n_per_class: int, num_classes: int):
    """The first ``n_per_class`` rows of each class (rows are in shuffled order)."""
    idx = np.concatenate([np.flatnonzero(y == k)[:n_per_class] for k in range(num_classes)])
    idx.sort()
    return x[idx], y[idx]


def _moments(fs: FeatureSet):
    x = np.asarray(normalize_rows(np.asarray(fs.x_train, np.float32)), np.float64)
    y = fs.y_train
    means = np.stack([x[y == k].mean(0) for k in range(fs.num_classes)])
    within = x - means[y]
    cov = within.T @ within / len(x)
    return means.mean(0), np.linalg.cholesky(cov + 1e-6 * np.eye(x.shape[1]))


def _ridge_accuracy(xtr, ytr, xte, yte, k, ridge=1e-3):
    """Non-private least squares on normalised rows (the calibration target)."""
    nrm = lambda z: z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-30)  # noqa: E731
    xtr, xte = nrm(xtr), nrm(xte)
    w = np.linalg.solve(
        xtr.T @ xtr + ridge * len(xtr) * np.eye(xtr.shape[1]), xtr.T @ np.eye(k)[ytr]
    )
    return float(np.mean(np.argmax(xte @ w, 1) == yte))


def _draw(centre, chol, scale, num_classes, n_per_class, n_test_per_class, seed):
    rng = np.random.default_rng(seed)
    d = len(centre)
    centres = centre + scale * rng.normal(size=(num_classes, d)) @ chol.T

    def draw(m):
        labels = np.repeat(np.arange(num_classes), m)
        rng.shuffle(labels)
        x = centres[labels] + rng.normal(size=(len(labels), d)) @ chol.T
        return x.astype(np.float32), labels.astype(np.int32)

    return (*draw(n_per_class), *draw(n_test_per_class))


@functools.lru_cache(maxsize=8)
def _calibrated_scale(fs: FeatureSet, n_per_class: int = 100, seed: int = 0) -> float:
    """Centre spread at which the 10-class simulation's non-private least-squares accuracy
    matches the real features' (same examples per class), by bisection on a log scale."""
    centre, chol = _moments(fs)
    k = fs.num_classes
    xr, yr = per_class_subset(fs.x_train, fs.y_train, n_per_class, k)
    target = _ridge_accuracy(xr, yr, fs.x_test[:2000], fs.y_test[:2000], k)
    lo, hi = 1e-3, 10.0
    for _ in range(18):
        mid = np.sqrt(lo * hi)
        acc = _ridge_accuracy(*_draw(centre, chol, mid, k, n_per_class, 200, seed), k)
        lo, hi = (mid, hi) if acc < target else (lo, mid)
    return float(np.sqrt(lo * hi))


def calibrated_simulation(
    fs: FeatureSet, num_classes: int, n_per_class: int, n_test_per_class: int, seed: int = 0
) -> FeatureSet:
    """Gaussian classes calibrated on the (normalised) real features.

    Every class has the real pooled within-class covariance S_w; class centres are
    the real overall mean plus N(0, a^2 S_w) offsets, with ``a`` chosen so that with 10
    classes and 100 examples per class non-private least squares is exactly as accurate
    as on the real features (:func:`_calibrated_scale`): same shape of noise, same
    difficulty. A teaching simulation, labelled as such in the lesson; it is never used
    for a private result on the real data.
    """
    centre, chol = _moments(fs)
    scale = _calibrated_scale(fs)
    xtr, ytr, xte, yte = _draw(
        centre, chol, scale, num_classes, n_per_class, n_test_per_class, seed
    )
    return FeatureSet(
        xtr,
        ytr,
        xte,
        yte,
        tuple(f"sim {k}" for k in range(num_classes)),
        {"dataset": f"simulation calibrated on {fs.metadata.get('dataset', '?')}", "scale": scale},
    )


def _dataset(fs: FeatureSet, setting: str, n_pc: int, p: dict) -> FeatureSet:
    k = int(setting.split(",")[1].split()[0])
    if setting.startswith("real"):
        xtr, ytr = per_class_subset(fs.x_train, fs.y_train, n_pc, k)
        return FeatureSet(xtr, ytr, fs.x_test, fs.y_test, fs.class_names)
    return calibrated_simulation(fs, k, n_pc, p["num_test_per_class"], p["seed"] + k)


def compute_linear_logistic(fs: FeatureSet, p: dict) -> dict:
    key = jax.random.key(p["seed"])
    out = {}
    for setting in p["settings"]:
        for n_pc in p["n_per_class"]:
            ds = _dataset(fs, setting, n_pc, p)
            args = (key, ds.x_train, ds.y_train, ds.x_test, ds.y_test)
            kw = dict(
                epsilons=p["epsilons"],
                num_seeds=p["num_seeds"],
                delta=p["delta"],
                num_classes=ds.num_classes,
            )
            row = {"dp_least_squares": privacy_utility("dp_least_squares", *args, **kw).accuracy}
            for t in p["logistic_steps"]:
                row[f"logistic_{t}"] = privacy_utility("dp_gd", *args, steps=t, **kw).accuracy
            out[f"{setting}|{n_pc}"] = row
    return out


class LinearLogisticSweep:
    def __init__(self, data: dict, p: dict):
        self.params = p
        self.epsilons = np.asarray(p["epsilons"], float)
        self.table = {k: {m: np.asarray(a, float) for m, a in v.items()} for k, v in data.items()}

    def accuracy(self, setting, n_per_class, method) -> np.ndarray:
        """Mean accuracy over seeds for each epsilon; method 'dp_least_squares'/'logistic_T'."""
        return self.table[f"{setting}|{n_per_class}"][method].mean(-1)

    def advantage(self, setting, n_per_class, steps) -> np.ndarray:
        """Least squares minus logistic accuracy at each epsilon (> 0: least squares wins)."""
        return self.accuracy(setting, n_per_class, "dp_least_squares") - self.accuracy(
            setting, n_per_class, f"logistic_{steps}"
        )


def linear_logistic_sweep(fs: FeatureSet, *, recompute=False, **overrides) -> LinearLogisticSweep:
    p = {**LL_DEFAULTS, **overrides}
    spec = {
        "lesson": "linear_logistic",
        **p,
        "data": fingerprint(fs),
        "simulation": "gaussian, S_w-shaped centres, LS-accuracy matched (v2)",
        # the methods run at their defaults and rules: a changed default makes this stale
        "defaults": {m: DEFAULTS[m] for m in ("dp_least_squares", "dp_gd")},
        "rules": RULES,
    }
    data = cached(
        "linear_logistic", spec, lambda: compute_linear_logistic(fs, p), recompute=recompute
    )
    return LinearLogisticSweep(data, p)


def linear_logistic_explorer(sw: LinearLogisticSweep) -> Explorer:
    eps = sw.epsilons
    fin = np.isfinite(eps)
    p = sw.params
    s0, n0, t0 = p["settings"][0], p["n_per_class"][-1], p["logistic_steps"][-1]
    fig = subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.1,
        titles=(
            "test accuracy vs ε",
            "least squares minus logistic (> 0: least squares wins)",
        ),
    )
    fig.add_scatter(
        x=eps[fin],
        y=sw.accuracy(s0, n0, "dp_least_squares")[fin],
        mode="lines+markers",
        name="DP least squares",
        line=dict(color=LS_COLOR),
        row=1,
        col=1,
    )  # 0
    fig.add_scatter(
        x=eps[fin],
        y=sw.accuracy(s0, n0, f"logistic_{t0}")[fin],
        mode="lines+markers",
        name="DP logistic (DP-GD)",
        line=dict(color=LOGISTIC_COLOR),
        row=1,
        col=1,
    )  # 1
    fig.add_scatter(
        x=[eps[fin][0], eps[fin][-1]],
        y=[0, 0],
        mode="lines",
        # each in its private curve's colour; the two often coincide: a wide dash under a
        # thin dot keeps both visible
        line=dict(dash="dash", width=5, color=LS_COLOR),
        name="least squares, no privacy",
        row=1,
        col=1,
    )  # 2
    fig.add_scatter(
        x=[eps[fin][0], eps[fin][-1]],
        y=[0, 0],
        mode="lines",
        line=dict(dash="dot", width=2, color=LOGISTIC_COLOR),
        name="logistic, no privacy",
        row=1,
        col=1,
    )  # 3
    for n_pc in p["n_per_class"]:  # 4..
        fig.add_scatter(
            x=eps[fin],
            y=sw.advantage(s0, n_pc, t0)[fin],
            mode="lines+markers",
            name=f"{n_pc} per class",
            row=1,
            col=2,
        )
    fig.add_hline(y=0, line_color="gray", row=1, col=2)
    epsilon_axis(fig, eps)
    fig.update_yaxes(title_text="test accuracy", row=1, col=1)
    fig.update_layout(height=440, legend=dict(font=dict(size=10)))

    def draw(fg, s):
        st, n_pc, t = s["setting"], s["n_per_class"], s["steps"]
        ls = sw.accuracy(st, n_pc, "dp_least_squares")
        lg = sw.accuracy(st, n_pc, f"logistic_{t}")
        d = fg.data
        d[0].y, d[1].y = ls[fin], lg[fin]
        d[1].name = f"DP logistic, {t} steps"
        d[2].y, d[3].y = [ls[~fin][0]] * 2, [lg[~fin][0]] * 2
        for i, m in enumerate(p["n_per_class"]):
            d[4 + i].y = sw.advantage(st, m, t)[fin]
        won = {"least squares": [], "logistic": [], None: []}  # beyond the seeds' spread
        for ei in np.flatnonzero(fin):
            won[is_decided(_per_seed(sw, st, n_pc, t, ei))].append(fmt_eps(eps[ei]))
        return (
            f"<b>{st}, {n_pc} per class, logistic with {t} steps</b>: least squares wins at "
            f"ε ∈ {{{', '.join(won['least squares']) or 'none'}}}, logistic at ε ∈ "
            f"{{{', '.join(won['logistic']) or 'none'}}}, within the seeds' spread at ε ∈ "
            f"{{{', '.join(won[None]) or 'none'}}}; without privacy: least squares "
            f"{ls[~fin][0]:.3f}, logistic {lg[~fin][0]:.3f}"
        )

    controls = [
        Control("setting", p["settings"], label="data", initial=s0, fmt=str),
        Control("n_per_class", p["n_per_class"], label="examples per class", initial=n0),
        Control("steps", p["logistic_steps"], label="logistic steps", initial=t0),
    ]
    return Explorer(fig, controls, draw)


# The exercise's question: (setting, examples per class, logistic steps, epsilon).
EXERCISE = ("real, 10 classes", 100, 100, 0.5)


def _per_seed(sw: LinearLogisticSweep, setting, n_per_class, steps, ei) -> dict:
    t = sw.table[f"{setting}|{n_per_class}"]
    return {"least squares": t["dp_least_squares"][ei], "logistic": t[f"logistic_{steps}"][ei]}


def exercise_answer(sw: LinearLogisticSweep) -> str:
    """Which method wins in the exercise's setting (:data:`EXERCISE`), decided beyond the
    seeds' spread (:func:`~dptl.lessons.checks.decided_winner`)."""
    setting, n_pc, steps, eps = EXERCISE
    ei = int(np.flatnonzero(np.isclose(sw.epsilons, eps))[0])
    return decided_winner(_per_seed(sw, setting, n_pc, steps, ei))


def findings(sw: LinearLogisticSweep):
    """Per setting and examples per class (largest logistic step budget): the epsilons at
    which least squares wins, logistic regression wins, or the seeds do not decide."""
    from IPython.display import Markdown

    steps = max(sw.params["logistic_steps"])
    rows = []
    counts = {"least squares": 0, "logistic": 0, None: 0}
    for setting in sw.params["settings"]:
        for n_pc in sw.params["n_per_class"]:
            verdicts = {"least squares": [], "logistic": [], None: []}
            for ei, eps in enumerate(sw.epsilons):
                winner = is_decided(_per_seed(sw, setting, n_pc, steps, ei))
                verdicts[winner].append(fmt_eps(eps))
                counts[winner] += 1
            rows.append(
                f"| {setting} | {n_pc} | {', '.join(verdicts['least squares']) or '-'} | "
                f"{', '.join(verdicts['logistic']) or '-'} | {', '.join(verdicts[None]) or '-'} |"
            )
    text = [
        f"**What these numbers show** (logistic regression with {steps} steps, "
        f"{sw.params['num_seeds']} seeds; a win must exceed twice the seeds' spread):",
        "",
        "| setting | examples per class | least squares wins at ε | logistic wins at ε | "
        "undecided at ε |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Least squares wins {counts['least squares']} of these comparisons, logistic "
        f"regression {counts['logistic']}, and {counts[None]} are within the seeds' spread "
        "(undecided comparisons are evidence for neither method).",
    ]
    return Markdown("\n".join(text))
