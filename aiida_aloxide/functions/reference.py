"""The packaged reference softness model, rebuilt in the user's database with its provenance.

:func:`reference_model` stores the packaged training features once (one ``ArrayData`` per sample,
the same layout as :func:`~aiida_aloxide.functions.softness_events.event_features` outputs, tagged with the
reference name and the files' SHA-256) and trains :func:`~aiida_aloxide.functions.softness_training.train_softness`
on them with the packaged training parameters. Calling it again returns the stored model.
"""

from __future__ import annotations

import numpy as np
from aiida import orm

from ..data.softness_model import SoftnessModelData
from ..reference import load_reference, reference_names
from .softness_parameters import check_parameters
from .softness_training import train_softness

__all__ = ["reference_model"]

_EXTRA = "aloxide_reference"


def _existing(name: str, digest: str) -> SoftnessModelData | None:
    """The oldest stored model built from the packaged reference ``name`` with files of SHA-256 ``digest``."""
    qb = orm.QueryBuilder().append(
        SoftnessModelData, filters={f"extras.{_EXTRA}": name, f"extras.{_EXTRA}_sha256": digest}, tag="m"
    )
    qb.order_by({"m": {"ctime": "asc"}})
    row = qb.first()
    return row[0] if row else None


def reference_model(name: str = "fast-inherent") -> SoftnessModelData:
    """The stored reference model ``name`` (built on first use; deterministic for the packaged files)."""
    if name not in reference_names():
        raise ValueError(f"unknown reference model {name!r}; known: {reference_names()}")
    ref = load_reference(name)
    found = _existing(name, ref["sha256"])
    if found is not None:
        return found
    meta = ref["meta"]
    datasets = {}
    for sample, arrays in sorted(ref["samples"].items()):
        node = orm.ArrayData()
        node.set_array("features", np.asarray(arrays["features"], dtype=np.float32))
        for key, dtype in (("label", np.int8), ("atom", np.int64), ("frame", np.int64), ("time", np.float64)):
            node.set_array(key, np.asarray(arrays[key], dtype=dtype))
        info = meta["samples"][sample]
        node.base.attributes.set_many(
            {
                "feature_names": meta["feature_names"],
                "n_features": len(meta["feature_names"]),
                "n_events": int(arrays["label"].size),
                "n_rearranging": int(np.count_nonzero(arrays["label"] == 1)),
                "structure_functions": meta["structure_functions"],
                "configuration": meta["configuration"],
                "average_window": meta.get("average_window"),
                "t_start": info["t_start"],
                "t_end": info["t_end"],
            }
        )
        node.label = f"reference {name} features {sample}"
        node.description = f"{meta['description']} Sample {sample}: {info.get('source', '')}"
        node.base.extras.set_many({_EXTRA: name, f"{_EXTRA}_sha256": ref["sha256"]})
        node.store()
        datasets[sample] = node
    params = check_parameters("training", {**meta["training"], "source": f"reference:{name}"})
    result = train_softness(orm.Dict(params), **datasets, metadata={"label": f"reference model {name}"})
    model = result["model"]
    model.base.extras.set_many({_EXTRA: name, f"{_EXTRA}_sha256": ref["sha256"]})
    model.label = f"reference softness model {name}"
    return model
