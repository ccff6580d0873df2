"""Lesson 7: auditing a privacy claim with a statistical test.

DP least squares releases X^T X and X^T Y once, calibrated to a claimed (epsilon, delta).
The audit (:mod:`dptl.audit`) runs that release many times on D and on D' = D plus a
canary x* = C e_1, learns a score on a quarter of the runs, picks a threshold, and turns
the test's true/false positive rates on the other runs into

    eps_lb = log((TPR_lo - delta) / FPR_hi)    (Clopper-Pearson bounds, 95% confidence),

a lower bound on the epsilon the mechanism really has. For the library's mechanism eps_lb
creeps up towards the claim as the runs grow (never past it); with the noise std halved
(a bug) it climbs past the claim: the audit catches the bug.

:func:`audit_sweep` runs every (claimed epsilon, variant) at the largest number of runs
once; smaller audits use a prefix of those runs (``audit_curve``), so the slider over the
number of runs shows one experiment growing. It takes a few seconds, so it is computed
when the notebook starts rather than cached. The explorer only indexes its arrays.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from dptl.audit import audit_curve, least_squares_mechanism
from dptl.lessons.explorer import Control, Explorer, subplots

__all__ = ["AUDIT_DEFAULTS", "VARIANTS", "AuditSweep", "audit_explorer", "audit_sweep", "findings"]

VARIANTS = ("library", "noise std halved")
AUDIT_DEFAULTS = dict(
    epsilons=[1.0, 2.0, 4.0],
    trials=[500, 1000, 2000, 5000, 10_000, 20_000, 50_000],
    delta=1e-5,
    confidence=0.95,
    dim=8,
    seed=0,
)
BINS = np.linspace(-5.0, 9.0, 57)  # standardised scores: D ~ N(0, 1)


class AuditSweep:
    """Audits of DP least squares for every (claimed epsilon, variant, number of runs).

    Arrays are indexed [epsilon, variant, trials]: ``bounds`` (eps_lb), ``counts``
    (TP, positives, FP, negatives), ``threshold`` (standardised) and ``hist`` (counts of
    the standardised evaluation scores on D and D' in :data:`BINS`); ``true_epsilon``
    [epsilon, variant] is what the mechanism really spends (GDP formula).
    """

    def __init__(self, params: dict, curves: dict):
        self.params = params
        self.epsilons = np.asarray(params["epsilons"], float)
        self.trials = np.asarray(params["trials"], int)
        e, v, t = len(self.epsilons), len(VARIANTS), len(self.trials)
        self.bounds = np.zeros((e, v, t))
        self.counts = np.zeros((e, v, t, 4), int)
        self.threshold = np.zeros((e, v, t))
        self.side = np.zeros((e, v, t), int)
        self.hist = np.zeros((e, v, t, 2, len(BINS) - 1), int)
        self.true_epsilon = np.zeros((e, v))
        for (i, j), curve in curves.items():
            self.true_epsilon[i, j] = curve[0].true_epsilon
            for k, r in enumerate(curve):
                self.bounds[i, j, k] = r.epsilon_lower_bound
                self.counts[i, j, k] = (
                    r.true_positives,
                    r.positives,
                    r.false_positives,
                    r.negatives,
                )
                s0, s1 = r.scores
                m, sd = s0.mean(), s0.std()
                self.threshold[i, j, k] = (r.test.threshold - m) / sd
                self.side[i, j, k] = r.test.side
                self.hist[i, j, k, 0] = np.histogram((s0 - m) / sd, BINS)[0]
                self.hist[i, j, k, 1] = np.histogram((s1 - m) / sd, BINS)[0]

    def index(self, epsilon: float, variant: str, trials: int | None = None):
        i = int(np.flatnonzero(np.isclose(self.epsilons, epsilon))[0])
        j = VARIANTS.index(variant)
        if trials is None:
            return i, j
        return i, j, int(np.flatnonzero(self.trials == trials)[0])

    def bound(self, epsilon: float, variant: str, trials: int) -> float:
        """The audited lower bound eps_lb at this setting."""
        return float(self.bounds[self.index(epsilon, variant, trials)])

    def caught(self, epsilon: float, variant: str, trials: int) -> bool:
        return self.bound(epsilon, variant, trials) > epsilon


def audit_sweep(**overrides) -> AuditSweep:
    """Run the lesson's audits (a few seconds on 2 CPU cores); see :data:`AUDIT_DEFAULTS`.

    Every (epsilon, variant) gets its own key from ``seed``; the keys use the "rbg"
    generator, whose random bits XLA compiles faster on CPU (same statistics).
    """
    params = {**AUDIT_DEFAULTS, **overrides}
    unknown = set(params) - set(AUDIT_DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown audit_sweep options {sorted(unknown)}; known: {list(AUDIT_DEFAULTS)}"
        )
    trials = sorted(int(t) for t in params["trials"])
    params["trials"] = trials
    root = jax.random.key(params["seed"], impl="rbg")
    curves = {}
    for i, eps in enumerate(params["epsilons"]):
        for j in range(len(VARIANTS)):
            mech = least_squares_mechanism(
                eps, params["delta"], dim=params["dim"], broken="noise_halved" if j else None
            )
            key = jax.random.fold_in(root, i * len(VARIANTS) + j)
            curves[i, j] = audit_curve(
                mech, key, trials, confidence=params["confidence"], keep_scores=True
            )
    return AuditSweep(params, curves)


def _bars(counts: np.ndarray) -> np.ndarray:
    """Counts as floats for a log axis: empty bins are NaN (not drawn), not 0."""
    return np.where(counts > 0, counts, np.nan).astype(float)


def audit_explorer(sweep: AuditSweep) -> Explorer:
    """Sliders: number of runs, claimed epsilon, variant. Left: eps_lb against the number
    of runs, with the claim and the true epsilon; right: the test's scores on D and D'."""
    sw = sweep
    trials = sw.trials.astype(float)
    centers = (BINS[:-1] + BINS[1:]) / 2
    fig = subplots(
        rows=1,
        cols=2,
        column_widths=[0.58, 0.42],
        horizontal_spacing=0.1,
        titles=(
            "audited lower bound ε_lb vs number of runs",
            "test scores on the evaluation runs",
        ),
    )
    fig.add_scatter(
        x=trials,
        y=sw.bounds[0, 0],
        mode="lines+markers",
        name="ε_lb, library",
        line=dict(color="#1f77b4"),
        row=1,
        col=1,
    )  # 0
    fig.add_scatter(
        x=trials,
        y=sw.bounds[0, 1],
        mode="lines+markers",
        name="ε_lb, noise std halved",
        line=dict(color="#d62728"),
        row=1,
        col=1,
    )  # 1
    fig.add_scatter(
        x=[trials[0], trials[-1]],
        y=[1, 1],
        mode="lines",
        name="claimed ε",
        line=dict(color="black", dash="dash"),
        row=1,
        col=1,
    )  # 2
    fig.add_scatter(
        x=[trials[0], trials[-1]],
        y=[1, 1],
        mode="lines",
        name="true ε of the selected variant",
        line=dict(color="gray", dash="dot"),
        row=1,
        col=1,
    )  # 3
    fig.add_scatter(
        x=[trials[0]],
        y=[0],
        mode="markers",
        name="selected",
        marker=dict(size=14, color="black", symbol="x"),
        row=1,
        col=1,
    )  # 4
    fig.add_bar(
        x=centers,
        y=_bars(sw.hist[0, 0, 0, 0]),
        name="runs on D (without canary)",
        marker_color="#7f7f7f",
        opacity=0.6,
        row=1,
        col=2,
    )  # 5
    fig.add_bar(
        x=centers,
        y=_bars(sw.hist[0, 0, 0, 1]),
        name="runs on D′ (with canary)",
        marker_color="#ff7f0e",
        opacity=0.6,
        row=1,
        col=2,
    )  # 6
    fig.add_scatter(
        x=[0, 0],
        y=[0.5, 1e5],
        mode="lines",
        name="threshold",
        line=dict(color="black", dash="dash"),
        row=1,
        col=2,
    )  # 7
    # ticks at the run counts of the sweep (plotly's log ticks read "5, 1000, 2, 5, 10k")
    fig.update_xaxes(
        type="log",
        title_text="runs per dataset",
        tickvals=[int(t) for t in trials],
        ticktext=[f"{int(t) // 1000}k" if t >= 1000 else str(int(t)) for t in trials],
        row=1,
        col=1,
    )
    fig.update_yaxes(title_text="ε", rangemode="tozero", row=1, col=1)
    fig.update_xaxes(title_text="standardised score (D ~ N(0, 1))", row=1, col=2)
    fig.update_yaxes(type="log", dtick=1, title_text="runs", row=1, col=2)  # 1, 10, 100, ...
    fig.update_layout(
        height=500,
        barmode="overlay",
        margin=dict(b=40),
        # below the axis titles (at y = -0.2 it ran over them)
        legend=dict(orientation="h", y=-0.3, yanchor="top", font=dict(size=10)),
    )
    ymax = np.maximum(sw.true_epsilon.max(1), sw.bounds.max((1, 2))) * 1.1  # per claimed ε

    def draw(f, s):
        i, j, k = sw.index(s["epsilon"], s["variant"], s["trials"])
        eps, d = sw.epsilons[i], f.data
        d[0].y, d[1].y = sw.bounds[i, 0], sw.bounds[i, 1]
        d[0].opacity, d[1].opacity = (1.0, 0.35) if j == 0 else (0.35, 1.0)
        d[2].y, d[2].name = [eps, eps], f"claimed ε = {eps:g}"
        d[3].y = [sw.true_epsilon[i, j]] * 2
        d[4].x, d[4].y = [trials[k]], [sw.bounds[i, j, k]]
        d[5].y, d[6].y = _bars(sw.hist[i, j, k, 0]), _bars(sw.hist[i, j, k, 1])
        top = 2.0 * max(1, sw.hist[i, j, k].max())
        d[7].x, d[7].y = [sw.threshold[i, j, k]] * 2, [0.8, top]
        f.layout.yaxis.range = [0, float(ymax[i])]
        f.layout.yaxis2.range = [-0.1, math.log10(top)]
        tp, pos, fp, neg = sw.counts[i, j, k]
        lb = sw.bounds[i, j, k]
        verdict = (
            "<b style='color:#d62728'>CAUGHT: the claim is false</b>"
            if lb > eps
            else "consistent with the claim (an audit can only refute)"
        )
        tail = "high" if sw.side[i, j, k] > 0 else "low"
        return (
            f"<b>{VARIANTS[j]}, claimed ε = {eps:g}, {sw.trials[k]} runs per dataset</b>: "
            f"test '{tail} score', TP {tp}/{pos}, FP {fp}/{neg} → audited ε ≥ {lb:.3f} "
            f"(true ε {sw.true_epsilon[i, j]:.3g}); {verdict}"
        )

    controls = [
        Control(
            "trials",
            [int(t) for t in sw.trials],
            label="runs per dataset",
            initial=int(sw.trials[len(sw.trials) // 2]),
        ),
        Control(
            "epsilon",
            list(sw.epsilons),
            label="claimed ε",
            initial=float(sw.epsilons[len(sw.epsilons) // 2]),
        ),
        Control("variant", list(VARIANTS), label="mechanism", initial=VARIANTS[0], fmt=str),
    ]
    return Explorer(fig, controls, draw)


def findings(sweep: AuditSweep):
    """Per claimed epsilon: the library release's highest audited bound (below the claim,
    or a failed audit) and the fewest runs at which the broken variant is caught."""
    from IPython.display import Markdown

    rows = []
    for i, eps in enumerate(sweep.epsilons):
        lib, broken = sweep.bounds[i, VARIANTS.index("library")], sweep.bounds[i, 1]
        caught = [int(t) for t, b in zip(sweep.trials, broken, strict=True) if b > eps]
        rows.append(
            f"| {eps:g} | {lib.max():.3f} ({'below' if lib.max() <= eps else 'ABOVE'} the claim) "
            f"| {sweep.true_epsilon[i, 1]:.3g} | "
            + (
                f"{caught[0]:,} runs per dataset |"
                if caught
                else f"not caught up to {int(sweep.trials[-1]):,} |"
            )
        )
    text = [
        f"**What these audits show** (Clopper-Pearson bounds at "
        f"{100 * sweep.params['confidence']:g} % confidence):",
        "",
        "| claimed ε | library: highest audited ε_lb | noise std halved: true ε | "
        "halved noise first caught at |",
        "|---|---|---|---|",
        *rows,
    ]
    return Markdown("\n".join(text))
