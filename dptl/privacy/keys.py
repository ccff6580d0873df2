"""Noise keys: where the randomness of every release comes from.

A release's noise is a deterministic function of its PRNG key. The guarantee of a released
model therefore assumes that the key is **secret and used once**: anyone who knows the key
and all other rows can recompute the noise, subtract it, and tell D from D' exactly, at any
epsilon. Library functions take an explicit key (reproducible teaching and tests);
a model meant for release should be trained with :func:`fresh_key`, which draws the key
from the operating system's entropy and is never printed or stored.
"""

from __future__ import annotations

import os

import jax
import numpy as np

from dptl import _validate

__all__ = ["SEEDED_WARNING", "fresh_key", "training_key"]

SEEDED_WARNING = (
    "seeded run (--seed {seed}): the noise is reproducible by anyone who knows the seed, so "
    "this run is for teaching and reproduction, not for release"
)


def fresh_key() -> jax.Array:
    """A PRNG key from 64 bits of the OS's entropy (``os.urandom``), for releases.

    Returns:
        A typed threefry key; it is drawn anew on every call and never derived from a seed.
    """
    data = np.frombuffer(os.urandom(8), dtype=np.uint32)
    return jax.random.wrap_key_data(data, impl="threefry2x32")


def training_key(seed: int | None) -> jax.Array:
    """The key of a command that trains: :func:`fresh_key` unless a ``seed`` is given.

    Args:
        seed: None for a fresh secret key (the default of every command); an integer >= 0
            for a reproducible run, which is for teaching and reproduction only.

    Returns:
        A typed PRNG key.
    """
    if seed is None:
        return fresh_key()
    return jax.random.key(_validate.check_positive_int("seed", seed, minimum=0))
