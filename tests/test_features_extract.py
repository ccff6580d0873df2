"""Extraction: padding, sharding over 4 simulated devices, resume after SIGKILL, chunks."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from dptl.features import cli
from dptl.features.backbones import get_backbone
from dptl.features.extract import ExtractionError, _ChunkStore, extract

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def random_net():
    return get_backbone("efficientnet_lite0", weights="random", key=jax.random.key(0))


def _images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def test_padded_batches_match_one_big_batch(random_net):
    images = _images(21)
    got = extract(random_net, images, resolution=32, batch_size=8, progress=False)
    want = np.asarray(jax.jit(random_net.feature_fn(32))(random_net.variables, images))
    assert got.shape == (21, 320) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_bad_arguments_are_named(random_net):
    with pytest.raises(ValueError, match="images must be uint8"):
        extract(random_net, np.zeros((2, 28, 28), np.float32), resolution=32)
    with pytest.raises(ValueError, match="batch_size and chunk_batches must be >= 1"):
        extract(random_net, _images(2), resolution=32, batch_size=0)
    with pytest.raises(ValueError, match="resolution must be between"):
        extract(random_net, _images(2), resolution=4)


_FOUR_DEVICES = """
import sys, jax, numpy as np
from dptl.features.backbones import get_backbone
from dptl.features.extract import extract
assert len(jax.local_devices()) == 4, jax.local_devices()
net = get_backbone("efficientnet_lite0", weights="random", key=jax.random.key(0))
images = np.random.default_rng(0).integers(0, 256, (21, 28, 28), dtype=np.uint8)
np.save(sys.argv[1], extract(net, images, resolution=32, batch_size=8, progress=False))
"""


@pytest.mark.slow
def test_four_simulated_devices_give_the_same_features(random_net, tmp_path):
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "JAX_PLATFORMS": "cpu",
    }
    subprocess.run(
        [sys.executable, "-c", _FOUR_DEVICES, str(tmp_path / "f.npy")],
        check=True,
        env=env,
        cwd=ROOT,
    )
    four = np.load(tmp_path / "f.npy")
    one = extract(random_net, _images(21), resolution=32, batch_size=8, progress=False)
    np.testing.assert_allclose(four, one, rtol=1e-5, atol=1e-5)


def _args(out, chunks):
    return [
        "extract",
        "--dataset",
        "fashion_mnist",
        "--backbone",
        "efficientnet_lite0",
        "--weights",
        "random",
        "--resolution",
        "32",
        "--limit",
        "1024",
        "--batch-size",
        "16",
        "--chunk-batches",
        "2",
        "--out",
        str(out),
        "--chunk-dir",
        str(chunks),
        "--no-progress",
    ]


@pytest.mark.slow
def test_killed_run_resumes_without_recomputing_and_ends_byte_identical(tmp_path, monkeypatch):
    pytest.importorskip("dptl.data.fashion_mnist").FASHION_MNIST_DIR.is_dir() or pytest.skip(
        "needs dataset-fashion-mnist"
    )
    out, chunks = tmp_path / "f.npz", tmp_path / "chunks"
    assert cli.main(_args(out, chunks)) == 0  # the uninterrupted reference
    reference = out.read_bytes()
    out.unlink()
    assert not chunks.exists()  # chunks are removed once the file is whole

    proc = subprocess.Popen(
        [sys.executable, "-m", "dptl.features.cli", *_args(out, chunks)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(list((chunks / "train").glob("chunk_*.npy"))) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, "run ended before the kill"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in (chunks / "train").glob("chunk_*.npy")}
    assert 3 <= len(before) < 32 and not out.exists()

    saved = []
    original = _ChunkStore.save
    monkeypatch.setattr(
        _ChunkStore,
        "save",
        lambda self, k, rows: (saved.append((self.dir.name, k)), original(self, k, rows)),
    )
    assert cli.main(_args(out, chunks)) == 0
    recomputed_train = {f"chunk_{k:06d}.npy" for split, k in saved if split == "train"}
    assert not recomputed_train & set(before)  # nothing finished was recomputed
    assert len(recomputed_train) + len(before) == 32  # 1024 images / 32 per chunk
    assert out.read_bytes() == reference


def test_partial_files_are_ignored_and_foreign_chunks_rejected(random_net, tmp_path):
    images = _images(40)
    full = extract(
        random_net,
        images,
        resolution=32,
        batch_size=8,
        chunk_batches=1,
        chunk_dir=tmp_path,
        progress=False,
    )
    (tmp_path / "chunk_000001.npy").unlink()
    (tmp_path / "chunk_000001.npy.x1.partial").write_bytes(b"half a chunk")
    again = extract(
        random_net,
        images,
        resolution=32,
        batch_size=8,
        chunk_batches=1,
        chunk_dir=tmp_path,
        progress=False,
    )
    np.testing.assert_array_equal(again, full)
    assert not list(tmp_path.glob("*.partial"))
    with pytest.raises(ExtractionError, match="different extraction.*resolution"):
        extract(
            random_net,
            images,
            resolution=48,
            batch_size=8,
            chunk_batches=1,
            chunk_dir=tmp_path,
            progress=False,
        )
    np.save(tmp_path / "chunk_000002.npy", np.zeros((3, 320), np.float32))
    with pytest.raises(ExtractionError, match="chunk_000002.npy has float32"):
        extract(
            random_net,
            images,
            resolution=32,
            batch_size=8,
            chunk_batches=1,
            chunk_dir=tmp_path,
            progress=False,
        )
    assert json.loads((tmp_path / "manifest.json").read_text())["resolution"] == 32
