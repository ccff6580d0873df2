"""Lesson 8: your own images. A folder of images (one subfolder per class) becomes a private
classifier: features through the public backbone, a private last layer at a chosen epsilon,
a model file with its privacy record, predictions on new images and an HTML report.

Everything here is what ``dptl extract --dataset folder:PATH``, ``dptl train``,
``dptl predict`` and ``dptl report`` do, called from Python. Without a folder of one's own,
:func:`demo_folder` writes one: Fashion-MNIST training images saved as PNG files by class.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from dptl.lessons.explorer import Control, Explorer, epsilon_axis, fmt_eps, subplots

__all__ = [
    "EPSILONS",
    "class_counts",
    "commands",
    "demo_folder",
    "exercise_answer",
    "extract_features",
    "lesson_folder",
    "load",
    "prediction_explorer",
    "privacy_sweep",
    "samples_figure",
    "sweep_explorer",
    "predictions_on_test_images",
    "train_and_save",
    "unpack_zip",
    "upload_widget",
    "write_report",
]

EPSILONS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, math.inf)
RESOLUTION = 112
SEEDS = 3
GALLERY = 12  # test images the prediction explorer can show
SWEEP_SEED = 1  # root of privacy_sweep's keys; train_and_save uses key(seed), default 0


def _work_dir() -> Path:
    return Path(os.environ.get("DPTL_LESSON_DIR", Path(tempfile.gettempdir()) / "dptl-lesson8"))


def demo_folder(path: str | os.PathLike | None = None, *, per_class: int = 100) -> Path:
    """Write ``per_class`` Fashion-MNIST training images of each class as PNG files.

    The folder is ``path/<class>/<index>.png`` (class names with "/" written with "-"),
    the first ``per_class`` training images of each class in dataset order: deterministic,
    so running it again rewrites the same files.

    Returns:
        The folder.
    """
    from PIL import Image

    from dptl.data import load_images

    folder = Path(path) if path is not None else _work_dir() / "fashion_mnist_png"
    data = load_images("fashion_mnist")
    for k, name in enumerate(data.class_names):
        target = folder / name.replace("/", "-")
        target.mkdir(parents=True, exist_ok=True)
        for i in np.flatnonzero(data.y_train == k)[:per_class]:
            Image.fromarray(data.x_train[i]).save(target / f"{i:05d}.png")
    return folder


def lesson_folder() -> Path:
    """The folder the lesson uses: ``$DPTL_IMAGES`` if set, else the demo folder."""
    own = os.environ.get("DPTL_IMAGES")
    return Path(own) if own else demo_folder()


def unpack_zip(data: bytes, target: str | os.PathLike) -> Path:
    """Unpack a zip of class folders into ``target``, refusing paths that leave it.

    Returns:
        The folder holding the class subfolders (``target``, or its only subfolder when the
        zip wraps everything in one top folder).
    """
    target = Path(target).resolve()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for member in zf.namelist():
            dest = (target / member).resolve()
            if not dest.is_relative_to(target):
                raise ValueError(f"the zip member {member!r} would be written outside {target}")
        zf.extractall(target)
    entries = [p for p in target.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir() and any(p.is_dir() for p in entries[0].iterdir()):
        return entries[0]
    return target


def upload_widget():
    """A zip upload (for Binder): unpacks into a fresh folder and says what to set next."""
    import ipywidgets as widgets

    upload = widgets.FileUpload(accept=".zip", multiple=False, description="upload a .zip")
    status = widgets.HTML("A zip with one folder per class; then set FOLDER below.")

    def on_upload(change):
        files = change["new"]
        if not files:
            return
        item = files[0]
        target = Path(tempfile.mkdtemp(prefix="dptl-upload-", dir=_work_dir().parent))
        try:
            folder = unpack_zip(bytes(item["content"]), target)
        except (zipfile.BadZipFile, ValueError) as err:
            status.value = f"<b>Could not unpack {item['name']}</b>: {err}"
            return
        status.value = (
            f"Unpacked {item['name']} into <code>{folder}</code>. Set "
            f"<code>FOLDER = '{folder}'</code> in the next cell and run the cells below again."
        )

    upload.observe(on_upload, names="value")
    return widgets.VBox([upload, status])


def load(folder, resolution: int = RESOLUTION):
    """The folder's images at the backbone's resolution (see ``dptl.data.load_folder``)."""
    from dptl.data import load_folder

    return load_folder(folder, size=resolution, progress=False)


def class_counts(data) -> str:
    """A line per class: training and test images."""
    width = max(len(c) for c in data.class_names)
    lines = [f"{'class':<{width}}  train  test"]
    for k, name in enumerate(data.class_names):
        lines.append(
            f"{name:<{width}}  {int((data.y_train == k).sum()):>5}  {int((data.y_test == k).sum()):>4}"
        )
    skipped = data.metadata.get("skipped", [])
    lines.append(f"{len(data.y_train)} training and {len(data.y_test)} test images")
    if skipped:
        lines.append(f"skipped {len(skipped)} files that could not be decoded")
    return "\n".join(lines)


def _montage(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    h, w = images.shape[1:3]
    out = np.full((rows * h, cols * w, 3), 255, np.uint8)
    for i, img in enumerate(images[: rows * cols]):
        r, c = divmod(i, cols)
        out[r * h : (r + 1) * h, c * w : (c + 1) * w] = img
    return out


def _png_uri(image: np.ndarray) -> str:
    """A PNG data URI of a uint8 image: plotly.js gets a short string, not nested lists
    (a slider move that swaps the image then costs ~1 ms instead of tens)."""
    import base64

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def samples_figure(data, per_class: int = 8) -> go.Figure:
    """A grid of training images: one row per class (at most 10 classes shown)."""
    classes = list(data.class_names)[:10]
    picks = []
    for k in range(len(classes)):
        idx = np.flatnonzero(data.y_train == k)[:per_class]
        row = np.full((per_class, *data.x_train.shape[1:]), 255, np.uint8)
        row[: len(idx)] = data.x_train[idx]
        picks.append(row)
    size = data.x_train.shape[1]
    grid = _montage(np.concatenate(picks), len(classes), per_class)
    fig = go.Figure(go.Image(source=_png_uri(grid), name="training images", hoverinfo="skip"))
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(
        tickvals=[(k + 0.5) * size for k in range(len(classes))],
        ticktext=classes,
        showgrid=False,
        zeroline=False,
    )
    fig.update_layout(
        title=f"The first {per_class} training images of each class ({size} x {size} px)",
        height=120 + 60 * len(classes),
        margin=dict(l=120, r=10, t=50, b=10),
    )
    return fig


def extract_features(data, resolution: int = RESOLUTION, *, progress: bool = True):
    """Features of the folder's images through ImageNet EfficientNet-Lite0 (a FeatureSet).

    The same function ``dptl extract`` runs (``dptl.features.extract_dataset``).
    """
    from dptl.features import extract_dataset, get_backbone

    backbone = get_backbone("efficientnet_lite0", weights="imagenet")
    return extract_dataset(data, backbone, resolution=resolution, progress=progress)


def privacy_sweep(features, epsilons=EPSILONS, seeds: int = SEEDS, gallery: int = GALLERY):
    """The auto method at every epsilon and seed: accuracies, and predictions on a gallery.

    Each run is ``dptl.model.train_model`` (what ``dptl train`` runs) with its own key,
    ``jax.random.split(jax.random.key(SWEEP_SEED), (E, S))[e, s]``: reproducible, for
    teaching, not for release, and never the key of :func:`train_and_save`. Returns a dict
    with ``epsilons``, ``methods`` (the trained method at each epsilon, ``LastLayerResult.method``), ``accuracy`` (E, S), ``probabilities``
    (E, G, K) of ``gallery`` test images, one class after the other, under the seed-0
    model, and ``gallery`` (their indices).
    """
    import jax

    from dptl.model import train_model

    x_test = features.x_test.astype(np.float32)
    picks = _round_robin(features.y_test, features.num_classes)[:gallery]
    keys = jax.random.split(jax.random.key(SWEEP_SEED), (len(epsilons), seeds))
    acc = np.zeros((len(epsilons), seeds))
    probs = np.zeros((len(epsilons), len(picks), features.num_classes))
    methods = []
    for e, eps in enumerate(epsilons):
        for s in range(seeds):
            model = train_model(features, epsilon=eps, key=keys[e, s])
            acc[e, s] = np.mean(model.predict(x_test) == features.y_test)
            if s == 0:
                probs[e] = model.probabilities(x_test[picks])
        methods.append(model.method)
    return {
        "epsilons": list(epsilons),
        "methods": methods,
        "accuracy": acc,
        "probabilities": probs,
        "gallery": picks,
        "class_names": list(features.class_names),
    }


def _round_robin(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Indices of ``labels`` taking one row of each class in turn (the r-th of each class)."""
    per_class = [np.flatnonzero(labels == k) for k in range(num_classes)]
    order = [idx[r] for r in range(max(map(len, per_class))) for idx in per_class if r < len(idx)]
    return np.asarray(order, dtype=int)


def sweep_explorer(sweep) -> Explorer:
    """Test accuracy against epsilon (mean ± std over seeds); the slider marks one epsilon."""
    from dptl.solvers.methods import METHODS

    eps = sweep["epsilons"]
    finite = [i for i, e in enumerate(eps) if math.isfinite(e)]
    mean, std = sweep["accuracy"].mean(1), sweep["accuracy"].std(1)
    fig = go.Figure()
    fig.add_scatter(
        x=[eps[i] for i in finite],
        y=mean[finite],
        error_y=dict(type="data", array=std[finite]),
        mode="lines+markers",
        name="private (auto method, mean ± std over seeds)",
    )
    inf = [i for i, e in enumerate(eps) if not math.isfinite(e)]
    if inf:
        fig.add_scatter(
            x=[eps[finite[0]], eps[finite[-1]]],
            y=[mean[inf[0]]] * 2,
            mode="lines",
            line=dict(dash="dash"),
            name="not private (ε = ∞)",
        )
    fig.add_scatter(
        x=[eps[finite[0]]],
        y=[mean[finite[0]]],
        mode="markers",
        name="chosen ε",
        marker=dict(size=14, symbol="x"),
    )
    epsilon_axis(fig, eps)
    fig.update_yaxes(title_text="test accuracy")
    fig.update_layout(height=420, title="Your folder's test images: accuracy against ε")

    def draw(fg, s):
        e = eps.index(s["epsilon"])
        marker = fg.data[-1]
        x = s["epsilon"] if math.isfinite(s["epsilon"]) else eps[finite[-1]]
        marker.x, marker.y = [x], [mean[e]]
        method = METHODS[sweep["methods"][e]].label
        return (
            f"<b>ε = {fmt_eps(s['epsilon'])}</b>: {method}, test accuracy {mean[e]:.3f} ± "
            f"{std[e]:.3f} over {sweep['accuracy'].shape[1]} seeds"
            + ("" if not inf else f"; not private {mean[inf[0]]:.3f}")
        )

    control = Control("epsilon", eps, label="ε", initial=1.0, fmt=fmt_eps)
    return Explorer(fig, [control], draw)


def prediction_explorer(sweep, data) -> Explorer:
    """One test image and the class probabilities the private model at epsilon gives it."""
    eps = sweep["epsilons"]
    names = sweep["class_names"]
    gallery = sweep["gallery"]
    sources = [_png_uri(data.x_test[i]) for i in gallery]
    fig = subplots(
        cols=2,
        titles=["test image", "class probabilities (seed-0 model)"],
        column_widths=[0.3, 0.7],
    )
    fig.add_trace(go.Image(source=sources[0], name="test image", hoverinfo="skip"), row=1, col=1)
    fig.add_bar(x=names, y=sweep["probabilities"][0, 0], name="probability", row=1, col=2)
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    fig.update_yaxes(showticklabels=False, row=1, col=1)
    fig.update_yaxes(range=[0, 1], title_text="probability", row=1, col=2)
    fig.update_layout(height=420, showlegend=False)

    def draw(fg, s):
        e, i = eps.index(s["epsilon"]), int(s["image"])
        p = sweep["probabilities"][e, i]
        fg.data[0].source = sources[i]
        fg.data[1].y = p
        true = names[int(data.y_test[gallery[i]])]
        top = names[int(np.argmax(p))]
        verdict = "right" if top == true else "wrong"
        return (
            f"<b>test image {i + 1}</b>, true class <b>{true}</b>: at ε = {fmt_eps(s['epsilon'])} "
            f"the model says <b>{top}</b> ({100 * p.max():.0f}%), {verdict}"
        )

    controls = [
        Control("epsilon", eps, label="ε", initial=1.0, fmt=fmt_eps),
        Control(
            "image",
            list(range(len(gallery))),
            label="test image",
            initial=0,
            fmt=lambda i: str(i + 1),
        ),
    ]
    return Explorer(fig, controls, draw)


def train_and_save(features, epsilon: float, path=None, *, seed: int = 0):
    """``dptl train --method auto --seed SEED``: train, save the model file, return it.

    The key is ``jax.random.key(seed)``, none of :func:`privacy_sweep`'s.

    Returns:
        (model, path): the :class:`dptl.model.PrivateModel` and where it was written.
    """
    import jax

    from dptl.model import train_model
    from dptl.privacy import SEEDED_WARNING

    model = train_model(
        features,
        epsilon=epsilon,
        key=jax.random.key(seed),
        features_path="(in memory)",
        key_note=SEEDED_WARNING.format(seed=seed),
    )
    path = Path(path) if path is not None else _work_dir() / "model.npz"
    model.save(path)
    return model, path


def predictions_on_test_images(classifier, data, count: int = 6) -> str:
    """``count`` test images, one class after the other, through the classifier (backbone +
    private head): their true class and the top 3 classes with probabilities, a line each."""
    picks = _round_robin(data.y_test, len(data.class_names))[:count]
    preds = classifier.top_k(data.x_test[picks], 3)
    lines = []
    for n, (i, p) in enumerate(zip(picks, preds, strict=True), 1):  # numbered as in the explorer
        true = data.class_names[int(data.y_test[i])]
        top = ", ".join(
            f"{c} {100 * q:.0f}%" for c, q in zip(p.classes, p.probabilities, strict=True)
        )
        lines.append(f"test image {n} (true: {true}): {top}")
    return "\n".join(lines)


def write_report(model, features, path=None) -> Path:
    """``dptl report``: the model's HTML report (accuracy on the folder's test images)."""
    from dptl.report import model_report_html

    path = Path(path) if path is not None else _work_dir() / "report.html"
    path.write_text(model_report_html(model, features, features_path="the folder's test split"))
    return path


def commands(folder, epsilon: float) -> str:
    """The same steps from a shell, with a fresh secret key (for a model to release)."""
    return "\n".join(
        [
            f"dptl extract --dataset folder:{folder} --backbone efficientnet_lite0 "
            f"--resolution {RESOLUTION} --out features.npz",
            f"dptl train --features features.npz --epsilon {fmt_eps(epsilon)} --out model.npz",
            f"dptl predict --model model.npz {folder}",
            "dptl report --model model.npz --features features.npz",
        ]
    )


def exercise_answer(model) -> float:
    """The Gaussian-DP mu of the model's releases: sqrt(sum count * (sensitivity/std)^2)."""
    return math.sqrt(sum(r.mu**2 for r in model.privacy.releases))
