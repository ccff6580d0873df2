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


def _split_row_exponents(x) -> tuple[jax.Array, jax.Array]:
    """(u, e) with x_i = 2^{e_i} u_i exactly and max_j |u_ij| in [1/2, 1) (zero rows: 0, 0).

    Scaling by a power of two is exact, so norms computed from u neither overflow nor
    underflow, whatever the magnitude of x_i. A concrete array is split on the host in its
    own precision (float64 rows beyond float32's range, such as 1e39, survive; subnormal
    entries count), then u goes to float32. Under ``jit`` the split runs on the device,
    which may flush subnormal entries to zero.
    """
    if isinstance(x, jax.core.Tracer):
        _, e = jnp.frexp(jnp.max(jnp.abs(x), axis=-1, keepdims=True))
        return jnp.ldexp(x, -e).astype(jnp.float32), e
    x = np.asarray(x)
    _, e = np.frexp(np.max(np.abs(x), axis=-1, keepdims=True))
    return jnp.asarray(np.ldexp(x, -e), jnp.float32), jnp.asarray(e, jnp.int32)


def clip_rows(x, clip_norm: float) -> jax.Array:
    """Scale each row to L2 norm at most ``clip_norm``: x_i * min(1, C / ||x_i||), float32.

    Computed as u_i * min(2^{e_i}, C / ||u_i||) for x_i = 2^{e_i} u_i, so every finite row
    of any magnitude (NumPy float64 included) comes out with norm <= C, never inf or NaN.
    """
    _check_scale("clip_norm", clip_norm, allow_zero=False, allow_inf=True)  # inf: no clipping
    u, e = _split_row_exponents(x)
    norms = jnp.linalg.norm(u, axis=-1, keepdims=True)
    # 2^e may overflow float32 to inf for a huge row: the minimum then takes C / ||u||.
    scale = jnp.minimum(
        jnp.ldexp(jnp.ones_like(norms), e), clip_norm / jnp.where(norms > 0, norms, 1.0)
    )
    return u * scale


def normalize_rows(x, norm: float = 1.0) -> jax.Array:
    """Scale each row to L2 norm exactly ``norm`` (zero rows stay zero), float32.

    Computed as norm * u_i / ||u_i|| for x_i = 2^{e_i} u_i: rows of norm 1e-30 or 1e30
    (float32), or 1e39 (float64), all come out at norm ``norm``.
    """
    _check_scale("norm", norm, allow_zero=False)
    u, _ = _split_row_exponents(x)
    norms = jnp.linalg.norm(u, axis=-1, keepdims=True)
    return u * (norm / jnp.where(norms > 0, norms, 1.0))


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
