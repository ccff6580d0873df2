"""The inverse of a noised, PSD-projected, ridged matrix, from one eigendecomposition.

Second-order solvers release a noisy symmetric matrix M~ (X^T X, Hessians), project it to
the PSD cone and add a ridge before solving. With M~ = V diag(l) V^T that is

    (scale * P(M~) + ridge I)^{-1} = V diag(1 / (scale * max(l, 0) + ridge)) V^T,

so the projection and every later solve share one ``eigh``: no rebuilt matrix, no LU
factorisation, and a preconditioner reused over many steps (DP-FC) is factored once.
Post-processing of released matrices: no privacy cost.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from dptl.privacy.mechanisms import symmetric_eigh

__all__ = ["RidgeInverse", "psd_ridge_inverse"]


class RidgeInverse(NamedTuple):
    """(scale * P(M) + ridge I)^{-1} as eigenfactors V diag(inv_eigval) V^T; ``inv @ b``."""

    eigvec: jax.Array  # (..., d, d)
    inv_eigval: jax.Array  # (..., d)

    def __matmul__(self, b: jax.Array) -> jax.Array:
        vt_b = jnp.swapaxes(self.eigvec, -1, -2) @ b
        return self.eigvec @ (self.inv_eigval[..., :, None] * vt_b)


def psd_ridge_inverse(m: jax.Array, ridge, scale=1.0) -> RidgeInverse:
    """(scale * P(m) + ridge I)^{-1}, P the projection of :func:`dptl.privacy.project_psd`.

    ``m`` (..., d, d) is symmetrised first; batched over leading axes. With ridge 0 and a
    zero eigenvalue the inverse is infinite, as a solve with the singular matrix would be.
    """
    eigval, eigvec = symmetric_eigh(m)
    return RidgeInverse(eigvec, 1 / (scale * jnp.maximum(eigval, 0) + ridge))
