"""Lesson 2: transfer learning and DP-SGD on the last layer.

Cached sweep (``python -m dptl.lessons.precompute transfer``). Everything runs on all 60,000
training and 10,000 test Fashion-MNIST images: the feature comparison on the same rows of
every set of :func:`dptl.data.load_comparison`, the batch and init studies on the shipped
112-px set (:func:`dptl.data.load_shipped`):

- **features**: for every feature set (raw pixels, random-weights network, the ImageNet
  network at 32 px and at 112 px), the test accuracy of full-batch DP-GD at its defaults
  (``METHODS["dp_gd"]``: momentum 0.9, learning rate 4, steps by its n mu rule; at
  epsilon = inf its non-private counterpart, learning rate 64, 300 steps) for every epsilon
  and seed, and the non-private linear probe (:func:`dptl.features.linear_probe_accuracy`,
  L-BFGS to convergence) as the features' reference;
- **batch**: on the 60,000-row 112-px set, Poisson-subsampled DP-SGD at one fixed setting
  (momentum 0.9, DP-GD's private learning rate 4) for every batch size, at a fixed number
  of epochs (steps = epochs * n / B) and at a fixed number of steps;
- **init**: on the 60,000-row 112-px set, DP-GD at its defaults from a zero last layer and from
  random ones.

Every number is one call of :func:`dptl.solvers.sweep.privacy_utility`, the solvers' own
core and key schedule. No hyperparameter is chosen here: DP-GD's defaults are its record's
rules (chosen on a public set, ``benchmarks/tune_defaults.py``), and the batch study varies
only the batch size and the step budget around DP-GD's private learning rate. Nothing is
tuned on the test set: tuning on it would leak information the accounting does not count.
"""

from __future__ import annotations

import jax
import numpy as np
import plotly.graph_objects as go

from dptl.data import load_comparison, load_shipped
from dptl.data.shipped import COMPARISONS
from dptl.features.probe import linear_probe_accuracy
from dptl.lessons.cache import CACHE_VERSION, cached, from_json, load_cache, to_json
from dptl.lessons.checks import (
    beyond_spread,
    decided_winner,
    gap_rank_correlation,
    is_decided,
    pretraining_verdict,
)
from dptl.lessons.data import fingerprint
from dptl.lessons.explorer import (
    Control,
    Explorer,
    distinct_style,
    epsilon_axis,
    fmt_eps,
    subplots,
)
from dptl.solvers import METHODS
from dptl.solvers.dpsgd import PRIVATE_LEARNING_RATE
from dptl.solvers.sweep import privacy_utility

__all__ = [
    "FEATURE_LABELS",
    "FEATURE_METHOD",
    "TRANSFER_DEFAULTS",
    "exercise_answer",
    "findings",
    "init_figure",
    "init_findings",
    "batch_study",
    "load_batch_features",
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

# The method that compares the feature sets, at its defaults: full-batch DP-GD.
FEATURE_METHOD = "dp_gd"

TRANSFER_DEFAULTS = dict(
    epsilons=[0.5, 1.0, 2.0, 4.0, 8.0, float("inf")],
    num_seeds=3,
    delta=1e-5,
    # the batch study: DP-SGD at one fixed setting, DP-GD's private optimizer and rate
    # sampling rates 0.02 / 0.1 / 0.5 / 1 of the 60,000 rows (the last: full-batch DP-GD)
    batch_sizes=[1200, 6000, 30000, 60000],
    batch_epochs=20,
    batch_steps=300,
    batch_learning_rate=PRIVATE_LEARNING_RATE,
    batch_optimizer="momentum",
    init_scales=[0.0, 0.1, 1.0],
    seed=0,
)


def load_feature_sets(names=COMPARISONS) -> dict:
    """The comparison feature sets (float32), on the same 60,000 + 10,000 images."""
    return {name: load_comparison(name).astype(np.float32) for name in names}


def _steps_for(epochs, n, b):
    return max(1, int(np.ceil(epochs * n / b)))


def _run(method, key, fs, p: dict, **hyperparameters):
    """The sweep of ``method`` over the lesson's epsilons and seeds on ``fs``."""
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
        **hyperparameters,
    )


def _batch_accuracy(key, fs, p: dict, *, batch_size, steps) -> np.ndarray:
    """Test accuracy (E, S) of DP-SGD with Poisson batches of ``batch_size`` (the full
    batch: DP-GD) for ``steps`` steps at the batch study's fixed optimizer and rate."""
    method, batch = (
        ("dp_gd", {}) if batch_size >= fs.num_train else ("dp_sgd", {"batch_size": batch_size})
    )
    return _run(
        method,
        key,
        fs,
        p,
        steps=steps,
        learning_rate=p["batch_learning_rate"],
        optimizer=p["batch_optimizer"],
        **batch,
    ).accuracy


BATCH_KEYS = ("steps_fixed_epochs", "batch_fixed_epochs", "batch_fixed_steps")
BATCH_DATA = "batch and init studies"  # the batch study's data in the cache's fingerprints


def batch_study(key, fs, p: dict) -> dict:
    """DP-SGD at the batch study's fixed setting for every batch size of ``p``: test accuracy
    (E, B, S) at ``p["batch_epochs"]`` epochs (steps = epochs n / B, listed in
    ``steps_fixed_epochs``) and at ``p["batch_steps"]`` steps. ``benchmarks/claims.py``'s
    claim (c) reads the same study."""
    n = fs.num_train
    steps = [_steps_for(p["batch_epochs"], n, b) for b in p["batch_sizes"]]
    return {
        "steps_fixed_epochs": steps,
        "batch_fixed_epochs": np.stack(
            [
                _batch_accuracy(key, fs, p, batch_size=b, steps=t)
                for b, t in zip(p["batch_sizes"], steps, strict=True)
            ],
            1,
        ),
        "batch_fixed_steps": np.stack(
            [
                _batch_accuracy(key, fs, p, batch_size=b, steps=p["batch_steps"])
                for b in p["batch_sizes"]
            ],
            1,
        ),
    }


def compute_transfer(sets: dict, batch_features, p: dict, reuse: dict | None = None) -> dict:
    """The sweep: the feature comparison on ``sets``, the batch and init studies on
    ``batch_features``. ``reuse`` holds results (same parameters) for data that did not
    change, so replacing one feature file retrains only on that one."""
    reuse = reuse or {}
    key = jax.random.key(p["seed"])
    out = {"features": {}, "probe": {}, "feature_steps": []}
    for name, fs in sets.items():
        if name in reuse.get("features", {}):
            out["features"][name] = np.asarray(reuse["features"][name])
            out["probe"][name] = reuse["probe"][name]
            continue
        res = _run(FEATURE_METHOD, key, fs, p)
        out["features"][name] = res.accuracy  # (E, S)
        out["feature_steps"] = [r["steps"] for r in res.resolved]
        out["probe"][name] = linear_probe_accuracy(fs.x_train, fs.y_train, fs.x_test, fs.y_test)
    if not out["feature_steps"]:
        out["feature_steps"] = reuse["feature_steps"]
    if "batch_fixed_steps" in reuse:
        out.update({k: reuse[k] for k in (*BATCH_KEYS, "init")})
        return out
    out.update(batch_study(key, batch_features, p))
    out["init"] = np.stack(
        [
            _run(FEATURE_METHOD, key, batch_features, p, init_scale=s).accuracy
            for s in p["init_scales"]
        ]
    )  # (I, E, S)
    return out


class TransferSweep:
    """The cached sweep: ``features[name]`` (E, S), ``probe[name]``, ``batch_fixed_epochs``
    and ``batch_fixed_steps`` (E, B, S), ``init`` (I, E, S)."""

    def __init__(self, data: dict, p: dict):
        self.params = p
        self.epsilons = np.asarray(p["epsilons"], float)
        self.batch_sizes = np.asarray(p["batch_sizes"], int)
        self.features = {k: np.asarray(v, float) for k, v in data["features"].items()}
        self.probe = {k: float(v) for k, v in data["probe"].items()}
        self.feature_steps = [int(s) for s in data["feature_steps"]]
        self.steps_fixed_epochs = np.asarray(data["steps_fixed_epochs"], int)
        self.batch_fixed_epochs = np.asarray(data["batch_fixed_epochs"], float)
        self.batch_fixed_steps = np.asarray(data["batch_fixed_steps"], float)
        self.init = np.asarray(data["init"], float)

    def eps_index(self, epsilon) -> int:
        return int(np.flatnonzero(self.epsilons == epsilon)[0])

    def batch_index(self, batch_size) -> int:
        return int(np.flatnonzero(self.batch_sizes == batch_size)[0])

    def accuracy(self, name, epsilon) -> float:
        """Mean test accuracy over seeds of DP-GD at its defaults on ``name``."""
        return float(self.features[name][self.eps_index(epsilon)].mean())

    def gap(self, name, epsilon) -> float:
        """Non-private minus private accuracy of DP-GD at its defaults."""
        return self.accuracy(name, float("inf")) - self.accuracy(name, epsilon)


def load_batch_features():
    """The batch and init studies' data: every row of the shipped 112-px set (float32)."""
    return load_shipped().astype(np.float32)


def transfer_sweep(
    sets: dict | None = None, batch_features=None, *, recompute=False, **overrides
) -> TransferSweep:
    """Lesson 2's sweep, from its cache when the cache's spec matches.

    Args:
        sets: the comparison feature sets (default :func:`load_feature_sets`).
        batch_features: the batch and init studies' data (default: all 60,000 rows of the
            112-px set, ``sets``' own or :func:`load_batch_features`).
        recompute: recompute even when the cache matches.
        **overrides: entries of :data:`TRANSFER_DEFAULTS`.

    Returns:
        A :class:`TransferSweep`.
    """
    p = {**TRANSFER_DEFAULTS, **overrides}
    sets = load_feature_sets() if sets is None else sets
    if batch_features is None:  # the 112-px comparison set is that data: not loaded twice
        main = sets.get("efficientnet_lite0_112")
        batch_features = load_batch_features() if main is None else main
    prints = {k: fingerprint(v) for k, v in sets.items()}
    prints[BATCH_DATA] = fingerprint(batch_features)
    spec = {"lesson": "transfer", **p, "data": prints, "runner": "dptl.solvers.sweep"}
    reuse = {}
    old = None if recompute else load_cache("transfer")
    if old is not None and {k: v for k, v in old["spec"].items() if k != "data"} == {
        k: v
        for k, v in from_json(to_json({**spec, "cache_version": CACHE_VERSION})).items()
        if k != "data"
    }:
        same = {k for k, v in prints.items() if old["spec"]["data"].get(k) == v}
        d = old["data"]
        reuse["features"] = {k: v for k, v in d["features"].items() if k in same}
        reuse["probe"], reuse["feature_steps"] = d["probe"], d["feature_steps"]
        if BATCH_DATA in same:
            reuse.update({k: d[k] for k in (*BATCH_KEYS, "init")})
    data = cached(
        "transfer",
        spec,
        lambda: compute_transfer(sets, batch_features, p, reuse),
        recompute=recompute,
    )
    return TransferSweep(data, p)


def _fmt_batch(b) -> str:
    return f"{b / 1000:g}k" if b >= 1000 else f"{int(b)}"


def transfer_explorer(sw: TransferSweep) -> Explorer:
    eps = sw.epsilons
    finite = np.isfinite(eps)
    inf_i = int(np.flatnonzero(~finite)[0])
    xe = eps[finite]
    names = list(sw.features)
    label = METHODS[FEATURE_METHOD].label
    fig = subplots(
        rows=1,
        cols=3,
        horizontal_spacing=0.08,
        titles=(
            f"{label} at its defaults",
            "non-private vs private at ε",
            "112 px, 60k rows, DP-SGD: B",
        ),
    )
    for i, name in enumerate(names):  # traces 0..F-1: private curves (no slider moves them)
        fig.add_scatter(
            x=xe,
            y=sw.features[name][finite].mean(-1),
            mode="lines+markers",
            name=FEATURE_LABELS.get(name, name),
            legendgroup=name,
            **distinct_style(i),  # on the full data 32 px and raw pixels coincide
            row=1,
            col=1,
        )
    f = len(names)
    # short two-line bar labels: the full ones, tilted, ran into the legend
    labels = [SHORT_LABELS.get(n, n) for n in names]
    fig.add_bar(
        x=labels, y=[sw.features[n][inf_i].mean() for n in names], name="non-private", row=1, col=2
    )  # f
    fig.add_bar(x=labels, y=[0] * f, name="private at ε", row=1, col=2)  # f + 1
    bs = sw.batch_sizes
    fig.add_scatter(
        x=bs,
        y=sw.batch_fixed_epochs[0].mean(-1),
        mode="lines+markers",
        name=f"{sw.params['batch_epochs']} epochs (steps = {sw.params['batch_epochs']} n / B)",
        line=dict(color="#2a3f5f"),
        row=1,
        col=3,
    )  # f + 2
    fig.add_scatter(
        x=bs,
        y=sw.batch_fixed_steps[0].mean(-1),
        mode="lines+markers",
        name=f"{sw.params['batch_steps']} steps",
        line=dict(color="#8c564b", dash="dash"),
        row=1,
        col=3,
    )  # f + 3
    fig.add_scatter(
        x=[bs[0], bs[0]],
        y=[0, 0],
        mode="markers",
        showlegend=False,
        marker=dict(size=12, color="#d62728", symbol="x-thin", line=dict(width=3, color="#d62728")),
        row=1,
        col=3,
    )  # f + 4: the chosen batch size on both curves
    epsilon_axis(fig, eps, row=1, col=1)
    # the two-line bar labels, level and small enough not to run into each other
    fig.update_xaxes(tickangle=0, tickfont=dict(size=10), row=1, col=2)
    fig.update_xaxes(
        type="log",
        title_text="batch size B",
        tickvals=[int(b) for b in bs],
        ticktext=[_fmt_batch(b) for b in bs],
        tickangle=0,
        row=1,
        col=3,
    )
    # the feature curves share a zoomed axis (bars start at zero); the batch study, on all
    # training rows, spans a few points: its own axis, in steps of 0.05 around all its values
    low = min(0.5, np.floor(10 * min(a[finite].mean(-1).min() for a in sw.features.values())) / 10)
    batch = np.concatenate([sw.batch_fixed_epochs.mean(-1), sw.batch_fixed_steps.mean(-1)])
    fig.update_yaxes(title_text="test accuracy", range=[low, 1], row=1, col=1)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    fig.update_yaxes(
        range=[np.floor(20 * batch.min()) / 20, min(1.0, np.ceil(20 * batch.max()) / 20)],
        row=1,
        col=3,
    )
    fig.update_layout(
        height=460,
        barmode="group",
        margin=dict(b=60),
        legend=dict(orientation="h", y=-0.3, font=dict(size=10)),
    )

    def draw(fg, s):
        ei, bi = sw.eps_index(s["epsilon"]), sw.batch_index(s["batch_size"])
        d = fg.data
        d[f + 1].y = [sw.features[n][ei].mean() for n in names]
        d[f + 1].name = f"private, ε = {fmt_eps(eps[ei])}"
        by_epochs = sw.batch_fixed_epochs[ei].mean(-1)
        by_steps = sw.batch_fixed_steps[ei].mean(-1)
        d[f + 2].y, d[f + 3].y = by_epochs, by_steps
        d[f + 4].x, d[f + 4].y = [float(bs[bi])] * 2, [by_epochs[bi], by_steps[bi]]
        gaps = ", ".join(f"{FEATURE_LABELS.get(n, n)} {sw.gap(n, eps[ei]):+.3f}" for n in names)
        return (
            f"<b>ε = {fmt_eps(eps[ei])}</b>: accuracy lost to privacy ({label}, "
            f"{sw.feature_steps[ei]} steps): {gaps}. <b>B = {bs[bi]:,}</b> (112 px, all {bs[-1]:,} rows): "
            f"{sw.params['batch_epochs']} epochs ({sw.steps_fixed_epochs[bi]:,} steps) "
            f"{by_epochs[bi]:.3f}, {sw.params['batch_steps']} steps {by_steps[bi]:.3f}"
        )

    controls = [
        Control("epsilon", list(eps), label="ε", initial=1.0, fmt=fmt_eps),
        Control("batch_size", [int(b) for b in bs], label="batch size B", initial=int(bs[1])),
    ]
    return Explorer(fig, controls, draw)


def init_figure(sw: TransferSweep) -> go.Figure:
    """Accuracy vs epsilon of DP-GD at its defaults from zero and from random initial weights."""
    eps = sw.epsilons
    finite = np.isfinite(eps)
    fig = go.Figure()
    for i, s in enumerate(sw.params["init_scales"]):
        fig.add_scatter(
            x=eps[finite],
            y=sw.init[i][finite].mean(-1),
            error_y=dict(type="data", array=sw.init[i][finite].std(-1)),
            mode="lines+markers",
            name="zero init" if s == 0 else f"N(0, {s:g}²) init",
            **distinct_style(i),  # zero and N(0, 0.1²) coincide
        )
    epsilon_axis(fig, eps)
    fig.update_layout(
        title=f"{METHODS[FEATURE_METHOD].label} at its defaults, 112-px features, all "
        f"{sw.batch_sizes[-1]:,} training rows",
        yaxis=dict(title="test accuracy"),
        height=380,
    )
    return fig


def exercise_answer(sw: TransferSweep, epsilon: float = 1.0) -> str:
    """The feature set whose private DP-GD model is the most accurate at ``epsilon``,
    decided beyond the seeds' spread (:func:`~dptl.lessons.checks.decided_winner`)."""
    ei = sw.eps_index(epsilon)
    return decided_winner({n: a[ei] for n, a in sw.features.items()})


def _batch_sentence(acc: np.ndarray, sizes, steps=None) -> str:
    """Each batch size's mean accuracy (``acc``: (B, S); ``steps`` per batch size, if they
    differ), the best, and which others are level with it (within the seeds' spread)."""
    means = acc.mean(-1)
    best = int(np.argmax(means))
    level = [
        f"{int(sizes[i]):,}"
        for i in range(len(sizes))
        if i != best
        and not beyond_spread(means[best] - means[i], float(acc[best].std() + acc[i].std()))
    ]
    listed = "; ".join(
        f"B = {int(b):,}"
        + ("" if steps is None else f" ({steps[i]:,} steps)")
        + f": {means[i]:.3f}"
        for i, b in enumerate(sizes)
    )
    tie = (
        f"level with B = {', '.join(level)} within the seeds' spread"
        if level
        else "beyond the seeds' spread"
    )
    return f"{listed}. Best B = {int(sizes[best]):,}, {tie}"


def init_findings(sw: TransferSweep):
    """Random against zero initial weights at every finite epsilon, decided beyond the
    seeds' spread, in words made from the sweep's numbers."""
    from IPython.display import Markdown

    finite = np.flatnonzero(np.isfinite(sw.epsilons))
    zero = sw.init[0]
    lines = []
    for i, s in enumerate(sw.params["init_scales"]):
        if s == 0:
            continue
        diffs = [zero[e].mean() - sw.init[i][e].mean() for e in finite]
        beyond = [
            fmt_eps(sw.epsilons[e])
            for e, d in zip(finite, diffs, strict=True)
            if beyond_spread(d, float(zero[e].std() + sw.init[i][e].std()))
        ]
        where = (
            f"beyond the seeds' spread at ε = {', '.join(beyond)}"
            if beyond
            else "within the seeds' spread at every ε"
        )
        lines.append(
            f"* N(0, {s:g}²) init: zero init minus it is {100 * min(diffs):+.2f} to "
            f"{100 * max(diffs):+.2f} points, {where}."
        )
    return Markdown(
        f"**Zero against random init** ({METHODS[FEATURE_METHOD].label} at its defaults, "
        f"{sw.params['num_seeds']} seeds, ε = {fmt_eps(sw.epsilons[finite[0]])} to "
        f"{fmt_eps(sw.epsilons[finite[-1]])}):\n\n" + "\n".join(lines)
    )


def findings(sw: TransferSweep, epsilon: float = 1.0):
    """What this sweep shows at ``epsilon``, in words made from its numbers: each feature
    set's private and non-private DP-GD accuracy and its linear probe, whether its privacy
    gap is beyond the seeds' spread, whether the gaps order the feature sets, and which
    batch size is best at a fixed number of epochs and of steps."""
    from IPython.display import Markdown

    ei = sw.eps_index(epsilon)
    inf_i = int(np.flatnonzero(~np.isfinite(sw.epsilons))[0])
    rows, gaps, short = [], {}, []
    for name, acc in sw.features.items():
        private, nonprivate = acc[ei], acc[inf_i]
        gap = nonprivate - private  # per seed
        gaps[name] = -gap
        spread = float(np.std(private) + np.std(nonprivate))
        verdict = "beyond" if beyond_spread(gap.mean(), spread) else "within"
        rows.append(
            f"| {FEATURE_LABELS.get(name, name)} | {private.mean():.3f} | "
            f"{nonprivate.mean():.3f} | {sw.probe[name]:.3f} | "
            f"{100 * gap.mean():+.2f} ({verdict} the seeds' spread) |"
        )
        if sw.probe[name] - nonprivate.mean() > 0.01:
            short.append(
                f"{FEATURE_LABELS.get(name, name)} ({nonprivate.mean():.3f} against "
                f"{sw.probe[name]:.3f})"
            )
    smallest = is_decided(gaps)
    best = is_decided({n: a[ei] for n, a in sw.features.items()})
    label = METHODS[FEATURE_METHOD].label
    p = sw.params
    sizes = sw.batch_sizes
    order = sorted(sw.features, key=lambda n: sw.probe[n])  # worst to best features
    by_quality = "; ".join(
        f"{FEATURE_LABELS.get(n, n)}: {100 * -gaps[n].mean():.2f}" for n in order
    )
    rho = gap_rank_correlation([-gaps[n].mean() for n in order])
    verdict = pretraining_verdict(rho)
    text = [
        f"**What these numbers show** (ε = {fmt_eps(sw.epsilons[ei])}, {label} at its "
        f"defaults, {sw.feature_steps[ei]} steps, {p['num_seeds']} seeds):",
        "",
        "| features | private | non-private | linear probe | gap, points |",
        "|---|---|---|---|---|",
        *rows,
        "",
        (
            f"* Pretraining sets the level: {FEATURE_LABELS.get(best, best)} is the most "
            "accurate, beyond the seeds' spread."
            if best
            else "* No feature set is ahead of all others beyond the seeds' spread."
        ),
        (
            f"* {FEATURE_LABELS.get(smallest, smallest)} loses the least to privacy, beyond "
            "the seeds' spread."
            if smallest
            else "* No feature set loses the least beyond the seeds' spread: compare the "
            "gaps' order with the features' quality (their linear probe) in the table."
        ),
        (
            "* The non-private column is the same method without noise (learning rate 64, "
            "300 steps); it is within a point of the converged linear probe on every set."
            if not short
            else "* The non-private column is the same method without noise (learning rate "
            "64, 300 steps); it stops short of the converged linear probe on "
            + ", ".join(short)
            + ", so there the gap understates what privacy costs against the best "
            "non-private model."
        ),
        f"* Ordered by the features' quality (linear probe, worst first), the gaps are "
        f"{by_quality} points (Spearman correlation of quality and gap {rho:+.2f}): the "
        f"papers' finding that better features lose less {verdict} here "
        "(`benchmarks/claims.py`'s claim (a) uses the same rule).",
        f"* Batch size (112 px, all {sizes[-1]:,} training rows, DP-SGD at learning rate "
        f"{p['batch_learning_rate']:g} with "
        f"momentum), at {p['batch_steps']} steps: "
        + _batch_sentence(sw.batch_fixed_steps[ei], sizes)
        + f". At {p['batch_epochs']} epochs: "
        + _batch_sentence(sw.batch_fixed_epochs[ei], sizes, list(sw.steps_fixed_epochs))
        + ".",
    ]
    return Markdown("\n".join(text))
