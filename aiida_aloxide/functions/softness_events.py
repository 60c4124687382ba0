"""Calcfunctions of the softness examples (SPEC §5): recorded chunks → trajectory → labelled events → features.

* :func:`merge_trajectories` — chunks of the recorded NVT run → one continuous trajectory
  (:func:`~aiida_aloxide.analysis.chunks.merge_chunks`);
* :func:`phop_events` — p_hop of every Al atom, rearranging / non-rearranging (atom, frame) labels
  (:mod:`~aiida_aloxide.analysis.softness_events`);
* :func:`example_frames` — the distinct frames of the examples, for the inherent-structure minimisation;
* :func:`event_features` — structure functions (+ Voronoi volume) of the labelled atoms.

Nodes in → arrays → analysis → nodes out; the science is in :mod:`aiida_aloxide.analysis`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from aiida import orm

from ..analysis.chunks import merge_chunks
from ..analysis.configurations import past_window_average
from ..analysis.softness_events import (
    cap_per_class,
    event_feature_matrix,
    event_statistics,
    frames_of,
    label_trajectory,
)
from ..materials import CATION_TYPE, DEFAULT_MATERIAL
from ..trajectory import cell_lengths, frames_material, frames_trajectory, trajectory_species
from ..values import finite_or_none
from .softness_parameters import (
    EVENT_DEFAULTS,
    check_parameters,
    structure_function_kwargs,
    structure_function_parameters,
)
from .versioning import calcfunction

__all__ = ["configurations", "event_features", "example_frames", "merge_trajectories", "phop_events"]


def _chunk_arrays(chunks: list[orm.TrajectoryData]) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(positions, box lengths, times) of each chunk in turn, its arrays dropped from memory after use."""
    for traj in chunks:
        yield traj.get_array("positions"), cell_lengths(traj), traj.get_array("times")
        traj.clear_internal_cache()


@calcfunction
def merge_trajectories(parameters: orm.Dict, **chunks) -> dict:
    """Concatenate the recorded chunks ``chunk_000, chunk_001, ...`` into one continuous trajectory.

    Chunk k > 0 starts from chunk k−1's final (wrapped) configuration, so its first frame repeats
    chunk k−1's last one: it is dropped, after shifting chunk k's unwrapped positions by whole box
    vectors so that the two coincide (continuous unwrapped coordinates across chunks). Times run
    from 0 at the first recorded frame. ``parameters``: ``timestep`` (ps), ``chunk_ps`` (list of
    chunk durations), ``temperature`` (target, K); ``thermo_<k>`` (optional) give the mean
    temperature. Outputs ``trajectory`` (TrajectoryData) and ``summary`` (Dict).
    """
    p = parameters.get_dict()
    keys = sorted(k for k in chunks if k.startswith("chunk_"))
    if not keys:
        raise ValueError("no chunk_<k> trajectories given")
    if len(p["chunk_ps"]) != len(keys):
        raise ValueError(f"{len(keys)} chunks given but chunk_ps lists {len(p['chunk_ps'])} durations")
    shapes = [chunks[k].get_shape("positions") for k in keys]
    if len({s[1:] for s in shapes}) != 1:
        raise ValueError(f"chunks disagree on the atoms: positions shapes {shapes}")
    merged = merge_chunks(_chunk_arrays([chunks[k] for k in keys]), [s[0] for s in shapes], p["chunk_ps"])
    pos, tt = merged.positions, merged.times
    types = chunks[keys[0]].get_array("types").astype(np.int8)
    steps = np.rint(tt / float(p["timestep"])).astype(np.int64)
    out = frames_trajectory(
        pos, merged.lengths, types, steps=steps, times=tt, species=trajectory_species(chunks[keys[0]])
    )
    temps = [chunks[k].get_array("temp") for k in sorted(chunks) if k.startswith("thermo_")]
    temps = [t for t in temps if len(t)]
    summary = {
        "n_frames": int(pos.shape[0]),
        "n_atoms": int(pos.shape[1]),
        "n_al": int(np.count_nonzero(types == CATION_TYPE)),
        "n_chunks": len(keys),
        "record_every_ps": finite_or_none(np.median(np.diff(tt))) if len(tt) > 1 else None,
        "duration_ps": finite_or_none(tt[-1] - tt[0]) if len(tt) else 0.0,
        "max_boundary_mismatch": finite_or_none(merged.max_boundary_mismatch),
        "positions_bytes": int(pos.nbytes),
        "chunk_positions_bytes": merged.chunk_bytes,
        "temperature_target": finite_or_none(p.get("temperature")),
        "temperature_mean": finite_or_none(np.mean(np.concatenate(temps))) if temps else None,
    }
    out.base.attributes.set_many({k: summary[k] for k in ("record_every_ps", "duration_ps")})
    return {"trajectory": out, "summary": orm.Dict(summary)}


@calcfunction
def phop_events(trajectory: orm.TrajectoryData, parameters: orm.Dict) -> dict:
    """p_hop of every Al atom and balanced rearranging (1) / non-rearranging (0) (atom, frame) labels.

    Rules and their parameters (``events`` section): see :func:`~aiida_aloxide.analysis.hop_events.label_events`
    and docs/softness.md. ``max_events`` (optional) caps each class by a seeded random subset.
    Outputs ``events`` (ArrayData: atom, frame, label, time, event_phop; ``phop`` (frames, Al)
    float32 and ``al_index``) and ``counts`` (Dict, with the distinct atoms of each class).
    """
    p = check_parameters("events", parameters.get_dict())
    types = trajectory.get_array("types").astype(np.int64)
    times = np.asarray(trajectory.get_array("times"), dtype=np.float64)
    duration = float(times[-1] - times[0]) if times.size > 1 else 0.0
    for key in ("precursor_lag", "quiet_window", "min_time"):
        if p[key] >= duration:
            raise ValueError(f"events.{key} = {p[key]} ps is not shorter than the trajectory ({duration:g} ps)")
    al = np.nonzero(types == CATION_TYPE)[0]
    ph, lab = label_trajectory(trajectory.get_array("positions")[:, al], times, p)
    keep = cap_per_class(lab.label, p["max_events"], p["seed"])
    frame, local = lab.frame[keep], lab.atom[keep]
    events = orm.ArrayData()
    events.set_array("atom", al[local].astype(np.int64))
    events.set_array("frame", frame.astype(np.int64))
    events.set_array("label", lab.label[keep].astype(np.int8))
    events.set_array("time", times[frame])
    events.set_array("event_phop", ph[frame, local].astype(np.float32))
    # The excursion maximum of each rearranging example (nan for non-rearranging ones): with the
    # precursor rule the example frame itself precedes the rise of p_hop.
    events.set_array("peak_phop", lab.peak_phop[keep].astype(np.float32))
    events.set_array("phop", ph.astype(np.float32))
    events.set_array("al_index", al.astype(np.int64))
    summary = {**event_statistics(ph, lab, keep, times, p["t_r"]), **{k: p[k] for k in EVENT_DEFAULTS}}
    events.base.attributes.set_many(
        {k: summary[k] for k in ("n_events", "n_rearranging", "n_rearranging_atoms", "t_start", "t_end")}
    )
    return {"events": events, "counts": orm.Dict(summary)}


@calcfunction
def example_frames(trajectory: orm.TrajectoryData, events: orm.ArrayData) -> orm.TrajectoryData:
    """The distinct frames of the labelled examples (ascending): positions, cells, steps, times, frame index.

    This is what the ``minimize_frames`` stage of ``aloxide.lammps`` relaxes into inherent structures.
    """
    frames = np.unique(events.get_array("frame").astype(np.int64))
    times = trajectory.get_times()
    out = frames_trajectory(
        trajectory.get_array("positions")[frames],
        cell_lengths(trajectory)[frames],
        trajectory.get_array("types"),
        steps=trajectory.get_stepids()[frames],
        times=None if times is None else times[frames],
        species=trajectory_species(trajectory),
        frame=frames,
    )
    out.base.attributes.set("configuration", "thermal")
    return out


def configurations(
    trajectory: orm.TrajectoryData, frames: np.ndarray, p: Mapping[str, Any], relaxed: orm.TrajectoryData | None
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (len(frames), N, 3) and box lengths (len(frames), 3) of the requested configuration kind."""
    cells = cell_lengths(trajectory)[frames]
    kind = p["configuration"]
    if kind == "inherent":
        if relaxed is None:
            raise ValueError("inherent configurations need the minimised example frames (`relaxed`)")
        wanted = np.unique(frames)
        if relaxed.get_shape("positions")[0] != wanted.size:
            raise ValueError(
                f"`relaxed` holds {relaxed.get_shape('positions')[0]} frames, the examples use {wanted.size}"
            )
        return np.asarray(relaxed.get_array("positions"), dtype=np.float64)[np.searchsorted(wanted, frames)], cells
    positions = trajectory.get_array("positions")
    if kind == "thermal":
        return np.asarray(positions[frames], dtype=np.float64), cells
    times = np.asarray(trajectory.get_array("times"), dtype=np.float64)
    window = frames_of(p["average_window"], float(np.median(np.diff(times))))
    return past_window_average(positions, frames, window), cells


@calcfunction
def event_features(
    trajectory: orm.TrajectoryData,
    events: orm.ArrayData,
    parameters: orm.Dict,
    relaxed: orm.TrajectoryData | None = None,
) -> orm.ArrayData:
    """Structure functions of each labelled Al atom at its frame (+ its Voronoi volume if asked).

    The configuration is the one ``configuration`` names: the thermal snapshot, its past-window
    average over ``average_window`` ps, or its inherent structure (``relaxed``: the minimised
    :func:`example_frames`, in the same order). One structure-function evaluation per distinct
    frame, vectorised over its atoms. Arrays: ``features`` (events, columns) float32, ``label``,
    ``atom``, ``frame``, ``time``; attributes: ``feature_names``, ``structure_functions`` (the full
    keyword set), ``configuration``, ``t_start`` / ``t_end`` of the run (for the time split).
    """
    p = check_parameters("features", parameters.get_dict())
    # Columns named by the frames' elements (G_Si_1.6 for silica); alumina's stay as they always were.
    default = frames_material(trajectory).name == DEFAULT_MATERIAL
    sf = structure_function_parameters(p, None if default else trajectory_species(trajectory))
    atom = events.get_array("atom").astype(np.int64)
    frame = events.get_array("frame").astype(np.int64)
    types = trajectory.get_array("types").astype(np.int64)
    times = np.asarray(trajectory.get_array("times"), dtype=np.float64)
    positions, cells = configurations(trajectory, np.unique(frame), p, relaxed)
    empty = None if frame.size else (trajectory.get_array("positions")[0], cell_lengths(trajectory)[0])
    feats, names = event_feature_matrix(
        positions, cells, types, atom, frame, structure_function_kwargs(sf), p["voronoi"], empty
    )
    out = orm.ArrayData()
    out.set_array("features", feats)
    out.set_array("label", events.get_array("label").astype(np.int8))
    out.set_array("atom", atom)
    out.set_array("frame", frame)
    out.set_array("time", times[frame] if frame.size else np.zeros(0))
    out.base.attributes.set_many(
        {
            "feature_names": names,
            "n_features": len(names),
            "n_events": int(atom.size),
            "n_rearranging": int(np.count_nonzero(events.get_array("label") == 1)),
            "structure_functions": sf,
            "configuration": p["configuration"],
            "average_window": float(p["average_window"]) if p["configuration"] == "time_averaged" else None,
            "t_start": finite_or_none(times[0]),
            "t_end": finite_or_none(times[-1]),
        }
    )
    return out
