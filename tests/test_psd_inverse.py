"""psd_ridge_inverse: one eigendecomposition gives (scale * P(M) + ridge I)^{-1}."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dptl.privacy import project_psd
from dptl.solvers.psd_inverse import psd_ridge_inverse


@pytest.mark.parametrize("batch", [(), (3,)])
@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_matches_a_solve_with_the_projected_matrix(batch, scale):
    k1, k2 = jax.random.split(jax.random.key(0))
    m = jax.random.normal(k1, (*batch, 6, 6))  # not symmetric, not PSD
    b = jax.random.normal(k2, (*batch, 6, 2))
    want = jnp.linalg.solve(scale * project_psd(m) + 0.3 * jnp.eye(6), b)
    np.testing.assert_allclose(psd_ridge_inverse(m, 0.3, scale) @ b, want, rtol=1e-4, atol=1e-5)


def test_negative_eigenvalues_are_clipped_to_zero():
    m = jnp.diag(jnp.array([4.0, -2.0]))
    inverse = psd_ridge_inverse(m, 1.0)
    np.testing.assert_allclose(inverse @ jnp.eye(2), jnp.diag(jnp.array([0.2, 1.0])), rtol=1e-6)
