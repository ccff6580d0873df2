"""Lesson 4: DP-Newton, and what the per-class Hessians cost in noise.

Cached sweep (``python -m dptl.lessons.precompute newton``): DP-Newton test accuracy
across epsilon for several step counts, on the same training subset as lesson 5 (the
DP-GD and DP-FC curves come from lesson 5's cache). Live (cheap): the spectrum of the true
Hessian at W = 0 against its noisy release at each epsilon.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from dptl.data import FeatureSet
from dptl.lessons.cache import cached
from dptl.lessons.checks import decided_winner, is_decided
from dptl.lessons.data import fingerprint
from dptl.lessons.explorer import Control, Explorer, epsilon_axis, fmt_eps, subplots
from dptl.lessons.fc import FC_DEFAULTS, METHOD_LABELS, FinalSweep
from dptl.privacy import normalize_rows, project_psd, symmetric_gaussian_noise
from dptl.solvers.newton import newton_releases
from dptl.solvers.sweep import DEFAULTS, RULES, privacy_utility

__all__ = [
    "NEWTON_DEFAULTS",
    "exercise_answer",
    "findings",
    "hessian_spectra",
    "newton_explorer",
    "newton_sweep",
]

NEWTON_DEFAULTS = dict(
    epsilons=FC_DEFAULTS["epsilons"],
    steps=[1, 2, 3, 4],  # 3 is DP-Newton's default (claims.py reads it from this cache)
    num_train=FC_DEFAULTS["num_train"],
    num_seeds=3,
    delta=1e-5,
    seed=0,
)


def compute_newton(fs: FeatureSet, p: dict) -> dict:
    key = jax.random.key(p["seed"])
    args = (key, fs.x_train, fs.y_train, fs.x_test, fs.y_test)
    return {
        "accuracy": [
            privacy_utility(
                "dp_newton",
                *args,
                epsilons=p["epsilons"],
                num_seeds=p["num_seeds"],
                delta=p["delta"],
                num_classes=fs.num_classes,
                steps=t,
            ).accuracy
            for t in p["steps"]
        ]
    }


def newton_sweep(fs: FeatureSet, *, recompute=False, **overrides) -> dict:
    p = {**NEWTON_DEFAULTS, **overrides}
    sub = fs.subset(p["num_train"])
    spec = {
        "lesson": "newton",
        **p,
        "data": fingerprint(sub),
        "defaults": {k: v for k, v in DEFAULTS["dp_newton"].items() if k != "steps"},
        "rules": RULES,
    }
    data = cached("newton", spec, lambda: compute_newton(sub, p), recompute=recompute)
    return {"params": p, "accuracy": np.asarray(data["accuracy"], float)}  # (T, E, S)


def hessian_spectra(
    fs: FeatureSet,
    epsilons,
    *,
    steps=(2,),
    delta: float = 1e-5,
    num_train: int | None = None,
    seed: int = 0,
) -> dict:
    """Eigenvalues of the true one-vs-all Hessian of class 0 at W = 0 and of its noisy,
    PSD-projected release at each (step count, epsilon): DP-Newton's noise when the
    budget is spread over ``steps`` steps (more steps, more noise on each Hessian).

    At W = 0 every p = 1/2, so H_k = X^T X / 4 for every class k.

    Returns a dict: ``true`` (d,), ``noisy`` (S, E, d) and ``noise_std`` (S, E) for the S
    step counts and E epsilons, with ``steps`` and ``epsilons``.
    """
    steps = [int(t) for t in np.atleast_1d(steps)]
    x = jnp.asarray(normalize_rows(np.asarray(fs.x_train[:num_train], np.float32)))
    true = x.T @ x / 4
    d = true.shape[0]
    stds = np.asarray(
        [
            [
                newton_releases(e, delta, num_classes=fs.num_classes, steps=t)[0].noise_std
                for e in epsilons
            ]
            for t in steps
        ]
    )
    keys = jax.random.split(jax.random.key(seed), stds.size).reshape(stds.shape)

    @jax.jit
    def noisy(k, s):
        return jnp.linalg.eigvalsh(project_psd(true + symmetric_gaussian_noise(k, d, s)))

    spectra = np.stack(
        [
            np.stack([np.asarray(noisy(k, s)) for k, s in zip(row_keys, row, strict=True)])
            for row_keys, row in zip(keys, stds, strict=True)
        ]
    )
    return {
        "true": np.asarray(jnp.linalg.eigvalsh(true))[::-1],
        "noisy": spectra[..., ::-1],
        "noise_std": stds,
        "epsilons": np.asarray(epsilons, float),
        "steps": steps,
    }


def newton_explorer(nw: dict, final: FinalSweep, spectra: dict) -> Explorer:
    p = nw["params"]
    eps = np.asarray(p["epsilons"], float)
    acc = nw["accuracy"]
    fig = subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.1,
        titles=("accuracy vs ε", "Hessian spectrum at W = 0: true vs noisy release"),
    )
    fig.add_scatter(
        x=eps, y=acc[0].mean(-1), mode="lines+markers", name="DP-Newton", row=1, col=1
    )  # 0
    for m in ("dp_gd", "dp_fc", "dp_least_squares"):  # 1..3
        fig.add_scatter(
            x=eps,
            y=final.mean(m),
            mode="lines",
            line=dict(dash="dot"),
            name=METHOD_LABELS[m],
            row=1,
            col=1,
        )
    fig.add_scatter(
        x=[eps[0]],
        y=[0],
        mode="markers",
        showlegend=False,
        marker=dict(size=13, color="black", symbol="x"),
        row=1,
        col=1,
    )  # 4
    rank = np.arange(1, len(spectra["true"]) + 1)
    fig.add_scatter(x=rank, y=spectra["true"], name="true eigenvalues", row=1, col=2)  # 5
    fig.add_scatter(x=rank, y=spectra["noisy"][0, 0], name="noisy release", row=1, col=2)  # 6
    fig.add_scatter(
        x=[rank[0], rank[-1]],
        y=[1, 1],
        mode="lines",
        line=dict(dash="dot"),
        name="noise std",
        row=1,
        col=2,
    )  # 7
    epsilon_axis(fig, eps, row=1, col=1)
    fig.update_xaxes(type="log", title_text="eigenvalue rank", dtick=1, row=1, col=2)
    fig.update_yaxes(title_text="test accuracy", row=1, col=1)
    fig.update_yaxes(type="log", title_text="eigenvalue", row=1, col=2)
    fig.update_layout(height=440, legend=dict(font=dict(size=10)))
    steps = list(p["steps"])
    if list(spectra["steps"]) != steps:
        raise ValueError(f"spectra for steps {spectra['steps']}, the sweep has {steps}")

    def draw(fg, s):
        ei = int(np.flatnonzero(np.isclose(eps, s["epsilon"]))[0])
        ti = steps.index(s["steps"])
        d = fg.data
        d[0].y, d[0].name = acc[ti].mean(-1), f"DP-Newton, {s['steps']} steps"
        d[4].x, d[4].y = [eps[ei]], [acc[ti, ei].mean()]
        noise_std = spectra["noise_std"][ti, ei]
        d[6].y = np.maximum(spectra["noisy"][ti, ei], 1e-6)
        d[6].name = f"noisy release, {s['steps']} steps (PSD-projected)"
        d[7].y = [noise_std] * 2
        above = int((spectra["true"] > 2 * noise_std * np.sqrt(len(rank))).sum())
        return (
            f"<b>ε = {fmt_eps(eps[ei])}</b>: DP-Newton ({s['steps']} steps) "
            f"{acc[ti, ei].mean():.3f}, DP-GD {final.mean('dp_gd')[ei]:.3f}, "
            f"DP-FC {final.mean('dp_fc')[ei]:.3f}. Hessian noise std "
            f"{noise_std:.3g} ({s['steps']} steps); {above} of {len(rank)} "
            "true eigenvalues stand above the noise's spectral norm (≈ 2σ√d)"
        )

    controls = [
        Control("epsilon", list(eps), label="ε", initial=1.0, fmt=fmt_eps),
        Control("steps", steps, label="Newton steps", initial=steps[1]),
    ]
    return Explorer(fig, controls, draw)


def exercise_answer(nw: dict, final: FinalSweep, *, epsilon: float = 8.0, steps: int = 2) -> str:
    """Whether DP-Newton with ``steps`` steps ("dp_newton") or DP-GD ("dp_gd") is more
    accurate at ``epsilon``, decided beyond the seeds' spread."""
    eps = list(nw["params"]["epsilons"])
    ei, ti = eps.index(epsilon), list(nw["params"]["steps"]).index(steps)
    fi = int(np.flatnonzero(np.isclose(final.epsilons, epsilon))[0])
    return decided_winner(
        {"dp_newton": nw["accuracy"][ti, ei], "dp_gd": final.methods["dp_gd"][fi]}
    )


def findings(nw: dict, final: FinalSweep):
    """Per epsilon: the best DP-Newton step count and how DP-Newton compares with DP-GD and
    DP-FC, each decided beyond the seeds' spread or said to be undecided."""
    from IPython.display import Markdown

    steps = list(nw["params"]["steps"])
    rows = []
    for ei, eps in enumerate(nw["params"]["epsilons"]):
        fi = int(np.flatnonzero(np.isclose(final.epsilons, eps))[0])
        by_steps = {f"{t} steps": nw["accuracy"][ti, ei] for ti, t in enumerate(steps)}
        best_steps = is_decided(by_steps)
        top = max(by_steps, key=lambda k: by_steps[k].mean())
        against = {
            "DP-Newton": by_steps[top],
            "DP-GD": final.methods["dp_gd"][fi],
            "DP-FC": final.methods["dp_fc"][fi],
        }
        leader = is_decided(against)
        rows.append(
            f"| {fmt_eps(eps)} | "
            + " | ".join(f"{v.mean():.3f}" for v in by_steps.values())
            + f" | {best_steps or 'undecided'} | {against['DP-GD'].mean():.3f} | "
            f"{against['DP-FC'].mean():.3f} | {leader or 'undecided'} |"
        )
    header = " | ".join(f"Newton, {t} step{'s' if t > 1 else ''}" for t in steps)
    text = [
        f"**What these numbers show** (test accuracy, mean of {final.methods['dp_fc'].shape[-1]} "
        "seeds; 'undecided' when the lead is within twice the seeds' spread):",
        "",
        f"| ε | {header} | best step count | DP-GD | DP-FC | most accurate |",
        "|" + "---|" * (len(steps) + 5),
        *rows,
    ]
    return Markdown("\n".join(text))
