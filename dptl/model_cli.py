"""``dptl train``, ``dptl predict`` and ``dptl report``: one private model, used and described.

- ``train``: a feature file -> one private last layer (a solver at its defaults, or the
  public ``--method auto`` rule) -> a model file (:mod:`dptl.model`).
- ``predict``: a model file and images (files or folders) -> the top-k classes of each.
- ``report``: a model file (and optionally a feature file with test rows) -> an HTML report.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

__all__ = ["add_predict_parser", "add_report_parser", "add_train_parser"]


def add_train_parser(subparsers, epsilon_type, seed_type) -> argparse.ArgumentParser:
    """Register ``train`` (``epsilon_type``/``seed_type``: the argparse types of dptl.cli)."""
    from dptl.solvers import METHODS

    p = subparsers.add_parser(
        "train",
        help="train one private last layer on a feature file and save it as a model file",
        description="Train one (epsilon, delta)-DP last layer on the training rows of a feature "
        "file with a solver's defaults and write a model file (no pickle): the head, class "
        "names, the backbone it expects and the privacy spent. Neighbouring relation: "
        "add/remove one example; n and the class names are public.",
    )
    p.add_argument("--features", required=True, help="feature file (.npz, dptl format)")
    p.add_argument(
        "--method",
        default="auto",
        choices=["auto", *METHODS],
        help="solver (default 'auto': the public rule of dptl.solvers.choice, from n, K and "
        "epsilon)",
    )
    p.add_argument(
        "--epsilon", type=epsilon_type, required=True, help="target epsilon ('inf': no noise)"
    )
    p.add_argument("--delta", type=float, default=1e-5, help="target delta (default 1e-5)")
    p.add_argument("--out", required=True, help="model file to write (.npz)")
    p.add_argument(
        "--seed",
        type=seed_type,
        default=None,
        help="PRNG seed for a reproducible run (teaching; not for release). Default: a fresh "
        "secret key from the OS's entropy",
    )
    p.set_defaults(func=train)
    return p


def train(args: argparse.Namespace) -> int:
    """Train, print the guarantee and the releases, save the model file."""
    from dptl.data import FeatureSet
    from dptl.model import releases_table, train_model
    from dptl.privacy import NEIGHBOURING, SEEDED_WARNING, training_key

    fs = FeatureSet.load(args.features)
    key_note = (
        "fresh secret key (OS entropy)"
        if args.seed is None
        else SEEDED_WARNING.format(seed=args.seed)
    )
    print(
        f"training on {fs!r}\ntarget: epsilon {args.epsilon:.4g}, delta {args.delta:.3g}; "
        f"neighbouring: {NEIGHBOURING}; noise key: {key_note}",
        file=sys.stderr,
    )
    if args.delta * fs.num_train >= 1:
        print(
            f"warning: delta = {args.delta:.3g} is not below 1/n = {1 / fs.num_train:.3g}: a "
            "mechanism that publishes one random row meets it; choose delta << 1/n",
            file=sys.stderr,
        )
    start = time.perf_counter()
    model = train_model(
        fs,
        epsilon=args.epsilon,
        key=training_key(args.seed),
        delta=args.delta,
        method=args.method,
        features_path=args.features,
        key_note=key_note,
    )
    seconds = time.perf_counter() - start
    print(f"trained {model.method} ({model.training['method_choice']})", file=sys.stderr)
    digest = model.save(args.out)
    print(f"trained in {seconds:.1f} s; {model.guarantee()}")
    print(releases_table(model.privacy))
    if fs.num_test:
        acc = float((model.predict(fs.x_test.astype("float32")) == fs.y_test).mean())
        print(f"test accuracy on the file's {fs.num_test} test rows: {100 * acc:.2f}%")
    print(f"wrote {args.out} (sha256 {digest})")
    return 0


def add_predict_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``predict``."""
    p = subparsers.add_parser(
        "predict",
        help="classify images with a model file (backbone + private head)",
        description="Run the model's backbone and private head on image files or folders "
        "(searched recursively) and print each image's most likely classes.",
    )
    p.add_argument("--model", required=True, help="model file written by `dptl train`")
    p.add_argument("images", nargs="+", help="image files and/or folders")
    p.add_argument("--top-k", type=int, default=3, help="classes shown per image (default 3)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=predict)
    return p


def predict(args: argparse.Namespace) -> int:
    """Classify the images; print the top-k classes of each and the throughput."""
    from dptl.classifier import Classifier

    if args.top_k < 1 or args.batch_size < 1:
        raise ValueError("--top-k and --batch-size must be >= 1")
    start = time.perf_counter()
    clf = Classifier.load(args.model, batch_size=args.batch_size)
    loaded = time.perf_counter()
    preds = clf.predict_files(args.images, args.top_k, progress=not args.no_progress)
    seconds = time.perf_counter() - loaded
    if args.json:
        print(json.dumps({"model": args.model, "predictions": [p.as_dict() for p in preds]}))
    else:
        for p in preds:
            top = ", ".join(
                f"{c} {100 * q:.1f}%" for c, q in zip(p.classes, p.probabilities, strict=True)
            )
            print(f"{p.source}: {top}")
    print(
        f"{len(preds)} images in {seconds:.2f} s ({len(preds) / seconds:.0f} images/s, "
        f"model and backbone loaded in {loaded - start:.2f} s)",
        file=sys.stderr,
    )
    return 0


def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``report``."""
    p = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report of a model file",
        description="Describe a model file in one HTML page that works offline: what was "
        "released, with which sensitivity and noise, the guarantee under the neighbouring "
        "relation, and, given a feature file with test rows, accuracy and a confusion matrix.",
    )
    p.add_argument("--model", required=True, help="model file written by `dptl train`")
    p.add_argument("--features", default=None, help="feature file whose test rows to score")
    p.add_argument("--out", default=None, help="HTML file (default: MODEL with .html)")
    p.set_defaults(func=report)
    return p


def report(args: argparse.Namespace) -> int:
    """Write the HTML report."""
    from dptl.data import FeatureSet
    from dptl.model import PrivateModel
    from dptl.report import model_report_html

    model = PrivateModel.load(args.model)
    features = None
    if args.features:
        features = FeatureSet.load(args.features)
    out = Path(args.out) if args.out else Path(args.model).with_suffix(".html")
    html = model_report_html(model, features, features_path=args.features)
    out.write_text(html, encoding="utf-8")
    eps = model.privacy.epsilon
    print(
        f"wrote {out} ({len(html) / 2**20:.1f} MiB): {model.method}, "
        f"epsilon {'inf' if math.isinf(eps) else f'{eps:.4g}'}, delta {model.privacy.delta:.3g}"
    )
    return 0
