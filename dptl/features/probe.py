"""Non-private linear probe: how good are features for a linear classifier?

Multinomial logistic regression (softmax, with bias) on features normalised per example to
unit L2 norm, a small fixed L2 penalty, fitted full-batch with L-BFGS (optax) for a fixed
number of iterations. Nothing is tuned on the test set. This is the reference accuracy
quoted in data/README.md for every shipped or comparison feature set.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["normalize_rows", "linear_probe_accuracy"]


def normalize_rows(x) -> jax.Array:
    """Each row scaled to unit L2 norm (all-zero rows stay zero); data-independent."""
    x = jnp.asarray(x, jnp.float32)
    return x / jnp.maximum(jnp.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def linear_probe_accuracy(
    x_train, y_train, x_test, y_test, *, l2: float = 1e-5, iterations: int = 500
) -> float:
    """Test accuracy of L2-regularised softmax regression fitted on unit-norm train rows."""
    xtr, xte = normalize_rows(x_train), normalize_rows(x_test)
    ytr = jnp.asarray(y_train)
    k = int(max(np.max(y_train), np.max(y_test))) + 1
    params = (jnp.zeros((xtr.shape[1], k)), jnp.zeros(k))

    def loss(p):
        w, b = p
        logits = xtr @ w + b
        return optax.softmax_cross_entropy_with_integer_labels(
            logits, ytr
        ).mean() + 0.5 * l2 * jnp.sum(w * w)

    @jax.jit
    def fit(p):
        opt = optax.lbfgs()
        value_and_grad = optax.value_and_grad_from_state(loss)

        def step(carry, _):
            p, state = carry
            value, grad = value_and_grad(p, state=state)
            updates, state = opt.update(grad, state, p, value=value, grad=grad, value_fn=loss)
            return (optax.apply_updates(p, updates), state), None

        (p, _), _ = jax.lax.scan(step, (p, opt.init(p)), None, length=iterations)
        return p

    w, b = fit(params)
    pred = jnp.argmax(xte @ w + b, axis=1)
    return float(jnp.mean(pred == jnp.asarray(y_test)))
