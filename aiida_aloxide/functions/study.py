"""The one-table summary of a fracture study: every per-pressure number from the stored result nodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from aiida import orm

from ..materials import DEFAULT_CATION
from .versioning import calcfunction

__all__ = ["SUMMARY_COLUMNS", "pressure_label", "replica_statistics", "study_summary", "summary_columns"]

#: Columns of the per-pressure rows of an alumina study, in table order (``None`` when not computed); another
#: material's coordination columns are named by its cation (``si4``, ``si5``, ``si6``): :func:`summary_columns`.
SUMMARY_COLUMNS = (
    "pressure", "density", "al4", "al5", "al6", "peak_stress", "strain_at_peak", "fractured",
    "fracture_strain", "toughness", "ps_peak_stress", "ps_strain_at_peak", "ps_toughness",
    "final_strain", "dc", "ic", "sc", "uc", "d_mean",
    "softness_model", "softness_model_events", "softness_cv_balanced_accuracy", "softness_loso_balanced_accuracy",
    "unstrained_mean_softness", "unstrained_median_softness", "softness_next_step_auc",
)  # fmt: skip


def summary_columns(cation: str = DEFAULT_CATION, classes: Sequence[int] = (4, 5, 6)) -> tuple[str, ...]:
    """The summary columns of a study whose followed cation is ``cation`` with these coordination classes."""
    coordination = tuple(f"{cation.lower()}{k}" for k in classes)
    k = SUMMARY_COLUMNS.index("al4")
    return (*SUMMARY_COLUMNS[:k], *coordination, *SUMMARY_COLUMNS[k + 3 :])


def pressure_label(pressure: float) -> str:
    """Link-label-safe name of a quench pressure: ``p0``, ``p4``, ``p0_5``."""
    return f"p{pressure:g}".replace(".", "_").replace("-", "m").replace("+", "")


def replica_statistics(rows: dict[str, dict[str, Any]], columns: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Mean, standard error (sample std / √N) and the N values of every numeric column, per quench pressure.

    ``rows``: label -> row; samples of one pressure are the rows with equal ``pressure``. A column with a
    missing value in any replica gets ``None`` (no mean of a subset); booleans and text are skipped.
    """
    by_pressure: dict[float, list[str]] = {}
    for label, row in rows.items():
        by_pressure.setdefault(float(row["pressure"]), []).append(label)
    out: dict[str, dict[str, Any]] = {}
    for pressure, labels in sorted(by_pressure.items()):
        stats: dict[str, Any] = {"pressure": pressure, "n": len(labels), "labels": labels, "mean": {}, "se": {},
                                 "values": {}}  # fmt: skip
        for col in columns:
            values = [rows[k].get(col) for k in labels]
            if col == "pressure" or any(isinstance(v, bool | str) for v in values):
                continue
            if any(v is None for v in values):
                stats["mean"][col] = stats["se"][col] = None
                stats["values"][col] = values
                continue
            arr = np.asarray(values, dtype=float)
            stats["mean"][col] = float(arr.mean())
            stats["se"][col] = float(arr.std(ddof=1) / np.sqrt(arr.size)) if arr.size > 1 else None
            stats["values"][col] = [float(v) for v in arr]
        out[pressure_label(pressure)] = stats
    return out


def _get(d: dict[str, Any], key: str) -> Any:
    return d.get(key) if d is not None else None


@calcfunction
def study_summary(**nodes: orm.Dict) -> orm.Dict:
    """Per-pressure summary from ``properties_<label>``, ``tension_<label>``, ``deformation_<label>``,
    optionally ``plane_stress_<label>``, ``softness_<label>`` (a softness summary), ``response_<label>``
    (its softness_response summary) and ``softness_report``.

    Columns ``ps_*`` are the plane-stress run's; the others without prefix are plane strain's.

    Returns a Dict ``{"labels": [...], "rows": {label: {column: value}}, "columns": [...]}``.
    """
    labels = sorted(
        (k[len("properties_") :] for k in nodes if k.startswith("properties_")),
        key=lambda k: (nodes[f"properties_{k}"]["pressure"], int(k.rsplit("_r", 1)[1]) if "_r" in k else 0),
    )
    from ..materials import load_material

    names = {nodes[f"properties_{k}"].get("material") for k in labels} or {None}
    if len(names) > 1:
        raise ValueError(f"the samples of one study are of one material, got {sorted(map(str, names))}")
    name = next(iter(names))
    material = load_material(name) if name else load_material()
    coordination = [f"{material.cation.lower()}{k}" for k in material.coordination_classes]
    columns = summary_columns(material.cation, material.coordination_classes)
    rows: dict[str, dict[str, Any]] = {}
    for label in labels:
        props = nodes[f"properties_{label}"].get_dict()
        ten = nodes[f"tension_{label}"].get_dict() if f"tension_{label}" in nodes else None
        dfm = nodes[f"deformation_{label}"].get_dict() if f"deformation_{label}" in nodes else None
        soft = nodes[f"softness_{label}"].get_dict() if f"softness_{label}" in nodes else None
        pst = nodes[f"plane_stress_{label}"].get_dict() if f"plane_stress_{label}" in nodes else None
        rsp = nodes[f"response_{label}"].get_dict() if f"response_{label}" in nodes else None
        rows[label] = {
            "pressure": props["pressure"],
            "density": props["density"],
            **{key: props[key] for key in coordination},
            "peak_stress": _get(ten, "peak_stress"),
            "strain_at_peak": _get(ten, "strain_at_peak"),
            "fractured": _get(ten, "fractured"),
            "fracture_strain": _get(ten, "fracture_strain"),
            "toughness": _get(ten, "toughness"),
            "ps_peak_stress": _get(pst, "peak_stress"),
            "ps_strain_at_peak": _get(pst, "strain_at_peak"),
            "ps_toughness": _get(pst, "toughness"),
            "final_strain": _get(dfm, "final_strain"),
            "dc": _get(dfm, "dc_fraction_final"),
            "ic": _get(dfm, "ic_fraction_final"),
            "sc": _get(dfm, "sc_fraction_final"),
            "uc": _get(dfm, "uc_fraction_final"),
            "d_mean": _get(dfm, "d_mean"),
            # The model applied to the frames (the study's own or a reference model) and its accuracy.
            "softness_model": _get(soft, "model_source"),
            "softness_model_events": _get(soft, "model_n_train_events"),
            "softness_cv_balanced_accuracy": _get(soft, "model_cv_balanced_accuracy"),
            "softness_loso_balanced_accuracy": _get(soft, "model_loso_balanced_accuracy"),
            "unstrained_mean_softness": _get(soft, "unstrained_mean_softness"),
            "unstrained_median_softness": _get(soft, "unstrained_median_softness"),
            "softness_next_step_auc": _get(rsp, "mean_auc"),
        }
    result: dict[str, Any] = {"labels": labels, "columns": list(columns), "rows": rows}
    if names != {None}:  # another glass than alumina (whose summaries never named it)
        result.update({"material": material.name, "cation": material.cation})
    if len({row["pressure"] for row in rows.values()}) < len(rows):  # replicas: mean ± SE per pressure
        result["replicas"] = replica_statistics(rows, columns)
    return orm.Dict(result)
