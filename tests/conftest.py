"""Import dptl before any test starts JAX: it sets XLA flags that JAX reads once."""

import dptl  # noqa: F401
