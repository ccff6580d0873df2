"""Data-independent image preprocessing that belongs to a backbone (not to the data).

uint8 images (N, H, W) or (N, H, W, C) become float NHWC RGB at the backbone's
resolution, scaled to ``(x / 255 - 0.5) / 0.5`` in [-1, 1]. The same function runs for
every image, so it depends on no private statistic and costs no privacy.

``resize_image`` is the same antialiased bilinear resize in NumPy, for one uint8 image on
the host: images of mixed sizes (a folder of photos) are brought to the backbone's
resolution as they are decoded, so they need no device memory at their native size, and
``preprocess`` of an image already at the resolution leaves it as it is.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["check_resolution", "preprocess", "resize_image", "resize_weights"]


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


# Bytes of float64 gathered at a time when resizing one axis (bounds host memory).
_GATHER_BYTES = 32 * 2**20


def resize_weights(in_size: int, out_size: int) -> np.ndarray:
    """The weights with which ``jax.image.resize(..., "bilinear")`` resizes one axis.

    Built as jax's ``compute_weight_mat`` builds them (antialias=True, no translation):
    output pixel ``i`` samples the input at ``(i + 0.5) * in_size / out_size - 0.5``
    with a triangle kernel widened by ``max(in_size / out_size, 1)`` (a low-pass filter
    when downsampling), each output's weights are normalised to sum to 1, and outputs
    whose sample lies outside ``[-0.5, in_size - 0.5]`` get no weight.

    Args:
        in_size: length of the axis before resizing (>= 1).
        out_size: length after resizing (>= 1).

    Returns:
        float64 array (out_size, in_size): ``weights @ x`` resizes ``x`` along axis 0.
    """
    for name, n in (("in_size", in_size), ("out_size", out_size)):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"{name} must be a positive integer, got {n!r}")
    inv_scale = 1.0 / (out_size / in_size)
    kernel_scale = max(inv_scale, 1.0)
    sample = (np.arange(out_size, dtype=np.float64) + 0.5) * inv_scale - 0.5
    distance = np.abs(sample[None, :] - np.arange(in_size, dtype=np.float64)[:, None])
    weights = np.maximum(0.0, 1.0 - distance / kernel_scale)  # (in_size, out_size)
    total = weights.sum(axis=0, keepdims=True)
    weights = np.where(
        np.abs(total) > 1000.0 * float(np.finfo(np.float32).eps),
        weights / np.where(total != 0, total, 1.0),
        0.0,
    )
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return np.where(inside[None, :], weights, 0.0).T


def _resize_axis0(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``weights @ x`` over axis 0, reading only each output's band of nonzero weights."""
    out_size, in_size = weights.shape
    rest = x.reshape(in_size, -1)
    nonzero = weights != 0
    first = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), 0)
    last = in_size - np.where(nonzero.any(axis=1), nonzero[:, ::-1].argmax(axis=1), in_size)
    width = max(1, int((last - first).max()))
    index = np.minimum(first, in_size - width)[:, None] + np.arange(width)  # (out, width)
    band = np.take_along_axis(weights, index, axis=1)[:, None, :]  # (out, 1, width)
    out = np.empty((out_size, rest.shape[1]), np.float64)
    step = max(1, _GATHER_BYTES // (8 * width * max(1, rest.shape[1])))
    for start in range(0, out_size, step):
        stop = start + step
        rows = rest[index[start:stop]].astype(np.float64)  # (step, width, rest)
        out[start:stop] = np.matmul(band[start:stop], rows)[:, 0]
    return out.reshape(out_size, *x.shape[1:])


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """Resize one uint8 image to ``size`` x ``size`` as ``preprocess`` would, on the host.

    The weights are ``resize_weights`` per axis (those of ``jax.image.resize`` bilinear
    with antialiasing); the result is computed in float64, rounded to the nearest integer
    and clipped to 0..255. An axis already ``size`` long is left as it is (as in jax), so
    an image of the right size comes back unchanged.

    Args:
        image: uint8 array (H, W) or (H, W, C), e.g. (H, W, 3) RGB.
        size: the output height and width in pixels (>= 1).

    Returns:
        uint8 array (size, size) or (size, size, C).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(
            f"image must be uint8 (H, W) or (H, W, C), got {image.dtype} {image.shape}"
        )
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    size = int(size)
    if image.shape[:2] == (size, size):
        return image.copy()
    x = image
    if x.shape[0] != size:
        x = _resize_axis0(x, resize_weights(x.shape[0], size))
    if x.shape[1] != size:
        moved = np.ascontiguousarray(np.moveaxis(x, 1, 0))
        x = np.moveaxis(_resize_axis0(moved, resize_weights(moved.shape[0], size)), 0, 1)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)
