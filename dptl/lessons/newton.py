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
from plotly.subplots import make_subplots

from dptl.data import FeatureSet
from dptl.lessons.cache import cached
from dptl.lessons.data import fingerprint
from dptl.lessons.explorer import Control, Explorer, fmt_eps
from dptl.lessons.fc import FC_DEFAULTS, METHOD_LABELS, FinalSweep
from dptl.privacy import normalize_rows, project_psd, symmetric_gaussian_noise
from dptl.solvers.newton import newton_releases
from dptl.solvers.sweep import DEFAULTS, RULES, privacy_utility

__all__ = ["NEWTON_DEFAULTS", "hessian_spectra", "newton_sweep", "newton_explorer"]

NEWTON_DEFAULTS = dict(
    epsilons=FC_DEFAULTS["epsilons"],
    steps=[1, 2, 4],
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
                "newton",
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
        "defaults": {k: v for k, v in DEFAULTS["newton"].items() if k != "steps"},
        "rules": RULES,
    }
    data = cached("newton", spec, lambda: compute_newton(sub, p), recompute=recompute)
    return {"params": p, "accuracy": np.asarray(data["accuracy"], float)}  # (T, E, S)


def hessian_spectra(
    fs: FeatureSet,
    epsilons,
    *,
    steps: int = 2,
    delta: float = 1e-5,
    num_train: int | None = None,
    seed: int = 0,
) -> dict:
    """Eigenvalues of the true one-vs-all Hessian of class 0 at W = 0 and of its noisy,
    PSD-projected release at each epsilon (DP-Newton's noise for ``steps`` steps).

    At W = 0 every p = 1/2, so H_k = X^T X / 4 for every class k.
    """
    x = jnp.asarray(normalize_rows(np.asarray(fs.x_train[:num_train], np.float32)))
    true = x.T @ x / 4
    d = true.shape[0]
    stds = [
        newton_releases(e, delta, num_classes=fs.num_classes, steps=steps)[0].noise_std
        for e in epsilons
    ]
    keys = jax.random.split(jax.random.key(seed), len(stds))

    @jax.jit
    def noisy(k, s):
        return jnp.linalg.eigvalsh(project_psd(true + symmetric_gaussian_noise(k, d, s)))

    spectra = np.stack([np.asarray(noisy(k, s)) for k, s in zip(keys, stds, strict=True)])
    return {
        "true": np.asarray(jnp.linalg.eigvalsh(true))[::-1],
        "noisy": spectra[:, ::-1],
        "noise_std": np.asarray(stds),
        "epsilons": np.asarray(epsilons, float),
        "steps": steps,
    }


def newton_explorer(nw: dict, final: FinalSweep, spectra: dict) -> Explorer:
    p = nw["params"]
    eps = np.asarray(p["epsilons"], float)
    acc = nw["accuracy"]
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.1,
        subplot_titles=("accuracy vs ε", "Hessian spectrum at W = 0: true vs noisy release"),
    )
    fig.add_scatter(
        x=eps, y=acc[0].mean(-1), mode="lines+markers", name="DP-Newton", row=1, col=1
    )  # 0
    for m in ("dp_gd", "fc", "least_squares"):  # 1..3
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
    fig.add_scatter(x=rank, y=spectra["noisy"][0], name="noisy (PSD-projected)", row=1, col=2)  # 6
    fig.add_scatter(
        x=[rank[0], rank[-1]],
        y=[1, 1],
        mode="lines",
        line=dict(dash="dot"),
        name="noise std",
        row=1,
        col=2,
    )  # 7
    fig.update_xaxes(type="log", title_text="ε", row=1, col=1)
    fig.update_xaxes(type="log", title_text="eigenvalue rank", row=1, col=2)
    fig.update_yaxes(title_text="test accuracy", row=1, col=1)
    fig.update_yaxes(type="log", title_text="eigenvalue", row=1, col=2)
    fig.update_layout(height=440, margin=dict(t=60), legend=dict(font=dict(size=10)))
    steps = list(p["steps"])
    spec_steps = spectra["steps"]

    def draw(fg, s):
        ei = int(np.flatnonzero(np.isclose(eps, s["epsilon"]))[0])
        ti = steps.index(s["steps"])
        d = fg.data
        d[0].y, d[0].name = acc[ti].mean(-1), f"DP-Newton, {s['steps']} steps"
        d[4].x, d[4].y = [eps[ei]], [acc[ti, ei].mean()]
        d[5].x = d[6].x = rank.astype(float) * (1 + 1e-12)  # see explorer._portable
        d[6].y = np.maximum(spectra["noisy"][ei], 1e-6)
        d[7].y = [spectra["noise_std"][ei]] * 2
        above = int((spectra["true"] > 2 * spectra["noise_std"][ei] * np.sqrt(len(rank))).sum())
        return (
            f"<b>ε = {fmt_eps(eps[ei])}</b>: DP-Newton ({s['steps']} steps) "
            f"{acc[ti, ei].mean():.3f}, DP-GD {final.mean('dp_gd')[ei]:.3f}, "
            f"DP-FC {final.mean('fc')[ei]:.3f}. Hessian noise std "
            f"{spectra['noise_std'][ei]:.3g} ({spec_steps} steps); {above} of {len(rank)} "
            "true eigenvalues stand above the noise's spectral norm (≈ 2σ√d)"
        )

    controls = [
        Control("epsilon", list(eps), label="ε", initial=1.0, fmt=fmt_eps),
        Control("steps", steps, label="Newton steps", initial=steps[1]),
    ]
    return Explorer(fig, controls, draw)
