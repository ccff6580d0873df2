"""Feature-extraction throughput: dptl.features.extract against a plain baseline.

Baseline: the same EfficientNet-Lite0 with XLA's grouped depthwise convolution, one
jit-compiled batch at a time on one device, float32, no pipelining. Optimised:
``dptl.features.extract`` (shifted depthwise convolution on CPU, bf16 on GPU, batches
sharded over all local devices, one batch in flight). Compile time is excluded from
both. On a GPU (``--vit``) also ViT-B/16 with random weights in bf16.

    python benchmarks/extraction.py                 # CPU: baseline vs dptl, 112 px
    python benchmarks/extraction.py --n 4096 --vit  # on a GPU
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from dptl.features import default_compute_dtype, extract, get_backbone


def images_per_s(fn, images, batch) -> float:
    """Images/s of calling ``fn`` batch by batch (compiled on a first, untimed batch)."""
    jax.block_until_ready(fn(images[:batch]))
    t = time.perf_counter()
    for b in range(0, len(images) - batch + 1, batch):
        np.asarray(fn(images[b : b + batch]))
    return (len(images) // batch * batch) / (time.perf_counter() - t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1024, help="images for dptl (baseline: n/4)")
    p.add_argument("--resolution", type=int, default=112)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--vit", action="store_true", help="also time ViT-B/16 (random weights)")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.n, 28, 28), dtype=np.uint8)
    print(
        f"devices: {jax.devices()}; {args.n} images, {args.resolution} px, batch {args.batch_size}"
    )

    net = get_backbone("efficientnet_lite0")
    plain = jax.jit(net.feature_fn(args.resolution, "block", depthwise="grouped"))
    base = images_per_s(
        lambda x: plain(net.variables, x),
        images[: max(args.n // 4, 2 * args.batch_size)],
        args.batch_size,
    )
    print(f"baseline  efficientnet_lite0 (grouped depthwise, plain loop): {base:8.1f} images/s")

    run = lambda: extract(
        net,
        images,
        resolution=args.resolution,  # noqa: E731
        batch_size=args.batch_size,
        progress=False,
    )
    run()  # compile
    t = time.perf_counter()
    run()
    fast = args.n / (time.perf_counter() - t)
    dtype = np.dtype(default_compute_dtype()).name
    print(
        f"dptl      efficientnet_lite0 (extract, {dtype}): {fast:8.1f} images/s  ({fast / base:.1f}x)"
    )

    if args.vit:
        vit = get_backbone("vit_b16", weights="random", key=jax.random.key(0))
        rgb = rng.integers(0, 256, (args.n, 224, 224, 3), dtype=np.uint8)
        run_vit = lambda: extract(
            vit,
            rgb,
            resolution=224,
            batch_size=args.batch_size,  # noqa: E731
            progress=False,
        )
        run_vit()
        t = time.perf_counter()
        run_vit()
        print(f"dptl      vit_b16 at 224 px: {args.n / (time.perf_counter() - t):8.1f} images/s")


if __name__ == "__main__":
    main()
