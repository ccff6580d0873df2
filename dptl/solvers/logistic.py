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

from dptl.privacy import gaussian_noise
from dptl.solvers import statistics

__all__ = [
    "LOSSES",
    "clipped_gradient_sum",
    "clipped_gradient_sum_chunked",
    "cross_entropy",
    "noisy_gradient_sum",
    "ova_hessians",
    "scan_steps",
]

LOSSES = ("softmax", "ova")


def _probabilities(logits, loss):
    """Class probabilities of class-major (K, n) logits."""
    return jax.nn.softmax(logits, axis=0) if loss == "softmax" else jax.nn.sigmoid(logits)


def clipped_gradient_sum(w, x, y1h, grad_clip, mask=None, loss="softmax"):
    """sum_i mask_i * clip_G(x_i (p(W^T x_i) - y_i)^T), shape (d, K)."""
    # Class-major (K, n) intermediates: under vmap over sweep points they become (P, K, n),
    # whose reductions over the K classes run ~25% faster on XLA CPU than over a minor axis
    # of (n, P, K), and both products are then plain (P K, d) x (d, n) layouts.
    residual = _probabilities(w.T @ x.T, loss) - y1h.T
    norms = jnp.linalg.norm(x, axis=-1) * jnp.linalg.norm(residual, axis=0)
    scale = jnp.minimum(1.0, grad_clip / jnp.maximum(norms, 1e-30))
    if mask is not None:
        scale = scale * mask
    return ((residual * scale) @ x).T


def clipped_gradient_sum_chunked(w, xc, yc, grad_clip, loss="softmax"):
    """The full-batch clipped sum over chunked, sharded rows (see ``statistics``)."""
    return statistics.chunked_sum(
        lambda x, y: clipped_gradient_sum(w, x, y, grad_clip, loss=loss), xc, yc
    )


def noisy_gradient_sum(key, w, xc, yc, grad_clip, grad_std, loss="softmax", grad=None):
    """The full-batch clipped gradient sum plus N(0, grad_std^2) noise (sensitivity G).

    ``grad`` may be the clipped sum at ``w`` computed beforehand (it does not depend on the
    noise); the noise is drawn from ``key`` either way.
    """
    if grad is None:
        grad = clipped_gradient_sum_chunked(w, xc, yc, grad_clip, loss=loss)
    return grad + gaussian_noise(key, grad.shape, grad_std, dtype=grad.dtype)


# Largest block of weighted features ova_hessians builds at once, in floats (256 MiB): all
# 10 classes of a 15,000 x 320 chunk, 2 of 1,000 for 16,384 x 1,664.
_HESSIAN_BLOCK_FLOATS = 1 << 26


def _side_by_side(x, s):
    """[s_1 * x, ..., s_g * x] for the columns s_k of s: shape (n, g * d)."""
    return (x[:, None, :] * s[:, :, None]).reshape(x.shape[0], -1)


def ova_hessians(w, xc):
    """One-vs-all logistic Hessians sum_i p_ik (1 - p_ik) x_i x_i^T, shape (K, d, d).

    Each H_k is symmetric, so with the features split into column halves x = [a, b] only
    [a b]^T S_k a (the left half of H_k) and b^T S_k b are computed, 3/4 of the full
    product, and the top-right block is mirrored. The classes' weighted copies S_k a go side
    by side into one product (XLA CPU runs that faster than one product per class).
    """
    rows, d = xc.shape[-2:]
    half, num_classes = d // 2, w.shape[1]
    group = max(1, min(num_classes, _HESSIAN_BLOCK_FLOATS // (rows * d)))

    def chunk(x):
        p = jax.nn.sigmoid(x @ w)
        s = p * (1 - p)
        a, b = x[:, :half], x[:, half:]
        left, corner = [], []
        for start in range(0, num_classes, group):
            sk = s[:, start : start + group]
            g = sk.shape[1]
            left.append((x.T @ _side_by_side(a, sk)).reshape(d, g, half))
            corner.append((b.T @ _side_by_side(b, sk)).reshape(d - half, g, d - half))
        return jnp.concatenate(left, axis=1), jnp.concatenate(corner, axis=1)

    left, corner = statistics.chunked_sum(chunk, xc)  # (d, K, half), (d - half, K, d - half)
    left, corner = left.transpose(1, 0, 2), corner.transpose(1, 0, 2)
    top = jnp.concatenate([left[:, :half], jnp.swapaxes(left[:, half:], 1, 2)], axis=2)
    bottom = jnp.concatenate([left[:, half:], corner], axis=2)
    return jnp.concatenate([top, bottom], axis=1)


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
