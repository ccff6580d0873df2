"""A trained private last layer as a file: the head, what it expects, and what it cost.

A model file is a dptl archive (:mod:`dptl.archive`: ``.npz`` arrays plus a JSON header,
no pickle, so loading runs no code) with the members

==============  ==============  =====================================================
member          dtype / shape   meaning
==============  ==============  =====================================================
``weights``     float32 (d, K)  logits = preprocess(features) @ weights + bias
``bias``        float32 (K,)
``center``      float32 (d,)    DP-FC's released noisy feature mean, where it centred
                                (version 2; logits then use preprocess(features, center))
``__dptl__``    uint8           UTF-8 JSON header (below)
==============  ==============  =====================================================

The header ``{"format": "dptl-model", "version": 2, ...}`` (version 1 files, which have no
``center``, are read too) holds ``class_names`` (public),
``head`` (method, feature preprocessing and its norm C), ``backbone`` (name, weights,
resolution, layer and width the features came from: what a prediction on images must run),
``privacy`` (epsilon, delta, the neighbouring relation, the accountant, every release with
its L2 sensitivity, noise std, count and sampling rate, and the composed ``dp_accounting``
DpEvent), ``training`` (the feature file's SHA-256 and provenance, the number of training
rows, why this solver, its resolved configuration, how the noise key was drawn; no hash or
statistic of the rows), ``dptl_version``,
and ``sha256``: a hash of the arrays and of the rest of the header, checked on load.

The guarantee: the head is (epsilon, delta)-DP with respect to the training rows under
add/remove-one neighbours, provided the noise key was secret and used once; class names,
n and the backbone are public.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

import dptl
from dptl.archive import arrays_sha256, read_archive, write_archive
from dptl.privacy import GaussianRelease, PrivacySpent
from dptl.privacy.events import event_from_json, event_to_json

__all__ = [
    "BACKBONE_FIELDS",
    "MODEL_FORMAT",
    "MODEL_VERSION",
    "ModelFileError",
    "PrivateModel",
    "releases_table",
    "train_model",
]

MODEL_FORMAT = "dptl-model"
MODEL_VERSION = 2  # 2: the optional ``center`` (an older dptl would ignore it and mispredict)
READ_VERSIONS = (1, 2)
_ARRAYS = ("weights", "bias")
# What a feature file's metadata must say for its rows to be this model's inputs.
BACKBONE_FIELDS = ("backbone", "weights", "resolution", "layer", "dim")


class ModelFileError(ValueError):
    """A model file is missing, corrupt, foreign, inconsistent, or for other features."""


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class PrivateModel:
    """A private last layer with everything needed to use it and to state its guarantee.

    logits = preprocess_features(features, feature_norm, preprocess, center) @ weights + bias
    (``center``: the released noisy feature mean a centred DP-FC model trained on, or None).
    """

    weights: np.ndarray  # (d, K) float32
    bias: np.ndarray  # (K,) float32
    class_names: tuple[str, ...]
    method: str
    feature_norm: float
    preprocess: str
    backbone: dict[str, Any]  # BACKBONE_FIELDS (+ compute_dtype, preprocessing) or {}
    privacy: PrivacySpent
    training: dict[str, Any] = dataclasses.field(default_factory=dict)
    center: np.ndarray | None = None  # (d,) float32
    dptl_version: str = dptl.__version__
    format_version: int = MODEL_VERSION  # as read (a version-1 file keeps its checksum)

    def __post_init__(self):
        w = np.asarray(self.weights, np.float32)
        b = np.asarray(self.bias, np.float32)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "bias", b)
        if self.center is not None:
            if self.format_version < 2:
                raise ModelFileError("a version-1 model file cannot hold a centre")
            c = np.asarray(self.center, np.float32)
            object.__setattr__(self, "center", c)
            if c.shape != (w.shape[0],) or not np.all(np.isfinite(c)):
                raise ModelFileError(
                    f"the centre must be {w.shape[0]} finite numbers, got shape {c.shape}"
                )
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise ModelFileError(f"weights (d, K) and bias (K,) expected, got {w.shape}, {b.shape}")
        if len(self.class_names) != w.shape[1]:
            raise ModelFileError(
                f"{len(self.class_names)} class names for a head with {w.shape[1]} outputs"
            )
        if "dim" in self.backbone and self.backbone["dim"] != w.shape[0]:
            raise ModelFileError(
                f"the backbone's features have {self.backbone['dim']} dimensions but the head "
                f"takes {w.shape[0]}"
            )
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise ModelFileError("the head's weights or bias are not finite")

    @classmethod
    def from_result(
        cls, result, features, *, features_path: str = "", key: str = "", method_choice: str = ""
    ) -> PrivateModel:
        """The model of a solver's ``LastLayerResult`` trained on a ``FeatureSet``.

        Only public facts about the training rows are recorded (class names, n, provenance):
        no statistic of the rows and no hash of them, since a hash would let anyone holding a
        candidate dataset confirm it exactly, a release no accounting covers.

        Args:
            result: what a ``dptl.solvers`` function returned.
            features: the ``FeatureSet`` it was trained on.
            features_path: where that feature file is (recorded for the reader).
            key: how the noise key was drawn ("fresh secret key ..." or the seeded warning).
            method_choice: why this solver (``dptl.solvers.choice.resolve_method``).

        Returns:
            The model; ``save`` writes it.
        """
        meta = features.metadata
        backbone = {
            k: meta[k] for k in (*BACKBONE_FIELDS, "compute_dtype", "preprocessing") if k in meta
        }
        return cls(
            weights=np.asarray(result.weights),
            bias=np.asarray(result.bias),
            class_names=features.class_names,
            method=result.method,
            feature_norm=float(result.feature_norm),
            preprocess=result.preprocess,
            center=None if result.center is None else np.asarray(result.center),
            backbone=backbone,
            privacy=result.privacy,
            training={
                "features": str(features_path),
                "dataset": meta.get("dataset", ""),
                "num_train": features.num_train,
                "method_choice": method_choice,
                "config": _jsonable(result.config),
                "key": key,
            },
        )

    # -- the head ------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.weights.shape[1])

    def logits(self, features) -> np.ndarray:
        """(N, K) logits of raw backbone features (N, d), preprocessed as in training."""
        from dptl.solvers.inputs import preprocess_features

        x = np.asarray(features, np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"features must be (N, {self.dim}), got {x.shape}")
        xp = preprocess_features(x, self.feature_norm, self.preprocess, self.center)
        return np.asarray(xp @ self.weights + self.bias)

    def probabilities(self, features) -> np.ndarray:
        """(N, K) softmax of the logits (post-processing: no privacy cost)."""
        from scipy.special import softmax

        return softmax(self.logits(features), axis=1)

    def predict(self, features) -> np.ndarray:
        """(N,) most likely class index of each row."""
        return np.argmax(self.logits(features), axis=1)

    def check_features(self, metadata: dict[str, Any], what: str = "these features") -> None:
        """Raise ``ModelFileError`` unless ``metadata`` (a feature file's) matches the backbone."""
        differ = [
            f"{k}: model {self.backbone.get(k)!r}, {what} {metadata.get(k)!r}"
            for k in BACKBONE_FIELDS
            if k in self.backbone and metadata.get(k) != self.backbone[k]
        ]
        if differ:
            raise ModelFileError(
                f"{what} come from another backbone than the model's ({'; '.join(differ)})"
            )

    # -- the guarantee -------------------------------------------------------------------
    def guarantee(self) -> str:
        """One sentence stating what is private, against what, and under which assumption."""
        eps = (
            "inf (not private)"
            if math.isinf(self.privacy.epsilon)
            else f"{self.privacy.epsilon:.4g}"
        )
        return (
            f"({eps}, {self.privacy.delta:.3g})-differentially private with respect to the "
            f"{self.training.get('num_train', '?')} training rows, neighbouring relation: "
            f"{self.privacy.neighbouring}; assumes the noise key was secret and used once "
            f"(key: {self.training.get('key') or 'not recorded'}). Public: the class names, "
            "the number of training rows and the backbone."
        )

    # -- disk ----------------------------------------------------------------------------
    def header(self) -> dict[str, Any]:
        """The JSON header without its ``sha256`` field."""
        p = self.privacy
        return {
            "format": MODEL_FORMAT,
            "version": self.format_version,
            "class_names": list(self.class_names),
            "head": {
                "method": self.method,
                "feature_norm": self.feature_norm,
                "preprocess": self.preprocess,
            },
            "backbone": self.backbone,
            "privacy": {
                "epsilon": p.epsilon,
                "delta": p.delta,
                "neighbouring": p.neighbouring,
                "accountant": p.accountant,
                "releases": [dataclasses.asdict(r) for r in p.releases],
                "dp_event": event_to_json(p.dp_event),
            },
            "training": self.training,
            "dptl_version": self.dptl_version,
        }

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {"weights": self.weights, "bias": self.bias}
        return arrays if self.center is None else {**arrays, "center": self.center}

    def checksum(self) -> str:
        """SHA-256 over the arrays and the canonical JSON of :meth:`header`."""
        extra = json.dumps(self.header(), sort_keys=True).encode()
        return arrays_sha256(self._arrays(), extra)

    def save(self, path: str | os.PathLike) -> str:
        """Write the model file atomically; return its checksum."""
        digest = self.checksum()
        arrays = self._arrays()
        write_archive(path, arrays, {**self.header(), "sha256": digest})
        return digest

    @classmethod
    def load(cls, path: str | os.PathLike) -> PrivateModel:
        """Read a model file, validate every field and its SHA-256.

        Raises:
            FileNotFoundError: no such file.
            ModelFileError: corrupt, foreign, altered or inconsistent, with what is wrong.
        """
        path = Path(path)
        header, arrays = read_archive(
            path,
            format_name=MODEL_FORMAT,
            version=READ_VERSIONS,
            members=_ARRAYS,
            optional=("center",),
            what="dptl model file",
            error=ModelFileError,
            missing_hint="; `dptl train` writes one",
        )
        try:
            p = header["privacy"]
            releases = tuple(GaussianRelease(**r) for r in p["releases"])
            privacy = PrivacySpent(
                epsilon=float(p["epsilon"]),
                delta=float(p["delta"]),
                releases=releases,
                accountant=p["accountant"],
                neighbouring=p["neighbouring"],
            )
            stored_event = event_from_json(p["dp_event"])
            head = header["head"]
            model = cls(
                weights=arrays["weights"],
                bias=arrays["bias"],
                class_names=header["class_names"],
                method=str(head["method"]),
                feature_norm=float(head["feature_norm"]),
                preprocess=str(head["preprocess"]),
                backbone=dict(header["backbone"]),
                privacy=privacy,
                training=dict(header["training"]),
                center=arrays.get("center"),
                format_version=int(header["version"]),
                dptl_version=str(header["dptl_version"]),
            )
        except ModelFileError as err:
            raise ModelFileError(f"{path}: {err}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ModelFileError(
                f"{path}: a header field is missing or malformed ({err!r})"
            ) from None
        if stored_event != privacy.dp_event:
            raise ModelFileError(f"{path}: the stored DpEvent does not match the listed releases")
        if model.checksum() != header.get("sha256"):
            raise ModelFileError(
                f"{path} failed its SHA-256 check: the head or its header was altered or damaged"
            )
        return model

    def __repr__(self) -> str:
        bb = self.backbone.get("backbone", "?")
        return (
            f"PrivateModel({self.method}, {bb} {self.backbone.get('resolution', '?')} px, "
            f"d={self.dim}, K={self.num_classes}, ({self.privacy.epsilon:.4g}, "
            f"{self.privacy.delta:.3g})-DP)"
        )


def train_model(
    features,
    *,
    epsilon: float,
    key,
    delta: float = 1e-5,
    method: str = "auto",
    features_path: str = "",
    key_note: str = "",
) -> PrivateModel:
    """Train one private last layer on ``features``' training rows: what ``dptl train`` runs.

    Args:
        features: a ``FeatureSet`` (any float dtype; the solver gets a float32 copy).
        epsilon, delta: the privacy target (add/remove-one neighbours).
        key: the noise key; a released model assumes it secret and used once.
        method: a key of ``dptl.solvers.METHODS``, or "auto" (the public rule of
            :func:`dptl.solvers.choice.resolve_method`), each at its defaults.
        features_path, key_note: provenance recorded in the model.

    Returns:
        The :class:`PrivateModel`; ``model.training["method_choice"]`` says why that solver.
    """
    from dptl.solvers import METHODS
    from dptl.solvers.choice import resolve_method

    fs = features.astype("float32")
    choice = resolve_method(
        method,
        num_examples=fs.num_train,
        num_classes=fs.num_classes,
        epsilon=epsilon,
        delta=delta,
    )
    result = METHODS[choice.method].solver(
        key,
        fs.x_train,
        fs.y_train,
        epsilon=epsilon,
        delta=delta,
        num_classes=fs.num_classes,
        **choice.options,
    )
    return PrivateModel.from_result(
        result, features, features_path=features_path, key=key_note, method_choice=choice.reason
    )


def releases_table(privacy: PrivacySpent) -> str:
    """The releases of ``privacy`` as a text table (name, sensitivity, noise std, times, rate)."""
    lines = [
        f"accountant: {privacy.accountant}; releases (L2 sensitivity under {privacy.neighbouring}):",
        f"  {'release':<28}{'sensitivity':>12}{'noise std':>12}{'times':>7}{'sampling':>10}",
    ]
    for r in privacy.releases:
        lines.append(
            f"  {r.name:<28}{r.sensitivity:>12.4g}{r.noise_std:>12.4g}{r.count:>7}"
            f"{r.sampling_rate:>10.4g}"
        )
    return "\n".join(lines)


def _jsonable(value):
    """``value`` with non-JSON leaves (Optax objects, arrays) written as their repr/list."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)
