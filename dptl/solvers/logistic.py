"""Gradients and Hessians of the logistic losses of a linear last layer (logits W^T x).

Two losses: multinomial ("softmax", p = softmax(W^T x)) and one-vs-all ("ova", K binary
problems, p = sigmoid(W^T x)). Either way the per-example gradient is x (p - y)^T, whose
Frobenius norm is ||x|| * ||p - y||: clipping to norm G is a closed-form rescaling, no
per-example autodiff needed, and the clipped sum has L2 sensitivity G (add/remove one).

One-vs-all Hessians H_k = sum_i p_ik (1 - p_ik) x_i x_i^T: one example moves all K of them
together by at most sqrt(sum_k (p_k (1 - p_k))^2) ||x||^2 <= sqrt(K) C^2 / 4.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dptl.solvers import statistics

__all__ = [
    "LOSSES",
    "clipped_gradient_sum",
    "clipped_gradient_sum_chunked",
    "cross_entropy",
    "ova_hessians",
    "scan_steps",
]

LOSSES = ("softmax", "ova")


def _probabilities(logits, loss):
    return jax.nn.softmax(logits) if loss == "softmax" else jax.nn.sigmoid(logits)


def clipped_gradient_sum(w, x, y1h, grad_clip, mask=None, loss="softmax"):
    """sum_i mask_i * clip_G(x_i (p(W^T x_i) - y_i)^T), shape (d, K)."""
    residual = _probabilities(x @ w, loss) - y1h
    norms = jnp.linalg.norm(x, axis=-1) * jnp.linalg.norm(residual, axis=-1)
    scale = jnp.minimum(1.0, grad_clip / jnp.maximum(norms, 1e-30))
    if mask is not None:
        scale = scale * mask
    # (R^T X)^T rather than X^T R: XLA CPU runs it ~15% faster in a vmapped sweep
    return ((residual * scale[:, None]).T @ x).T


def clipped_gradient_sum_chunked(w, xc, yc, grad_clip, loss="softmax"):
    """The full-batch clipped sum over chunked, sharded rows (see ``statistics``)."""
    return statistics.chunked_sum(
        lambda x, y: clipped_gradient_sum(w, x, y, grad_clip, loss=loss), xc, yc
    )


def ova_hessians(w, xc):
    """One-vs-all logistic Hessians sum_i p_ik (1 - p_ik) x_i x_i^T, shape (K, d, d)."""

    def chunk(x):
        p = jax.nn.sigmoid(x @ w)
        s = p * (1 - p)
        # K weighted Grams, one matrix product each: XLA CPU runs these ~1.5x faster than the
        # equivalent three-operand einsum.
        return jnp.stack([(x * s[:, k, None]).T @ x for k in range(w.shape[1])])

    return statistics.chunked_sum(chunk, xc)


def cross_entropy(w, x, y1h):
    """Mean softmax cross-entropy of logits x @ w (a non-private diagnostic)."""
    return -jnp.mean(jnp.sum(y1h * jax.nn.log_softmax(x @ w), axis=-1))


def scan_steps(step, w0, keys, first_step=None):
    """``lax.scan(step, w0, keys)`` with the first step peeled off the loop.

    Under ``vmap`` over keys and noise scales the shared zero start is not batched, so
    whatever the first step computes from ``w0`` alone (the gradient, the Hessians) is
    computed once for all sweep points. ``first_step`` (default ``step``) may replace the
    first step by a cheaper function that gives the same result at ``w0``.
    """
    w1, first = (step if first_step is None else first_step)(w0, keys[0])
    w, rest = jax.lax.scan(step, w1, keys[1:])
    history = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)
    return w, history
