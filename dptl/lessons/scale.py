"""Lesson 6: features at scale. A small live extraction on the CPU, and the commands for
GPU / multi-device extraction of CIFAR and ImageNet.

:func:`live_extraction` runs the real pipeline (:func:`dptl.features.extract`: jit-compiled
fixed-size batches, sharded over all local devices, resumable chunks; its tqdm progress bar is off here, since 128 images take well under a second once compiled)
on the first few Fashion-MNIST test images, and reports what it did and how fast.
"""

from __future__ import annotations

import time

import jax
import numpy as np
import plotly.graph_objects as go

__all__ = ["device_summary", "extraction_commands", "live_extraction", "throughput_figure"]


def device_summary() -> dict:
    """What JAX sees: backend, devices and how a batch would be sharded across them."""
    devices = jax.local_devices()
    return {
        "backend": jax.default_backend(),
        "num_devices": len(devices),
        "devices": [str(d) for d in devices],
    }


def live_extraction(
    num_images: int = 128,
    *,
    resolution: int = 32,
    batch_size: int = 32,
    weights: str = "imagenet",
    chunk_dir=None,
    progress: bool = False,
) -> dict:
    """Extract EfficientNet-Lite0 features of the first ``num_images`` test images.

    Falls back to random weights (seeded) only when the ImageNet checkpoint package is not
    installed, and says so in the result.
    """
    from dptl.data import load_images
    from dptl.features import extract, get_backbone

    images = load_images("fashion_mnist").x_test[:num_images]
    note = ""
    try:
        backbone = get_backbone("efficientnet_lite0", weights=weights)
    except (ImportError, FileNotFoundError, OSError) as err:  # pragma: no cover - env dependent
        backbone = get_backbone("efficientnet_lite0", weights="random", key=jax.random.key(0))
        note = f"ImageNet weights unavailable ({err}); random weights used"
    timings = []
    for _ in range(2):  # the first call compiles; the second runs the compiled function
        start = time.perf_counter()
        feats = extract(
            backbone,
            images,
            resolution=resolution,
            batch_size=batch_size,
            chunk_dir=chunk_dir,
            progress=progress,
            desc=f"{resolution}px",
        )
        timings.append(time.perf_counter() - start)
    first, warm = timings
    return {
        "features": feats,
        "shape": tuple(feats.shape),
        "num_images": len(images),
        "seconds_first": first,
        "seconds_warm": warm,
        "seconds_compile": max(first - warm, 0.0),
        "images_per_s": len(images) / warm,
        "backend": jax.default_backend(),
        "weights": backbone.weights if hasattr(backbone, "weights") else weights,
        "note": note,
    }


def throughput_figure(result: dict) -> go.Figure:
    """Where the first call's time goes: compilation (once) and running (every call)."""
    run = result["seconds_warm"]
    calls = ["first call", "second call"]
    fig = go.Figure(
        [
            go.Bar(name="run the compiled function", x=calls, y=[run, run]),
            go.Bar(name="compile (once)", x=calls, y=[result["seconds_compile"], 0.0]),
        ]
    )
    fig.update_layout(
        barmode="stack",
        title=(
            f"{result['num_images']} images on {result['backend']}: compiled once in "
            f"{result['seconds_compile']:.2f} s, then {result['images_per_s']:.0f} images/s"
        ),
        yaxis_title="seconds",
        height=340,
    )
    return fig


def extraction_commands() -> dict[str, str]:
    """The `dptl extract` command lines for the bigger datasets (run on a GPU machine)."""
    return {
        "Fashion-MNIST, EfficientNet-Lite0 (what data/ ships)": "dptl extract --dataset fashion_mnist --backbone efficientnet_lite0 --resolution 112 "
        "--out data/fashion_mnist_efficientnet_lite0_112.npz",
        "CIFAR-10, ViT-B/16 (AugReg checkpoint)": "dptl extract --dataset cifar10 --backbone vit_b16 --resolution 224 "
        "--weights <AugReg ViT-B/16 .npz path or URL> --batch-size 512 --dtype float16 "
        "--out cifar10_vit_b16_224.npz",
        "CIFAR-100, ViT-B/16": "dptl extract --dataset cifar100 --backbone vit_b16 --resolution 224 "
        "--weights <.npz> --batch-size 512 --out cifar100_vit_b16_224.npz",
        "ImageNet (TFDS, manual download), ViT-L/16": "dptl extract --dataset tfds:imagenet2012 --backbone vit_l16 --resolution 224 "
        "--weights <.npz> --batch-size 1024 --out imagenet_vit_l16_224.npz",
    }


def per_device_batch(batch_size: int, num_devices: int | None = None) -> int:
    """Rows each device gets when a global batch is sharded over the local devices."""
    n = len(jax.local_devices()) if num_devices is None else num_devices
    return int(np.ceil(batch_size / n))
