"""QueryBuilder helpers: find samples and runs by the scalars stored as attributes and extras."""

from __future__ import annotations

from typing import Any

from aiida import orm

__all__ = ["find_samples"]


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
