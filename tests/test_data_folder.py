"""A folder of one's own images: layouts, split, decoding, errors, resize, extract end to end."""

import hashlib
import io

import jax
import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

from dptl.data import DATASETS, FeatureSet, load_images  # noqa: E402
from dptl.data.folder import (  # noqa: E402
    IMAGE_SUFFIXES,
    ImageFolderError,
    list_image_files,
    load_folder,
    read_image,
)
from dptl.features import cli  # noqa: E402
from dptl.features.preprocess import preprocess, resize_image, resize_weights  # noqa: E402


def _save(path, img, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kwargs)
    return path


def _gray(path, value, size=(4, 4)):
    """An RGB PNG whose every pixel is ``value``: the value tells which file a row is."""
    return _save(path, Image.new("RGB", size, (value, value, value)))


def _noise(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _garbage(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an image")
    return path


def _truncated_jpeg(path):
    buf = io.BytesIO()
    Image.fromarray(_noise((64, 64, 3))).save(buf, format="JPEG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


def _load(path, **kwargs):
    return load_folder(path, progress=False, workers=2, **kwargs)


def _which_files(ds, split):
    """{pixel value: label} of a split of a folder written by ``_gray``."""
    x, y = getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}")
    return {int(img[0, 0, 0]): int(label) for img, label in zip(x, y, strict=True)}


@pytest.fixture
def mixed_modes(tmp_path):
    """Two classes of 6x5 images in every common format and mode, plus files to ignore."""
    root = tmp_path / "pets"
    rgb = _noise((5, 6, 3))
    _save(root / "cats" / "a.png", Image.fromarray(rgb))
    _save(root / "cats" / "b.jpg", Image.fromarray(rgb), quality=95)
    _save(root / "cats" / "deep" / "er" / "c.PNG", Image.fromarray(rgb[..., 0]))
    _save(root / "dogs" / "d.png", Image.fromarray(_noise((5, 6, 4))))
    _save(root / "dogs" / "e.gif", Image.fromarray(rgb).convert("P"))
    _save(root / "dogs" / "f.bmp", Image.fromarray(rgb))
    (root / "dogs" / "notes.txt").write_text("a note")
    (root / "README.txt").write_text("my pets")
    (root / "cats" / ".DS_Store").write_bytes(b"\0\0")
    _gray(root / ".thumbnails" / "x.png", 1)  # hidden: not a class
    _gray(root / "cats" / ".cache" / "y.png", 2)  # hidden: not loaded
    return root


def test_classes_files_and_metadata(mixed_modes):
    ds = _load(mixed_modes, test_fraction=0.34)
    assert ds.name == f"folder:{mixed_modes}"
    assert ds.class_names == ("cats", "dogs")
    assert ds.x_train.shape == (4, 5, 6, 3) and ds.x_test.shape == (2, 5, 6, 3)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int32
    np.testing.assert_array_equal(ds.y_train, [0, 0, 1, 1])  # class by class
    np.testing.assert_array_equal(ds.y_test, [0, 1])
    md = ds.metadata
    assert md["dataset"] == f"folder:{mixed_modes}" and md["layout"] == "class folders"
    assert md["num_files"] == {"train": 4, "test": 2} and md["skipped"] == []
    assert md["ignored_non_image_files"] == 2  # the two .txt files; hidden ones are not counted
    assert md["image_size"] == "native" and "0.34" in md["split"]
    assert len(md["files_sha256"]) == 64


def test_read_image_converts_every_mode_to_rgb(tmp_path):
    rgb = _noise((5, 6, 3))
    gray = _save(tmp_path / "g.png", Image.fromarray(rgb[..., 0]))
    np.testing.assert_array_equal(read_image(gray), np.repeat(rgb[..., :1], 3, axis=2))
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)  # opaque
    rgba[0, 1] = (10, 20, 30, 0)  # transparent: white, not the colour it hides
    got = read_image(_save(tmp_path / "a.png", Image.fromarray(rgba)))
    assert got.shape == (2, 2, 3)
    np.testing.assert_array_equal(got[0, 0], (10, 20, 30))
    np.testing.assert_array_equal(got[0, 1], (255, 255, 255))
    palette = _save(tmp_path / "p.gif", Image.fromarray(rgb).convert("P"))
    assert read_image(palette).shape == (5, 6, 3)
    np.testing.assert_array_equal(read_image(_save(tmp_path / "b.bmp", Image.fromarray(rgb))), rgb)
    deep = np.array([[0, 257 * 100, 65535]], np.uint16)  # 16-bit grayscale
    got = read_image(_save(tmp_path / "i16.png", Image.fromarray(deep)))
    np.testing.assert_array_equal(got[0, :, 0], [0, 100, 255])
    cmyk = _save(tmp_path / "c.jpg", Image.new("CMYK", (3, 2), (0, 0, 0, 0)))
    assert read_image(cmyk).shape == (2, 3, 3) and read_image(cmyk).min() > 240  # white
    assert read_image(gray, size=9).shape == (9, 9, 3)


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = _save(tmp_path / "phone.jpg", Image.fromarray(_noise((10, 20, 3))), exif=exif)
    with Image.open(path) as img:
        assert img.size == (20, 10)  # stored landscape
    assert read_image(path).shape == (20, 10, 3)  # shown portrait


def test_undecodable_files_are_named(tmp_path):
    for path in (_garbage(tmp_path / "x.png"), _truncated_jpeg(tmp_path / "t.jpg")):
        with pytest.raises(ImageFolderError, match=f"{path.name}: cannot decode"):
            read_image(path)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_image(tmp_path / "nope.png")


def test_split_is_deterministic_stable_and_in_hash_order(tmp_path):
    root = tmp_path / "data"
    for k in range(20):
        _gray(root / ("ab"[k % 2]) / f"img{k:02d}.png", k)
    first, again = _load(root), _load(root)
    for split in ("train", "test"):
        np.testing.assert_array_equal(getattr(first, f"x_{split}"), getattr(again, f"x_{split}"))
    assert first.metadata == again.metadata
    assert first.metadata["num_files"] == {"train": 16, "test": 4}  # round(0.2 * 10) per class
    np.testing.assert_array_equal(first.y_test, [0, 0, 1, 1])
    # rows: class by class, within a class by the SHA-256 of the path inside the class folder
    sha = lambda k: hashlib.sha256(f"img{k:02d}.png".encode()).hexdigest()
    for label in (0, 1):
        ks = sorted(range(label, 20, 2), key=sha)
        rows = np.concatenate([first.x_test, first.x_train])[
            np.r_[first.y_test, first.y_train] == label
        ]
        assert [int(r[0, 0, 0]) for r in rows] == ks

    # a new file of class "a" whose hash sorts after its 2 test files: nothing moves
    test_hashes = sorted(sha(k) for k in range(0, 20, 2))[:2]
    names = (f"new{i}.png" for i in range(99))
    new = next(n for n in names if hashlib.sha256(n.encode()).hexdigest() > test_hashes[-1])
    _gray(root / "a" / new, 200)
    later = _load(root)
    assert _which_files(later, "test") == _which_files(first, "test")
    assert _which_files(later, "train") == {**_which_files(first, "train"), 200: 0}
    assert later.metadata["files_sha256"] != first.metadata["files_sha256"]
    # any new file moves at most one other file across the split (the one at the boundary)
    for i in range(6):
        before = _load(root)
        _gray(root / "b" / f"more{i}.png", 210 + i)
        after = _load(root)
        old = {**_which_files(before, "train"), **_which_files(before, "test")}
        moved = {
            k
            for k in old
            if (k in _which_files(before, "test")) != (k in _which_files(after, "test"))
        }
        assert len(moved) <= 1


def test_train_test_layout(tmp_path):
    root = tmp_path / "tt"
    for k, (split, cls) in enumerate(
        [("train", "a"), ("train", "a"), ("train", "b"), ("test", "a"), ("test", "b")]
    ):
        _gray(root / split / cls / f"{k}.png", k)
    _gray(root / "train" / "b" / "nested" / "5.png", 5)
    ds = _load(root)
    assert ds.class_names == ("a", "b") and ds.metadata["layout"] == "train/test folders"
    assert _which_files(ds, "train") == {0: 0, 1: 0, 2: 1, 5: 1}
    assert _which_files(ds, "test") == {3: 0, 4: 1}
    assert ds.metadata["num_files"] == {"train": 4, "test": 2}
    assert "test/<class>/" in ds.metadata["split"]

    _gray(root / "test" / "c" / "6.png", 6)
    with pytest.raises(ImageFolderError, match="classes that train/ lacks: c"):
        _load(root)
    (root / "test" / "c" / "6.png").unlink()
    (root / "test" / "c").rmdir()
    (root / "train" / "c").mkdir()
    with pytest.raises(ImageFolderError, match="class folder 'c' holds no image files"):
        _load(root)
    (root / "train" / "c").rmdir()
    _gray(root / "val" / "a" / "7.png", 7)
    with pytest.raises(
        ImageFolderError, match=r"train/ and test/ next to other subfolders \(val\)"
    ):
        _load(root)


def test_folder_errors_are_clear(tmp_path):
    with pytest.raises(ImageFolderError, match="no such folder"):
        _load(tmp_path / "missing")
    with pytest.raises(ImageFolderError, match="is not a folder"):
        _load(_gray(tmp_path / "one.png", 0))

    single = tmp_path / "single"
    _gray(single / "cats" / "a.png", 0)
    with pytest.raises(ImageFolderError, match="one subfolder per class.*found only 'cats'"):
        _load(single)
    (tmp_path / "flat").mkdir()
    with pytest.raises(ImageFolderError, match="found only no subfolder"):
        _load(tmp_path / "flat")

    loose = tmp_path / "loose"
    for cls in "ab":
        _gray(loose / cls / "a.png", 0)
        _gray(loose / cls / "b.png", 1)
    _gray(loose / "stray.jpg", 0)
    with pytest.raises(ImageFolderError, match="top level.*stray.jpg.*subfolder of its class"):
        _load(loose)
    (loose / "stray.jpg").unlink()
    (loose / "c").mkdir()
    (loose / "c" / "notes.txt").write_text("no images here")
    with pytest.raises(ImageFolderError, match="'c' holds no image files"):
        _load(loose)
    (loose / "c" / "notes.txt").unlink()
    _garbage(loose / "c" / "x.png")
    _garbage(loose / "c" / "y.png")
    with pytest.warns(UserWarning, match="skipped 2 files"):
        with pytest.raises(ImageFolderError, match="no image of the class 'c' could be decoded"):
            _load(loose)
    with pytest.raises(ImageFolderError, match=r"c/[xy].png: cannot decode.*on_error='error'"):
        _load(loose, on_error="error")

    tiny = tmp_path / "tiny"
    _gray(tiny / "a" / "1.png", 0)
    _gray(tiny / "b" / "1.png", 0)
    with pytest.raises(ImageFolderError, match="no test image; a feature file needs at least one"):
        _load(tiny)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="on_error must be one of"):
        _load(tmp_path, on_error="ignore")
    with pytest.raises(ValueError, match="test_fraction must be in \\(0, 1\\).*one test image"):
        _load(tmp_path, test_fraction=0)
    with pytest.raises(ValueError, match="size must be a positive"):
        _load(tmp_path, size=0)


def test_unreadable_files_are_skipped_with_a_warning(tmp_path):
    root = tmp_path / "data"
    for cls in "ab":
        for k in range(5):
            _gray(root / cls / f"{k}.png", k)
    _garbage(root / "a" / "x.png")
    _truncated_jpeg(root / "b" / "sub" / "t.jpg")
    with pytest.warns(UserWarning, match="skipped 2 files that could not be decoded: a/x.png"):
        ds = _load(root)
    assert ds.metadata["skipped"] == ["a/x.png", "b/sub/t.jpg"]
    assert ds.metadata["num_files"] == {"train": 8, "test": 2}


def test_mixed_sizes_need_a_size(tmp_path):
    root = tmp_path / "mixed"
    _save(root / "a" / "1.png", Image.fromarray(_noise((30, 40, 3))))
    _save(root / "a" / "2.jpg", Image.fromarray(_noise((17, 9, 3))))
    _save(root / "b" / "3.png", Image.fromarray(_noise((30, 40, 3))))
    _save(root / "b" / "4.png", Image.fromarray(_noise((8, 8, 3))))
    with pytest.raises(
        ImageFolderError, match="3 different sizes.*30x40 \\(2 files\\).*pass size="
    ):
        _load(root, test_fraction=0.5)
    ds = _load(root, size=12, test_fraction=0.5)
    assert ds.x_train.shape == (2, 12, 12, 3) and ds.x_test.shape == (2, 12, 12, 3)
    assert ds.metadata["image_size"] == 12


@pytest.mark.parametrize(
    "shape, size", [((8, 8), 32), ((37, 53), 16), ((100, 64), 64), ((5, 300), 32), ((64, 48), 7)]
)
def test_resize_matches_jax_bilinear(shape, size):
    x = _noise((*shape, 3), seed=size)
    want = np.asarray(jax.image.resize(x.astype(np.float32), (size, size, 3), "bilinear"))
    w_h, w_w = resize_weights(shape[0], size), resize_weights(shape[1], size)
    assert w_h.shape == (size, shape[0]) and w_w.shape == (size, shape[1])
    got = np.einsum("oh,hwc,pw->opc", w_h, x.astype(np.float64), w_w)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-4)
    rounded = resize_image(x, size)
    assert rounded.dtype == np.uint8 and rounded.shape == (size, size, 3)
    expected = np.clip(np.rint(want), 0, 255)
    tie = np.abs(want % 1 - 0.5) < 1e-3  # float32 may land on either side of a half
    assert np.all((rounded == expected) | tie)


def test_resize_of_the_right_size_is_the_identity():
    np.testing.assert_array_equal(resize_weights(13, 13), np.eye(13))
    x = _noise((32, 32, 3))
    np.testing.assert_array_equal(resize_image(x, 32), x)
    np.testing.assert_array_equal(resize_image(_noise((9, 9)), 9), _noise((9, 9)))
    # the backbone's preprocess of a host-resized image resizes nothing
    small = resize_image(_noise((50, 70, 3)), 32)
    np.testing.assert_allclose(
        np.asarray(preprocess(small[None], 32))[0], (small / 255.0 - 0.5) / 0.5, atol=1e-6
    )
    with pytest.raises(ValueError, match="uint8"):
        resize_image(x.astype(np.float32), 8)


def test_list_image_files(tmp_path):
    a = _gray(tmp_path / "d" / "b.png", 0)
    b = _gray(tmp_path / "d" / "sub" / "a.JPG", 0)
    c = _gray(tmp_path / "d" / "a.png", 0)
    (tmp_path / "d" / "notes.txt").write_text("x")
    _gray(tmp_path / "d" / ".hidden" / "h.png", 0)
    _gray(tmp_path / "d" / ".h.png", 0)
    lone = _gray(tmp_path / "lone.gif", 0)
    assert list_image_files(tmp_path / "d") == [c, a, b]
    assert list_image_files([str(lone), tmp_path / "d", a, tmp_path / "d" / "notes.txt"]) == [
        lone,
        c,
        a,
        b,
    ]
    with pytest.raises(FileNotFoundError, match="missing.png"):
        list_image_files([lone, tmp_path / "missing.png"])
    assert {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif"} <= IMAGE_SUFFIXES
    assert ".txt" not in IMAGE_SUFFIXES and ".h5" not in IMAGE_SUFFIXES  # stubs: no decoder


def test_registry_loads_folders(mixed_modes):
    assert "folder:<path>" in DATASETS
    ds = load_images(f"folder:{mixed_modes}", size=8, progress=False)
    assert ds.name == f"folder:{mixed_modes}" and ds.class_names == ("cats", "dogs")
    assert ds.x_train.shape[1:] == (8, 8, 3) and ds.metadata["image_size"] == 8
    with pytest.raises(ValueError, match="unknown dataset 'folder:'"):
        load_images("folder:")


def test_extract_end_to_end(tmp_path, capsys):
    root = tmp_path / "photos"
    for cls, seed in (("ants", 1), ("bees", 2)):
        for k, shape in enumerate([(40, 30, 3), (20, 20, 3), (33, 50, 3), (32, 32, 3)]):
            _save(root / cls / f"{k}.png", Image.fromarray(_noise(shape, seed * 10 + k)))
    _garbage(root / "bees" / "broken.png")
    out = tmp_path / "feats.npz"
    argv = [
        "extract",
        "--dataset",
        f"folder:{root}",
        "--backbone",
        "efficientnet_lite0",
        "--weights",
        "random",
        "--resolution",
        "32",
        "--batch-size",
        "8",
        "--out",
        str(out),
        "--no-progress",
    ]
    with pytest.warns(UserWarning, match="skipped 1 files"):
        assert cli.main(argv) == 0
    assert "skipped 1 files that could not be decoded" in capsys.readouterr().err
    fs = FeatureSet.load(out)
    assert fs.class_names == ("ants", "bees")
    assert (fs.num_train, fs.num_test) == (6, 2) and fs.dim == 320
    md = fs.metadata
    assert md["dataset"] == f"folder:{root}" and md["layout"] == "class folders"
    assert "SHA-256" in md["split"] and md["num_files"] == {"train": 6, "test": 2}
    assert md["skipped"] == ["bees/broken.png"] and md["image_size"] == 32
    assert "on the host" in md["preprocessing"] and md["resolution"] == 32
    assert "--on-bad-image" not in md["command"]
    with pytest.raises(ImageFolderError, match="broken.png"):
        cli.main([*argv, "--on-bad-image", "error"])
