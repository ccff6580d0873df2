"""Gradients and Hessians of the logistic losses of a linear last layer (logits W^T x).

Two losses: multinomial ("softmax", p = softmax(W^T x)) and one-vs-all ("ova", K binary
problems, p = sigmoid(W^T x)). Either way the per-example gradient is x (p - y)^T, whose
Frobenius norm is ||x|| * ||p - y||: clipping to norm G is a closed-form rescaling, no
per-example autodiff needed, and the clipped sum has L2 sensitivity G (add/remove one).

One-vs-all Hessians H_k = sum_i p_ik (1 - p_ik) x_i x_i^T: one example moves all K of them
together by at most sqrt(sum_k (p_k (1 - p_k))^2) ||x||^2 <= sqrt(K) C^2 / 4.
"""

from __future__ import annotations

import itertools

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


def clipped_gradient_sum(w, x, y1h, grad_clip, mask=None, loss="softmax", centering=None):
    """sum_i mask_i * clip_G(x_i' (p(W^T x_i') - y_i)^T), shape (d, K).

    The rows x_i' are the rows x_i, or with ``centering`` = (c, s, r) DP-FC's centred rows
    x_i' = s_i (x_i - c) of norms r_i, computed from x itself: W^T x_i' = s_i (W^T x_i -
    W^T c) and sum_i x_i' g_i^T = X^T S G - c 1^T S G for the clipped residuals G. Under vmap
    over sweep points, each with its own c, s and W, every product is then one product of
    the shared X with all the points' columns (the centred rows would differ per point).
    """
    # Class-major (K, n) intermediates: under vmap over sweep points they become (P, K, n),
    # whose reductions over the K classes run ~25% faster on XLA CPU than over a minor axis
    # of (n, P, K), and both products are then plain (P K, d) x (d, n) layouts.
    logits = w.T @ x.T
    if centering is None:
        row_norms = jnp.linalg.norm(x, axis=-1)
    else:
        center, row_scale, row_norms = centering
        logits = row_scale * (logits - (w.T @ center)[:, None])
    residual = _probabilities(logits, loss) - y1h.T
    norms = row_norms * jnp.linalg.norm(residual, axis=0)
    scale = jnp.minimum(1.0, grad_clip / jnp.maximum(norms, 1e-30))
    if mask is not None:
        scale = scale * mask
    if centering is None:
        return ((residual * scale) @ x).T
    weighted = residual * (scale * row_scale)
    return (weighted @ x).T - jnp.outer(center, weighted.sum(axis=1))


def clipped_gradient_sum_chunked(w, xc, yc, grad_clip, loss="softmax", centering=None):
    """The full-batch clipped sum over chunked, sharded rows (see ``statistics``);
    ``centering`` = (c, s, r) with s and r chunked as the rows (see
    :func:`clipped_gradient_sum`)."""
    if centering is None:
        return statistics.chunked_sum(
            lambda x, y: clipped_gradient_sum(w, x, y, grad_clip, loss=loss), xc, yc
        )
    center, row_scale, row_norms = centering
    return statistics.chunked_sum(
        lambda x, y, s, r: clipped_gradient_sum(
            w, x, y, grad_clip, loss=loss, centering=(center, s, r)
        ),
        xc,
        yc,
        row_scale,
        row_norms,
    )


def noisy_gradient_sum(key, w, xc, yc, grad_clip, grad_std, loss="softmax", centering=None):
    """The full-batch clipped gradient sum plus N(0, grad_std^2) noise (sensitivity G)."""
    grad = clipped_gradient_sum_chunked(w, xc, yc, grad_clip, loss=loss, centering=centering)
    return grad + gaussian_noise(key, grad.shape, grad_std, dtype=grad.dtype)


# ova_hessians works in column blocks of the features and in steps of rows of each chunk:
# a step's weighted copies (1,000 rows x K classes x 64 columns: 2.5 MB for K = 10, 256 MB
# for K = 1,000) stay in cache. Writing a whole 15,000-row chunk's copies to memory took a
# third of the time.
_HESSIAN_BLOCK_COLS = 64
_HESSIAN_STEP_ROWS = 1000


def _side_by_side(x, s):
    """[s_1 * x, ..., s_g * x] for the columns s_k of s: shape (n, g * d)."""
    return (x[:, None, :] * s[:, :, None]).reshape(x.shape[0], -1)


def _column_blocks(d):
    """[(lo, hi), ...]: the column blocks of ova_hessians, _HESSIAN_BLOCK_COLS wide."""
    return list(itertools.pairwise([*range(0, d, _HESSIAN_BLOCK_COLS), d]))


def _in_steps(a, steps):
    """(rows, ...) -> (steps, rows / steps, ...), step j holding rows j, j + steps, ...

    Zero rows pad ``a`` to a multiple of ``steps`` (they add nothing to a sum of x x^T).
    The interleaving keeps rows that are sharded over devices on the second axis.
    """
    a = jnp.pad(a, [(0, -a.shape[0] % steps)] + [(0, 0)] * (a.ndim - 1))
    return jnp.moveaxis(a.reshape(-1, steps, *a.shape[1:]), 1, 0)


def ova_hessians(w, xc):
    """One-vs-all logistic Hessians sum_i p_ik (1 - p_ik) x_i x_i^T, shape (K, d, d).

    Each H_k is symmetric: with the features split into column blocks x = [x_1, ..., x_b]
    of 64, only block column j's part on and below the diagonal, [x_j ... x_b]^T S_k x_j,
    is computed (15/25 of the full product for d = 320) and the blocks above are mirrored.
    The classes' weighted copies S_k x_j go side by side into one product, and each row
    chunk is summed in steps of ~1,000 rows so that the copies stay in cache.
    """
    rows, d = xc.shape[-2:]
    num_classes = w.shape[1]
    blocks = _column_blocks(d)
    steps = -(-rows // _HESSIAN_STEP_ROWS)

    def chunk(x):
        p = jax.nn.sigmoid(x @ w)

        def step(columns, part):
            xs, ss = part  # one step's rows of the features and of the weights p (1 - p)
            return tuple(
                c + xs[:, lo:].T @ _side_by_side(xs[:, lo:hi], ss)
                for c, (lo, hi) in zip(columns, blocks, strict=True)
            ), None

        zeros = tuple(jnp.zeros((d - lo, num_classes * (hi - lo)), x.dtype) for lo, hi in blocks)
        return jax.lax.scan(step, zeros, (_in_steps(x, steps), _in_steps(p * (1 - p), steps)))[0]

    # column block j: (K, d - lo_j, width_j), the rows lo_j: of block column j of every H_k
    columns = [
        c.reshape(d - lo, num_classes, hi - lo).transpose(1, 0, 2)
        for c, (lo, hi) in zip(statistics.chunked_sum(chunk, xc), blocks, strict=True)
    ]

    def block(i, j):  # rows of block i, columns of block j, every class
        if j > i:
            return jnp.swapaxes(block(j, i), 1, 2)
        (lo, _), (top, bottom) = blocks[j], blocks[i]
        return columns[j][:, top - lo : bottom - lo]

    nb = len(blocks)
    return jnp.concatenate(
        [jnp.concatenate([block(i, j) for j in range(nb)], axis=2) for i in range(nb)], axis=1
    )


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
