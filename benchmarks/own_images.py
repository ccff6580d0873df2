"""From a folder of images to a private classifier: the four commands, timed, and predict's
throughput against the backbone's alone.

    python benchmarks/own_images.py [--per-class 100] [--resolution 112] [--workdir DIR]

Writes a PNG folder (Fashion-MNIST training images by class, ``per_class`` of each of the
10 classes: ``dptl.lessons.own_images.demo_folder``), then runs, as a user would, each in
its own process (so the times include starting Python, importing JAX and compiling):

    dptl extract --dataset folder:F --backbone efficientnet_lite0 --resolution R --out feats.npz
    dptl train --features feats.npz --epsilon 1 --out model.npz
    dptl predict --model model.npz F --json
    dptl report --model model.npz --features feats.npz

and, in this process, the classifier's compiled throughput (images/s through backbone and
private head, images already decoded) against the baseline measured in the same run: the
backbone's extraction alone on the same images (``dptl.features.extract``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DPTL = str(Path(sys.executable).with_name("dptl"))


def _run(argv: list[str]) -> tuple[float, str]:
    """Run a command; return its wall time and the last line it printed (stdout first)."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stderr}")
    last = (done.stdout.strip() or done.stderr.strip()).splitlines()[-1]
    if last.startswith("{"):  # predict --json: its summary line is on stderr
        last = done.stderr.strip().splitlines()[-1]
    return seconds, last


def _best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--resolution", type=int, default=112)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)

    import jax

    from dptl.classifier import Classifier
    from dptl.data import list_image_files, read_images
    from dptl.features import extract
    from dptl.lessons.own_images import demo_folder

    work = Path(args.workdir or tempfile.mkdtemp(prefix="dptl-own-images-"))
    start = time.perf_counter()
    folder = demo_folder(work / "images", per_class=args.per_class)
    files = list_image_files(folder)
    write_s = time.perf_counter() - start
    feats, model = work / "feats.npz", work / "model.npz"
    steps = {
        "extract": [DPTL, "extract", "--dataset", f"folder:{folder}", "--backbone"]
        + ["efficientnet_lite0", "--resolution", str(args.resolution), "--out", str(feats)]
        + ["--no-progress"],
        "train": [DPTL, "train", "--features", str(feats), "--epsilon", "1"]
        + ["--out", str(model)],
        "predict": [DPTL, "predict", "--model", str(model), str(folder), "--json"]
        + ["--no-progress"],
        "report": [DPTL, "report", "--model", str(model), "--features", str(feats)],
    }
    print(f"{len(files)} PNG files in {folder} (written in {write_s:.1f} s); {jax.devices()}")
    print(f"{'command':<10}{'seconds':>9}  what it printed last")
    for name, cmd in steps.items():
        seconds, last = _run(cmd)
        print(f"{name:<10}{seconds:>9.1f}  {last[:120]}")

    clf = Classifier.load(model)
    t0 = time.perf_counter()
    images = np.stack(read_images(files, size=args.resolution))
    decode_s = time.perf_counter() - t0
    clf.probabilities(images[:64])  # compile once
    predict_s = _best_of(lambda: clf.probabilities(images))
    backbone_s = _best_of(
        lambda: extract(clf.backbone, images, resolution=args.resolution, progress=False)
    )
    n = len(images)
    print(
        f"\nin process, {n} images at {args.resolution} px, compiled, best of 3:\n"
        f"  decode (Pillow, threads)          {n / decode_s:8.0f} images/s\n"
        f"  predict (backbone + private head) {n / predict_s:8.0f} images/s\n"
        f"  baseline: backbone alone          {n / backbone_s:8.0f} images/s\n"
        f"  predict / baseline time           {predict_s / backbone_s:8.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
