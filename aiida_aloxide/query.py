"""QueryBuilder helpers: find samples and runs by the scalars stored as attributes and extras."""

from __future__ import annotations

from typing import Any

from aiida import orm

__all__ = ["find_samples", "find_tensions"]


def find_samples(
    *,
    protocol: str | None = None,
    min_pressure: float | None = None,
    max_pressure: float | None = None,
    min_density: float | None = None,
    max_density: float | None = None,
    finished_ok: bool = True,
) -> list[dict[str, Any]]:
    """Quenched samples (``aloxide.quench`` work chains) with their pressure, density and Al fractions."""
    from .workchains.quench import QuenchWorkChain

    wc_filters: dict[str, Any] = {}
    if finished_ok:
        wc_filters["attributes.exit_status"] = 0
    if protocol is not None:
        wc_filters["extras.aloxide_protocol"] = protocol
    prop_filters: dict[str, Any] = {}
    pressure: dict[str, float] = {}
    if min_pressure is not None:
        pressure[">="] = min_pressure
    if max_pressure is not None:
        pressure["<="] = max_pressure
    if pressure:
        prop_filters["attributes.pressure"] = {"and": [{k: v} for k, v in pressure.items()]}
    density: dict[str, float] = {}
    if min_density is not None:
        density[">="] = min_density
    if max_density is not None:
        density["<="] = max_density
    if density:
        prop_filters["attributes.density"] = {"and": [{k: v} for k, v in density.items()]}
    qb = orm.QueryBuilder()
    qb.append(QuenchWorkChain, filters=wc_filters, tag="wc", project=["id", "uuid", "extras.aloxide_protocol"])
    qb.append(orm.Dict, with_incoming="wc", edge_filters={"label": "properties"}, filters=prop_filters,
              project=["attributes"])  # fmt: skip
    # ChargedStructureData is a plugin subclass: StructureData queries do not match it, Data does.
    qb.append(orm.Data, with_incoming="wc", edge_filters={"label": "structure"}, project=["uuid"])
    rows = []
    for pk, uuid, proto, attrs, s_uuid in qb.all():
        rows.append({"pk": pk, "uuid": uuid, "protocol": proto, "structure_uuid": s_uuid, **attrs})
    rows.sort(key=lambda r: (r["protocol"] or "", r["pressure"] if r["pressure"] is not None else -1, r["pk"]))
    return rows


def find_tensions(
    *,
    protocol: str | None = None,
    min_pressure: float | None = None,
    max_pressure: float | None = None,
    min_fracture_strain: float | None = None,
    fractured: bool | None = None,
    min_peak_stress: float | None = None,
    loading: str | None = None,
) -> list[dict[str, Any]]:
    """Finished tension work chains with their sample's pressure and their summary scalars.

    E.g. "all samples quenched at ≥ 2 GPa whose fracture strain exceeds 0.3":
    ``find_tensions(min_pressure=2, min_fracture_strain=0.3)``.
    """
    from .workchains.quench import QuenchWorkChain

    q_filters: dict[str, Any] = {}
    if protocol is not None:
        q_filters["extras.aloxide_protocol"] = protocol
    pressure = [{op: v} for op, v in ((">=", min_pressure), ("<=", max_pressure)) if v is not None]
    if pressure:
        q_filters["extras.aloxide_pressure"] = {"and": pressure}
    s_filters: dict[str, Any] = {}
    if min_fracture_strain is not None:
        s_filters["attributes.fracture_strain"] = {">": min_fracture_strain}
    if fractured is not None:
        s_filters["attributes.fractured"] = fractured
    if min_peak_stress is not None:
        s_filters["attributes.peak_stress"] = {">=": min_peak_stress}
    if loading is not None:
        s_filters["attributes.loading"] = loading
    qb = orm.QueryBuilder()
    qb.append(QuenchWorkChain, filters=q_filters, tag="q", project=["id", "extras.aloxide_pressure"])
    # ChargedStructureData is a plugin subclass: StructureData queries do not match it, Data does.
    qb.append(orm.Data, with_incoming="q", edge_filters={"label": "structure"}, tag="s")
    qb.append(
        orm.WorkflowNode,
        with_incoming="s",
        edge_filters={"label": "structure"},
        filters={"attributes.exit_status": 0, "attributes.process_label": {"in": ["PlaneStrainWorkChain",
                                                                                  "PlaneStressWorkChain"]}},
        tag="t",
        project=["id", "uuid"],
    )  # fmt: skip
    qb.append(orm.Dict, with_incoming="t", edge_filters={"label": "summary"}, filters=s_filters,
              project=["attributes"])  # fmt: skip
    rows = [
        {"pk": t_pk, "uuid": t_uuid, "quench_pk": q_pk, "pressure": p, **attrs}
        for q_pk, p, t_pk, t_uuid, attrs in qb.all()
    ]
    rows.sort(key=lambda r: (r["pressure"] if r["pressure"] is not None else -1, r["pk"]))
    return rows
