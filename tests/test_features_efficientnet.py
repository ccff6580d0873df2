"""EfficientNet-Lite0 in Flax and the torch-free checkpoint reader."""

import pickle
import sys
import types
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dptl.features import efficientnet_lite as enl
from dptl.features.backbones import get_backbone
from dptl.features.preprocess import check_resolution, preprocess
from dptl.features.torch_checkpoint import CheckpointError, read_torch_state_dict


@pytest.fixture(scope="module")
def imagenet():
    return get_backbone("efficientnet_lite0")


def _top5(backbone, image):
    fn = jax.jit(backbone.feature_fn(224, "logits"))
    logits = np.asarray(fn(backbone.variables, image[None]))[0]
    return set(np.argsort(-logits)[:5].tolist())


def test_imagenet_weights_are_live(imagenet):
    skimage_data = pytest.importorskip("skimage.data")
    assert _top5(imagenet, skimage_data.chelsea()) & {281, 282, 283, 284, 285}  # a cat
    assert _top5(imagenet, skimage_data.coffee()) & {967, 968, 504}  # espresso, cup, mug


def test_feature_layers_have_their_widths(imagenet):
    images = np.zeros((2, 28, 28), np.uint8)
    for layer, width in (("block", 320), ("head", 1280)):
        out = jax.jit(imagenet.feature_fn(32, layer))(imagenet.variables, images)
        assert out.shape == (2, width) and out.dtype == jnp.float32
    with pytest.raises(ValueError, match="layer for efficientnet_lite0 must be one of"):
        imagenet.feature_fn(64, "stem")


@pytest.mark.parametrize("size,kernel,stride", [(8, 3, 2), (7, 5, 2), (6, 5, 1)])
def test_shifted_depthwise_equals_grouped_conv_with_tf_same_padding(size, kernel, stride):
    kx, kw = jax.random.split(jax.random.key(0))
    x = jax.random.normal(kx, (2, size, size, 5))
    w = jax.random.normal(kw, (kernel, kernel, 1, 5))
    ref = jax.lax.conv_general_dilated(
        x,
        w,
        (stride, stride),
        "SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=5,
    )
    np.testing.assert_allclose(enl.depthwise_conv_shifted(x, w, stride), ref, rtol=1e-5, atol=1e-5)
    assert enl._same_pads(8, 3, 2) == (0, 1)  # TF: the extra pixel goes after


def test_both_depthwise_implementations_give_the_same_network(imagenet):
    x = preprocess(np.random.default_rng(0).integers(0, 256, (2, 40, 40, 3), dtype=np.uint8), 48)
    a, b = (
        jax.jit(enl.EfficientNetLite0(depthwise=d).apply, static_argnames="layer")(
            imagenet.variables, x, layer="head"
        )
        for d in ("shifted", "grouped")
    )
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_preprocessing_scales_and_repeats_gray():
    x = preprocess(np.array([[[0, 255]]], np.uint8), 2)
    assert x.shape == (1, 2, 2, 3)
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    with pytest.raises(ValueError, match="resolution must be between 16 and 1024"):
        check_resolution(8)
    with pytest.raises(TypeError, match="resolution must be an integer"):
        check_resolution(112.0)


def test_random_weights_need_an_explicit_key_and_are_reproducible():
    with pytest.raises(ValueError, match="explicit jax.random key"):
        get_backbone("efficientnet_lite0", weights="random")
    a = get_backbone("efficientnet_lite0", weights="random", key=jax.random.key(3))
    b = get_backbone("efficientnet_lite0", weights="random", key=jax.random.key(3))
    assert jax.tree.all(jax.tree.map(np.array_equal, a.variables, b.variables))
    assert a.weights == "random(key_data=[0, 3])"
    with pytest.raises(ValueError, match="unknown backbone 'resnet50'"):
        get_backbone("resnet50")


def test_checkpoint_reader_rejects_corrupt_and_foreign_files(tmp_path):
    real = enl.default_checkpoint_path()
    data = open(real, "rb").read()
    (tmp_path / "truncated.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated|corrupt"):
        read_torch_state_dict(tmp_path / "truncated.pth")
    (tmp_path / "evil.pth").write_bytes(pickle.dumps(print))  # a global not on the allow list
    with pytest.raises(CheckpointError, match="builtins.print is not allowed"):
        read_torch_state_dict(tmp_path / "evil.pth")
    header = b"".join(pickle.dumps(o, protocol=2) for o in (0x1950A86A20F9469CFC6C, 1001, {}))
    (tmp_path / "evil2.pth").write_bytes(header + pickle.dumps(print, protocol=2))
    with pytest.raises(CheckpointError, match="print is not allowed in a state dict"):
        read_torch_state_dict(tmp_path / "evil2.pth")
    with pytest.raises(FileNotFoundError):
        read_torch_state_dict(tmp_path / "missing.pth")
    sd = read_torch_state_dict(real)
    sd.pop("_conv_head.weight")
    with pytest.raises(CheckpointError, match="lacks '_conv_head.weight'"):
        enl.convert_torch_state_dict(sd)


def test_checkpoint_reader_reads_the_zip_layout(tmp_path, monkeypatch):
    """Write a torch>=1.6 zip checkpoint with stand-in torch globals, read it back."""
    torch_mod, utils_mod = types.ModuleType("torch"), types.ModuleType("torch._utils")

    class FloatStorage:  # only its name matters to the pickle
        pass

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    FloatStorage.__module__, _rebuild_tensor_v2.__module__ = "torch", "torch._utils"
    FloatStorage.__qualname__ = "FloatStorage"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch_mod.FloatStorage, utils_mod._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch_mod)
    monkeypatch.setitem(sys.modules, "torch._utils", utils_mod)

    class Tensor:
        def __init__(self, key, offset, shape, stride):
            self.args = (key, offset, shape, stride)

        def __reduce__(self):
            key, offset, shape, stride = self.args
            return _rebuild_tensor_v2, (
                ("storage", FloatStorage, key, "cpu", 6),
                offset,
                shape,
                stride,
                False,
                {},
            )

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return obj if isinstance(obj, tuple) and obj and obj[0] == "storage" else None

    import collections
    import io

    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(
        collections.OrderedDict(
            w=Tensor("0", 0, (2, 3), (3, 1)),
            wt=Tensor("0", 0, (3, 2), (1, 3)),
            tail=Tensor("0", 4, (2,), (1,)),
        )
    )
    storage = np.arange(6, dtype=np.float32)
    with zipfile.ZipFile(tmp_path / "new.pth", "w") as zf:
        zf.writestr("archive/data.pkl", buf.getvalue())
        zf.writestr("archive/data/0", storage.tobytes())
    sd = read_torch_state_dict(tmp_path / "new.pth")
    np.testing.assert_array_equal(sd["w"], storage.reshape(2, 3))
    np.testing.assert_array_equal(sd["wt"], storage.reshape(2, 3).T)
    np.testing.assert_array_equal(sd["tail"], [4, 5])
