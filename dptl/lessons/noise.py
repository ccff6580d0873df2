"""Lesson 1: noise scaling in DP-SGD.

Tables (cached, see :mod:`dptl.lessons.cache`; ``python -m dptl.lessons.precompute noise``):

- noise multiplier sigma against epsilon for full-batch training (``epochs`` steps) by
  three accountants: exact GDP, ``dp_accounting`` PLD and RDP (plus the RDP closed form);
- sigma for Poisson-subsampled DP-SGD at every (epsilon, batch size) of the sliders, at a
  fixed number of epochs (steps = epochs * n / B), by PLD and RDP;
- epsilon against the number of steps at a fixed sigma, full batch against subsampled
  (composition and amplification by subsampling).

Live (cheap): the norm of the mean clipped gradient at the zero-initialised last layer on
the real features, whose ratio to the per-example noise gives the signal-to-noise ratio.
"""

from __future__ import annotations

import math

import dp_accounting as dpa
import numpy as np
import plotly.graph_objects as go

from dptl.data import FeatureSet
from dptl.lessons.cache import cached
from dptl.lessons.explorer import Control, Explorer, subplots
from dptl.privacy import (
    dpsgd_noise_multiplier,
    gdp_epsilon,
    gdp_mu,
    make_accountant,
    normalize_rows,
    rdp_closed_form_mu,
)

__all__ = [
    "NOISE_DEFAULTS",
    "NoiseTables",
    "feature_norms_figure",
    "mean_gradient_signal",
    "noise_explorer",
    "noise_tables",
]

NOISE_DEFAULTS = dict(
    epsilons=[0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0],
    batch_sizes=[256, 1024, 4096, 16384],  # and the full batch n, appended
    epochs=5,
    delta=1e-5,
    composition_sigma=1.0,
    composition_steps=[1, 3, 10, 30, 100, 300, 1000, 3000, 10000],
)


def _steps(epochs: int, n: int, batch: int) -> int:
    return max(1, math.ceil(epochs * n / batch))


def compute_noise_tables(
    n: int, *, epsilons, batch_sizes, epochs, delta, composition_sigma, composition_steps
) -> dict:
    """All of lesson 1's accounting tables (slow: PLD calibration; cache it)."""
    batches = [b for b in batch_sizes if b < n] + [n]
    full = {"exact": [], "pld": [], "rdp": [], "rdp_closed_form": []}
    for eps in epsilons:
        full["exact"].append(dpsgd_noise_multiplier(eps, delta, 1.0, epochs, "exact"))
        full["pld"].append(dpsgd_noise_multiplier(eps, delta, 1.0, epochs, "pld"))
        full["rdp"].append(dpsgd_noise_multiplier(eps, delta, 1.0, epochs, "rdp"))
        full["rdp_closed_form"].append(math.sqrt(epochs) / rdp_closed_form_mu(eps, delta))
    sub = {"pld": [], "rdp": []}
    for eps in epsilons:
        row_pld, row_rdp = [], []
        for b in batches:
            q, t = b / n, _steps(epochs, n, b)
            acc = "exact" if b == n else "pld"
            row_pld.append(dpsgd_noise_multiplier(eps, delta, q, t, acc))
            row_rdp.append(dpsgd_noise_multiplier(eps, delta, q, t, "rdp" if b < n else "exact"))
        sub["pld"].append(row_pld)
        sub["rdp"].append(row_rdp)
    comp = {
        "full_batch": [
            gdp_epsilon(math.sqrt(t) / composition_sigma, delta) for t in composition_steps
        ],
        "subsampled": [],
    }
    for b in batches:
        if b == n:
            comp["subsampled"].append(comp["full_batch"])
            continue
        row = []
        for t in composition_steps:
            acc = make_accountant("pld")
            acc.compose(dpa.PoissonSampledDpEvent(b / n, dpa.GaussianDpEvent(composition_sigma)), t)
            row.append(float(acc.get_epsilon(delta)))
        comp["subsampled"].append(row)
    return {"batch_sizes": batches, "full_batch": full, "subsampled": sub, "composition": comp}


class NoiseTables:
    """Lesson 1's accounting tables as arrays, indexed by the slider values."""

    def __init__(self, n: int, data: dict, params: dict):
        self.n = n
        self.params = params
        self.epsilons = np.asarray(params["epsilons"], float)
        self.batch_sizes = np.asarray(data["batch_sizes"], int)
        self.steps = np.asarray([_steps(params["epochs"], n, b) for b in self.batch_sizes])
        self.full_batch = {k: np.asarray(v, float) for k, v in data["full_batch"].items()}
        self.sigma_pld = np.asarray(data["subsampled"]["pld"], float)  # (E, B)
        self.sigma_rdp = np.asarray(data["subsampled"]["rdp"], float)
        self.composition_steps = np.asarray(params["composition_steps"], int)
        self.composition_full = np.asarray(data["composition"]["full_batch"], float)
        self.composition_sub = np.asarray(data["composition"]["subsampled"], float)  # (B, T)

    def index(self, epsilon: float, batch_size: int) -> tuple[int, int]:
        ei = int(np.flatnonzero(np.isclose(self.epsilons, epsilon))[0])
        bi = int(np.flatnonzero(self.batch_sizes == batch_size)[0])
        return ei, bi

    def sigma(self, epsilon: float, batch_size: int, accountant: str = "pld") -> float:
        """Noise multiplier of DP-SGD at (epsilon, B), ``epochs`` epochs (exact at B = n)."""
        ei, bi = self.index(epsilon, batch_size)
        return float((self.sigma_pld if accountant == "pld" else self.sigma_rdp)[ei, bi])

    def per_example_noise(self, epsilon: float, batch_size: int, clip: float = 1.0) -> float:
        """Std of the noise on the *averaged* gradient, per coordinate: sigma C / B."""
        return self.sigma(epsilon, batch_size) * clip / batch_size

    @property
    def per_example_noise_table(self) -> np.ndarray:
        return self.sigma_pld / self.batch_sizes[None, :]


def noise_tables(n: int, *, recompute: bool = False, **overrides) -> NoiseTables:
    """Cached :func:`compute_noise_tables` for n training examples."""
    params = {**NOISE_DEFAULTS, **overrides}
    data = cached(
        f"noise_n{n}",
        {"lesson": "noise", "n": n, **params},
        lambda: compute_noise_tables(n, **params),
        recompute=recompute,
    )
    return NoiseTables(n, data, params)


def mean_gradient_signal(fs: FeatureSet, clip: float = 1.0) -> dict:
    """Norm of the mean clipped gradient of the softmax loss at W = 0 (live, cheap).

    Features are normalised to norm 1 (per example, free). At W = 0 every prediction is
    uniform, the per-example gradient is x (1/K - y)^T with norm sqrt(1 - 1/K) <= 1, so a
    clip of 1 leaves it intact; the mean over all n examples is the *signal*.
    """
    x = np.asarray(normalize_rows(np.asarray(fs.x_train, np.float32)))
    k = fs.num_classes
    y1h = np.eye(k, dtype=np.float32)[fs.y_train]
    residual = 1.0 / k - y1h
    norms = np.linalg.norm(x, axis=1) * np.linalg.norm(residual, axis=1)
    scale = np.minimum(1.0, clip / np.maximum(norms, 1e-30))
    grad = x.T @ (residual * scale[:, None]) / x.shape[0]
    return {
        "signal": float(np.linalg.norm(grad)),
        "dim": int(x.shape[1] * k),
        "per_example_norm": float(norms.mean()),
        "n": int(x.shape[0]),
    }


def feature_norms_figure(fs: FeatureSet, num: int = 5000) -> go.Figure:
    """Histogram of raw feature norms: why we normalise each example to norm C = 1."""
    norms = np.linalg.norm(np.asarray(fs.x_train[:num], np.float32), axis=1)
    fig = go.Figure(go.Histogram(x=norms, nbinsx=60, name="||x||"))
    fig.update_layout(
        title=f"L2 norms of {len(norms)} raw feature vectors (before normalisation)",
        xaxis_title="||x||",
        yaxis_title="count",
        height=300,
        margin=dict(t=40, b=40),
    )
    return fig


def noise_explorer(tables: NoiseTables, signal: dict) -> Explorer:
    """Four linked panels with sliders epsilon and batch size (all values precomputed)."""
    t = tables
    eps, batches = t.epsilons, t.batch_sizes
    fig = subplots(
        rows=2,
        cols=2,
        horizontal_spacing=0.1,
        titles=(
            f"noise multiplier σ vs ε ({t.params['epochs']} epochs)",
            "noise std on the averaged gradient σC/B",
            f"composition: ε vs steps at σ = {t.params['composition_sigma']:g}",
            "signal-to-noise of the private mean gradient",
        ),
    )
    for name, dash in (
        ("exact", "solid"),
        ("pld", "dot"),
        ("rdp", "dash"),
        ("rdp_closed_form", "dashdot"),
    ):
        fig.add_scatter(
            x=eps,
            y=t.full_batch[name],
            name=f"full batch, {name}",
            line=dict(dash=dash),
            row=1,
            col=1,
        )
    fig.add_scatter(
        x=eps, y=t.sigma_pld[:, 0], name="Poisson B, PLD", mode="lines+markers", row=1, col=1
    )  # trace 4
    fig.add_scatter(
        x=eps, y=t.sigma_rdp[:, 0], name="Poisson B, RDP", line=dict(dash="dash"), row=1, col=1
    )  # trace 5
    fig.add_scatter(
        x=[eps[0]],
        y=[t.sigma_pld[0, 0]],
        mode="markers",
        name="selected (ε, B)",
        marker=dict(size=13, color="black", symbol="x"),
        row=1,
        col=1,
    )  # 6
    fig.add_scatter(
        x=batches,
        y=t.per_example_noise_table[0],
        mode="lines+markers",
        name="σC/B at ε",
        row=1,
        col=2,
    )  # 7
    fig.add_scatter(
        x=[batches[0]],
        y=[t.per_example_noise_table[0, 0]],
        mode="markers",
        marker=dict(size=13, color="black", symbol="x"),
        showlegend=False,
        row=1,
        col=2,
    )  # 8
    fig.add_scatter(
        x=t.composition_steps, y=t.composition_full, name="full batch (exact)", row=2, col=1
    )  # 9
    fig.add_scatter(
        x=t.composition_steps,
        y=t.composition_sub[0],
        name="Poisson q = B/n (PLD)",
        mode="lines+markers",
        row=2,
        col=1,
    )  # 10
    dim = signal["dim"]
    snr = signal["signal"] / (t.sigma_pld * math.sqrt(dim) / batches[None, :])  # (E, B)
    fig.add_scatter(x=batches, y=snr[0], mode="lines+markers", name="SNR at ε", row=2, col=2)  # 11
    fig.add_scatter(
        x=[batches[0]],
        y=[snr[0, 0]],
        mode="markers",
        showlegend=False,
        marker=dict(size=13, color="black", symbol="x"),
        row=2,
        col=2,
    )  # 12
    # log axes labelled at powers of ten only: easier to read, and fewer labels to redraw
    fig.update_xaxes(type="log", dtick=1)
    fig.update_yaxes(type="log", dtick=1)
    fig.update_xaxes(title_text="ε", row=1, col=1)
    fig.update_xaxes(title_text="batch size B", row=1, col=2)
    fig.update_xaxes(title_text="steps T", row=2, col=1)
    fig.update_xaxes(title_text="batch size B", row=2, col=2)
    fig.update_yaxes(title_text="σ", row=1, col=1)
    fig.update_yaxes(title_text="ε", row=2, col=1)
    fig.update_layout(
        height=820,
        margin=dict(b=40),
        legend=dict(font=dict(size=10), orientation="h", y=-0.12),
    )

    def draw(f, s):
        ei, bi = t.index(s["epsilon"], s["batch_size"])
        b = int(batches[bi])
        d = f.data
        d[4].y, d[4].name = t.sigma_pld[:, bi], f"B = {b}, PLD"
        d[5].y, d[5].name = t.sigma_rdp[:, bi], f"B = {b}, RDP"
        d[6].x, d[6].y = [eps[ei]], [t.sigma_pld[ei, bi]]
        d[7].y, d[7].name = t.per_example_noise_table[ei], f"σC/B at ε = {eps[ei]:g}"
        d[8].x, d[8].y = [b], [t.per_example_noise_table[ei, bi]]
        d[10].y, d[10].name = t.composition_sub[bi], f"Poisson q = {b / t.n:.3g} (PLD)"
        d[11].y, d[11].name = snr[ei], f"SNR at ε = {eps[ei]:g}"
        d[12].x, d[12].y = [b], [snr[ei, bi]]
        return (
            f"<b>ε = {eps[ei]:g}, B = {b}</b>: q = B/n = {b / t.n:.4g}, T = {t.steps[bi]} steps, "
            f"σ = {t.sigma_pld[ei, bi]:.4g} (RDP would need {t.sigma_rdp[ei, bi]:.4g}), "
            f"noise std on the mean gradient σC/B = {t.per_example_noise_table[ei, bi]:.3g}, "
            f"SNR = {snr[ei, bi]:.3g}"
        )

    controls = [
        Control("epsilon", list(eps), label="ε", initial=1.0),
        Control(
            "batch_size", [int(b) for b in batches], label="batch size B", initial=int(batches[2])
        ),
    ]
    ex = Explorer(fig, controls, draw)
    ex.snr = snr
    return ex


def gaussian_mechanism_numbers(sensitivity: float, epsilon: float, delta: float) -> dict:
    """One Gaussian release at (epsilon, delta): exact GDP noise vs the RDP closed form."""
    mu = gdp_mu(epsilon, delta)
    mu_rdp = rdp_closed_form_mu(epsilon, delta)
    return {
        "mu": mu,
        "std_exact": sensitivity / mu,
        "std_rdp_closed_form": sensitivity / mu_rdp,
        "ratio": mu / mu_rdp,
    }
