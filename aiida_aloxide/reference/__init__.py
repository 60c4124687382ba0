"""Packaged reference softness models: their training features and parameters, not a fitted estimator.

Each reference is a compressed ``.npz`` of the per-sample event features (``<sample>/features``,
``label``, ``atom``, ``frame``, ``time``) and a ``.json`` with the column names, the structure-function
and training parameters, the configuration kind and where the data came from (the AiiDA nodes of the
run that made it). :func:`aiida_aloxide.functions.reference.reference_model` rebuilds the
``SoftnessModelData`` from them in the user's database, deterministically and with provenance to the
features, so the model can be inspected, re-trained and cited like any other node.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["REFERENCE_MODELS", "load_reference", "reference_names"]

#: Name → file stem of the packaged references.
REFERENCE_MODELS = {"fast-inherent": "fast_inherent"}


def reference_names() -> list[str]:
    """Names accepted by ``softness predict reference`` and the study's ``--apply-model``."""
    return sorted(REFERENCE_MODELS)


def load_reference(name: str) -> dict[str, Any]:
    """The metadata (``meta``), per-sample arrays (``samples``) and a SHA-256 of both files of ``name``."""
    if name not in REFERENCE_MODELS:
        raise ValueError(f"unknown reference model {name!r}; known: {reference_names()}")
    stem = REFERENCE_MODELS[name]
    root = resources.files(__package__)
    raw_json = (root / f"{stem}.json").read_bytes()
    raw_npz = (root / f"{stem}.npz").read_bytes()
    meta = json.loads(raw_json)
    import io

    with np.load(io.BytesIO(raw_npz)) as data:
        samples: dict[str, dict[str, np.ndarray]] = {}
        for key in data.files:
            sample, array = key.split("/", 1)
            samples.setdefault(sample, {})[array] = data[key]
    digest = hashlib.sha256(raw_json + raw_npz).hexdigest()
    return {"meta": meta, "samples": samples, "sha256": digest}
