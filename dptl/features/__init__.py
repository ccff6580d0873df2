"""Pretrained backbones (Flax) and batched, sharded, resumable feature extraction.

- ``get_backbone(name, weights=...)``: EfficientNet-Lite0 (ImageNet checkpoint read without
  torch) or a ViT (AugReg / big_vision ``.npz``), as a ``Backbone``.
- ``extract(backbone, images, resolution=...)``: features of uint8 images, resumable.
- ``extract_dataset(data, backbone, resolution=...)``: an image dataset -> a ``FeatureSet``
  with the provenance a feature file records (what ``dptl extract`` runs).
- ``linear_probe_accuracy``: the non-private reference accuracy of a feature set.
"""

from dptl.features.backbones import BACKBONES, Backbone, get_backbone
from dptl.features.dataset import extract_dataset
from dptl.features.extract import ExtractionError, default_compute_dtype, extract
from dptl.features.probe import linear_probe_accuracy, normalize_rows
from dptl.features.torch_checkpoint import CheckpointError, read_torch_state_dict

__all__ = [
    "BACKBONES",
    "Backbone",
    "CheckpointError",
    "ExtractionError",
    "default_compute_dtype",
    "extract",
    "extract_dataset",
    "get_backbone",
    "linear_probe_accuracy",
    "normalize_rows",
    "read_torch_state_dict",
]
