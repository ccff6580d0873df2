"""Named backbones: a Flax module, its variables and the layers it can output.

``get_backbone("efficientnet_lite0")`` gives the ImageNet network; ``weights="random"``
(with an explicit ``key``) the same architecture untrained; ViTs take an ``.npz`` path/URL.
``Backbone.feature_fn`` returns the pure function (variables, uint8 images) -> features
that extraction jit-compiles.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dptl.features import efficientnet_lite, vit
from dptl.features.preprocess import check_resolution, preprocess

__all__ = ["BACKBONES", "Backbone", "get_backbone"]

BACKBONES = ("efficientnet_lite0", *vit.CONFIGS)


@dataclasses.dataclass(frozen=True)
class Backbone:
    """A pretrained (or random) network seen as a feature extractor."""

    name: str
    make_module: Callable[..., nn.Module]  # (dtype=..., **options) -> module(x, layer=...)
    variables: Any
    layers: Mapping[str, int]  # layer name -> feature width
    default_layer: str
    weights: str  # "imagenet", "random(seed)" or a checkpoint path/URL: provenance

    def check_layer(self, layer: str | None) -> str:
        """The layer to output (default if None); a clear error for an unknown one."""
        layer = self.default_layer if layer is None else layer
        if layer not in self.layers:
            raise ValueError(
                f"layer for {self.name} must be one of {sorted(self.layers)}, got {layer!r}"
            )
        return layer

    def feature_fn(
        self, resolution: int, layer: str | None = None, dtype=jnp.float32, **module_options
    ) -> Callable[[Any, jax.Array], jax.Array]:
        """Pure (variables, uint8 images) -> float32 (N, width) features, ready to jit.

        The same arguments return the same function object, so ``jax.jit`` of it compiles
        once per shape and a second extraction runs the compiled code.
        """
        return _feature_fn(
            self.make_module,
            check_resolution(resolution),
            self.check_layer(layer),
            jnp.dtype(dtype).name,
            tuple(sorted(module_options.items())),
        )


@functools.lru_cache(maxsize=64)
def _feature_fn(make_module, resolution: int, layer: str, dtype_name: str, options: tuple):
    dtype = jnp.dtype(dtype_name)
    module = make_module(dtype=dtype, **dict(options))

    def fn(variables, images):
        x = preprocess(images, resolution, dtype)
        return module.apply(variables, x, layer=layer).astype(jnp.float32)

    return fn


def get_backbone(name: str, *, weights: str = "imagenet", key: jax.Array | None = None) -> Backbone:
    """The backbone ``name`` with ``weights``: "imagenet", "random" (needs ``key``) or a path.

    EfficientNet-Lite0's ImageNet weights come from the package checkpoint; ViT weights
    are an AugReg / big_vision ``.npz`` path or URL given as ``weights``. A provenance label
    ``Backbone.weights`` of random weights ("random(key_data=[a, b])", as feature and model
    files record it) gives back the same random network.
    """
    if key is None and (m := re.fullmatch(r"random\(key_data=\[(\d+), (\d+)\]\)", weights)):
        weights = "random"
        key = jax.random.wrap_key_data(np.array([int(m[1]), int(m[2])], np.uint32))
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {list(BACKBONES)}")
    if weights == "random" and key is None:
        raise ValueError("weights='random' needs an explicit jax.random key (key=...)")
    if name == "efficientnet_lite0":
        if weights == "random":
            variables = efficientnet_lite.random_variables(key)
        elif weights == "imagenet":
            variables = efficientnet_lite.load_imagenet_variables()
        else:
            variables = efficientnet_lite.load_imagenet_variables(weights)
        return Backbone(
            name,
            efficientnet_lite.EfficientNetLite0,
            variables,
            dict(efficientnet_lite.LAYERS),
            "block",
            _weights_label(weights, key),
        )
    config = vit.CONFIGS[name]
    if weights == "random":
        variables = vit.random_variables(config, key)
    elif weights == "imagenet":
        raise ValueError(
            f"{name} needs weights=<path or URL of an AugReg/big_vision .npz checkpoint>, "
            "e.g. gs://vit_models/augreg/... (see docs/extraction.md)"
        )
    else:
        config, variables = vit.load_npz(weights, config)
    return Backbone(
        name,
        functools.partial(vit.ViT, config),
        variables,
        vit.layers(config),
        "pre_logits",
        _weights_label(weights, key),
    )


def _weights_label(weights: str, key) -> str:
    if weights == "random":
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            key = jax.random.key_data(key)
        return f"random(key_data={np.asarray(key).tolist()})"
    return str(weights)
