"""Per-atom results of stored nodes as frames for OVITO / ASE / LAMMPS (``study frames``).

Collects, for every frame of a tension run, the columns a scientist colours atoms by: species,
cation coordination (Al in alumina, Si in silica; the column notes say Al, as for alumina),
bond-switching class relative to ε = 0, cumulative D, hydrostatic stress, Voronoi volume, softness
with its out-of-domain flag and the high-softness cluster id, each from the node that computed it;
the writers are in :mod:`aiida_aloxide.atoms_io`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from aiida import orm

from ..analysis.bond_switching import CLASS_NAMES
from ..analysis.coordination import coordination_numbers
from ..analysis.nonaffine import cumulative_d_by_frame
from ..atoms_io import AtomFrame, write_extxyz, write_lammps_dump
from ..data.structure import structure_arrays, structure_material
from ..materials import ANION_TYPE, CATION_TYPE
from ..trajectory import cell_lengths, frames_material

__all__ = [
    "COLUMNS",
    "FORMATS",
    "TensionAtoms",
    "check_output_dir",
    "export_run_frames",
    "export_study_frames",
    "export_tension_frames",
    "tension_atoms",
]

#: Output formats of ``study frames``: file suffix of each.
FORMATS = {"extxyz": "extxyz", "lammps": "dump"}

#: Every per-atom column written, with its unit and meaning (the manifest and docs repeat these).
COLUMNS: dict[str, tuple[str, str]] = {
    "coordination": ("", "Al: number of O within the Al–O cut-off; O: −1"),
    "initial_coordination": ("", "Al: coordination at ε = 0 (Al4/Al5/Al6); O: −1"),
    "switching": (
        "",
        "Al: bond-switching class vs ε = 0, " + ", ".join(f"{k} = {n}" for k, n in enumerate(CLASS_NAMES)) + "; O: −1",
    ),  # fmt: skip
    "nonaffine_d": ("Å", "Al: cumulative non-affine displacement D up to this frame; O: NaN"),
    "hydrostatic_stress": ("GPa", "Al: local hydrostatic stress (positive = tension); O: NaN"),
    "voronoi_volume": ("Å³", "Voronoi volume of every atom"),
    "softness": ("", "Al: softness S (signed distance to the SVM hyperplane); O: NaN"),
    "out_of_domain": ("", "Al: 1 if a feature lies outside the model's training range (S extrapolated); 0; O: −1"),
    "cluster": ("", "Al: high-softness cluster id (0 = largest), −1 = not among the softest or O"),
    "charge": ("e", "point charge of the potential"),
}


@dataclass
class TensionAtoms:
    """The frames of one tension run with every per-atom column, and the nodes they came from."""

    frames: list[AtomFrame]
    sources: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)


def _latest_output(node: orm.Node, process_label: str, output: str, **other_inputs: orm.Node) -> orm.Data | None:
    """``output`` of the newest ``process_label`` calcfunction that took ``node`` (and ``other_inputs``) in."""
    qb = orm.QueryBuilder()
    qb.append(orm.Node, filters={"id": node.pk}, tag="in")
    qb.append(orm.CalcFunctionNode, with_incoming="in", filters={"attributes.process_label": process_label}, tag="c")
    for k, other in enumerate(other_inputs.values()):
        qb.append(orm.Node, filters={"id": other.pk}, with_outgoing="c", tag=f"o{k}")
    qb.append(orm.Data, with_incoming="c", edge_filters={"label": output}, project=["*"], tag="out")
    qb.order_by({"c": {"ctime": "desc"}})
    row = qb.first()
    return None if row is None else row[0]


def _al_column(values: np.ndarray | None, al: np.ndarray, n: int, fill: float | int, dtype: Any) -> np.ndarray:
    """An (N,) column with ``values`` at the Al indices and ``fill`` elsewhere."""
    col = np.full(n, fill, dtype=dtype)
    if values is not None:
        col[al] = values
    return col


def tension_atoms(
    tension: orm.WorkflowNode, softness: orm.ArrayData | None = None, clusters: orm.ArrayData | None = None
) -> TensionAtoms:
    """Every frame of ``tension`` (a tension work chain with ``frames``) with its per-atom columns.

    The deformation analysis, softness and clusters are the newest ones computed on these frames
    unless given; columns whose node does not exist (no softness applied, say) are left out.
    """
    if "frames" not in tension.outputs:
        raise ValueError(f"{tension.process_label}<{tension.pk}> stored no frames (plane stress stores none)")
    frames = tension.outputs.frames
    per_atom = _latest_output(frames, "deformation_analysis", "per_atom")
    if softness is None:
        softness = _latest_output(frames, "softness_of_frames", "softness")
    if clusters is None and softness is not None:
        clusters = _latest_output(softness, "softness_clusters", "clusters", frames=frames)

    names = frames.get_arraynames()
    positions = frames.get_array("positions")
    lengths = cell_lengths(frames)
    types = frames.get_array("types").astype(np.int64)
    n_f, n = positions.shape[:2]
    symbols = np.asarray(frames.symbols)  # the elements the frames were stored with (Al/O, Si/O)
    strain = frames.get_array("strain") if "strain" in names else np.full(n_f, np.nan)
    vor = frames.get_array("voronoi_volume") if "voronoi_volume" in names else None

    sources = {"frames": frames.uuid, "tension": tension.uuid}
    dep: dict[str, np.ndarray] = {}
    if per_atom is not None:
        sources["per_atom"] = per_atom.uuid
        c = str(per_atom.base.attributes.get("cation", frames_material(frames).cation)).lower()
        al = per_atom.get_array(f"{c}_indices").astype(np.int64)
        dep = {k: per_atom.get_array(k) for k in ("cn", "switching", "initial_species")}
        dep["d"] = cumulative_d_by_frame(per_atom.get_array("d2min"))
        if "hydrostatic_stress" in per_atom.get_arraynames():
            dep["hydrostatic_stress"] = per_atom.get_array("hydrostatic_stress")
    soft: dict[str, np.ndarray] = {}
    if softness is not None:
        sources["softness"] = softness.uuid
        soft = {"s": softness.get_array("softness"), "al": softness.get_array("al_index").astype(np.int64)}
        if "out_of_domain" in softness.get_arraynames():
            soft["ood"] = softness.get_array("out_of_domain")
        model = _creator_input(softness, "model")
        if model is not None:
            sources["model"] = model.uuid
    if clusters is not None:
        sources["clusters"] = clusters.uuid
        soft["labels"] = clusters.get_array("labels")
    for key, arr in (*dep.items(), *soft.items()):
        if key not in ("initial_species", "al") and arr.shape[0] != n_f:
            raise ValueError(f"{key} of {sources} has {arr.shape[0]} frames, the frames {n_f}")

    out: list[AtomFrame] = []
    for f in range(n_f):  # one frame at a time: columns are whole-array assignments
        cols: dict[str, np.ndarray] = {}
        if dep:
            cols["coordination"] = _al_column(dep["cn"][f], al, n, -1, np.int64)
            cols["initial_coordination"] = _al_column(dep["initial_species"], al, n, -1, np.int64)
            cols["switching"] = _al_column(dep["switching"][f], al, n, -1, np.int64)
            cols["nonaffine_d"] = _al_column(dep["d"][f], al, n, np.nan, np.float64)
            if "hydrostatic_stress" in dep:
                cols["hydrostatic_stress"] = _al_column(dep["hydrostatic_stress"][f], al, n, np.nan, np.float64)
        if vor is not None:
            cols["voronoi_volume"] = np.asarray(vor[f], dtype=np.float64)
        if soft:
            cols["softness"] = _al_column(soft["s"][f], soft["al"], n, np.nan, np.float64)
            if "ood" in soft:
                cols["out_of_domain"] = _al_column(soft["ood"][f].astype(np.int64), soft["al"], n, -1, np.int64)
            if "labels" in soft:
                cols["cluster"] = _al_column(soft["labels"][f], soft["al"], n, -1, np.int64)
        info = {"frame": f, "strain": float(strain[f]), **{f"{k}_uuid": v for k, v in sources.items()}}
        out.append(AtomFrame(np.mod(positions[f], lengths[f]), lengths[f], symbols, types, cols, info))
    return TensionAtoms(out, sources, list(out[0].columns) if out else [])


def _creator_input(node: orm.Data, label: str) -> orm.Node | None:
    """Input ``label`` of the calcfunction that created ``node``, if any."""
    creator = node.creator
    if creator is None:
        return None
    return creator.inputs[label] if label in creator.inputs else None


def sample_frame(structure: orm.StructureData, info: dict[str, Any] | None = None) -> AtomFrame:
    """A quenched sample as one frame: species, charges and the cation coordination (the material's cut-off)."""
    mat = structure_material(structure)
    pos, types, charges, box = structure_arrays(structure, mat)
    types = np.asarray(types, dtype=np.int64)
    uniq = np.unique(types)
    symbols = np.array([mat.type_species.get(int(t), f"T{int(t)}") for t in uniq])[np.searchsorted(uniq, types)]
    al = np.nonzero(types == CATION_TYPE)[0]
    cn = coordination_numbers(pos, box, types == CATION_TYPE, types == ANION_TYPE, cutoff=mat.cation_anion_cutoff)
    cols = {"coordination": _al_column(cn, al, len(types), -1, np.int64)}
    if np.isfinite(charges).all():
        cols["charge"] = np.asarray(charges, dtype=np.float64)
    return AtomFrame(np.mod(pos, box), np.asarray(box, dtype=np.float64), symbols, types, cols,
                     {"structure_uuid": structure.uuid, **(info or {})})  # fmt: skip


def _write(path: Path, frames: list[AtomFrame], fmt: str, sources: dict[str, str]) -> Path:
    """One file of ``frames`` in ``fmt``."""
    if fmt == "extxyz":
        return write_extxyz(path, frames)
    return write_lammps_dump(path, frames, provenance=sources)


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse an existing non-empty folder unless ``force`` (nothing is overwritten silently)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise ValueError(f"{out} exists and is not empty; choose another folder or pass --force")


def export_tension_frames(tension: orm.WorkflowNode, out: Path, fmt: str = "extxyz", name: str | None = None,
                          softness: orm.ArrayData | None = None, clusters: orm.ArrayData | None = None,
                          ) -> dict[str, Any]:  # fmt: skip
    """Write the frames of one tension run into ``out``; returns its manifest entry."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {sorted(FORMATS)}")
    atoms = tension_atoms(tension, softness=softness, clusters=clusters)
    path = out / f"{name or f'tension_{tension.pk}'}.{FORMATS[fmt]}"
    _write(path, atoms.frames, fmt, atoms.sources)
    return {"file": path.name, "frames": len(atoms.frames), "columns": atoms.columns, "sources": atoms.sources,
            "strain": [fr.info["strain"] for fr in atoms.frames]}  # fmt: skip


def _children(node: orm.WorkflowNode) -> dict[str, orm.ProcessNode]:
    """Called processes keyed by call link label."""
    from aiida.common.links import LinkType

    links = node.base.links.get_outgoing(link_type=(LinkType.CALL_WORK, LinkType.CALL_CALC)).all()
    return {link.link_label: link.node for link in links}


def export_study_frames(study: orm.WorkflowNode, out: Path, fmt: str = "extxyz", force: bool = False) -> Path:
    """Write every quenched sample and every tension run's frames of ``study``, plus ``manifest.json``.

    The softness columns come from the model the study applied to the frames. Returns the manifest path.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {sorted(FORMATS)}")
    check_output_dir(out, force)
    children = _children(study)
    summary = study.outputs.summary.get_dict()
    labels = summary["labels"]
    if not any(f"tension_{k}" in children and "frames" in children[f"tension_{k}"].outputs for k in labels):
        raise ValueError(f"study {study.pk} has no tension frames to export")
    out.mkdir(parents=True, exist_ok=True)
    applied = children["softness"].outputs.applied if "softness" in children and "applied" in children[
        "softness"].outputs else {}  # fmt: skip
    files = []
    for label in labels:
        pressure = summary["rows"][label].get("pressure")
        sample = study.outputs.samples[label]
        frame = sample_frame(sample, {"pressure_GPa": pressure})
        path = _write(out / f"sample_{label}.{FORMATS[fmt]}", [frame], fmt, {"structure": sample.uuid})
        files.append({"file": path.name, "kind": "quenched sample", "pressure_GPa": pressure, "frames": 1,
                      "columns": list(frame.columns), "sources": {"structure": sample.uuid}})  # fmt: skip
        for loading, key in (("plane_strain", f"tension_{label}"), ("plane_stress", f"plane_stress_{label}")):
            if key not in children or "frames" not in children[key].outputs:
                continue
            soft = applied.get(f"{key}_softness") if applied else None
            clus = applied.get(f"{key}_clusters") if applied else None
            entry = export_tension_frames(children[key], out, fmt, f"{loading}_{label}", soft, clus)
            files.append({"kind": f"{loading} tension frames", "pressure_GPa": pressure, **entry})
    return write_manifest(out, {"study": study.uuid, "study_pk": study.pk, "format": fmt}, files)


def export_run_frames(tension: orm.WorkflowNode, out: Path, fmt: str = "extxyz", force: bool = False) -> Path:
    """Write the frames of one tension run (its newest analyses) and ``manifest.json``; returns the manifest."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {sorted(FORMATS)}")
    check_output_dir(out, force)
    out.mkdir(parents=True, exist_ok=True)
    entry = export_tension_frames(tension, out, fmt)
    return write_manifest(out, {"tension": tension.uuid, "tension_pk": tension.pk, "format": fmt}, [entry])


def write_manifest(out: Path, header: dict[str, Any], files: list[dict[str, Any]]) -> Path:
    """``manifest.json``: what was exported, the meaning and unit of every column, each file's source UUIDs."""
    manifest = {
        **header,
        "positions": "Å, wrapped into the box (origin 0); orthorhombic periodic box",
        "columns": {k: {"unit": u, "meaning": m} for k, (u, m) in COLUMNS.items()},
        "files": files,
    }
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1))
    return path
