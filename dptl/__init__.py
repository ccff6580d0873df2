"""dptl: differentially private transfer learning for image classification.

Subpackages, in dependency order:

- ``dptl.privacy``: mechanisms (clipping, Gaussian noise, PSD projection) and accounting
  (exact Gaussian-DP for full-batch methods, ``dp_accounting`` PLD/RDP for DP-SGD).
- ``dptl.solvers``: DP last-layer solvers (least squares, DP-SGD/DP-Adam, Newton, DP-FC).
- ``dptl.data``: feature files, image datasets (Fashion-MNIST, TFDS, CIFAR archives).
- ``dptl.features``: pretrained backbones (Flax) and batched, sharded, resumable extraction.
- ``dptl.model``, ``dptl.classifier``, ``dptl.report``: one trained head as a model file
  with its privacy record (no pickle), the backbone plus head predicting on images, and the
  model's HTML report (``dptl train``, ``dptl predict``, ``dptl report``).
- ``dptl.lessons``: sweeps, plotly figures and ipywidgets controls for the notebooks.

Neighbouring relation throughout: add/remove one example.
"""

from dptl import _xla_workarounds

_xla_workarounds.apply()  # before any JAX computation: XLA reads its flags once

__version__ = "0.1.0"
