"""The building blocks of every release: per-example clipping, Gaussian noise, PSD projection.

All functions are pure JAX and jit/vmap-friendly; keys are explicit and never reused.
Clipping and normalisation act on each example alone (data-independent), so they cost no
privacy; PSD projection acts on an already-noised matrix, so it is free post-processing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "clip_rows",
    "gaussian_noise",
    "normalize_rows",
    "project_psd",
    "symmetric_eigh",
    "symmetric_gaussian_noise",
]


def _check_scale(name: str, value, *, allow_zero: bool, allow_inf: bool = False) -> None:
    """Reject a negative/zero/NaN scale given as a concrete value; traced values pass through.

    Under ``jit``/``vmap`` the value is a tracer and cannot be inspected without breaking
    tracing, so callers that trace (the solvers) validate it before they trace.
    """
    if isinstance(value, jax.core.Tracer):
        return
    arr = np.asarray(value, dtype=np.float64)
    bad = np.isnan(arr) | (arr < 0 if allow_zero else arr <= 0)
    if not allow_inf:
        bad |= np.isinf(arr)
    if bad.any():
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"{name} must be {'' if allow_inf else 'finite and '}{bound}, got {value!r}"
        )


def clip_rows(x: jax.Array, clip_norm: float) -> jax.Array:
    """Scale each row to L2 norm at most ``clip_norm``: x_i * min(1, C / ||x_i||)."""
    _check_scale("clip_norm", clip_norm, allow_zero=False, allow_inf=True)  # inf: no clipping
    norms = jnp.linalg.norm(x, axis=-1, keepdims=True)
    return x * jnp.minimum(1.0, clip_norm / jnp.maximum(norms, 1e-30))


def normalize_rows(x: jax.Array, norm: float = 1.0) -> jax.Array:
    """Scale each row to L2 norm exactly ``norm`` (zero rows stay zero)."""
    _check_scale("norm", norm, allow_zero=False)
    norms = jnp.linalg.norm(x, axis=-1, keepdims=True)
    return x * (norm / jnp.maximum(norms, 1e-30)) * (norms > 0)


def gaussian_noise(key: jax.Array, shape, std, dtype=jnp.float32) -> jax.Array:
    """i.i.d. N(0, std^2) entries of the given shape."""
    _check_scale("std", std, allow_zero=True)
    return std * jax.random.normal(key, shape, dtype)


def symmetric_gaussian_noise(key: jax.Array, dim: int, std, batch_shape=(), dtype=jnp.float32):
    """A symmetric (…, dim, dim) noise matrix: upper triangle i.i.d. N(0, std^2), mirrored.

    Releasing M + N for symmetric M is then the Gaussian mechanism on the upper triangle of
    M (diagonal included), whose L2 sensitivity is at most ||x x^T||_F = ||x||^2.
    """
    _check_scale("std", std, allow_zero=True)
    z = jax.random.normal(key, (*batch_shape, dim, dim), dtype)
    upper = jnp.triu(z)
    return std * (upper + jnp.swapaxes(jnp.triu(z, 1), -1, -2))


def symmetric_eigh(m: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(eigenvalues, eigenvectors) of (m + m^T) / 2: a noised matrix symmetrised first."""
    return jnp.linalg.eigh((m + jnp.swapaxes(m, -1, -2)) / 2)


def project_psd(m: jax.Array, floor: float = 0.0) -> jax.Array:
    """Nearest (Frobenius) symmetric matrix with eigenvalues >= ``floor``.

    Post-processing of a noised matrix: costs no privacy.
    """
    eigval, eigvec = symmetric_eigh(m)
    return (eigvec * jnp.maximum(eigval, floor)[..., None, :]) @ jnp.swapaxes(eigvec, -1, -2)
