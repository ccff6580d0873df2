"""A model file described in one self-contained HTML page (works offline, can be passed on).

What was released, with which L2 sensitivity and noise, the (epsilon, delta) re-derived from
those releases by dptl's accountant and cross-checked with ``dp_accounting``'s PLD
accountant, the guarantee under the neighbouring relation, the model's provenance, and, when
a feature file with test rows is given, accuracy, per-class recall and a confusion-matrix
figure (plotly, its JavaScript inlined).
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import numpy as np

from dptl.model import PrivateModel

__all__ = ["confusion_matrix", "model_report_html", "recheck_epsilon"]

# Below this noise multiplier dp_accounting's PLD grid gets slow (see dptl.privacy.accounting).
_PLD_CHECK_MIN_NOISE = 0.3


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """(K, K) counts: row = true class, column = predicted class."""
    out = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(out, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return out


def recheck_epsilon(model: PrivateModel) -> dict[str, float | None]:
    """epsilon of the model's releases, recomputed: by its own accountant, and by PLD.

    Returns:
        {"recorded", "recomputed", "pld"}: the file's epsilon, the same accountant run again
        on the listed releases, and ``dp_accounting``'s PLD accountant on the stored DpEvent
        (None when a release has noise multiplier below 0.3, where PLD is too slow, or no noise).
    """
    from dptl.privacy import spent
    from dptl.privacy.accounting import epsilon_of_event

    p = model.privacy
    recomputed = spent(p.releases, p.delta, accountant=p.accountant).epsilon
    pld = None
    if math.isfinite(recomputed) and all(
        r.noise_multiplier >= _PLD_CHECK_MIN_NOISE for r in p.releases if r.count
    ):
        pld = epsilon_of_event(p.dp_event, p.delta, "pld")
    return {"recorded": p.epsilon, "recomputed": recomputed, "pld": pld}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "∞" if math.isinf(value) else f"{value:.4g}"
    return html.escape(str(value))


def _eps(value: float) -> str:
    return "∞ (not private)" if math.isinf(value) else f"{value:.6g}"


def _table(rows: list[list[Any]], header: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header) if header else ""
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f"<table>{f'<thead><tr>{head}</tr></thead>' if head else ''}<tbody>{body}</tbody></table>"
    )


def _confusion_figure(counts: np.ndarray, class_names) -> str:
    import plotly.graph_objects as go
    import plotly.io as pio

    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    names = list(class_names)
    fig = go.Figure(
        go.Heatmap(
            z=rates,
            x=names,
            y=names,
            text=counts,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": "share of<br>true class"},
            hovertemplate="true %{y}<br>predicted %{x}<br>%{text} images (%{z:.1%})<extra></extra>",
        )
    )
    fig.update_layout(
        title="Confusion matrix on the test rows (counts; colour: share of the true class)",
        xaxis_title="predicted class",
        yaxis_title="true class",
        yaxis_autorange="reversed",
        width=None,
        height=260 + 34 * len(names),
        margin={"l": 120, "r": 20, "t": 60, "b": 100},
    )
    return pio.to_html(
        fig, full_html=False, include_plotlyjs=True, config={"responsive": True}, div_id="confusion"
    )


def model_report_html(
    model: PrivateModel, features=None, *, features_path: str | None = None
) -> str:
    """The HTML page describing ``model`` (and its accuracy on ``features``' test rows).

    Args:
        model: the private model.
        features: an optional ``FeatureSet`` from the same backbone; its test rows are scored.
        features_path: where ``features`` came from (shown).

    Raises:
        dptl.model.ModelFileError: ``features`` come from another backbone or other classes.
    """
    from dptl.model import ModelFileError

    p = model.privacy
    eps = recheck_epsilon(model)
    bb = model.backbone
    sections = [
        f"<h1>dptl model report: {html.escape(model.method)}</h1>",
        f'<p class="guarantee"><b>Guarantee.</b> The head is {html.escape(model.guarantee())}</p>',
        "<p>Predictions and everything below are post-processing of the released head: they "
        "cost no further privacy, except the accuracy on test rows, which is about those rows "
        "(they are not training rows).</p>",
        "<h2>Privacy spent</h2>",
        _table(
            [
                ["epsilon (recorded)", _eps(eps["recorded"])],
                [f"epsilon recomputed ({p.accountant} accountant)", _eps(eps["recomputed"])],
                [
                    "epsilon by dp_accounting PLD (cross-check)",
                    "not run (noise multiplier below 0.3 or no noise)"
                    if eps["pld"] is None
                    else _eps(eps["pld"]),
                ],
                ["delta", p.delta],
                ["neighbouring relation", p.neighbouring],
            ]
        ),
        "<h2>Releases</h2>",
        "<p>Each release is a statistic of the training rows with Gaussian noise N(0, std²) on "
        "every entry; sensitivity is its L2 sensitivity under the neighbouring relation, with "
        "features mapped to norm C and one-hot labels.</p>",
        _table(
            [
                [r.name, r.sensitivity, r.noise_std, r.noise_multiplier, r.count, r.sampling_rate]
                for r in p.releases
            ],
            [
                "release",
                "L2 sensitivity",
                "noise std",
                "noise / sensitivity",
                "times",
                "sampling rate",
            ],
        ),
        "<details><summary>The composed dp_accounting DpEvent</summary><pre>"
        + html.escape(json.dumps(model.header()["privacy"]["dp_event"], indent=1))
        + "</pre></details>",
        "<h2>Model</h2>",
        _table(
            [
                ["method", model.method],
                ["classes", ", ".join(model.class_names)],
                ["backbone", bb.get("backbone", "not recorded")],
                ["backbone weights", bb.get("weights", "not recorded")],
                ["resolution (px)", bb.get("resolution", "not recorded")],
                ["feature layer (width)", f"{bb.get('layer', '?')} ({model.dim})"],
                [
                    "feature preprocessing",
                    f"{model.preprocess} to norm C = {model.feature_norm:g}"
                    + (
                        ""
                        if model.center is None
                        else ", then centred on the released noisy feature mean and rescaled "
                        "to norm C"
                    ),
                ],
                ["training rows n (public)", model.training.get("num_train", "?")],
                ["training dataset", model.training.get("dataset", "")],
                ["why this solver", model.training.get("method_choice", "")],
                ["solver configuration", json.dumps(model.training.get("config", {}))],
                ["noise key", model.training.get("key", "")],
                ["dptl version", model.dptl_version],
                ["model checksum (SHA-256)", model.checksum()],
            ]
        ),
    ]
    if features is not None:
        model.check_features(features.metadata, "the feature file's rows")
        if tuple(features.class_names) != model.class_names:
            raise ModelFileError(
                f"the feature file's classes {list(features.class_names)} are not the model's "
                f"{list(model.class_names)}"
            )
        sections.append(f"<h2>Accuracy on the test rows of {html.escape(str(features_path))}</h2>")
        if features.num_test == 0:
            sections.append("<p>The feature file has no test rows.</p>")
        else:
            pred = model.predict(features.x_test.astype(np.float32))
            counts = confusion_matrix(features.y_test, pred, model.num_classes)
            recall = np.diag(counts) / np.maximum(counts.sum(axis=1), 1)
            acc = float(np.trace(counts) / counts.sum())
            sections += [
                f"<p><b>Top-1 accuracy: {100 * acc:.2f}%</b> on {features.num_test} test rows.</p>",
                _confusion_figure(counts, model.class_names),
                _table(
                    [
                        [c, int(counts[i].sum()), f"{100 * recall[i]:.1f}%"]
                        for i, c in enumerate(model.class_names)
                    ],
                    ["class", "test rows", "recall"],
                ),
            ]
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "color:#222;line-height:1.45}table{border-collapse:collapse;margin:.5rem 0 1rem}"
        "td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;vertical-align:top;"
        "overflow-wrap:anywhere}th{background:#f3f3f3}.guarantee{background:#eef6ee;"
        "border-left:4px solid #3a3;padding:.6rem .8rem}pre{white-space:pre-wrap}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>dptl model report: {html.escape(model.method)}</title><style>{style}</style>"
        "</head><body>" + "\n".join(sections) + "</body></html>"
    )
