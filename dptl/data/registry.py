"""``load_images(name)``: one entry point for every image dataset dptl knows."""

from __future__ import annotations

from dptl.data.images import ImageDataset

__all__ = ["DATASETS", "load_images"]

DATASETS = (
    "fashion_mnist",
    "sklearn_digits",
    "cifar10",
    "cifar100",
    "tfds:<name>",
    "folder:<path>",
)


def load_images(name: str, **kwargs) -> ImageDataset:
    """Images of the dataset ``name``, with its provenance in ``.metadata``.

    Args:
        name: "fashion_mnist" (Debian package), "sklearn_digits" (bundled with
            scikit-learn), "cifar10"/"cifar100" (official python archives, downloaded once),
            "tfds:<name>" (any TFDS image dataset) or "folder:<path>" (a folder of one's
            own images, one subfolder per class; see ``dptl.data.folder.load_folder``).
        **kwargs: passed to the dataset's loader (e.g. ``size=`` for a folder).

    Returns:
        The ``ImageDataset``.
    """
    if name == "fashion_mnist":
        from dptl.data.fashion_mnist import load_fashion_mnist

        return load_fashion_mnist(**kwargs)
    if name == "sklearn_digits":
        from dptl.data.digits import load_sklearn_digits

        return load_sklearn_digits(**kwargs)
    if name in ("cifar10", "cifar100"):
        from dptl.data.cifar import load_cifar

        return load_cifar(name, **kwargs)
    if name.startswith("tfds:") and len(name) > 5:
        from dptl.data.tfds import load_tfds

        return load_tfds(name[5:], **kwargs)
    if name.startswith("folder:") and len(name) > 7:
        from dptl.data.folder import load_folder

        return load_folder(name[7:], **kwargs)
    raise ValueError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")
