"""Calcfunction of the softness training (SPEC §5): event features of every sample → model node + report.

The pipeline (model selection inside the folds, repeated grouped CV, splits, ablations,
cross-pressure table) is :func:`~aiida_aloxide.analysis.softness_training.train_and_validate`;
here the feature nodes are read and checked against each other, and the model is stored as a
:class:`~aiida_aloxide.data.softness_model.SoftnessModelData` with the numbers people filter on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from aiida import orm

from ..analysis.softness_training import Sample, stack_samples, train_and_validate
from ..data.softness_model import SoftnessModelData
from .softness_parameters import check_parameters
from .versioning import calcfunction

__all__ = ["training_samples", "train_softness"]


def training_samples(datasets: Mapping[str, orm.ArrayData]) -> tuple[dict[str, Sample], dict[str, Any]]:
    """The event features of every dataset as analysis samples, and the attributes they share.

    The shared attributes are ``feature_names``, ``structure_functions``, ``configuration`` and
    ``average_window``; datasets with other columns or another configuration kind are refused.
    """
    keys = sorted(datasets)
    if not keys:
        raise ValueError("train_softness needs at least one dataset")
    first = datasets[keys[0]].base.attributes
    names = list(first.get("feature_names"))
    kind = first.get("configuration", "thermal")
    shared = {
        "feature_names": names,
        "structure_functions": first.get("structure_functions"),
        "configuration": kind,
        "average_window": first.get("average_window", None),
    }
    samples = {}
    for key in keys:
        node = datasets[key]
        attrs = node.base.attributes
        if list(attrs.get("feature_names")) != names:
            raise ValueError(f"dataset {key!r} has different feature columns than {keys[0]!r}")
        if attrs.get("configuration", "thermal") != kind:
            raise ValueError(f"dataset {key!r} describes {attrs.get('configuration')} "
                             f"configurations, {keys[0]!r} {kind} ones")  # fmt: skip
        samples[key] = Sample(
            features=np.asarray(node.get_array("features"), dtype=np.float64),
            labels=node.get_array("label").astype(np.int64),
            atoms=node.get_array("atom").astype(np.int64),
            times=node.get_array("time"),
            t_start=attrs.get("t_start"),
            t_end=attrs.get("t_end"),
        )
    return samples, shared


@calcfunction
def train_softness(parameters: orm.Dict, **datasets) -> dict:
    """Train the softness SVM on the event features of every sample (keys = pressure labels).

    Model selection without leakage: the feature subset (``model_features="select"``: structure
    functions, radial only, radial with μ ≤ 5 Å) and C (``Cs``) are chosen by grouped CV inside each
    outer training fold; the headline is ``cv_repeats`` × ``cv_folds`` stratified grouped CV
    (no atom in two folds) of the balanced accuracy, mean ± std. The returned ``model`` is fitted
    on every event with the choice made on all of them. The report also holds one grouped split,
    a time split with a gap of ``time_gap`` ps, repeated-CV ablations (radial / angular /
    structure / Voronoi / all + Voronoi) and the cross-pressure table (train on p, test on q;
    diagonal: repeated grouped CV inside p). A validation that cannot be computed is None with
    the reason in ``errors``.
    """
    p = check_parameters("training", parameters.get_dict())
    samples, shared = training_samples(datasets)
    outcome = train_and_validate(stack_samples(samples), shared["feature_names"], p)
    report = {**outcome.report, "configuration": shared["configuration"]}
    node = SoftnessModelData(
        model=outcome.model,
        structure_functions=shared["structure_functions"],
        configuration=shared["configuration"],
        average_window=shared["average_window"],
        domain=outcome.domain,
    )
    node.base.attributes.set_many(
        {
            "n_train_events": report["n_events"],
            "n_rearranging_atoms": report["n_rearranging_atoms"],
            "test_accuracy": report["test_accuracy"],
            "cv_balanced_accuracy": report["cv_balanced_accuracy"],
            "cv_balanced_accuracy_std": report["cv_balanced_accuracy_std"],
            "loso_balanced_accuracy": report["loso_balanced_accuracy"],
            "loso_balanced_accuracy_std": report["loso_balanced_accuracy_std"],
            "loso_auc": report["loso_auc"],
            "n_samples": len(samples),
            "source": p["source"],
        }
    )
    return {"model": node, "report": orm.Dict(report)}
