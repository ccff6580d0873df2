"""Lesson 5: DP-FC, the shared covariance trick, and the final privacy-utility figure.

Cached sweeps (``python -m dptl.lessons.precompute fc``) on the first ``num_train``
training rows of the shipped features (all 10,000 test rows):

- the papers' methods (least squares, DP-GD, DP-SGD, DP-Newton, DP-FC; records of
  :mod:`dptl.solvers.methods`) across epsilon at their defaults;
- DP-FC for every share of the privacy budget given to the covariance.

A subset keeps the sweep cheap on 2 CPU cores (and within one row chunk of
:mod:`dptl.solvers.statistics`); ``benchmarks/`` runs the full 60,000 rows.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import plotly.graph_objects as go

from dptl.data import FeatureSet
from dptl.lessons.cache import cached
from dptl.lessons.checks import decided_winner, is_decided
from dptl.lessons.data import fingerprint
from dptl.lessons.explorer import Control, Explorer, epsilon_axis, fmt_eps, subplots
from dptl.solvers.fc import fc_releases
from dptl.solvers.least_squares import least_squares_releases
from dptl.solvers.methods import METHODS
from dptl.solvers.sweep import DEFAULTS, RULES, privacy_utility

__all__ = [
    "FC_DEFAULTS",
    "compute_final",
    "METHOD_LABELS",
    "exercise_answer",
    "fc_explorer",
    "final_sweep",
    "findings",
    "noise_cost_table",
]

# the papers' methods, labelled by their records (DP-FC-SGD, beyond the papers: claim (h))
METHOD_LABELS = {
    m: METHODS[m].label for m in ("dp_least_squares", "dp_gd", "dp_sgd", "dp_newton", "dp_fc")
}

FC_DEFAULTS = dict(
    epsilons=[0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0],
    methods=list(METHOD_LABELS),
    cov_shares=[0.1, 0.3, 0.5, 0.7, 0.9],
    num_train=60_000,  # every training row of the shipped set
    num_seeds=3,
    delta=1e-5,
    seed=0,
)


def compute_final(fs: FeatureSet, p: dict) -> dict:
    key = jax.random.key(p["seed"])
    args = (key, fs.x_train, fs.y_train, fs.x_test, fs.y_test)
    kw = dict(
        epsilons=p["epsilons"],
        num_seeds=p["num_seeds"],
        delta=p["delta"],
        num_classes=fs.num_classes,
    )
    out = {"methods": {}, "nonprivate": {}}
    for m in p["methods"]:
        r = privacy_utility(m, *args, **kw)
        out["methods"][m] = r.accuracy
        out["nonprivate"][m] = privacy_utility(
            m, *args, epsilons=[math.inf], num_seeds=1, delta=p["delta"], num_classes=fs.num_classes
        ).accuracy[0, 0]
    out["fc_share"] = [
        privacy_utility("dp_fc", *args, cov_share=s, **kw).accuracy for s in p["cov_shares"]
    ]
    return out


class FinalSweep:
    def __init__(self, data: dict, p: dict):
        self.params = p
        self.epsilons = np.asarray(p["epsilons"], float)
        self.methods = {m: np.asarray(a, float) for m, a in data["methods"].items()}
        self.nonprivate = {m: float(v) for m, v in data["nonprivate"].items()}
        self.cov_shares = np.asarray(p["cov_shares"], float)
        self.fc_share = np.asarray(data["fc_share"], float)  # (shares, E, S)

    def mean(self, method) -> np.ndarray:
        return self.methods[method].mean(-1)

    def best_method(self, epsilon) -> str:
        ei = int(np.flatnonzero(np.isclose(self.epsilons, epsilon))[0])
        return max(self.methods, key=lambda m: self.methods[m][ei].mean())

    def best_share(self, epsilon) -> float:
        ei = int(np.flatnonzero(np.isclose(self.epsilons, epsilon))[0])
        return float(self.cov_shares[int(np.argmax(self.fc_share[:, ei].mean(-1)))])


def final_sweep(fs: FeatureSet, *, recompute=False, **overrides) -> FinalSweep:
    p = {**FC_DEFAULTS, **overrides}
    sub = fs.subset(p["num_train"])
    spec = {
        "lesson": "fc",
        **p,
        "data": fingerprint(sub),
        "fc_runner": "privacy_utility, vmapped grid",
        "defaults": {m: DEFAULTS[m] for m in p["methods"]},
        "rules": RULES,
    }
    data = cached("fc", spec, lambda: compute_final(sub, p), recompute=recompute)
    return FinalSweep(data, p)


def noise_cost_table(epsilons, delta=1e-5, *, num_classes=10, newton_steps=None):
    """Noise std on the covariance-like releases per epsilon, in units of X^T X: LS, DP-FC
    (once) vs Newton.

    Shows why sharing pays: DP-FC releases X^T X once (sensitivity C^2; its noise depends on
    its budget share, not on the step count); DP-Newton releases K Hessians (sensitivity
    sqrt(K) C^2 / 4) at every step. A Hessian is at most X^T X / 4 (at W = 0 exactly), so
    its noise std is multiplied by 4 to compare it with the same signal.
    """
    from dptl.solvers.newton import newton_releases

    newton_steps = DEFAULTS["dp_newton"]["steps"] if newton_steps is None else newton_steps
    rows = {"dp_least_squares": [], "dp_fc": [], "dp_newton": []}
    for e in epsilons:
        rows["dp_least_squares"].append(least_squares_releases(e, delta)[0].noise_std)
        rows["dp_fc"].append(fc_releases(e, delta, steps=1)[0].noise_std)
        rows["dp_newton"].append(
            4 * newton_releases(e, delta, num_classes=num_classes, steps=newton_steps)[0].noise_std
        )
    return {k: np.asarray(v) for k, v in rows.items()}


def fc_explorer(sw: FinalSweep) -> Explorer:
    eps = sw.epsilons
    fig = subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.1,
        column_widths=[0.6, 0.4],
        titles=("privacy-utility: every method", "DP-FC: budget split"),
    )
    for m in sw.methods:  # 0..M-1
        fig.add_scatter(
            x=eps,
            y=sw.mean(m),
            mode="lines+markers",
            name=METHOD_LABELS.get(m, m),
            error_y=dict(type="data", array=sw.methods[m].std(-1), visible=True),
            row=1,
            col=1,
        )
    nm = len(sw.methods)
    fig.add_scatter(
        x=eps,
        y=sw.fc_share[0].mean(-1),
        mode="lines",
        line=dict(dash="dash"),
        name="DP-FC at chosen split",
        row=1,
        col=1,
    )  # nm
    fig.add_scatter(
        x=sw.cov_shares,
        y=sw.fc_share[:, 0].mean(-1),
        mode="lines+markers",
        name="DP-FC at ε",
        row=1,
        col=2,
    )  # nm + 1
    fig.add_scatter(
        x=[sw.cov_shares[0]],
        y=[0],
        mode="markers",
        showlegend=False,
        marker=dict(size=13, color="black", symbol="x"),
        row=1,
        col=2,
    )  # nm + 2
    epsilon_axis(fig, eps, row=1, col=1)
    fig.update_xaxes(title_text="share of the budget (μ²) on the covariance", row=1, col=2)
    fig.update_yaxes(title_text="test accuracy", row=1, col=1)
    fig.update_layout(height=460, legend=dict(font=dict(size=10)))

    def draw(fg, s):
        ei = int(np.flatnonzero(np.isclose(eps, s["epsilon"]))[0])
        si = int(np.flatnonzero(np.isclose(sw.cov_shares, s["cov_share"]))[0])
        d = fg.data
        d[nm].y = sw.fc_share[si].mean(-1)
        d[nm].name = f"DP-FC, covariance share {sw.cov_shares[si]:g}"
        d[nm + 1].y = sw.fc_share[:, ei].mean(-1)
        d[nm + 1].name = f"DP-FC at ε = {fmt_eps(eps[ei])}"
        d[nm + 2].x, d[nm + 2].y = [sw.cov_shares[si]], [sw.fc_share[si, ei].mean()]
        ranking = sorted(sw.methods, key=lambda m: -sw.methods[m][ei].mean())
        text = ", ".join(f"{METHOD_LABELS[m]} {sw.methods[m][ei].mean():.3f}" for m in ranking)
        return (
            f"<b>ε = {fmt_eps(eps[ei])}</b>: {text}. Best covariance share here: "
            f"{sw.best_share(eps[ei]):g}"
        )

    controls = [
        Control("epsilon", list(eps), label="ε", initial=1.0, fmt=fmt_eps),
        Control(
            "cov_share",
            list(sw.cov_shares),
            label="covariance share",
            initial=float(sw.cov_shares[np.argmin(np.abs(sw.cov_shares - 0.5))]),
        ),
    ]
    return Explorer(fig, controls, draw)


def summary_table(sw: FinalSweep) -> go.Figure:
    """The final numbers as a plotly table (mean ± std over seeds)."""
    header = ["method", "no privacy"] + [f"ε = {fmt_eps(e)}" for e in sw.epsilons]
    cols = [[METHOD_LABELS[m] for m in sw.methods], [f"{sw.nonprivate[m]:.3f}" for m in sw.methods]]
    for i in range(len(sw.epsilons)):
        cols.append(
            [f"{sw.methods[m][i].mean():.3f} ± {sw.methods[m][i].std():.3f}" for m in sw.methods]
        )
    fig = go.Figure(go.Table(header=dict(values=header), cells=dict(values=cols)))
    # room for every row: at a notebook's width the "mean ± std" cells wrap to two lines
    fig.update_layout(height=60 + 50 * len(sw.methods), margin=dict(t=10, b=10, l=10, r=10))
    return fig


def exercise_answer(sw: FinalSweep, epsilon: float = 4.0) -> str:
    """The most accurate method at ``epsilon``, decided beyond the seeds' spread."""
    ei = int(np.flatnonzero(np.isclose(sw.epsilons, epsilon))[0])
    return decided_winner({m: a[ei] for m, a in sw.methods.items()})


def findings(sw: FinalSweep):
    """Per epsilon: the methods ranked, the leader when the seeds decide it, and DP-FC's
    best covariance share."""
    from IPython.display import Markdown

    rows = []
    for ei, eps in enumerate(sw.epsilons):
        ranked = sorted(sw.methods, key=lambda m: -sw.methods[m][ei].mean())
        leader = is_decided({m: sw.methods[m][ei] for m in ranked})
        order = ", ".join(
            f"{METHOD_LABELS.get(m, m)} {sw.methods[m][ei].mean():.3f}" for m in ranked
        )
        rows.append(
            f"| {fmt_eps(eps)} | {order} | {METHOD_LABELS.get(leader, leader) if leader else 'undecided'} "
            f"| {sw.best_share(eps):g} |"
        )
    text = [
        "**What these numbers show** (test accuracy, mean over seeds; 'undecided' when the "
        "lead is within twice the seeds' spread):",
        "",
        "| ε | methods, most accurate first | most accurate | DP-FC's best covariance share |",
        "|---|---|---|---|",
        *rows,
    ]
    return Markdown("\n".join(text))
