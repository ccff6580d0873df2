"""``load_images(name)``: one entry point for every image dataset dptl knows."""

from __future__ import annotations

from dptl.data.images import ImageDataset

__all__ = ["DATASETS", "dataset_metadata", "load_images"]

DATASETS = ("fashion_mnist", "sklearn_digits", "cifar10", "cifar100", "tfds:<name>")


def load_images(name: str, **kwargs) -> ImageDataset:
    """Images of ``name``: "fashion_mnist" (Debian package), "sklearn_digits" (bundled with
    scikit-learn), "cifar10"/"cifar100" (official python archives, downloaded once) or
    "tfds:<name>" (any TFDS image dataset)."""
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
    raise ValueError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")


def dataset_metadata(name: str) -> dict:
    """Provenance a feature file of ``name`` records besides the generic fields (the source
    and the fixed split of "sklearn_digits"; nothing for the others)."""
    if name == "sklearn_digits":
        from dptl.data.digits import METADATA

        return dict(METADATA)
    return {}
