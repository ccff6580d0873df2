"""Lesson 2: transfer learning and DP-SGD on the last layer.

Cached sweep (``python -m dptl.lessons.precompute transfer``), on the common 10,000
training / 10,000 test Fashion-MNIST images of :func:`dptl.data.load_comparison`:

- DP-SGD test accuracy for every feature set (raw pixels, random-weights network, the
  ImageNet network at 32 px and at 112 px) x epsilon x batch size, at a fixed number of
  epochs (steps = epochs * n / B), ``num_seeds`` seeds; epsilon = inf is the non-private run;
- on the 112-px features, the same at a fixed number of *steps* instead of epochs;
- on the 112-px features, zero-initialised against randomly initialised last layers.

Every curve is one call of :func:`dptl.solvers.sweep.privacy_utility` ("dp_sgd" with the
batch size, "dp_gd" at full batch), the solvers' own core and key schedule. Hyperparameters
are the lesson's fixed settings (learning rate 4, plain SGD, epochs, steps), not tuned on
the test set: tuning on it would itself leak information the accounting does not count.
"""

from __future__ import annotations

import jax
import numpy as np
import plotly.graph_objects as go

from dptl.data import load_comparison
from dptl.data.shipped import COMPARISON_TRAIN, COMPARISONS
from dptl.lessons.cache import CACHE_VERSION, cached, from_json, load_cache, to_json
from dptl.lessons.checks import beyond_spread, decided_winner, is_decided
from dptl.lessons.data import fingerprint
from dptl.lessons.explorer import Control, Explorer, epsilon_axis, fmt_eps, subplots
from dptl.solvers.sweep import privacy_utility

__all__ = [
    "FEATURE_LABELS",
    "TRANSFER_DEFAULTS",
    "exercise_answer",
    "findings",
    "init_figure",
    "load_feature_sets",
    "transfer_explorer",
    "transfer_sweep",
]

FEATURE_LABELS = {
    "raw_pixels": "raw pixels (784-d)",
    "efficientnet_lite0_random_112": "random-weights network",
    "efficientnet_lite0_32": "ImageNet network, 32 px",
    "efficientnet_lite0_112": "ImageNet network, 112 px",
}

SHORT_LABELS = {
    "raw_pixels": "raw<br>pixels",
    "efficientnet_lite0_random_112": "random<br>network",
    "efficientnet_lite0_32": "ImageNet<br>32 px",
    "efficientnet_lite0_112": "ImageNet<br>112 px",
}

TRANSFER_DEFAULTS = dict(
    epsilons=[0.5, 1.0, 2.0, 4.0, 8.0, float("inf")],
    batch_sizes=[200, 1000, 5000, COMPARISON_TRAIN],
    epochs=20,
    fixed_steps=100,
    num_seeds=2,
    delta=1e-5,
    learning_rate=4.0,
    optimizer="sgd",
    init_scales=[0.0, 0.1, 0.3],
    init_steps=100,
    seed=0,
)


def load_feature_sets(names=COMPARISONS) -> dict:
    """The comparison feature sets (float32), on the same images."""
    return {name: load_comparison(name).astype(np.float32) for name in names}


def _steps_for(epochs, n, b):
    return max(1, int(np.ceil(epochs * n / b)))


def _accuracy(key, fs, p: dict, *, batch_size, steps, init_scale=0.0) -> np.ndarray:
    """Test accuracy (E, S) of DP-SGD with Poisson batches of ``batch_size`` (None: full-batch
    DP-GD) at the lesson's fixed learning rate and optimizer: the sweep of
    :mod:`dptl.solvers.sweep`, which runs the solvers' own core with their key schedule."""
    method, batch = ("dp_gd", {}) if batch_size is None else ("dp_sgd", {"batch_size": batch_size})
    return privacy_utility(
        method,
        key,
        fs.x_train,
        fs.y_train,
        fs.x_test,
        fs.y_test,
        epsilons=p["epsilons"],
        num_seeds=p["num_seeds"],
        delta=p["delta"],
        num_classes=fs.num_classes,
        steps=steps,
        learning_rate=p["learning_rate"],
        optimizer=p["optimizer"],
        init_scale=init_scale,
        **batch,
    ).accuracy


def compute_transfer(sets: dict, p: dict, reuse: dict | None = None) -> dict:
    """The sweep; ``reuse`` holds results (same parameters) for feature sets that did not
    change, so replacing one feature file retrains only on that one."""
    reuse = reuse or {}
    key = jax.random.key(p["seed"])
    out = {"fixed_epochs": {}, "steps_fixed_epochs": []}
    n = next(iter(sets.values())).num_train
    for b in p["batch_sizes"]:
        out["steps_fixed_epochs"].append(_steps_for(p["epochs"], n, b))
    for name, fs in sets.items():
        if name in reuse.get("fixed_epochs", {}):
            out["fixed_epochs"][name] = np.asarray(reuse["fixed_epochs"][name])
            continue
        rows = [
            _accuracy(key, fs, p, batch_size=b, steps=_steps_for(p["epochs"], n, b))
            for b in p["batch_sizes"]
        ]
        out["fixed_epochs"][name] = np.stack(rows, 1)  # (E, B, S)
    fs = sets["efficientnet_lite0_112"]
    if "fixed_steps" in reuse:
        out["fixed_steps"], out["init"] = reuse["fixed_steps"], reuse["init"]
        return out
    rows = [_accuracy(key, fs, p, batch_size=b, steps=p["fixed_steps"]) for b in p["batch_sizes"]]
    out["fixed_steps"] = np.stack(rows, 1)
    out["init"] = np.stack(
        [
            _accuracy(key, fs, p, batch_size=None, steps=p["init_steps"], init_scale=s)
            for s in p["init_scales"]
        ]
    )  # (I, E, S)
    return out


class TransferSweep:
    def __init__(self, data: dict, p: dict):
        self.params = p
        self.epsilons = np.asarray(p["epsilons"], float)
        self.batch_sizes = np.asarray(p["batch_sizes"], int)
        self.steps_fixed_epochs = np.asarray(data["steps_fixed_epochs"], int)
        self.fixed_epochs = {k: np.asarray(v, float) for k, v in data["fixed_epochs"].items()}
        self.fixed_steps = np.asarray(data["fixed_steps"], float)
        self.init = np.asarray(data["init"], float)

    def index(self, epsilon, batch_size):
        return (
            int(np.flatnonzero(self.epsilons == epsilon)[0]),
            int(np.flatnonzero(self.batch_sizes == batch_size)[0]),
        )

    def accuracy(self, name, epsilon, batch_size) -> float:
        """Mean test accuracy over seeds at a slider position (fixed epochs)."""
        ei, bi = self.index(epsilon, batch_size)
        return float(self.fixed_epochs[name][ei, bi].mean())

    def gap(self, name, epsilon, batch_size) -> float:
        """Non-private minus private accuracy at the same batch size and epochs."""
        return self.accuracy(name, float("inf"), batch_size) - self.accuracy(
            name, epsilon, batch_size
        )


def transfer_sweep(sets: dict | None = None, *, recompute=False, **overrides) -> TransferSweep:
    p = {**TRANSFER_DEFAULTS, **overrides}
    sets = load_feature_sets() if sets is None else sets
    prints = {k: fingerprint(v) for k, v in sets.items()}
    spec = {"lesson": "transfer", **p, "data": prints, "runner": "dptl.solvers.sweep"}
    reuse = {}
    old = None if recompute else load_cache("transfer")
    if old is not None and {k: v for k, v in old["spec"].items() if k != "data"} == {
        k: v
        for k, v in from_json(to_json({**spec, "cache_version": CACHE_VERSION})).items()
        if k != "data"
    }:
        same = {k for k, v in prints.items() if old["spec"]["data"].get(k) == v}
        reuse["fixed_epochs"] = {k: v for k, v in old["data"]["fixed_epochs"].items() if k in same}
        if "efficientnet_lite0_112" in same:
            reuse["fixed_steps"], reuse["init"] = old["data"]["fixed_steps"], old["data"]["init"]
    data = cached("transfer", spec, lambda: compute_transfer(sets, p, reuse), recompute=recompute)
    return TransferSweep(data, p)


def transfer_explorer(sw: TransferSweep) -> Explorer:
    eps = sw.epsilons
    finite = np.isfinite(eps)
    xe = eps[finite]
    names = list(sw.fixed_epochs)
    fig = subplots(
        rows=1,
        cols=3,
        horizontal_spacing=0.08,
        titles=(
            "accuracy vs ε (fixed epochs)",
            "private vs non-private at ε",
            "112 px: fixed epochs vs fixed steps",
        ),
    )
    for name in names:  # traces 0..F-1: private curves
        fig.add_scatter(
            x=xe,
            y=sw.fixed_epochs[name][finite, 0].mean(-1),
            mode="lines+markers",
            name=FEATURE_LABELS.get(name, name),
            legendgroup=name,
            row=1,
            col=1,
        )
    f = len(names)
    # short two-line bar labels: the full ones, tilted, ran into the legend
    labels = [SHORT_LABELS.get(n, n) for n in names]
    fig.add_bar(x=labels, y=[0] * f, name="non-private", row=1, col=2)  # f
    fig.add_bar(x=labels, y=[0] * f, name="private at ε", row=1, col=2)  # f + 1
    bs = sw.batch_sizes
    fig.add_scatter(
        x=bs,
        y=sw.fixed_epochs["efficientnet_lite0_112"][0].mean(-1),
        mode="lines+markers",
        name=f"{sw.params['epochs']} epochs",
        row=1,
        col=3,
    )
    fig.add_scatter(
        x=bs,
        y=sw.fixed_steps[0].mean(-1),
        mode="lines+markers",
        name=f"{sw.params['fixed_steps']} steps",
        row=1,
        col=3,
    )
    fig.add_scatter(
        x=[bs[0]],
        y=[0],
        mode="markers",
        showlegend=False,
        marker=dict(size=13, color="black", symbol="x"),
        row=1,
        col=3,
    )
    epsilon_axis(fig, eps, row=1, col=1)
    fig.update_xaxes(tickangle=0, row=1, col=2)  # the two-line bar labels, level
    fig.update_xaxes(
        type="log",
        title_text="batch size B",
        tickvals=[int(b) for b in bs],
        ticktext=[f"{int(b) // 1000}k" if b % 1000 == 0 else f"{int(b)}" for b in bs],
        tickangle=0,
        row=1,
        col=3,
    )
    fig.update_yaxes(title_text="test accuracy", range=[0, 1], row=1, col=1)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    fig.update_yaxes(range=[0, 1], row=1, col=3)
    fig.update_layout(
        height=460,
        barmode="group",
        margin=dict(b=60),
        legend=dict(orientation="h", y=-0.3, font=dict(size=10)),
    )

    def draw(fg, s):
        ei, bi = sw.index(s["epsilon"], s["batch_size"])
        d = fg.data
        for i, name in enumerate(names):
            d[i].y = sw.fixed_epochs[name][finite, bi].mean(-1)
        inf_i = int(np.flatnonzero(~finite)[0])
        d[f].y = [sw.fixed_epochs[n][inf_i, bi].mean() for n in names]
        d[f + 1].y = [sw.fixed_epochs[n][ei, bi].mean() for n in names]
        d[f + 1].name = f"private, ε = {fmt_eps(eps[ei])}"
        d[f + 2].y = sw.fixed_epochs["efficientnet_lite0_112"][ei].mean(-1)
        d[f + 3].y = sw.fixed_steps[ei].mean(-1)
        d[f + 4].x, d[f + 4].y = (
            [float(bs[bi])],
            [sw.fixed_epochs["efficientnet_lite0_112"][ei, bi].mean()],
        )
        gaps = ", ".join(
            f"{FEATURE_LABELS.get(n, n)}: {sw.gap(n, eps[ei], bs[bi]):+.3f}" for n in names
        )
        return (
            f"<b>ε = {fmt_eps(eps[ei])}, B = {bs[bi]}</b> ({sw.steps_fixed_epochs[bi]} steps for "
            f"{sw.params['epochs']} epochs). Accuracy lost to privacy: {gaps}"
        )

    controls = [
        Control("epsilon", list(eps), label="ε", initial=1.0, fmt=fmt_eps),
        Control("batch_size", [int(b) for b in bs], label="batch size B", initial=int(bs[-1])),
    ]
    return Explorer(fig, controls, draw)


def init_figure(sw: TransferSweep) -> go.Figure:
    """Accuracy vs epsilon of full-batch DP-GD from zero and from random initial weights."""
    eps = sw.epsilons
    finite = np.isfinite(eps)
    fig = go.Figure()
    for i, s in enumerate(sw.params["init_scales"]):
        fig.add_scatter(
            x=eps[finite],
            y=sw.init[i][finite].mean(-1),
            mode="lines+markers",
            name="zero init" if s == 0 else f"N(0, {s:g}²) init",
        )
    epsilon_axis(fig, eps)
    fig.update_layout(
        title=f"DP-GD ({sw.params['init_steps']} full-batch steps), 112-px features",
        yaxis=dict(title="test accuracy"),
        height=380,
    )
    return fig


def exercise_answer(sw: TransferSweep, epsilon: float = 1.0) -> str:
    """The feature set whose private model is the most accurate at ``epsilon`` with the
    full batch, decided beyond the seeds' spread (:func:`~dptl.lessons.checks.decided_winner`)."""
    ei, bi = sw.index(epsilon, sw.batch_sizes[-1])
    return decided_winner({n: a[ei, bi] for n, a in sw.fixed_epochs.items()})


def findings(sw: TransferSweep, epsilon: float = 1.0):
    """What this sweep shows at ``epsilon`` with the full batch, in words made from its
    numbers: each feature set's private and non-private accuracy, whether its privacy gap
    is beyond the seeds' spread, and whether the gaps order the feature sets."""
    from IPython.display import Markdown

    ei, bi = sw.index(epsilon, sw.batch_sizes[-1])
    inf_i = int(np.flatnonzero(~np.isfinite(sw.epsilons))[0])
    rows, gaps = [], {}
    for name, acc in sw.fixed_epochs.items():
        private, nonprivate = acc[ei, bi], acc[inf_i, bi]
        gap = nonprivate - private  # per seed
        gaps[name] = -gap
        spread = float(np.std(private) + np.std(nonprivate))
        verdict = "beyond" if beyond_spread(gap.mean(), spread) else "within"
        rows.append(
            f"| {FEATURE_LABELS.get(name, name)} | {private.mean():.3f} | "
            f"{nonprivate.mean():.3f} | {100 * gap.mean():+.2f} ({verdict} the seeds' spread) |"
        )
    smallest = is_decided(gaps)
    best = is_decided({n: a[ei, bi] for n, a in sw.fixed_epochs.items()})
    text = [
        f"**What these numbers show** (ε = {fmt_eps(sw.epsilons[ei])}, full batch of "
        f"{sw.batch_sizes[bi]:,}, {sw.params['epochs']} epochs, {sw.params['num_seeds']} seeds):",
        "",
        "| features | private | non-private | gap, points |",
        "|---|---|---|---|",
        *rows,
        "",
        (
            f"* Pretraining sets the level: {FEATURE_LABELS.get(best, best)} is the most "
            "accurate, beyond the seeds' spread."
            if best
            else "* No feature set is ahead of all others beyond the seeds' spread."
        ),
        (
            f"* The gaps order the feature sets: {FEATURE_LABELS.get(smallest, smallest)} "
            "loses the least."
            if smallest
            else "* The gaps do not order the feature sets: their differences are within the "
            "seeds' spread, so this sweep cannot test the papers' finding that better features "
            "shrink the gap."
        ),
        "* Every model here, private or not, is trained with the lesson's fixed DP-SGD "
        "settings; a non-private model trained to convergence is more accurate, so read each "
        "gap as this setting's, not as the method's limit.",
    ]
    return Markdown("\n".join(text))
