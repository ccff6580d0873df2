"""ViT: AugReg / big_vision .npz layout, round trip with a small random ViT."""

import dataclasses

import jax
import numpy as np
import pytest

from dptl.features import vit
from dptl.features.backbones import get_backbone
from dptl.features.torch_checkpoint import CheckpointError

TINY = vit.ViTConfig(
    patch=4, width=32, depth=2, heads=2, mlp=64, num_classes=7, pretrain_resolution=16
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    variables = vit.random_variables(TINY, jax.random.key(0))
    path = tmp_path_factory.mktemp("vit") / "tiny.npz"
    vit.save_npz(variables, path)
    return variables, path


def test_npz_round_trip_gives_the_same_network(tiny):
    variables, path = tiny
    config, loaded = vit.load_npz(
        path, dataclasses.replace(TINY, num_classes=1000, pretrain_resolution=224)
    )
    assert config == TINY  # class count and resolution are read from the checkpoint
    x = np.random.default_rng(0).uniform(-1, 1, (3, 16, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        vit.ViT(config).apply(loaded, x, layer="logits"),
        vit.ViT(TINY).apply(variables, x, layer="logits"),
    )
    names = set(np.load(path).files)
    assert {
        "embedding/kernel",
        "cls",
        "Transformer/posembed_input/pos_embedding",
        "Transformer/encoderblock_0/MultiHeadDotProductAttention_1/query/kernel",
        "Transformer/encoderblock_1/MlpBlock_3/Dense_1/bias",
        "Transformer/encoder_norm/scale",
        "head/kernel",
    } <= names


def test_big_vision_names_are_mapped(tiny, tmp_path):
    variables, path = tiny
    renamed = {}
    for k, v in np.load(path).items():
        k = (
            k.replace("MlpBlock_3", "MlpBlock_0")
            .replace("LayerNorm_2", "LayerNorm_1")
            .replace("MultiHeadDotProductAttention_1", "MultiHeadDotProductAttention_0")
            .replace("Transformer/posembed_input/pos_embedding", "pos_embedding")
        )
        renamed["params/img/" + k] = v
    np.savez(tmp_path / "bv.npz", **renamed)
    _, loaded = vit.load_npz(tmp_path / "bv.npz", TINY)
    assert jax.tree.all(jax.tree.map(np.array_equal, loaded, variables))


def test_features_at_another_resolution_through_the_backbone(tiny, monkeypatch):
    _, path = tiny
    monkeypatch.setitem(vit.CONFIGS, "vit_tiny_test", TINY)
    monkeypatch.setattr("dptl.features.backbones.BACKBONES", (*vit.CONFIGS,))
    net = get_backbone("vit_tiny_test", weights=str(path))
    images = np.zeros((2, 28, 28), np.uint8)
    for resolution, layer, width in ((24, None, 32), (16, "logits", 7), (16, "gap", 32)):
        out = jax.jit(net.feature_fn(resolution, layer))(net.variables, images)
        assert out.shape == (2, width)  # at 24 px: 6x6 patches, resized position embeddings


def test_wrong_or_missing_checkpoints_are_clear_errors(tiny, tmp_path):
    _, path = tiny
    with pytest.raises(CheckpointError, match="does not fit"):
        vit.load_npz(path, dataclasses.replace(TINY, width=64))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="corrupt or not a ViT"):
        vit.load_npz(tmp_path / "junk.npz", TINY)
    with pytest.raises(FileNotFoundError):
        vit.load_npz(tmp_path / "none.npz", TINY)
    with pytest.raises(ValueError, match="vit_b16 needs weights="):
        get_backbone("vit_b16")
