"""``load_images(name)``: one entry point for every image dataset dptl knows."""

from __future__ import annotations

from dptl.data.images import ImageDataset

__all__ = ["DATASETS", "load_images"]

DATASETS = ("fashion_mnist", "cifar10", "cifar100", "tfds:<name>")


def load_images(name: str, **kwargs) -> ImageDataset:
    """Images of ``name``: "fashion_mnist" (Debian package), "cifar10"/"cifar100" (official
    python archives, downloaded once) or "tfds:<name>" (any TFDS image dataset)."""
    if name == "fashion_mnist":
        from dptl.data.fashion_mnist import load_fashion_mnist

        return load_fashion_mnist(**kwargs)
    if name in ("cifar10", "cifar100"):
        from dptl.data.cifar import load_cifar

        return load_cifar(name, **kwargs)
    if name.startswith("tfds:") and len(name) > 5:
        from dptl.data.tfds import load_tfds

        return load_tfds(name[5:], **kwargs)
    raise ValueError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")
