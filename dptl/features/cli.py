"""``dptl extract``: images of a dataset -> a feature file (resumable, see dptl.features.extract)."""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["add_extract_parser", "run_extract"]


def add_extract_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``extract`` subcommand on ``subparsers`` (``func`` = ``run_extract``)."""
    p = subparsers.add_parser(
        "extract",
        help="extract backbone features of a dataset into a feature file",
        description="Extract features of a dataset's train and test images with a pretrained "
        "backbone and write them in the dptl feature-file format. An interrupted run "
        "resumes from its chunks when run again with the same arguments.",
    )
    p.add_argument(
        "--dataset",
        required=True,
        help="fashion_mnist, sklearn_digits, cifar10, cifar100, tfds:<name> or folder:<path> "
        "(your own images, one subfolder per class, or train/<class>/ and test/<class>/; "
        "decoded with Pillow and resized to --resolution on the host)",
    )
    p.add_argument("--backbone", required=True, help="efficientnet_lite0, vit_b16, ...")
    p.add_argument("--resolution", type=int, required=True, help="input size in pixels")
    p.add_argument("--out", required=True, help="output feature file (.npz)")
    p.add_argument(
        "--layer",
        default=None,
        help="feature layer (efficientnet_lite0: block [320-d, default], head, logits)",
    )
    p.add_argument(
        "--weights",
        default="imagenet",
        help="'imagenet', 'random' (with --seed) or a checkpoint path/URL",
    )
    p.add_argument("--seed", type=int, default=0, help="key for --weights random")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--dtype",
        default="float16",
        choices=["float16", "float32"],
        help="dtype of the stored features",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="only the first N train and N test images (for quick tries)",
    )
    p.add_argument(
        "--chunk-dir",
        default=None,
        help="where chunks go while running (default: OUT.chunks, removed at the end)",
    )
    p.add_argument(
        "--chunk-batches", type=int, default=16, help="batches per resumable chunk (default 16)"
    )
    p.add_argument(
        "--on-bad-image",
        default="skip",
        choices=["skip", "error"],
        help="folder:<path> only: skip image files that do not decode (default; they are "
        "listed in the metadata) or stop with an error",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_extract)
    return p


def run_extract(args: argparse.Namespace) -> int:
    """Load the dataset, extract train and test features, save the feature file."""
    import jax

    from dptl.data import load_images
    from dptl.features.backbones import get_backbone
    from dptl.features.dataset import extract_dataset
    from dptl.features.preprocess import check_resolution

    check_resolution(args.resolution)  # fail before loading anything
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    out = Path(args.out)
    chunk_dir = Path(args.chunk_dir) if args.chunk_dir else out.with_name(out.name + ".chunks")
    data = load_images(args.dataset, **_loader_options(args))
    skipped = data.metadata.get("skipped") or []
    if skipped:
        print(
            f"skipped {len(skipped)} files that could not be decoded (listed under 'skipped' "
            "in the feature file's metadata)",
            file=sys.stderr,
        )
    key = jax.random.key(args.seed) if args.weights == "random" else None
    backbone = get_backbone(args.backbone, weights=args.weights, key=key)
    t0 = time.perf_counter()
    fs = extract_dataset(
        data,
        backbone,
        resolution=args.resolution,
        layer=args.layer,
        batch_size=args.batch_size,
        out_dtype=np.dtype(args.dtype),
        limit=args.limit,
        chunk_dir=chunk_dir,
        chunk_batches=args.chunk_batches,
        progress=not args.no_progress,
        metadata={"command": "dptl extract " + " ".join(shlex.quote(a) for a in _argv_of(args))},
    )
    seconds = time.perf_counter() - t0
    if jax.process_index() != 0:
        return 0
    digest = fs.save(out)
    shutil.rmtree(chunk_dir, ignore_errors=True)
    n = fs.num_train + fs.num_test
    print(
        f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, {fs!r}); arrays sha256 {digest}; "
        f"{n} images in {seconds:.0f} s ({n / seconds:.0f} images/s)",
        file=sys.stderr,
    )
    return 0


def _is_folder(dataset: str) -> bool:
    return dataset.startswith("folder:")


def _loader_options(args: argparse.Namespace) -> dict:
    """Keyword arguments of ``load_images`` for ``args.dataset`` (only folders take any)."""
    if not _is_folder(args.dataset):
        return {}
    return {
        "size": args.resolution,
        "on_error": args.on_bad_image,
        "progress": not args.no_progress,
    }


def _argv_of(args: argparse.Namespace) -> list[str]:
    """The command-line options that reproduce ``args`` (provenance, not --chunk-dir)."""
    argv = [
        "--dataset",
        args.dataset,
        "--backbone",
        args.backbone,
        "--resolution",
        str(args.resolution),
        "--out",
        str(args.out),
    ]
    for opt, default in (
        ("layer", None),
        ("weights", "imagenet"),
        ("batch_size", 64),
        ("dtype", "float16"),
        ("limit", None),
        ("on_bad_image", "skip"),
    ):
        value = getattr(args, opt)
        if value != default:
            argv += [f"--{opt.replace('_', '-')}", str(value)]
    if args.weights == "random":
        argv += ["--seed", str(args.seed)]
    return argv


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m dptl.features.cli extract ...``)."""
    parser = argparse.ArgumentParser(prog="dptl")
    add_extract_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
