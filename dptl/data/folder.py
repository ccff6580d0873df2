"""Images from a folder of one's own: one subfolder per class.

Two layouts are recognised (hidden files and folders, names starting with ".", are ignored):

- "class folders": ``root/<class>/...``. The split is made here: within each class the
  files are ordered by the SHA-256 of their path inside the class folder, and the first
  ``round(test_fraction * n)`` (halves rounded up, at most ``n - 1``) of the ``n`` images
  that decode are the test split. The rule is deterministic and needs no seed; adding a
  file moves at most one other file across the split (the one at the boundary).
- "train/test folders": ``root/train/<class>/...`` and ``root/test/<class>/...``, used when
  ``train`` and ``test`` are the only subfolders of ``root``. The split is the folders'.

Class names are the sorted names of the class subfolders; images may sit in nested folders
inside a class folder. Rows of each split are ordered class by class, then by the hash
order above. Files whose suffix is not an image format Pillow opens (``IMAGE_SUFFIXES``)
are ignored and counted; image files that fail to decode are skipped with a warning (or
raise, with ``on_error="error"``) and listed in the metadata.

Decoding: Pillow, EXIF orientation applied, converted to RGB uint8 with any alpha
composited on white (see ``read_image``), then, with ``size``, resized on the host with
``dptl.features.preprocess.resize_image`` (the backbone's own bilinear weights, so the
backbone's resize of the result is the identity). Pillow is in the ``data`` extra.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import math
import numbers
import os
import struct
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from dptl.data.images import ImageDataset
from dptl.features.preprocess import resize_image

try:
    from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
except ImportError:
    raise ImportError("image folders need Pillow; install with: pip install -e '.[data]'") from None

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageFolderError",
    "list_image_files",
    "load_folder",
    "read_image",
    "read_images",
]

CLASS_FOLDERS = "class folders"
TRAIN_TEST_FOLDERS = "train/test folders"
ON_ERROR = ("skip", "error")

# Pillow parses these headers but decodes no pixels (stub plugins are excluded generally).
_UNDECODABLE_FORMATS = frozenset({"MPEG"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    Image.DecompressionBombError,
)
_NAMES_SHOWN = 5  # file names quoted in a warning or error


class ImageFolderError(ValueError):
    """A folder of images that cannot be loaded as a dataset, or a file that is no image."""


def _openable_suffixes() -> frozenset[str]:
    """Lower-case suffixes of the formats Pillow can open and decode."""
    suffixes = set()
    for suffix, fmt in Image.registered_extensions().items():
        factory = Image.OPEN.get(fmt, (None,))[0]
        if factory is None or fmt in _UNDECODABLE_FORMATS:
            continue
        if isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile):
            continue
        suffixes.add(suffix.lower())
    return frozenset(suffixes)


IMAGE_SUFFIXES = _openable_suffixes()


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _check_size(size) -> int | None:
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"size must be a positive number of pixels or None, got {size!r}")
    return int(size)


# -- one image ------------------------------------------------------------------------------
def _to_rgb(img: Image.Image) -> np.ndarray:
    """RGB uint8 (H, W, 3) of a loaded Pillow image of any mode."""
    if img.mode == "I" or img.mode.startswith("I;16"):
        gray = np.asarray(img).astype(np.float64) / 257.0  # 16-bit range -> 0..255
        gray = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return np.array(img.convert("RGB"), dtype=np.uint8)


def read_image(path: str | os.PathLike, size: int | None = None) -> np.ndarray:
    """Decode one image file into RGB uint8 pixels.

    The EXIF orientation is applied (phone photos come out upright). Every mode becomes
    RGB: grayscale is repeated, palette and CMYK are converted by Pillow, 16-bit grayscale
    ("I;16", "I") is scaled from 0..65535 to 0..255, and transparency (RGBA, LA, a palette
    or grayscale with a transparent colour) is composited on white, so transparent pixels
    are white rather than whatever colour they hide. Animated files give their first frame.

    Args:
        path: the image file.
        size: if given, the image is resized to ``size`` x ``size`` with
            ``dptl.features.preprocess.resize_image`` (the aspect ratio is not kept).

    Returns:
        uint8 array (H, W, 3), or (size, size, 3) with ``size``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ImageFolderError: the file is not an image Pillow can decode (unknown format,
            truncated, corrupt, or a decompression bomb); the message names the file.
    """
    size = _check_size(size)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with Image.open(path) as img:
            img.load()  # decode here, so truncated files fail inside the try
            ImageOps.exif_transpose(img, in_place=True)
            rgb = _to_rgb(img)
    except _DECODE_ERRORS as err:
        raise ImageFolderError(
            f"{path}: cannot decode it as an image ({type(err).__name__}: {err})"
        ) from None
    return rgb if size is None else resize_image(rgb, size)


# -- listing files --------------------------------------------------------------------------
def _walk(folder: Path) -> tuple[list[Path], list[Path]]:
    """(image files, other files) under ``folder``, hidden entries skipped, sorted walk."""
    images, others = [], []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                path = Path(root) / name
                (images if _is_image_name(path) else others).append(path)
    return images, others


def list_image_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """The image files among ``paths``: files as given, folders walked recursively.

    Folders are walked in sorted order, skipping hidden files and folders (names starting
    with "."); only files with a suffix in ``IMAGE_SUFFIXES`` are kept (case-insensitive),
    also among files given explicitly. Duplicates are dropped, first occurrence kept.

    Args:
        paths: one path, or several, of files and/or folders.

    Returns:
        The image files, in the order of ``paths`` (sorted within each folder).

    Raises:
        FileNotFoundError: a path does not exist.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: dict[Path, None] = {}
    for path in map(Path, paths):
        if path.is_dir():
            files = _walk(path)[0]
        elif path.exists():
            files = [path] if _is_image_name(path) else []
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
        found.update(dict.fromkeys(files))
    return list(found)


# -- the folder's layout --------------------------------------------------------------------
def _names(paths, limit: int = _NAMES_SHOWN) -> str:
    names = [str(p) for p in paths]
    return ", ".join(names[:limit]) + (" ..." if len(names) > limit else "")


def _subfolders(folder: Path) -> tuple[dict[str, Path], int]:
    """Visible subfolders of ``folder`` by name, and its count of non-image files.

    Raises ``ImageFolderError`` if image files lie loose in ``folder``.
    """
    entries = sorted(e for e in folder.iterdir() if not e.name.startswith("."))
    files = [e for e in entries if not e.is_dir()]
    loose = [f.name for f in files if _is_image_name(f)]
    if loose:
        raise ImageFolderError(
            f"{folder} holds {len(loose)} image files at its top level ({_names(loose)}); "
            "move each into the subfolder of its class (one subfolder per class)"
        )
    return {e.name: e for e in entries if e.is_dir()}, len(files)


def _class_files(folder: Path, what: str) -> tuple[dict[str, list[Path]], int]:
    """Image files per class subfolder of ``folder`` (at least 2 classes, none empty)."""
    classes, ignored = _subfolders(folder)
    if len(classes) < 2:
        found = f"'{next(iter(classes))}'" if classes else "no subfolder"
        raise ImageFolderError(
            f"{folder}: {what} needs one subfolder per class (at least 2); found only {found}"
        )
    files = {}
    for name, class_dir in classes.items():
        images, others = _walk(class_dir)
        if not images:
            raise ImageFolderError(
                f"{class_dir}: the class folder '{name}' holds no image files "
                f"(suffixes Pillow opens, e.g. .jpg .png)"
            )
        files[name] = images
        ignored += len(others)
    return files, ignored


def _layout(root: Path) -> tuple[str, int]:
    """The layout of ``root`` and the count of non-image files at its top level."""
    subfolders, ignored = _subfolders(root)
    if not {"train", "test"} <= set(subfolders):
        return CLASS_FOLDERS, ignored
    if set(subfolders) != {"train", "test"}:
        others = sorted(set(subfolders) - {"train", "test"})
        raise ImageFolderError(
            f"{root} has train/ and test/ next to other subfolders ({_names(others)}); "
            "use either train/<class>/ and test/<class>/ only, or one subfolder per class"
        )
    return TRAIN_TEST_FOLDERS, ignored


def _find_files(root: Path) -> tuple[str, dict[str, tuple[Path, dict[str, list[Path]]]], int]:
    """(layout, {group: (base folder, {class: image files})}, ignored non-image files).

    The group is "all" for class folders (split later), "train" and "test" otherwise.
    """
    layout, ignored = _layout(root)
    if layout == CLASS_FOLDERS:
        classes, ignored = _class_files(root, "a dataset folder")  # counts the top level too
        return layout, {"all": (root, classes)}, ignored
    train, n_train = _class_files(root / "train", "train/")
    test_dirs, n_test = _subfolders(root / "test")
    unknown = sorted(set(test_dirs) - set(train))
    if unknown:
        raise ImageFolderError(
            f"{root / 'test'} has classes that train/ lacks: {_names(unknown)} "
            "(every test class needs a train/<class>/ folder)"
        )
    test = {}
    for name, class_dir in test_dirs.items():
        test[name], others = _walk(class_dir)
        n_test += len(others)
    groups = {"train": (root / "train", train), "test": (root / "test", test)}
    return layout, groups, ignored + n_train + n_test


def _hash_order(files: list[Path], class_dir: Path) -> list[Path]:
    """``files`` ordered by the SHA-256 of their path inside ``class_dir``."""
    key = lambda f: hashlib.sha256(f.relative_to(class_dir).as_posix().encode()).hexdigest()
    return sorted(files, key=key)


def _num_test(n: int, test_fraction: float) -> int:
    """round(test_fraction * n), halves up, leaving at least one training image."""
    return max(0, min(math.floor(test_fraction * n + 0.5), n - 1))


# -- decoding -------------------------------------------------------------------------------
def read_images(
    files: list[Path],
    *,
    size: int | None = None,
    on_error: str = "error",
    workers: int | None = None,
    progress: bool = False,
    desc: str = "decode",
) -> list[np.ndarray | None]:
    """:func:`read_image` of every file, in order, decoded by a pool of threads.

    Args:
        files: image files.
        size: as :func:`read_image`.
        on_error: "error" (raise ``ImageFolderError`` naming the first bad file) or "skip"
            (None in its place).
        workers: threads (default min(8, CPUs)).
        progress: a tqdm bar over the files.
        desc: the bar's label.

    Returns:
        (H, W, 3) uint8 arrays, None for a skipped file.
    """
    size, _, workers = _check_args(size, 0.5, on_error, workers)

    def decode(path):
        try:
            return read_image(path, size)
        except ImageFolderError as err:
            return err

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    out = []
    try:
        results = pool.map(decode, files)
        for result in tqdm(
            results, total=len(files), desc=desc, unit="image", disable=not progress
        ):
            if isinstance(result, ImageFolderError):
                if on_error == "error":
                    raise ImageFolderError(f"{result} (on_error='error')")
                result = None
            out.append(result)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return out


def _check_one_size(root: Path, images: list[np.ndarray]) -> None:
    """Raise ``ImageFolderError`` unless all ``images`` have one (height, width)."""
    counts: dict[tuple[int, int], int] = {}
    for im in images:
        counts[im.shape[:2]] = counts.get(im.shape[:2], 0) + 1
    if len(counts) > 1:
        common = sorted(counts.items(), key=lambda kv: -kv[1])
        found = ", ".join(f"{h}x{w} ({n} files)" for (h, w), n in common[:_NAMES_SHOWN])
        raise ImageFolderError(
            f"{root}: the images have {len(counts)} different sizes (height x width: {found}"
            f"{' ...' if len(counts) > _NAMES_SHOWN else ''}); pass size= to resize them all "
            "(dptl extract passes its --resolution)"
        )


def _check_args(size, test_fraction, on_error, workers) -> tuple[int | None, float, int]:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {list(ON_ERROR)}, got {on_error!r}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise ValueError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(
            f"test_fraction must be in (0, 1), got {test_fraction}: a feature file needs "
            "at least one test image"
        )
    if workers is None:
        workers = min(8, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    return _check_size(size), float(test_fraction), int(workers)


def _split_sentence(layout: str, test_fraction: float) -> str:
    if layout == TRAIN_TEST_FOLDERS:
        return "given by the folders: train/<class>/ is the train split, test/<class>/ the test"
    return (
        "per class, the images that decode ordered by the SHA-256 of their path inside the "
        f"class folder; the first round({test_fraction:g} * n) (halves up, at most n - 1) "
        "of a class's n images are test, the rest train"
    )


def _digest(rows: list[tuple[str, str]]) -> str:
    """SHA-256 over the sorted (relative path, split) pairs of the loaded files."""
    h = hashlib.sha256()
    for rel, split in sorted(rows):
        h.update(f"{rel}\t{split}\n".encode())
    return h.hexdigest()


def load_folder(
    path: str | os.PathLike,
    *,
    size: int | None = None,
    test_fraction: float = 0.2,
    on_error: str = "skip",
    progress: bool = True,
    workers: int | None = None,
) -> ImageDataset:
    """Load a folder of images with one subfolder per class (see the module docstring).

    Args:
        path: the folder: ``path/<class>/...`` or ``path/train/<class>/...`` plus
            ``path/test/<class>/...``.
        size: resize every image to ``size`` x ``size`` (``resize_image``, the backbone's
            bilinear weights) as it is decoded. None keeps the native size, which must
            then be the same for all images.
        test_fraction: the share of each class that goes to the test split, in (0, 1)
            (class folders only; a feature file needs at least one test image, so 0 is
            not allowed).
        on_error: what to do with a file that has an image suffix but does not decode:
            "skip" (warn, and list it in ``metadata["skipped"]``) or "error" (raise).
        progress: show a progress bar while decoding.
        workers: decoding threads (default min(8, CPU count)).

    Returns:
        ``ImageDataset`` named ``folder:<path>``: x (N, H, W, 3) uint8 and int32 labels for
        train and test, class names, and metadata (layout, split rule, file counts,
        skipped files, ignored non-image files, image size, SHA-256 of the file list).

    Raises:
        ImageFolderError: the folder is missing or malformed (fewer than 2 classes, an
            empty class, images outside class folders, a test class with no train class,
            mixed sizes without ``size``, no test image), or a file does not decode with
            ``on_error="error"``, or no image of a class decodes.
        ValueError: a bad argument.
    """
    size, test_fraction, workers = _check_args(size, test_fraction, on_error, workers)
    root = Path(path)
    if not root.exists():
        raise ImageFolderError(f"{root}: no such folder")
    if not root.is_dir():
        raise ImageFolderError(
            f"{root} is not a folder (give a folder with one subfolder per class)"
        )
    layout, groups, ignored = _find_files(root)
    class_names = sorted(groups["all" if layout == CLASS_FOLDERS else "train"][1])
    # every file in row order: (group, class index, path), class by class, then hash order
    items = [
        (group, label, f)
        for group, (base, classes) in groups.items()
        for label, name in enumerate(class_names)
        for f in _hash_order(classes.get(name, []), base / name)
    ]
    pixels = read_images(
        [f for _, _, f in items],
        size=size,
        on_error=on_error,
        workers=workers,
        progress=progress,
        desc=f"decoding {root.name or root}",
    )
    loaded, skipped = [], []
    for (group, label, f), x in zip(items, pixels, strict=True):
        if x is None:
            skipped.append(f.relative_to(root).as_posix())
        else:
            loaded.append((group, label, f, x))
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} files that could not be decoded: {_names(skipped)}",
            stacklevel=2,
        )
    splits = _assign_splits(root, loaded, class_names, layout, test_fraction)
    if size is None:
        _check_one_size(root, [x for *_, x in loaded])
    arrays = {
        split: (
            np.stack([x for _, _, x in rows]),  # both splits are non-empty
            np.asarray([label for label, _, _ in rows], np.int32),
        )
        for split, rows in splits.items()
    }
    metadata = {
        "dataset": f"folder:{path}",
        "layout": layout,
        "split": _split_sentence(layout, test_fraction),
        "row_order": "class by class (sorted class names), within a class by the SHA-256 of "
        "the file's path inside its class folder",
        "num_files": {split: len(rows) for split, rows in splits.items()},
        "skipped": skipped,
        "ignored_non_image_files": ignored,
        "image_size": size if size else "native",
        "files_sha256": _digest(
            [(f.relative_to(root).as_posix(), s) for s, rows in splits.items() for _, f, _ in rows]
        ),
    }
    return ImageDataset(
        f"folder:{path}",
        *arrays["train"],
        *arrays["test"],
        class_names,
        metadata=metadata,
    )


def _assign_splits(root, loaded, class_names, layout, test_fraction) -> dict[str, list]:
    """{"train": [(label, path, pixels)], "test": [...]} in row order, checked."""
    by_group: dict[tuple[str, int], list] = {}
    for group, label, f, x in loaded:
        by_group.setdefault((group, label), []).append((label, f, x))
    splits: dict[str, list] = {"train": [], "test": []}
    for label, name in enumerate(class_names):
        if layout == CLASS_FOLDERS:
            rows = by_group.get(("all", label), [])
            k = _num_test(len(rows), test_fraction)
            test, train = rows[:k], rows[k:]
        else:
            train, test = by_group.get(("train", label), []), by_group.get(("test", label), [])
        if not train:
            raise ImageFolderError(
                f"{root}: no image of the class '{name}' could be decoded for training "
                "(all were skipped as unreadable; see the warning)"
            )
        splits["train"] += train
        splits["test"] += test
    if not splits["test"]:
        hint = (
            "put images into test/<class>/"
            if layout == TRAIN_TEST_FOLDERS
            else "add images (a class needs at least 2 to give one to the test split) "
            "or raise test_fraction"
        )
        raise ImageFolderError(f"{root}: no test image; a feature file needs at least one ({hint})")
    return splits
