"""Vision Transformer in Flax, reading the official AugReg / big_vision ``.npz`` checkpoints.

Parameter names follow google-research/vision_transformer (the AugReg release), so an
AugReg ``.npz`` maps one-to-one onto this module; big_vision names (``img/...``,
``MlpBlock_0``, ``LayerNorm_1``, ``MultiHeadDotProductAttention_0``, ``pos_embedding``) are
renamed on load. Inputs are NHWC in [-1, 1] (the AugReg convention); position
embeddings are resized bilinearly when the resolution differs from the checkpoint's.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import re
import urllib.request
from pathlib import Path

import flax.linen as nn
import flax.traverse_util
import jax
import jax.numpy as jnp
import numpy as np

from dptl.features.torch_checkpoint import CheckpointError

__all__ = ["CONFIGS", "ViT", "ViTConfig", "layers", "load_npz", "random_variables", "save_npz"]


@dataclasses.dataclass(frozen=True)
class ViTConfig:
    """Architecture of a ViT: patch size, width, depth, heads, MLP width, classes."""

    patch: int = 16
    width: int = 768
    depth: int = 12
    heads: int = 12
    mlp: int = 3072
    num_classes: int = 1000
    pretrain_resolution: int = 224


CONFIGS = {
    "vit_ti16": ViTConfig(16, 192, 12, 3, 768),
    "vit_s16": ViTConfig(16, 384, 12, 6, 1536),
    "vit_b16": ViTConfig(16, 768, 12, 12, 3072),
    "vit_l16": ViTConfig(16, 1024, 24, 16, 4096),
}


def layers(config: ViTConfig) -> dict[str, int]:
    """Feature layers: "pre_logits" (normalised class token), "gap" (mean token), "logits"."""
    return {"pre_logits": config.width, "gap": config.width, "logits": config.num_classes}


class _Mlp(nn.Module):
    hidden: int
    out: int
    dtype: jnp.dtype

    @nn.compact
    def __call__(self, x):
        x = nn.gelu(nn.Dense(self.hidden, dtype=self.dtype, name="Dense_0")(x))
        return nn.Dense(self.out, dtype=self.dtype, name="Dense_1")(x)


class ViT(nn.Module):
    """ViT on NHWC inputs in [-1, 1]; ``__call__(x, layer)`` returns that layer's features."""

    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, layer: str = "pre_logits"):
        c = self.config
        if layer not in layers(c):
            raise ValueError(f"layer must be one of {sorted(layers(c))}, got {layer!r}")
        x = nn.Conv(
            c.width,
            (c.patch, c.patch),
            strides=c.patch,
            padding="VALID",
            dtype=self.dtype,
            name="embedding",
        )(x)
        n, h, w, _ = x.shape
        x = x.reshape(n, h * w, c.width)
        cls = self.param("cls", nn.initializers.zeros, (1, 1, c.width))
        x = jnp.concatenate([jnp.broadcast_to(cls, (n, 1, c.width)).astype(x.dtype), x], axis=1)
        x = _Transformer(c, (h, w), self.dtype, name="Transformer")(x)
        if layer == "gap":
            return jnp.mean(x[:, 1:].astype(jnp.float32), axis=1)
        x = x[:, 0].astype(jnp.float32)
        if layer == "pre_logits":
            return x
        return nn.Dense(c.num_classes, name="head")(x)


class _Transformer(nn.Module):
    config: ViTConfig
    grid: tuple[int, int]
    dtype: jnp.dtype

    @nn.compact
    def __call__(self, x):
        c = self.config
        x = _PosEmbed(c, self.grid, name="posembed_input")(x)
        for i in range(c.depth):
            x = _Block(c, self.dtype, name=f"encoderblock_{i}")(x)
        return nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name="encoder_norm")(x)


class _PosEmbed(nn.Module):
    config: ViTConfig
    grid: tuple[int, int]

    @nn.compact
    def __call__(self, x):
        g = self.config.pretrain_resolution // self.config.patch
        pos = self.param(
            "pos_embedding", nn.initializers.normal(0.02), (1, 1 + g * g, self.config.width)
        )
        return x + _resize_posemb(pos, self.grid).astype(x.dtype)


class _Block(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype

    @nn.compact
    def __call__(self, x):
        c = self.config
        y = nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name="LayerNorm_0")(x)
        y = nn.MultiHeadDotProductAttention(
            num_heads=c.heads, dtype=self.dtype, name="MultiHeadDotProductAttention_1"
        )(y, y)
        x = x + y
        y = nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name="LayerNorm_2")(x)
        return x + _Mlp(c.mlp, c.width, self.dtype, name="MlpBlock_3")(y)


def _resize_posemb(pos: jax.Array, grid: tuple[int, int]) -> jax.Array:
    """Bilinearly resize the patch part of (1, 1 + g*g, D) position embeddings to ``grid``."""
    g = int(round((pos.shape[1] - 1) ** 0.5))
    if (g, g) == tuple(grid):
        return pos
    patches = pos[0, 1:].reshape(g, g, -1)
    patches = jax.image.resize(patches, (*grid, patches.shape[-1]), "bilinear")
    return jnp.concatenate([pos[:, :1], patches.reshape(1, grid[0] * grid[1], -1)], axis=1)


def random_variables(config: ViTConfig, key: jax.Array) -> dict:
    """Freshly initialised ViT variables from an explicit key."""
    r = config.pretrain_resolution
    return jax.jit(functools.partial(ViT(config).init, layer="logits"))(
        key, jnp.zeros((1, r, r, 3))
    )


# -- .npz checkpoints -------------------------------------------------------------------------
_BIG_VISION_RENAMES = [
    (r"^(params/)?(img/)?", ""),
    (r"MlpBlock_0/", "MlpBlock_3/"),
    (r"LayerNorm_1/", "LayerNorm_2/"),
    (r"MultiHeadDotProductAttention_0/", "MultiHeadDotProductAttention_1/"),
    (r"^pos_embedding$", "Transformer/posembed_input/pos_embedding"),
]


def _read_npz_bytes(path_or_url: str | os.PathLike) -> bytes:
    s = str(path_or_url)
    if re.match(r"^(https?|gs)://", s):
        if s.startswith("gs://"):
            s = "https://storage.googleapis.com/" + s[len("gs://") :]
        with urllib.request.urlopen(s) as r:
            return r.read()
    p = Path(s)
    if not p.is_file():
        raise FileNotFoundError(f"ViT checkpoint {s!r} does not exist")
    return p.read_bytes()


def load_npz(path_or_url: str | os.PathLike, config: ViTConfig) -> tuple[ViTConfig, dict]:
    """Read an AugReg / big_vision ``.npz`` into (config with its class count, variables)."""
    blob = _read_npz_bytes(path_or_url)
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            flat = {}
            for k in npz.files:
                name = k
                for pat, rep in _BIG_VISION_RENAMES:
                    name = re.sub(pat, rep, name)
                flat[name] = np.asarray(npz[k], np.float32)
    except (ValueError, OSError, EOFError) as err:
        raise CheckpointError(
            f"{path_or_url} is corrupt or not a ViT .npz checkpoint: {err}"
        ) from None
    flat.pop("pre_logits/kernel", None), flat.pop("pre_logits/bias", None)
    if "head/kernel" not in flat:
        raise CheckpointError(f"{path_or_url} has no head/kernel: not a ViT checkpoint")
    config = dataclasses.replace(config, num_classes=flat["head/kernel"].shape[1])
    pos = flat.get("Transformer/posembed_input/pos_embedding")
    if pos is not None:
        g = int(round((pos.shape[1] - 1) ** 0.5))
        config = dataclasses.replace(config, pretrain_resolution=g * config.patch)
    want = flax.traverse_util.flatten_dict(
        jax.eval_shape(functools.partial(random_variables, config), jax.random.key(0))["params"],
        sep="/",
    )
    missing = sorted(set(want) - set(flat))
    wrong = sorted(k for k in want if k in flat and flat[k].shape != want[k].shape)
    if missing or wrong:
        raise CheckpointError(
            f"{path_or_url} does not fit {config}: missing {missing[:5]}, wrong shapes {wrong[:5]}"
        )
    params = flax.traverse_util.unflatten_dict({k: flat[k] for k in want}, sep="/")
    return config, {"params": params}


def save_npz(variables: dict, path: str | os.PathLike) -> None:
    """Write ViT variables as an AugReg-layout ``.npz`` (flat "a/b/c" names)."""
    flat = flax.traverse_util.flatten_dict(variables["params"], sep="/")
    np.savez(path, **{k: np.asarray(v) for k, v in flat.items()})
