"""DP-SGD / DP-GD / DP-Adam on the multinomial logistic loss of a zero-initialised last layer.

Each step releases the sum of per-example gradients clipped to norm G (sensitivity G) plus
N(0, (sigma G)^2) noise, divides by the *expected* batch size q n and hands the result to an
Optax optimizer. Batches are real Poisson samples: every example is in independently with
probability q (one Bernoulli draw per example and step), so the batch size varies. A logical batch is processed in physical chunks and
summed before the noise is added, so memory does not limit the batch size and the accounting
is unchanged. ``batch_size=None`` is full-batch DP-GD (q = 1), accounted exactly with GDP;
subsampled runs are accounted with ``dp_accounting`` (PLD by default).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import optax

from dptl import _validate
from dptl.privacy import (
    GaussianRelease,
    dpsgd_noise_multiplier,
    gaussian_noise,
    signal_to_noise,
)
from dptl.solvers import statistics
from dptl.solvers.inputs import prepare_inputs
from dptl.solvers.logistic import clipped_gradient_sum, clipped_gradient_sum_chunked
from dptl.solvers.plan import Plan
from dptl.solvers.result import LastLayerResult

__all__ = [
    "DEFAULTS",
    "SUBSAMPLED_BATCH_SIZE",
    "SUBSAMPLED_DEFAULTS",
    "SUBSAMPLED_OPTIMIZER",
    "SUBSAMPLED_STEPS",
    "default_gd_learning_rate",
    "default_gd_steps",
    "default_optimizer",
    "default_sgd_learning_rate",
    "dp_sgd",
    "dpsgd_plan",
    "dpsgd_release",
    "dpsgd_weights",
    "make_optimizer",
    "physical_chunk",
]

OPTIMIZERS = ("sgd", "momentum", "adam")
# The defaults of dp_sgd, in one place: full-batch DP-GD (the signature's defaults, the
# sweep's "dp_gd"), and the Poisson-subsampled configuration the sweep calls "dp_sgd".
# steps None is a rule in public quantities (default_gd_steps), chosen with the learning
# rate by benchmarks/tune_defaults.py on a public data set (scikit-learn's digits).
# optimizer None: "momentum" full batch, the subsampled configuration's "sgd" with a batch
# (default_optimizer): the learning-rate rules were tuned with those.
DEFAULTS = {
    "steps": None,
    "learning_rate": None,
    "grad_clip": 1.0,
    "optimizer": None,
    "init_scale": 0.0,
}
# default_gd_learning_rate: lr 4 under privacy (benchmarks/tune_defaults.py, public digits
# set); without noise (epsilon = inf) lr 64, at which the same 300 momentum steps converge:
# chosen on held-out training rows (fit on rows 0..49,999, scored on 50,000..59,999; no
# privacy to account at epsilon = inf, never the test set): lr 4 / 16 / 64 at 300 steps gave
# 87.6 / 88.8 / 89.5 %, and 1,000 steps at lr 64 89.9 % (benchmarks/frontier.py prints these
# as its eps = inf grid; 300 steps keep a sweep's cost).
PRIVATE_LEARNING_RATE, NONPRIVATE_LEARNING_RATE = 4.0, 64.0
# default_gd_steps: few steps while the gradient noise is large against the signal (n mu
# small), more once it is small: (n mu below, steps). The bounds sit at the geometric means
# of the n mu of the public tuning targets (325, 1,950, 16,100, 100,000), whose best step
# counts at lr 4 were 30, 100, 300, 300.
GD_STEPS_BANDS = ((800.0, 30), (5_600.0, 100), (math.inf, 300))
# The Poisson-subsampled configuration (the sweep's "dp_sgd"): dp_sgd with a batch of 3,000;
# its rules then give 300 plain SGD steps and default_sgd_learning_rate. A batch larger than
# n falls back to full batch (dptl.solvers.methods), where the same rules give DP-GD.
SUBSAMPLED_BATCH_SIZE, SUBSAMPLED_STEPS, SUBSAMPLED_OPTIMIZER = 3000, 300, "sgd"
SUBSAMPLED_DEFAULTS = {**DEFAULTS, "batch_size": SUBSAMPLED_BATCH_SIZE, "accountant": "pld"}
# default_sgd_learning_rate: (n mu below, lr) for the subsampled configuration, chosen by
# benchmarks/tune_defaults.py on the public digits at the same sampling rate and the same
# noise per step against the batch's signal as each target: best lr 1 / 8 / 32 / 32 at the
# targets' n mu 325 / 1,951 / 16,083 / 99,962 (the bands' bounds are DP-GD's). Without
# noise lr 64, chosen on held-out training rows as DP-GD's (lr 4 / 32 / 64 / 128 at 300
# steps gave 83.6 / 87.2 / 88.1 / 86.5 % on rows 50,000-59,999; never the test set).
SGD_LEARNING_RATE_BANDS = ((800.0, 1.0), (5_600.0, 8.0), (math.inf, 32.0))
NONPRIVATE_SGD_LEARNING_RATE = 64.0


def make_optimizer(optimizer, learning_rate) -> optax.GradientTransformation:
    """An Optax optimizer from a name ("sgd", "momentum", "adam") or pass one through."""
    if isinstance(optimizer, optax.GradientTransformation):
        return optimizer
    if optimizer == "sgd":
        return optax.sgd(learning_rate)
    if optimizer == "momentum":
        return optax.sgd(learning_rate, momentum=0.9)
    if optimizer == "adam":
        return optax.adam(learning_rate)
    raise ValueError(
        f"optimizer must be one of {OPTIMIZERS} or an optax.GradientTransformation, got {optimizer!r}"
    )


def _band_value(bands, snr: float):
    """The value of the band (n mu below, value) that ``snr`` falls in; the last is open."""
    return next(value for bound, value in bands if snr < bound or math.isinf(bound))


def default_gd_steps(num_examples: int, epsilon: float, delta: float) -> int:
    """DP-GD's default step count: 30 if n mu < 800, 100 if < 5,600, else 300 (and without
    privacy).

    mu is the GDP mu of (epsilon, delta): the signal of the gradient sum grows with n, its
    noise is fixed by mu, so n mu is the public signal-to-noise scale (:data:`GD_STEPS_BANDS`,
    from ``benchmarks/tune_defaults.py`` on a public set, lr 4 with momentum).
    """
    return _band_value(GD_STEPS_BANDS, signal_to_noise(num_examples, epsilon, delta))


def default_gd_learning_rate(epsilon: float) -> float:
    """DP-GD's default learning rate (momentum 0.9): 4 under privacy, 64 without.

    Under privacy a larger step also amplifies the noise; 4 is the public tuning set's best
    (:data:`PRIVATE_LEARNING_RATE`). With no noise there is nothing to amplify and lr 64
    lets the default 300 steps converge (:data:`NONPRIVATE_LEARNING_RATE`).
    """
    return NONPRIVATE_LEARNING_RATE if math.isinf(epsilon) else PRIVATE_LEARNING_RATE


def default_optimizer(batch_size: int | None) -> str:
    """dp_sgd's default optimizer: "momentum" (0.9) full batch, "sgd" with a batch.

    The default learning rates are rules for these (:func:`default_gd_learning_rate`,
    :func:`default_sgd_learning_rate`); momentum 0.9 multiplies the effective step by
    about 10, so the other optimizer at the same rate would be another setting.
    """
    return "momentum" if batch_size is None else SUBSAMPLED_OPTIMIZER


def default_sgd_learning_rate(num_examples: int, epsilon: float, delta: float) -> float:
    """Subsampled DP-SGD's default learning rate (plain SGD on the mean batch gradient):
    1 if n mu < 800, 8 if < 5,600, else 32; 64 without privacy.

    A larger step moves faster and amplifies the noise more; n mu (mu the GDP mu of
    (epsilon, delta)) is the public signal-to-noise scale (:data:`SGD_LEARNING_RATE_BANDS`,
    from ``benchmarks/tune_defaults.py`` on a public set).
    """
    if math.isinf(epsilon):
        return NONPRIVATE_SGD_LEARNING_RATE
    return _band_value(SGD_LEARNING_RATE_BANDS, signal_to_noise(num_examples, epsilon, delta))


def dpsgd_release(
    epsilon, delta, *, num_examples, steps, batch_size=None, grad_clip=1.0, accountant="pld"
) -> GaussianRelease:
    """The calibrated gradient-sum release of a DP-SGD run (count = steps)."""
    if accountant not in ("pld", "rdp", "exact"):  # full batch ignores it: check it anyway
        raise ValueError(f"accountant must be 'pld', 'rdp' or 'exact', got {accountant!r}")
    steps = _validate.check_positive_int("steps", steps)
    grad_clip = _validate.check_positive("grad_clip", grad_clip)
    q = (
        1.0
        if batch_size is None
        else _validate.check_fraction(
            "batch_size / num_examples",
            _validate.check_positive_int("batch_size", batch_size) / num_examples,
        )
    )
    sigma = dpsgd_noise_multiplier(epsilon, delta, q, steps, "exact" if q == 1 else accountant)
    return GaussianRelease(
        name="clipped gradient sum",
        sensitivity=grad_clip,
        noise_std=sigma * grad_clip,
        count=steps,
        sampling_rate=q,
    )


def dpsgd_plan(
    epsilon,
    delta,
    *,
    num_examples,
    dim=None,
    num_classes=None,
    feature_norm=1.0,
    steps=DEFAULTS["steps"],
    batch_size=None,
    learning_rate=DEFAULTS["learning_rate"],
    optimizer=DEFAULTS["optimizer"],
    grad_clip=DEFAULTS["grad_clip"],
    init_scale=DEFAULTS["init_scale"],
    accountant=SUBSAMPLED_DEFAULTS["accountant"],
) -> Plan:
    """The release and resolved hyperparameters of :func:`dp_sgd` (every rule in one place).

    Full batch (``batch_size=None``): steps :func:`default_gd_steps`, learning rate
    :func:`default_gd_learning_rate`, momentum. With a batch: the recorded configuration's
    300 steps, :func:`default_sgd_learning_rate`, plain SGD (:func:`default_optimizer`).
    ``dim``, ``num_classes`` and ``feature_norm`` are unused (the release's sensitivity is
    ``grad_clip`` whatever the features).
    """
    epsilon, delta = _validate.check_epsilon(epsilon), _validate.check_delta(delta)
    if steps is None:
        steps = (
            default_gd_steps(num_examples, epsilon, delta)
            if batch_size is None
            else SUBSAMPLED_STEPS
        )
    release = dpsgd_release(
        epsilon,
        delta,
        num_examples=num_examples,
        steps=steps,
        batch_size=batch_size,
        grad_clip=grad_clip,
        accountant=accountant,
    )
    if optimizer is None:
        optimizer = default_optimizer(batch_size)
    if learning_rate is None:
        learning_rate = (
            default_gd_learning_rate(epsilon)
            if batch_size is None
            else default_sgd_learning_rate(num_examples, epsilon, delta)
        )
    _validate.check_positive("learning_rate", learning_rate)
    init_scale = _validate.check_nonnegative("init_scale", init_scale)
    return Plan(
        hyperparameters={
            "steps": steps,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "optimizer": optimizer,
            "grad_clip": grad_clip,
            "init_scale": init_scale,
        },
        releases=(release,),
        accountant="exact" if release.sampling_rate == 1 else accountant,
    )


def physical_chunk(sampling_rate: float, num_examples: int, cap: int = 4096) -> int:
    """Rows summed at once: for Poisson batches, the expected size plus 4 standard deviations
    (so one chunk almost always holds the batch), at most ``cap``."""
    if sampling_rate == 1.0:
        return cap
    mean = sampling_rate * num_examples
    return max(1, min(cap, math.ceil(mean + 4 * math.sqrt(mean))))


def poisson_gradient_sum(key, w, x, y1h, grad_clip, sampling_rate, physical, loss="softmax"):
    """(clipped gradient sum, batch size) over a Poisson sample of the rows of (x, y1h).

    Each row is in independently with probability q; the chosen row indices are compacted
    to the front (cumsum + scatter, O(n)) and summed ``physical`` rows at a time.
    """
    n = x.shape[0]
    chosen = jax.random.bernoulli(key, sampling_rate, (n,))
    size = chosen.sum()
    slots = jnp.where(chosen, jnp.cumsum(chosen) - 1, n + physical)  # unchosen: dropped
    index = jnp.zeros(n + (-n) % physical, jnp.int32).at[slots].set(jnp.arange(n), mode="drop")
    num_chunks = (size + physical - 1) // physical

    def body(carry):
        c, total = carry
        idx = jax.lax.dynamic_slice(index, (c * physical,), (physical,))
        mask = (c * physical + jnp.arange(physical) < size).astype(x.dtype)
        return c + 1, total + clipped_gradient_sum(w, x[idx], y1h[idx], grad_clip, mask, loss)

    init = (jnp.int32(0), jnp.zeros((x.shape[1], y1h.shape[1]), x.dtype))
    return jax.lax.while_loop(lambda cs: cs[0] < num_chunks, body, init)[1], size


@functools.partial(
    jax.jit,
    static_argnames=(
        "steps",
        "optimizer",
        "sampling_rate",
        "num_examples",
        "physical_batch_size",
        "record_weights",
    ),
)
def dpsgd_weights(
    key,
    data,
    w0,
    noise_std,
    grad_clip,
    learning_rate,
    *,
    steps,
    optimizer,
    sampling_rate,
    num_examples,
    physical_batch_size=4096,
    record_weights=False,
):
    """Pure core: ``steps`` noisy clipped gradient steps from ``w0``. vmap-able over key/std.

    ``data`` is (x, y1h) flat for Poisson sampling, chunked (see ``statistics``) for q = 1.
    """
    opt = make_optimizer(optimizer, learning_rate)
    expected_batch = sampling_rate * num_examples

    def step(carry, step_key):
        w, opt_state = carry
        k_sample, k_noise = jax.random.split(step_key)
        if sampling_rate == 1.0:
            total = clipped_gradient_sum_chunked(w, *data, grad_clip)
        else:
            total, _ = poisson_gradient_sum(
                k_sample, w, *data, grad_clip, sampling_rate, physical_batch_size
            )
        grad = (total + gaussian_noise(k_noise, w.shape, noise_std)) / expected_batch
        updates, opt_state = opt.update(grad, opt_state, w)
        w = optax.apply_updates(w, updates)
        record = {"noisy_grad_norm": jnp.linalg.norm(grad)}
        if record_weights:
            record["weights"] = w
        return (w, opt_state), record

    (w, _), history = jax.lax.scan(step, (w0, opt.init(w0)), jax.random.split(key, steps))
    return w, history


def dp_sgd(
    key: jax.Array,
    x,
    y,
    *,
    epsilon: float,
    delta: float = 1e-5,
    num_classes: int | None = None,
    steps: int | None = DEFAULTS["steps"],
    batch_size: int | None = None,
    learning_rate: float | None = DEFAULTS["learning_rate"],
    optimizer=DEFAULTS["optimizer"],
    grad_clip: float = DEFAULTS["grad_clip"],
    feature_norm: float = 1.0,
    preprocess: str = "normalize",
    accountant: str = "pld",
    init_scale: float = DEFAULTS["init_scale"],
    physical_batch_size: int = 4096,
    record_weights: bool = False,
) -> LastLayerResult:
    """(epsilon, delta)-DP SGD (``batch_size`` set) or DP-GD (``batch_size=None``).

    Release (add/remove one): ``steps`` times the clipped gradient sum, sensitivity
    ``grad_clip``, each over a Poisson sample with rate batch_size / n. The last layer starts
    at zero (``init_scale`` > 0 draws N(0, init_scale^2) weights instead, for the lesson on
    zero init). ``optimizer`` is "sgd", "momentum", "adam" or any Optax transformation; None:
    :func:`default_optimizer` ("momentum" full batch, "sgd" with a batch).
    ``steps=None``: full batch, :func:`default_gd_steps` (30, 100 or 300 by n mu); subsampled,
    the recorded configuration's 300 (``SUBSAMPLED_STEPS``). ``learning_rate=None``: full
    batch, :func:`default_gd_learning_rate` (4, or 64 at epsilon = inf); subsampled,
    :func:`default_sgd_learning_rate` (1, 8 or 32 by n mu, or 64 at epsilon = inf).
    """
    xp, y1h, num_classes = prepare_inputs(x, y, num_classes, feature_norm, preprocess)
    n, d = xp.shape
    plan = dpsgd_plan(
        epsilon,
        delta,
        num_examples=n,
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        grad_clip=grad_clip,
        init_scale=init_scale,
        accountant=accountant,
    )
    hp = plan.hyperparameters
    physical = _validate.check_positive_int("physical_batch_size", physical_batch_size)
    record_weights = _validate.check_bool("record_weights", record_weights)
    key, k_init = jax.random.split(key)
    w0 = hp["init_scale"] * jax.random.normal(k_init, (d, num_classes))
    q = plan.releases[0].sampling_rate
    data = statistics.shard_rows(xp, y1h) if q == 1.0 else (xp, y1h)
    w, history = dpsgd_weights(
        key,
        data,
        w0,
        *plan.noise_stds,
        hp["grad_clip"],
        hp["learning_rate"],
        steps=hp["steps"],
        optimizer=hp["optimizer"],
        sampling_rate=q,
        num_examples=n,
        physical_batch_size=physical_chunk(q, n, physical),
        record_weights=record_weights,
    )
    return LastLayerResult(
        method="dp_sgd" if q < 1 else "dp_gd",
        weights=w,
        bias=jnp.zeros(num_classes),
        privacy=plan.spent(delta),
        feature_norm=feature_norm,
        preprocess=preprocess,
        history=history,
        config={
            **hp,
            "optimizer": hp["optimizer"]
            if isinstance(hp["optimizer"], str)
            else repr(hp["optimizer"]),
        },
    )
