"""Data-independent image preprocessing that belongs to a backbone (not to the data).

uint8 images (N, H, W) or (N, H, W, C) become float NHWC RGB at the backbone's
resolution, scaled to ``(x / 255 - 0.5) / 0.5`` in [-1, 1]. The same function runs for
every image, so it depends on no private statistic and costs no privacy.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

__all__ = ["check_resolution", "preprocess"]


def check_resolution(resolution, *, minimum: int = 16, maximum: int = 1024) -> int:
    """Return ``resolution`` as an int, requiring ``minimum <= resolution <= maximum``."""
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Integral):
        raise TypeError(f"resolution must be an integer number of pixels, got {resolution!r}")
    resolution = int(resolution)
    if not minimum <= resolution <= maximum:
        raise ValueError(
            f"resolution must be between {minimum} and {maximum} pixels, got {resolution}"
        )
    return resolution


def preprocess(images: jax.Array, resolution: int, dtype=jnp.float32) -> jax.Array:
    """uint8 (N,H,W[,1|3]) -> float (N, resolution, resolution, 3) in [-1, 1] (bilinear)."""
    x = images
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(
            f"images must be (N, H, W), (N, H, W, 1) or (N, H, W, 3), got {images.shape}"
        )
    x = x.astype(jnp.float32)
    if x.shape[1:3] != (resolution, resolution):
        x = jax.image.resize(x, (x.shape[0], resolution, resolution, x.shape[-1]), "bilinear")
    if x.shape[-1] == 1:
        x = jnp.broadcast_to(x, (*x.shape[:3], 3))
    return ((x / 255.0 - 0.5) / 0.5).astype(dtype)
