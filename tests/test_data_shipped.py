"""The shipped feature files: provenance, checksum, and reproducibility from the code."""

import re
from pathlib import Path

import numpy as np
import pytest

from dptl.data import SHIPPED, load_comparison, load_shipped, raw_pixel_features, shipped_dir
from dptl.features import extract, get_backbone

README = Path(__file__).resolve().parents[1] / "data" / "README.md"
MAIN = shipped_dir() / SHIPPED["efficientnet_lite0_112"]
needs_main = pytest.mark.skipif(not MAIN.is_file(), reason="shipped features not generated")


@pytest.fixture(scope="module")
def shipped():
    return load_shipped()


@needs_main
def test_main_file_is_what_the_readme_says(shipped):
    assert shipped.x_train.shape == (60000, 320) and shipped.x_test.shape == (10000, 320)
    assert shipped.x_train.dtype == np.float16
    md = shipped.metadata
    assert (md["dataset"], md["backbone"], md["resolution"], md["layer"], md["weights"]) == (
        "fashion_mnist",
        "efficientnet_lite0",
        112,
        "block",
        "imagenet",
    )
    assert md["command"] == (
        "dptl extract --dataset fashion_mnist --backbone efficientnet_lite0 "
        "--resolution 112 --out data/fashion_mnist_efficientnet_lite0_112.npz"
    )
    text = README.read_text()
    assert shipped.checksum() in text  # the arrays' SHA-256 is documented
    assert md["command"] in text
    total = sum(p.stat().st_size for p in shipped_dir().rglob("*") if p.is_file())
    assert total < 140 * 2**20  # data/README.md's budget


@needs_main
@pytest.mark.slow
def test_shipped_rows_are_reproducible_from_the_code(shipped):
    from dptl.data.fashion_mnist import load_fashion_mnist

    images = load_fashion_mnist()
    net = get_backbone("efficientnet_lite0")
    rows = np.r_[0:192, 59_936:60_000]  # both ends of the train split, and 64 test rows
    new = extract(
        net,
        np.concatenate([images.x_train[rows], images.x_test[:64]]),
        resolution=112,
        progress=False,
    )
    old = np.concatenate([shipped.x_train[rows], shipped.x_test[:64]]).astype(np.float32)
    # float16 keeps 11 significant bits: allow a couple of units in the last place
    np.testing.assert_allclose(new, old, rtol=2e-3, atol=2e-3)
    np.testing.assert_array_equal(shipped.y_train, images.y_train)
    # the comparison files, at both ends of the train split: the random-weights network
    # (same key, same weights) and the ImageNet network at 32 px
    import jax

    ends = np.r_[0:16, 59_984:60_000]
    random_net = get_backbone("efficientnet_lite0", weights="random", key=jax.random.key(0))
    for name, backbone, resolution, atol in (
        ("efficientnet_lite0_random_112", random_net, 112, 1e-5),
        ("efficientnet_lite0_32", net, 32, 2e-3),
    ):
        if not (shipped_dir() / SHIPPED[name]).is_file():
            continue
        new = extract(backbone, images.x_train[ends], resolution=resolution, progress=False)
        old = load_shipped(name).x_train[ends].astype(np.float32)
        np.testing.assert_allclose(new, old, rtol=2e-3, atol=atol, err_msg=name)


@needs_main
def test_comparison_sets_share_rows_and_labels(shipped):
    for name in ("raw_pixels", "efficientnet_lite0_random_112", "efficientnet_lite0_32"):
        if name != "raw_pixels" and not (shipped_dir() / SHIPPED[name]).is_file():
            pytest.skip(f"{name} not generated")
        fs = load_comparison(name)
        assert fs.num_train == 60_000 and fs.num_test == 10_000  # every row, as the main set
        np.testing.assert_array_equal(fs.y_train, shipped.y_train)
        np.testing.assert_array_equal(fs.y_test, shipped.y_test)
    assert raw_pixel_features(5, 3).x_train.shape == (5, 784)
    with pytest.raises(ValueError, match="unknown shipped feature set"):
        load_shipped("imagenet")


def test_readme_names_every_shipped_file():
    if not README.is_file():
        pytest.skip("no data/README.md")
    text = README.read_text()
    for filename in SHIPPED.values():
        assert filename in text
    assert re.search(r"[0-9a-f]{64}", text)
