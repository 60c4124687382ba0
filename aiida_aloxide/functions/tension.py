"""Calcfunctions of the fracture simulations: replicate, restart from a frame, collect a tension run."""

from __future__ import annotations

import numpy as np
from aiida import orm

from ..analysis.mechanics import summarize_curve
from ..data.structure import structure_arrays, structure_from_arrays
from ..materials import material_for_species, material_of
from ..trajectory import cell_lengths, frames_trajectory, trajectory_species
from .versioning import calcfunction

__all__ = ["collect_plane_strain", "collect_plane_stress", "frame_to_structure", "replicate_x"]


@calcfunction
def replicate_x(structure: orm.StructureData, copies: orm.Int) -> orm.StructureData:
    """The sample repeated ``copies`` times along x (loading along the long axis, SPEC §3)."""
    n = copies.value
    if not 1 <= n <= 100:
        raise ValueError(f"copies must be in [1, 100], got {n}")
    symbols = {kind.symbols[0] for kind in structure.kinds}
    material = material_for_species(symbols)
    if material is None:
        raise ValueError(f"no packaged material has the species {sorted(symbols)}")
    pos, types, _, box = structure_arrays(structure, material)
    given = structure.base.attributes.get("charges", {})
    charges = {kind.symbols[0]: float(given[kind.name]) for kind in structure.kinds if kind.name in given}
    shifts = (np.arange(n) * box[0])[:, None, None] * np.array([1.0, 0.0, 0.0])
    new_pos = (pos[None, :, :] + shifts).reshape(-1, 3)
    new_box = box * np.array([n, 1.0, 1.0])
    return structure_from_arrays(new_pos, np.tile(types, n), new_box, charges, material)


@calcfunction
def frame_to_structure(trajectory: orm.TrajectoryData, index: orm.Int, material: orm.Dict | None = None) -> dict:
    """Structure (wrapped) and velocities of one stored frame, to resume a run from it; types and charges
    are those of ``material`` (absent: alumina), the run's own material input."""
    mat = material_of(material)
    k = index.value
    pos = np.asarray(trajectory.get_array("positions")[k], dtype=np.float64)
    box = cell_lengths(trajectory)[k]
    types = trajectory.get_array("types").astype(np.int64)
    structure = structure_from_arrays(np.mod(pos, box) % box, types, box, dict(mat.charges), mat)
    vel = orm.ArrayData()
    vel.set_array("velocities", np.asarray(trajectory.get_array("velocities")[k], dtype=np.float64))
    return {"structure": structure, "velocities": vel}


def _merge_frames(trajs: list[orm.TrajectoryData], keep: list[np.ndarray], **extra: np.ndarray) -> orm.TrajectoryData:
    """Concatenate selected frames of several trajectory nodes (+ per-frame ``extra`` arrays) into one node."""

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([p[k] for p, k in zip(parts, keep, strict=True)])

    optional = {}
    for name in ("stress_volume", "voronoi_volume"):
        if all(name in t.get_arraynames() for t in trajs):
            optional[name] = cat([t.get_array(name) for t in trajs])
    return frames_trajectory(
        cat([t.get_array("positions") for t in trajs]),
        cat([cell_lengths(t) for t in trajs]),
        trajs[0].get_array("types"),
        steps=cat([t.get_array("steps") for t in trajs]),
        species=trajectory_species(trajs[0]),
        **optional,
        **extra,
    )


@calcfunction
def collect_plane_strain(parameters: orm.Dict, **chunks) -> dict:
    """Merge the strain steps and frames of every chunk into the curve, the frames and the summary.

    ``chunks`` holds ``steps_<k>`` (strain_steps arrays) and ``frames_<k>`` (minimised frames)
    of each completed LAMMPS run, in order; a strain index seen twice (a resumed run)
    keeps its last occurrence.
    """
    p = parameters.get_dict()
    keys = sorted({int(k.split("_")[1]) for k in chunks})
    steps = [chunks[f"steps_{k}"] for k in keys]
    trajs = [chunks[f"frames_{k}"] for k in keys]
    index = np.concatenate([s.get_array("index") for s in steps]).astype(np.int64)
    # Keep the last occurrence of each strain index (resumed runs repeat nothing, but be safe).
    last = {int(i): n for n, i in enumerate(index)}
    sel = np.array(sorted(last.values()))
    offsets = np.cumsum([0] + [len(s.get_array("index")) for s in steps])
    keep = [sel[(sel >= offsets[c]) & (sel < offsets[c + 1])] - offsets[c] for c in range(len(steps))]

    def cat(name: str) -> np.ndarray:
        return np.concatenate([s.get_array(name) for s in steps])[sel]

    curve = orm.ArrayData()
    for name in ("index", "strain", "sxx", "sxx_sem", "syy", "szz", "pe", "lx", "ly", "lz"):
        curve.set_array("stress_xx" if name == "sxx" else "stress_xx_sem" if name == "sxx_sem" else name, cat(name))
    curve.base.attributes.set("units", {"stress": "GPa (tension positive)", "energy": "eV", "length": "Å"})
    summary = summarize_curve(cat("strain"), cat("sxx"), p["stop_fraction"], p["stop_consecutive"])
    frames = _merge_frames(trajs, keep, strain=cat("strain"))
    # Energy-minimised configuration of every strain step (the kind a softness model must be trained on).
    frames.base.attributes.set("configuration", "inherent")
    return {
        "stress_strain": curve,
        "frames": frames,
        "summary": orm.Dict({**summary.as_dict(), "loading": "plane_strain", "n_steps": int(len(sel))}),
    }


@calcfunction
def collect_plane_stress(parameters: orm.Dict, reference_length: orm.Float, **chunks) -> dict:
    """Thermo of every deformation chunk -> σ_xx(ε) binned per strain increment, frames and summary."""
    p = parameters.get_dict()
    keys = sorted({int(k.split("_")[1]) for k in chunks})
    l0 = reference_length.value
    lx = np.concatenate([chunks[f"thermo_{k}"].get_array("lx") for k in keys])
    pxx = np.concatenate([chunks[f"thermo_{k}"].get_array("pxx") for k in keys])
    strain_raw = lx / l0 - 1.0
    stress_raw = -1.0e-4 * pxx
    width = p["frame_strain"]
    bins = np.floor(strain_raw / width + 0.5).astype(np.int64)
    uniq, inv = np.unique(bins, return_inverse=True)
    counts = np.bincount(inv)
    mean = np.bincount(inv, stress_raw) / counts
    var = np.clip(np.bincount(inv, stress_raw**2) / counts - mean**2, 0.0, None)
    curve = orm.ArrayData()
    curve.set_array("strain", uniq * width)
    curve.set_array("stress_xx", mean)
    curve.set_array("stress_xx_sem", np.sqrt(var / np.maximum(counts - 1, 1)))
    curve.set_array("strain_raw", strain_raw)
    curve.set_array("stress_xx_raw", stress_raw)
    curve.base.attributes.set("units", {"stress": "GPa (tension positive)"})
    summary = summarize_curve(uniq * width, mean, p["stop_fraction"], p["stop_consecutive"])
    trajs = [chunks[f"frames_{k}"] for k in keys if f"frames_{k}" in chunks]
    out = {
        "stress_strain": curve,
        "summary": orm.Dict({**summary.as_dict(), "loading": "plane_stress", "n_steps": int(len(uniq))}),
    }
    if trajs:
        # Each chunk starts with the previous chunk's last frame (step 0 of its own run): drop it.
        keep = [np.arange(0 if c == 0 else 1, t.get_shape("positions")[0]) for c, t in enumerate(trajs)]
        lx = np.concatenate([cell_lengths(t)[k, 0] for t, k in zip(trajs, keep, strict=True)])
        frames = _merge_frames(trajs, keep, strain=lx / l0 - 1.0)
        frames.base.attributes.set("configuration", "thermal")
        out["frames"] = frames
    return out
