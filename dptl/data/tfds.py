"""Image datasets from TensorFlow Datasets through ``tfds.data_source`` (no TensorFlow needed).

``tfds.data_source`` reads the ArrayRecord files of a prepared dataset by random access.
``tensorflow_datasets`` is imported here only, when a TFDS dataset is asked for.
"""

from __future__ import annotations

import numpy as np

from dptl.data.images import ImageDataset

__all__ = ["load_tfds"]


def _import_tfds():
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise ImportError(
            "TFDS datasets need tensorflow-datasets; install with: pip install 'dptl[data]'"
        ) from None
    return tfds


def _to_arrays(source, image_key: str, label_key: str):
    images, labels = [], []
    for i in range(len(source)):
        example = source[i]
        images.append(np.asarray(example[image_key], np.uint8))
        labels.append(int(example[label_key]))
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ValueError(
            f"images of the TFDS dataset have different shapes {sorted(shapes)[:3]}...; "
            "dptl needs fixed-size images (resize them when preparing the data)"
        )
    return np.stack(images), np.asarray(labels, np.int32)


def load_tfds(
    name: str,
    *,
    data_dir: str | None = None,
    download: bool = True,
    train_split: str = "train",
    test_split: str = "test",
    image_key: str = "image",
    label_key: str = "label",
) -> ImageDataset:
    """A TFDS image-classification dataset (e.g. "cifar10", "cifar100") as uint8 arrays.

    Rows keep the split's stored order. ``download=True`` prepares the dataset (in the
    ArrayRecord format) on first use; offline, point ``data_dir`` at a prepared copy.
    """
    tfds = _import_tfds()
    try:
        sources = tfds.data_source(
            name,
            split=[train_split, test_split],
            data_dir=data_dir,
            download=download,
            builder_kwargs={"file_format": "array_record"},
        )
    except tfds.core.registered.DatasetNotFoundError as err:
        raise ValueError(f"unknown TFDS dataset {name!r}: {err}") from None
    train, test = sources
    feature = train.dataset_info.features[label_key]
    class_names = getattr(feature, "names", None) or [str(i) for i in range(feature.num_classes)]
    x_train, y_train = _to_arrays(train, image_key, label_key)
    x_test, y_test = _to_arrays(test, image_key, label_key)
    return ImageDataset(f"tfds:{name}", x_train, y_train, x_test, y_test, class_names)
