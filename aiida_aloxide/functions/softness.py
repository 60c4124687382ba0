"""Calcfunctions of the softness half of the study (SPEC §5): nodes in, nodes out.

Thin wrappers around :mod:`aiida_aloxide.analysis` (``phop``, ``structure_functions``,
``softness``, ``clusters``, ``coordination``, ``voronoi``):

* :func:`merge_trajectories` — chunks of the recorded NVT run → one continuous trajectory;
* :func:`phop_events` — p_hop of every Al atom, rearranging / non-rearranging (atom, frame) labels;
* :func:`event_features` — structure functions (+ Voronoi volume) of the labelled atoms;
* :func:`train_softness` — the SVM on every pressure's events, validation splits, ablations,
  cross-pressure table → :class:`~aiida_aloxide.data.softness_model.SoftnessModelData` + report;
* :func:`softness_of_frames`, :func:`softness_clusters`, :func:`rearrangement_probability_fn` —
  the model applied to the frames of a tension run.

Big per-atom arrays go to the repository (float32 where the precision is not needed further
on); the numbers people filter on are ``Dict`` / node attributes and are never NaN (None).
Every function is deterministic for its inputs (seeds are parameters), so caching can reuse it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from aiida import orm

from ..analysis.clusters import AL_AL_CUTOFF, find_clusters, rearrangement_probability, top_fraction_mask
from ..analysis.configurations import CONFIGURATION_KINDS, past_window_average
from ..analysis.coordination import AL_O_CUTOFF, coordination_numbers
from ..analysis.phop import (
    HOP_KINDS,
    NON_REARRANGING_RULES,
    NON_REARRANGING_THRESHOLD,
    REARRANGING_FRAMES,
    REARRANGING_THRESHOLD,
    T_R,
    label_events,
    phop,
    window_half_width,
)
from ..analysis.softness import accuracy as model_accuracy
from ..analysis.softness import (
    balanced_accuracy,
    candidate_subsets,
    default_ablation_subsets,
    domain_bounds,
    out_of_domain,
    predict,
    repeated_grouped_cv,
    select_model,
    train_softness_model,
    train_test_grouped,
    train_test_time_split,
)
from ..analysis.softness import softness as softness_values
from ..analysis.structure_functions import (
    ANGULAR_CUTOFF,
    RADIAL_L,
    RADIAL_MUS,
    default_radial_cutoff,
    scaled_angular_parameters,
    structure_functions,
)
from ..analysis.voronoi import voronoi_volumes
from ..data.softness_model import SoftnessModelData
from ..potentials import SPECIES_TYPES
from ..trajectory import cell_lengths, frames_trajectory
from ..values import finite_or_none
from .versioning import calcfunction

__all__ = [
    "CLUSTER_DEFAULTS",
    "EVENT_DEFAULTS",
    "FEATURE_DEFAULTS",
    "REARRANGEMENT_DEFAULTS",
    "TRAINING_DEFAULTS",
    "VORONOI_COLUMN",
    "check_parameters",
    "event_features",
    "merge_trajectories",
    "phop_events",
    "rearrangement_probability_fn",
    "softness_clusters",
    "softness_of_frames",
    "structure_function_parameters",
    "train_softness",
]

_AL, _O = SPECIES_TYPES["Al"], SPECIES_TYPES["O"]
#: Name of the optional Voronoi-volume feature column.
VORONOI_COLUMN = "voronoi_volume"

#: :func:`phop_events` parameters (Du et al. 2021: t_R = 6 ps, 0.2 / 0.05 Å²). Durations in ps.
#: The labelling rules follow the softness literature (Cubuk 2015, Schoenholz 2016): a rearranging
#: example is the structure t_R/2 before its excursion, a non-rearranging one an atom that stays
#: below the lower threshold for t_R on either side (docs/softness.md, docs/validation.md).
EVENT_DEFAULTS: dict[str, Any] = {
    "t_r": T_R,
    "rearranging_threshold": REARRANGING_THRESHOLD,
    "non_rearranging_threshold": NON_REARRANGING_THRESHOLD,
    "seed": 1,
    "max_events": None,
    "rearranging_frame": "precursor",
    "precursor_lag": 3.0,
    "non_rearranging": "quiet",
    "quiet_window": 6.0,
    "release_threshold": None,
    "min_gap": 0.0,
    "hops": "all",
    "return_distance": 0.3,
    "max_per_atom": None,
    "min_time": 0.0,
    "frame_spacing": 1.0,
}
#: :func:`event_features` parameters; ``radial_cutoff`` None = largest μ + 3L (10.6 Å).
FEATURE_DEFAULTS: dict[str, Any] = {
    "radial": True,
    "angular": True,
    "voronoi": True,
    "radial_cutoff": None,
    "angular_cutoff": ANGULAR_CUTOFF,
    "configuration": "inherent",
    "average_window": 3.0,
}
#: :func:`train_softness` parameters; ``model_features`` "structure" (G + Ψ) or "all" (+ Voronoi).
TRAINING_DEFAULTS: dict[str, Any] = {
    "C": 1.0,
    "Cs": [0.1, 1.0],
    "test_size": 0.2,
    "seed": 0,
    "train_fraction": 0.8,
    "time_gap": T_R,
    "model_features": "select",
    "cv_folds": 5,
    "cv_repeats": 10,
    "inner_folds": 3,
    "ablation_repeats": 5,
    "source": "trained",
}
#: ``model_features`` values: chosen inside the folds, or one fixed subset of columns.
MODEL_FEATURES = ("select", "structure", "all", "radial", "radial_short", "angular")
#: :func:`softness_clusters` parameters (top 10 % Al, Al–Al cut-off 3.7 Å).
CLUSTER_DEFAULTS: dict[str, Any] = {"top_fraction": 0.1, "cutoff": AL_AL_CUTOFF}
#: :func:`rearrangement_probability_fn` parameters; ``final_strain`` None = last frame.
REARRANGEMENT_DEFAULTS: dict[str, Any] = {
    "al_o_cutoff": AL_O_CUTOFF,
    "coordination": 5,
    "final_strain": None,
    "bins": 10,
}


# ---------------------------------------------------------------------------------------------
# Parameter handling
# ---------------------------------------------------------------------------------------------

#: Fewer labelled events than this make the SVM statistics meaningless (the paper had ~16,000).
MIN_MEANINGFUL_EVENTS = 200
#: Bounds of the checked parameters: seeds fit 32 bits, neighbour cut-offs stay local (Å), bins stay few.
MAX_SEED = 2**32 - 1
MAX_CUTOFF = 20.0
MAX_BINS = 10_000
#: Longest duration (ps) a labelling window may span.
MAX_DURATION = 1.0e5


def _number(p: dict, key: str, *, lo: float | None = None, hi: float | None = None, integer: bool = False) -> None:
    v = p[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"parameter {key!r} must be a finite number, got {v!r}")
    if integer and int(v) != v:
        raise ValueError(f"parameter {key!r} must be an integer, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"parameter {key!r} must lie in [{lo}, {hi}], got {v!r}")


def _choice(p: dict, key: str, allowed: tuple[str, ...]) -> None:
    if p[key] not in allowed:
        raise ValueError(f"parameter {key!r} must be one of {list(allowed)}, got {p[key]!r}")


def check_parameters(kind: str, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults + ``parameters`` for ``kind`` (events/features/training/clusters/rearrangement), checked.

    Raises ValueError naming the key, so work chains can refuse bad input before anything runs.
    """
    defaults = {
        "events": EVENT_DEFAULTS,
        "features": FEATURE_DEFAULTS,
        "training": TRAINING_DEFAULTS,
        "clusters": CLUSTER_DEFAULTS,
        "rearrangement": REARRANGEMENT_DEFAULTS,
    }[kind]
    given = dict(parameters or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"unknown {kind} parameter(s) {unknown}; allowed: {sorted(defaults)}")
    p = {**defaults, **given}
    if kind == "events":
        _number(p, "t_r", lo=1e-6, hi=1000.0)
        _number(p, "rearranging_threshold", lo=0.0)
        _number(p, "non_rearranging_threshold", lo=0.0, hi=p["rearranging_threshold"])
        _number(p, "seed", lo=0, hi=MAX_SEED, integer=True)
        if p["max_events"] is not None:
            _number(p, "max_events", lo=1, hi=10**9, integer=True)
        _choice(p, "rearranging_frame", REARRANGING_FRAMES)
        _choice(p, "non_rearranging", NON_REARRANGING_RULES)
        _choice(p, "hops", HOP_KINDS)
        for key in ("precursor_lag", "quiet_window", "min_gap", "min_time"):
            _number(p, key, lo=0.0, hi=MAX_DURATION)
        _number(p, "frame_spacing", lo=1e-6, hi=MAX_DURATION)
        _number(p, "return_distance", lo=1e-6, hi=MAX_CUTOFF)
        if p["release_threshold"] is not None:
            _number(p, "release_threshold", lo=0.0, hi=p["rearranging_threshold"])
        if p["max_per_atom"] is not None:
            _number(p, "max_per_atom", lo=1, hi=10**9, integer=True)
    elif kind == "features":
        for key in ("radial", "angular", "voronoi"):
            if not isinstance(p[key], bool):
                raise ValueError(f"parameter {key!r} must be a bool, got {p[key]!r}")
        if not (p["radial"] or p["angular"]):
            raise ValueError("at least one of 'radial' and 'angular' must be true")
        if p["radial_cutoff"] is not None:
            _number(p, "radial_cutoff", lo=1e-6, hi=MAX_CUTOFF)
        _number(p, "angular_cutoff", lo=1e-6, hi=MAX_CUTOFF)
        _choice(p, "configuration", CONFIGURATION_KINDS)
        _number(p, "average_window", lo=0.0, hi=MAX_DURATION)
    elif kind == "training":
        _number(p, "C", lo=1e-12, hi=1e6)
        _number(p, "test_size", lo=1e-6, hi=1.0 - 1e-6)
        _number(p, "seed", lo=0, hi=MAX_SEED, integer=True)
        _number(p, "train_fraction", lo=1e-6, hi=1.0 - 1e-6)
        _number(p, "time_gap", lo=0.0, hi=MAX_DURATION)
        _choice(p, "model_features", MODEL_FEATURES)
        cs = p["Cs"]
        if not isinstance(cs, list | tuple) or not cs:
            raise ValueError("parameter 'Cs' must be a non-empty list of penalties")
        for k, c in enumerate(cs):
            _number({f"Cs[{k}]": c}, f"Cs[{k}]", lo=1e-12, hi=1e6)
        _number(p, "cv_folds", lo=2, hi=100, integer=True)
        _number(p, "cv_repeats", lo=1, hi=1000, integer=True)
        _number(p, "inner_folds", lo=2, hi=100, integer=True)
        _number(p, "ablation_repeats", lo=1, hi=1000, integer=True)
        if not isinstance(p["source"], str) or not 0 < len(p["source"]) <= 200:
            raise ValueError("parameter 'source' must be a short string naming where the data came from")
    elif kind == "clusters":
        _number(p, "top_fraction", lo=0.0, hi=1.0)
        _number(p, "cutoff", lo=1e-6, hi=MAX_CUTOFF)
    elif kind == "rearrangement":
        _number(p, "al_o_cutoff", lo=1e-6, hi=MAX_CUTOFF)
        _number(p, "coordination", lo=0, integer=True)
        if p["final_strain"] is not None:
            _number(p, "final_strain")
        bins = p["bins"]
        if isinstance(bins, list):
            numbers = all(isinstance(b, int | float) and not isinstance(b, bool) and math.isfinite(b) for b in bins)
            if not 2 <= len(bins) <= MAX_BINS + 1 or not numbers:
                raise ValueError(f"parameter 'bins' as a list must hold 2 to {MAX_BINS + 1} finite edges")
            if np.any(np.diff(bins) <= 0):
                raise ValueError("parameter 'bins' edges must increase")
        else:
            _number(p, "bins", lo=1, hi=MAX_BINS, integer=True)
    return p


def structure_function_parameters(features: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Full keyword set of ``structure_functions`` for the ``features`` parameters (JSON-safe)."""
    p = check_parameters("features", features)
    return {
        "center_type": _AL,
        "species": [_AL, _O],
        "mus": [float(m) for m in RADIAL_MUS],
        "width": float(RADIAL_L),
        "radial_cutoff": float(default_radial_cutoff() if p["radial_cutoff"] is None else p["radial_cutoff"]),
        "angular_params": [[float(x), int(lam), int(z)] for x, lam, z in scaled_angular_parameters()],
        "angular_cutoff": float(p["angular_cutoff"]),
        "radial": bool(p["radial"]),
        "angular": bool(p["angular"]),
    }


def _sf_kwargs(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Stored structure-function parameters → keyword arguments (``center_type`` removed)."""
    kw = dict(stored)
    kw.pop("center_type", None)
    kw["angular_params"] = [tuple(x) for x in kw["angular_params"]]
    kw["mus"] = np.asarray(kw["mus"], dtype=np.float64)
    return kw


# ---------------------------------------------------------------------------------------------
# Trajectory of the thermal dynamics
# ---------------------------------------------------------------------------------------------


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
    # Filled chunk by chunk (each chunk's arrays dropped after use): peak memory = result + one chunk.
    pos = np.empty((sum(s[0] for s in shapes) - (len(keys) - 1), *shapes[0][1:]), dtype=np.float64)
    lengths, times = [], []
    row, offset_t, last, mismatch, chunk_bytes = 0, 0.0, None, 0.0, 0
    for c, key in enumerate(keys):
        traj = chunks[key]
        chunk = traj.get_array("positions")
        chunk_bytes += int(chunk.nbytes)
        box = cell_lengths(traj)
        t = np.asarray(traj.get_array("times"), dtype=np.float64)
        t = t - t[0]
        start, shift = 0, 0.0
        if last is not None:
            # Whole-box shift that maps the repeated frame onto the previous chunk's last frame.
            shift = np.round((last - chunk[0]) / box[0]) * box[0]
            mismatch = max(mismatch, float(np.abs(chunk[0] + shift - last).max()))
            start = 1
        n = chunk.shape[0] - start
        np.add(chunk[start:], shift, out=pos[row : row + n])
        lengths.append(box[start:])
        times.append(t[start:] + offset_t)
        offset_t += float(p["chunk_ps"][c])
        if n:
            last = pos[row + n - 1].copy()
        row += n
        traj.clear_internal_cache()
    tt = np.concatenate(times)
    types = chunks[keys[0]].get_array("types").astype(np.int8)
    out = frames_trajectory(
        pos, np.concatenate(lengths), types, steps=np.rint(tt / float(p["timestep"])).astype(np.int64), times=tt
    )
    temps = [chunks[k].get_array("temp") for k in sorted(chunks) if k.startswith("thermo_")]
    temps = [t for t in temps if len(t)]
    summary = {
        "n_frames": int(pos.shape[0]),
        "n_atoms": int(pos.shape[1]),
        "n_al": int(np.count_nonzero(types == _AL)),
        "n_chunks": len(keys),
        "record_every_ps": finite_or_none(np.median(np.diff(tt))) if len(tt) > 1 else None,
        "duration_ps": finite_or_none(tt[-1] - tt[0]) if len(tt) else 0.0,
        "max_boundary_mismatch": finite_or_none(mismatch),
        "positions_bytes": int(pos.nbytes),
        "chunk_positions_bytes": chunk_bytes,
        "temperature_target": finite_or_none(p.get("temperature")),
        "temperature_mean": finite_or_none(np.mean(np.concatenate(temps))) if temps else None,
    }
    out.base.attributes.set_many({k: summary[k] for k in ("record_every_ps", "duration_ps")})
    return {"trajectory": out, "summary": orm.Dict(summary)}


# ---------------------------------------------------------------------------------------------
# Events and features
# ---------------------------------------------------------------------------------------------


def _frames_of(ps: float, step: float) -> int:
    """A duration in ps as a whole number of frame intervals (rounded)."""
    return int(round(float(ps) / step))


def label_trajectory(positions: np.ndarray, times: np.ndarray, p: Mapping[str, Any]):
    """p_hop of the given atoms and their labelled examples under the ``events`` parameters ``p``.

    Durations in ps become frame counts with the trajectory's frame interval; example frames
    are moved down onto a grid of ``frame_spacing`` ps (shared configurations for the inherent
    structures) and start at ``min_time``. Returns ``(p_hop, LabelledEvents)``.
    """
    step = float(np.median(np.diff(times)))
    h = window_half_width(times, p["t_r"])
    ph = phop(positions, times, p["t_r"])
    spacing = max(1, _frames_of(p["frame_spacing"], step))
    lab = label_events(
        ph,
        rearranging_threshold=p["rearranging_threshold"],
        non_rearranging_threshold=p["non_rearranging_threshold"],
        seed=int(p["seed"]),
        rearranging_frame=p["rearranging_frame"],
        precursor_lag=_frames_of(p["precursor_lag"], step),
        non_rearranging=p["non_rearranging"],
        quiet_window=_frames_of(p["quiet_window"], step),
        release_threshold=p["release_threshold"],
        min_gap=_frames_of(p["min_gap"], step),
        hops=p["hops"],
        positions=positions if p["hops"] != "all" else None,
        cage_frames=h,
        return_distance=p["return_distance"],
        max_per_atom=p["max_per_atom"],
        min_frame=_frames_of(p["min_time"], step),
        frame_spacing=spacing,
    )
    return ph, lab


@calcfunction
def phop_events(trajectory: orm.TrajectoryData, parameters: orm.Dict) -> dict:
    """p_hop of every Al atom and balanced rearranging (1) / non-rearranging (0) (atom, frame) labels.

    Rules and their parameters (``events`` section): see :func:`~aiida_aloxide.analysis.phop.label_events`
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
    al = np.nonzero(types == _AL)[0]
    positions = trajectory.get_array("positions")[:, al]
    ph, lab = label_trajectory(positions, times, p)
    keep = np.arange(lab.label.size)
    if p["max_events"] is not None:
        rng = np.random.default_rng([int(p["seed"]), 1])
        parts = []
        for cls in (1, 0):
            idx = np.nonzero(lab.label == cls)[0]
            n = min(int(p["max_events"]), idx.size)
            parts.append(rng.choice(idx, size=n, replace=False) if n < idx.size else idx)
        keep = np.sort(np.concatenate(parts))
    frame, label, local = lab.frame[keep], lab.label[keep], lab.atom[keep]
    events = orm.ArrayData()
    events.set_array("atom", al[local].astype(np.int64))
    events.set_array("frame", frame.astype(np.int64))
    events.set_array("label", label.astype(np.int8))
    events.set_array("time", times[frame])
    events.set_array("event_phop", ph[frame, local].astype(np.float32))
    # The excursion maximum of each rearranging example (nan for non-rearranging ones): with the
    # precursor rule the example frame itself precedes the rise of p_hop.
    events.set_array("peak_phop", lab.peak_phop[keep].astype(np.float32))
    events.set_array("phop", ph.astype(np.float32))
    events.set_array("al_index", al.astype(np.int64))
    n_r, n_n = int(np.count_nonzero(label == 1)), int(np.count_nonzero(label == 0))
    defined = np.isfinite(ph).all(axis=1)
    span = float(times[defined][-1] - times[defined][0]) if defined.sum() > 1 else 0.0
    summary = {
        "n_events": int(label.size),
        "n_rearranging": n_r,
        "n_non_rearranging": n_n,
        "n_rearranging_total": int(lab.n_rearranging_total),
        "n_non_rearranging_total": int(lab.n_non_rearranging_total),
        "n_al": int(al.size),
        "n_frames": int(times.size),
        "n_frames_with_phop": int(defined.sum()),
        "window_half_frames": int(window_half_width(times, p["t_r"])),
        "n_rearranging_atoms": int(np.unique(local[label == 1]).size),
        "n_non_rearranging_atoms": int(np.unique(local[label == 0]).size),
        "n_rearranging_atoms_total": int(lab.n_rearranging_atoms_total),
        "n_excursions": int(lab.n_excursions),
        "n_reversible_excursions": int(lab.n_reversible),
        "n_example_frames": int(np.unique(frame).size),
        "rearranging_rate_per_al_ps": finite_or_none(lab.n_rearranging_total / (al.size * span)) if span > 0 else None,
        "phop_median": finite_or_none(np.nanmedian(ph)) if defined.any() else None,
        "phop_max": finite_or_none(np.nanmax(ph)) if defined.any() else None,
        "t_start": finite_or_none(times[0]),
        "t_end": finite_or_none(times[-1]),
        **{k: p[k] for k in EVENT_DEFAULTS},
    }
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
    window = _frames_of(p["average_window"], float(np.median(np.diff(times))))
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
    sf = structure_function_parameters(p)
    kw = _sf_kwargs(sf)
    atom = events.get_array("atom").astype(np.int64)
    frame = events.get_array("frame").astype(np.int64)
    types = trajectory.get_array("types").astype(np.int64)
    times = np.asarray(trajectory.get_array("times"), dtype=np.float64)
    distinct = np.unique(frame)
    positions, cells = configurations(trajectory, distinct, p, relaxed)
    # Column names from an empty call (no centres): identical to those of every frame.
    names = structure_functions(positions[0] if len(distinct) else trajectory.get_array("positions")[0],
                                cells[0] if len(distinct) else cell_lengths(trajectory)[0], types,
                                centers=np.zeros(0, np.int64), **kw).names  # fmt: skip
    n_col = len(names) + (1 if p["voronoi"] else 0)
    feats = np.zeros((atom.size, n_col), dtype=np.float32)
    for k, f in enumerate(distinct):  # one call per frame, vectorised over its atoms
        rows = np.nonzero(frame == f)[0]
        res = structure_functions(positions[k], cells[k], types, centers=atom[rows], **kw)
        feats[rows, : len(names)] = res.features[np.searchsorted(res.centers, atom[rows])]
        if p["voronoi"]:
            feats[rows, -1] = voronoi_volumes(positions[k], cells[k])[atom[rows]]
    if p["voronoi"]:
        names = [*names, VORONOI_COLUMN]
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


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def _scores(res) -> dict[str, Any]:
    """Accuracy summary of a TrainTestResult (None where undefined)."""
    return {
        "train_accuracy": finite_or_none(res.train_accuracy),
        "test_accuracy": finite_or_none(res.test_accuracy),
        "n_train": res.n_train,
        "n_test": res.n_test,
    }


def _training_arrays(datasets: Mapping[str, orm.ArrayData]):
    """Stack the event features of every sample: X, y, group (sample × atom), times (fraction of the
    run), per-sample arrays, the column names, structure-function parameters and configuration kind."""
    keys = sorted(datasets)
    if not keys:
        raise ValueError("train_softness needs at least one dataset")
    first = datasets[keys[0]].base.attributes
    names = list(first.get("feature_names"))
    sf = first.get("structure_functions")
    kind = first.get("configuration", "thermal")
    window = first.get("average_window", None)
    xs, ys, atoms, tnorm, gaps, per = [], [], [], [], [], {}
    for key in keys:
        node = datasets[key]
        if list(node.base.attributes.get("feature_names")) != names:
            raise ValueError(f"dataset {key!r} has different feature columns than {keys[0]!r}")
        if node.base.attributes.get("configuration", "thermal") != kind:
            raise ValueError(f"dataset {key!r} describes {node.base.attributes.get('configuration')} "
                             f"configurations, {keys[0]!r} {kind} ones")  # fmt: skip
        x = np.asarray(node.get_array("features"), dtype=np.float64)
        y = node.get_array("label").astype(np.int64)
        a = node.get_array("atom").astype(np.int64)
        t0, t1 = node.base.attributes.get("t_start"), node.base.attributes.get("t_end")
        t = node.get_array("time")
        span = (t1 - t0) if t1 and t1 > t0 else 0.0
        xs.append(x)
        ys.append(y)
        atoms.append(a)
        tnorm.append((t - t0) / span if span else np.zeros_like(t))
        gaps.append(span)
        per[key] = {
            "n_events": int(y.size),
            "n_rearranging": int(np.count_nonzero(y == 1)),
            "n_rearranging_atoms": int(np.unique(a[y == 1]).size),
            "n_non_rearranging_atoms": int(np.unique(a[y == 0]).size),
        }
    stride = int(max(int(a.max()) if a.size else 0 for a in atoms)) + 1
    groups = np.concatenate([k * stride + a for k, a in enumerate(atoms)])
    return {
        "keys": keys, "names": names, "sf": sf, "configuration": kind, "average_window": window,
        "x": np.vstack(xs), "y": np.concatenate(ys), "groups": groups, "times": np.concatenate(tnorm),
        "spans": gaps, "xs": xs, "ys": ys, "atoms": atoms, "per": per,
    }  # fmt: skip


def _columns(names: list[str], subset: str) -> list[int]:
    """Column indices of a named feature subset (``all`` adds the Voronoi volume to the structure functions)."""
    subsets = candidate_subsets(names)
    subsets["all"] = [n for n in names if n.startswith(("G_", "Psi_")) or n == VORONOI_COLUMN]
    subsets.update({k: v for k, v in default_ablation_subsets(names, VORONOI_COLUMN).items() if k not in subsets})
    if subset not in subsets:
        raise ValueError(f"unknown feature subset {subset!r}; known: {sorted(subsets)}")
    position = {n: k for k, n in enumerate(names)}
    return [position[n] for n in subsets[subset]]


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
    d = _training_arrays(datasets)
    names, x_all, y_all, groups = d["names"], d["x"], d["y"], d["groups"]
    if np.unique(y_all).size != 2:
        raise ValueError(f"training needs rearranging and non-rearranging events; labels present: {np.unique(y_all)}")
    errors: list[str] = []

    def attempt(label: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as exc:
            errors.append(f"{label}: {exc}")
            return None

    Cs = [float(c) for c in p["Cs"]]
    cv_common = {"folds": int(p["cv_folds"]), "seed": int(p["seed"]), "inner_folds": int(p["inner_folds"])}
    if p["model_features"] == "select":
        pool = candidate_subsets(names)
        choice = attempt("model selection", select_model, x_all, y_all, groups, names, subsets=pool, Cs=Cs,
                         folds=int(p["cv_folds"]), seed=int(p["seed"]))  # fmt: skip
        subset, C = (choice.subset, choice.C) if choice else ("structure", float(p["C"]))
        cv = attempt("cross-validation", repeated_grouped_cv, x_all, y_all, groups, names, subsets=pool, Cs=Cs,
                     repeats=int(p["cv_repeats"]), **cv_common)  # fmt: skip
    else:
        subset, C = p["model_features"], float(p["C"])
        cols_named = [names[i] for i in _columns(names, subset)]
        cv = attempt("cross-validation", repeated_grouped_cv, x_all, y_all, groups, names,
                     subsets={subset: cols_named}, Cs=[C], select=False, repeats=int(p["cv_repeats"]),
                     **cv_common)  # fmt: skip
    cols = _columns(names, subset)
    model_names = [names[i] for i in cols]
    xm = x_all[:, cols]
    common = {"C": C}
    split = {"test_size": float(p["test_size"]), "seed": int(p["seed"]), **common}
    model = train_softness_model(xm, y_all, model_names, **common)
    grouped = attempt("grouped split", train_test_grouped, xm, y_all, groups, model_names, **split)
    gap = max((float(p["time_gap"]) / s for s in d["spans"] if s), default=0.0)
    timed = attempt("time split", train_test_time_split, xm, y_all, d["times"], model_names,
                    train_fraction=float(p["train_fraction"]), t_start=0.0, t_end=1.0, gap=gap, **common)  # fmt: skip
    abl: dict[str, Any] = {}
    for sub, columns in default_ablation_subsets(names, VORONOI_COLUMN).items():
        res = attempt(f"ablation {sub}", repeated_grouped_cv, x_all, y_all, groups, names, subsets={sub: columns},
                      Cs=[C], select=False, repeats=int(p["ablation_repeats"]), **cv_common)  # fmt: skip
        abl[sub] = {**res.to_dict(), "n_features": len(columns)} if res else None
    cross = None
    keys = d["keys"]
    if len(keys) > 1:
        table = np.full((len(keys), len(keys)), np.nan)
        for i, (xi, yi, ai) in enumerate(zip(d["xs"], d["ys"], d["atoms"], strict=True)):
            if np.unique(yi).size != 2:
                errors.append(f"cross pressure: {keys[i]} has one class only")
                continue
            mi = train_softness_model(xi[:, cols], yi, model_names, **common)
            for j, (xj, yj) in enumerate(zip(d["xs"], d["ys"], strict=True)):
                if i != j:
                    table[i, j] = balanced_accuracy(yj, predict(xj[:, cols], mi))
            diag = attempt(f"cross pressure {keys[i]}", repeated_grouped_cv, xi, yi, ai, names,
                           subsets={subset: model_names}, Cs=[C], select=False,
                           repeats=int(p["ablation_repeats"]), **cv_common)  # fmt: skip
            table[i, i] = diag.mean if diag else np.nan
        off = table[~np.eye(len(keys), dtype=bool)]
        off = off[np.isfinite(off)]
        finite = np.where(np.isfinite(table), table, np.inf)
        worst = np.unravel_index(int(np.argmin(finite)), table.shape)
        cross = {
            "keys": keys,
            "accuracy": [[finite_or_none(v) for v in row] for row in table],
            "worst": finite_or_none(table[worst]),
            "worst_train": keys[worst[0]],
            "worst_test": keys[worst[1]],
            "mean_off_diagonal": finite_or_none(off.mean()) if off.size else None,
        }
    g = _scores(grouped) if grouped else {"train_accuracy": None, "test_accuracy": None, "n_train": 0, "n_test": 0}
    n_atoms_r = int(np.unique(groups[y_all == 1]).size)
    cvd = cv.to_dict() if cv else None
    report = {
        **g,
        "full_train_accuracy": finite_or_none(model_accuracy(xm, y_all, model)),
        "time_split": {**_scores(timed), "train_fraction": float(p["train_fraction"]), "gap_ps": float(p["time_gap"])}
        if timed
        else None,
        "cross_validation": cvd,
        "cv_balanced_accuracy": finite_or_none(cvd["balanced_accuracy"]) if cvd else None,
        "cv_balanced_accuracy_std": finite_or_none(cvd["balanced_accuracy_std"]) if cvd else None,
        "ablation": abl,
        "cross_pressure": cross,
        "datasets": d["per"],
        "n_events": int(y_all.size),
        "n_rearranging": int(np.count_nonzero(y_all == 1)),
        "n_rearranging_atoms": n_atoms_r,
        "n_non_rearranging_atoms": int(np.unique(groups[y_all == 0]).size),
        "n_features": len(model_names),
        "model_features": p["model_features"],
        "selected_features": subset,
        "C": C,
        "configuration": d["configuration"],
        "source": p["source"],
        "test_size": float(p["test_size"]),
        "seed": int(p["seed"]),
        "errors": errors,
        "warning": (
            f"only {int(y_all.size)} labelled events from {n_atoms_r} distinct rearranging Al: accuracies and "
            f"softness values are not meaningful below {MIN_MEANINGFUL_EVENTS} events (the paper used about "
            "16,000); run longer or larger samples, or apply the reference model"
            if y_all.size < MIN_MEANINGFUL_EVENTS
            else None
        ),
    }
    node = SoftnessModelData(
        model=model,
        structure_functions=d["sf"],
        configuration=d["configuration"],
        average_window=d["average_window"],
        domain=domain_bounds(xm),
    )
    node.base.attributes.set_many(
        {
            "n_train_events": int(y_all.size),
            "n_rearranging_atoms": n_atoms_r,
            "test_accuracy": report["test_accuracy"],
            "cv_balanced_accuracy": report["cv_balanced_accuracy"],
            "cv_balanced_accuracy_std": report["cv_balanced_accuracy_std"],
            "source": p["source"],
        }
    )
    return {"model": node, "report": orm.Dict(report)}


# ---------------------------------------------------------------------------------------------
# Application to frames (e.g. every strain step of a tension run)
# ---------------------------------------------------------------------------------------------


def _frame_axis(frames: orm.TrajectoryData) -> tuple[np.ndarray, str]:
    """The per-frame abscissa: ``strain`` if stored, else ``times``, else the frame index."""
    names = frames.get_arraynames()
    n = frames.get_shape("positions")[0]
    for key in ("strain", "times"):
        if key in names:
            return np.asarray(frames.get_array(key), dtype=np.float64), key
    return np.arange(n, dtype=np.float64), "index"


def frames_configuration(frames: orm.TrajectoryData) -> str | None:
    """The configuration kind a frames node holds: its ``configuration`` attribute, else what its
    creator implies (plane-strain frames are energy-minimised, plane-stress ones thermal)."""
    kind = frames.base.attributes.get("configuration", None)
    if kind is not None:
        return str(kind)
    creator = frames.creator
    name = getattr(creator, "process_label", None) if creator is not None else None
    return {"collect_plane_strain": "inherent", "collect_plane_stress": "thermal"}.get(name)


def check_configuration(model: SoftnessModelData, frames: orm.TrajectoryData) -> None:
    """Refuse frames of another configuration kind than the model was trained on."""
    kind = frames_configuration(frames)
    if kind is None:
        raise ValueError(
            "the frames do not say which configuration they hold; set their attribute 'configuration' "
            f"to one of {list(CONFIGURATION_KINDS)} (the model was trained on {model.configuration} ones)"
        )
    if kind != model.configuration:
        raise ValueError(
            f"the model was trained on {model.configuration} configurations but the frames are {kind}: "
            "train and apply on the same kind (features.configuration)"
        )


@calcfunction
def softness_of_frames(model: SoftnessModelData, frames: orm.TrajectoryData) -> dict:
    """Softness of every Al atom at every frame (features recomputed with the model's parameters).

    ``frames`` (TrajectoryData): positions (F, N, 3), cells, types, optionally strain and voronoi_volume
    (needed only if the model uses that column); they must hold the configuration kind the model
    was trained on. Atoms with a feature outside the model's training range (plus a margin) are
    flagged out of domain: new surfaces and voids, where a linear model extrapolates. Outputs
    ``softness`` (ArrayData: softness (F, N_Al) float32, out_of_domain (F, N_Al) bool, al_index,
    the abscissa; per frame the mean and median over in-domain Al, the mean over all Al, the
    out-of-domain fraction) and ``summary``.
    """
    check_configuration(model, frames)
    m = model.to_model()
    sf = model.structure_function_parameters
    kw = _sf_kwargs(sf)
    domain = model.domain()
    types = frames.get_array("types").astype(np.int64)
    positions = frames.get_array("positions")
    cells = cell_lengths(frames)
    al = np.nonzero(types == int(sf.get("center_type", _AL)))[0]
    wanted = list(m.feature_names)
    vor = frames.get_array("voronoi_volume") if VORONOI_COLUMN in wanted else None
    if VORONOI_COLUMN in wanted and vor is None:
        raise ValueError("the model uses the Voronoi volume but the frames carry no 'voronoi_volume'")
    n_f = positions.shape[0]
    s = np.zeros((n_f, al.size), dtype=np.float64)
    ood = np.zeros((n_f, al.size), dtype=bool)
    for f in range(n_f):  # one vectorised evaluation per frame
        res = structure_functions(positions[f], cells[f], types, centers=al, **kw)
        table = dict(zip(res.names, res.features.T, strict=True))
        if vor is not None:
            table[VORONOI_COLUMN] = np.asarray(vor[f], dtype=np.float64)[al]
        missing = [n for n in wanted if n not in table]
        if missing:
            raise ValueError(f"features {missing[:3]} of the model cannot be computed from the frames")
        x = np.column_stack([table[n] for n in wanted])
        s[f] = softness_values(x, m)
        if domain is not None:
            ood[f] = out_of_domain(x, *domain)
    axis, axis_name = _frame_axis(frames)
    inside = np.where(ood, np.nan, s)
    with np.errstate(invalid="ignore"):
        mean_in = np.array([np.nanmean(r) if np.isfinite(r).any() else np.nan for r in inside])
        median_in = np.array([np.nanmedian(r) if np.isfinite(r).any() else np.nan for r in inside])
    mean_all, std = s.mean(axis=1), s.std(axis=1)
    out = orm.ArrayData()
    out.set_array("softness", s.astype(np.float32))
    out.set_array("out_of_domain", ood)
    out.set_array("al_index", al.astype(np.int64))
    out.set_array(axis_name if axis_name != "index" else "frame", axis)
    out.set_array("mean", mean_in)
    out.set_array("median", median_in)
    out.set_array("mean_all", mean_all)
    out.set_array("std", std)
    out.set_array("out_of_domain_fraction", ood.mean(axis=1))
    k = int(np.nanargmax(mean_in)) if n_f and np.isfinite(mean_in).any() else 0
    summary = {
        "n_frames": int(n_f),
        "n_al": int(al.size),
        "axis": axis_name,
        "configuration": model.configuration,
        "model_uuid": model.uuid,
        "model_source": model.base.attributes.get("source", None),
        "model_n_train_events": model.base.attributes.get("n_train_events", None),
        "model_cv_balanced_accuracy": model.base.attributes.get("cv_balanced_accuracy", None),
        "model_cv_balanced_accuracy_std": model.base.attributes.get("cv_balanced_accuracy_std", None),
        axis_name: [finite_or_none(v) for v in axis],
        "mean_softness": [finite_or_none(v) for v in mean_in],
        "median_softness": [finite_or_none(v) for v in median_in],
        "out_of_domain_fraction": [finite_or_none(v) for v in ood.mean(axis=1)],
        "fraction_positive": [finite_or_none(v) for v in (s > 0).mean(axis=1)],
        "max_mean_softness": finite_or_none(mean_in[k]) if n_f else None,
        f"{axis_name}_at_max_mean": finite_or_none(axis[k]) if n_f else None,
        "frame_at_max_mean": k,
        "unstrained_mean_softness": finite_or_none(mean_in[0]) if n_f else None,
        "unstrained_median_softness": finite_or_none(median_in[0]) if n_f else None,
        "unstrained_out_of_domain_fraction": finite_or_none(ood[0].mean()) if n_f else None,
    }
    out.base.attributes.set_many(
        {"n_frames": int(n_f), "n_al": int(al.size), "axis": axis_name, "configuration": model.configuration}
    )
    return {"softness": out, "summary": orm.Dict(summary)}


@calcfunction
def softness_clusters(frames: orm.TrajectoryData, softness: orm.ArrayData, parameters: orm.Dict) -> dict:
    """High-softness clusters per frame: the ``top_fraction`` softest Al, linked within ``cutoff``.

    Outputs ``clusters`` (ArrayData: n_clusters, largest, n_selected (F,) and labels (F, N_Al)
    int32, −1 = not selected, clusters numbered by decreasing size) and ``summary`` (the per-frame
    lists, the unstrained values and the frame / abscissa of the largest cluster).
    """
    p = check_parameters("clusters", parameters.get_dict())
    s = softness.get_array("softness")
    al = softness.get_array("al_index").astype(np.int64)
    positions = frames.get_array("positions")
    cells = cell_lengths(frames)
    if positions.shape[0] != s.shape[0]:
        raise ValueError(f"frames hold {positions.shape[0]} frames but softness {s.shape[0]}")
    n_f = s.shape[0]
    n_clusters = np.zeros(n_f, dtype=np.int64)
    largest = np.zeros(n_f, dtype=np.int64)
    selected = np.zeros(n_f, dtype=np.int64)
    labels = np.full(s.shape, -1, dtype=np.int32)
    names = softness.get_arraynames()
    ood = softness.get_array("out_of_domain") if "out_of_domain" in names else np.zeros(s.shape, dtype=bool)
    for f in range(n_f):  # one connected-component search per frame
        # Out-of-domain atoms (no trustworthy softness) are never among the softest.
        mask = top_fraction_mask(np.where(ood[f], np.nan, s[f]), float(p["top_fraction"]))
        res = find_clusters(np.asarray(positions[f], dtype=np.float64)[al], cells[f], mask, float(p["cutoff"]))
        n_clusters[f], largest[f], selected[f] = res.n_clusters, res.largest, int(mask.sum())
        labels[f] = res.labels
    axis, axis_name = _frame_axis(frames)
    out = orm.ArrayData()
    for name, arr in (("n_clusters", n_clusters), ("largest", largest), ("n_selected", selected)):
        out.set_array(name, arr)
    out.set_array("labels", labels)
    out.set_array(axis_name if axis_name != "index" else "frame", axis)
    k = int(np.argmax(largest)) if n_f else 0
    summary = {
        "top_fraction": float(p["top_fraction"]),
        "cutoff": float(p["cutoff"]),
        "axis": axis_name,
        axis_name: [finite_or_none(v) for v in axis],
        "n_clusters": n_clusters.tolist(),
        "largest": largest.tolist(),
        "n_selected": selected.tolist(),
        "unstrained_n_clusters": int(n_clusters[0]) if n_f else 0,
        "unstrained_largest": int(largest[0]) if n_f else 0,
        "max_largest": int(largest[k]) if n_f else 0,
        f"{axis_name}_at_max_largest": finite_or_none(axis[k]) if n_f else None,
    }
    return {"clusters": out, "summary": orm.Dict(summary)}


@calcfunction
def rearrangement_probability_fn(frames: orm.TrajectoryData, softness: orm.ArrayData, parameters: orm.Dict) -> dict:
    """P_R(S): fraction of Al atoms of the given initial CN (Al5) whose CN has decreased by the final strain.

    Binned by each atom's softness in the first (unstrained) frame, with the exponential fit
    P_R = exp(a S + b). ``final_strain`` picks the frame nearest that strain (default: the last).
    Outputs ``probability`` (ArrayData: edges, centers, probability (nan = empty bin), counts,
    n_decreased) and ``summary`` (fit a, b, r2, counts, the final strain).
    """
    p = check_parameters("rearrangement", parameters.get_dict())
    types = frames.get_array("types").astype(np.int64)
    positions = frames.get_array("positions")
    cells = cell_lengths(frames)
    s0 = np.asarray(softness.get_array("softness")[0], dtype=np.float64)
    al_mask, o_mask = types == _AL, types == _O
    if not np.array_equal(np.nonzero(al_mask)[0], softness.get_array("al_index")):
        raise ValueError("softness and frames disagree on the Al atoms")
    axis, axis_name = _frame_axis(frames)
    final = axis.size - 1 if p["final_strain"] is None else int(np.argmin(np.abs(axis - p["final_strain"])))
    cut = float(p["al_o_cutoff"])
    cn0 = coordination_numbers(np.asarray(positions[0], np.float64), cells[0], al_mask, o_mask, cut)
    cn1 = coordination_numbers(np.asarray(positions[final], np.float64), cells[final], al_mask, o_mask, cut)
    names = softness.get_arraynames()
    ood0 = softness.get_array("out_of_domain")[0] if "out_of_domain" in names else np.zeros(s0.shape, dtype=bool)
    sel = (cn0 == int(p["coordination"])) & ~ood0  # atoms with a trustworthy unstrained softness
    decreased = cn1[sel] < cn0[sel]
    bins = p["bins"] if isinstance(p["bins"], list) else int(p["bins"])
    res = rearrangement_probability(s0[sel], decreased, bins=bins) if sel.any() else None
    out = orm.ArrayData()
    if res is not None:
        for name in ("edges", "centers", "probability"):
            out.set_array(name, np.asarray(getattr(res, name), dtype=np.float64))
        out.set_array("counts", res.counts)
        out.set_array("n_decreased", res.n_decreased)
    out.set_array("cn_initial", cn0.astype(np.int8))
    out.set_array("cn_final", cn1.astype(np.int8))
    summary = {
        "coordination": int(p["coordination"]),
        "n_selected": int(sel.sum()),
        "n_decreased": int(decreased.sum()),
        "fraction_decreased": finite_or_none(decreased.mean()) if sel.any() else None,
        "final_frame": final,
        f"final_{axis_name}": finite_or_none(axis[final]),
        "fit_a": finite_or_none(res.fit.a) if res else None,
        "fit_b": finite_or_none(res.fit.b) if res else None,
        "fit_r2": finite_or_none(res.fit.r2) if res else None,
        "probability": [finite_or_none(v) for v in res.probability] if res else [],
        "centers": [finite_or_none(v) for v in res.centers] if res else [],
    }
    return {"probability": out, "summary": orm.Dict(summary)}
