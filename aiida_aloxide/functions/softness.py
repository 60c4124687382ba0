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
from aiida.engine import calcfunction

from ..analysis.clusters import AL_AL_CUTOFF, find_clusters, rearrangement_probability, top_fraction_mask
from ..analysis.coordination import AL_O_CUTOFF, coordination_numbers
from ..analysis.phop import (
    NON_REARRANGING_THRESHOLD,
    REARRANGING_THRESHOLD,
    T_R,
    label_events,
    phop,
    window_half_width,
)
from ..analysis.softness import (
    ablation,
    cross_pressure_table,
    cross_validated_accuracy,
    default_ablation_subsets,
    train_softness_model,
    train_test_grouped,
    train_test_time_split,
)
from ..analysis.softness import accuracy as model_accuracy
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
from ..values import finite_or_none

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

#: :func:`phop_events` parameters (Du et al. 2021: t_R = 6 ps, 0.2 / 0.05 Å²).
EVENT_DEFAULTS: dict[str, Any] = {
    "t_r": T_R,
    "rearranging_threshold": REARRANGING_THRESHOLD,
    "non_rearranging_threshold": NON_REARRANGING_THRESHOLD,
    "seed": 1,
    "max_events": None,
}
#: :func:`event_features` parameters; ``radial_cutoff`` None = largest μ + 3L (10.6 Å).
FEATURE_DEFAULTS: dict[str, Any] = {
    "radial": True,
    "angular": True,
    "voronoi": True,
    "radial_cutoff": None,
    "angular_cutoff": ANGULAR_CUTOFF,
}
#: :func:`train_softness` parameters; ``model_features`` "structure" (G + Ψ) or "all" (+ Voronoi).
TRAINING_DEFAULTS: dict[str, Any] = {
    "C": 1.0,
    "test_size": 0.2,
    "seed": 0,
    "train_fraction": 0.8,
    "model_features": "structure",
}
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


def _number(p: dict, key: str, *, lo: float | None = None, hi: float | None = None, integer: bool = False) -> None:
    v = p[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"parameter {key!r} must be a finite number, got {v!r}")
    if integer and int(v) != v:
        raise ValueError(f"parameter {key!r} must be an integer, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"parameter {key!r} must lie in [{lo}, {hi}], got {v!r}")


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
    elif kind == "features":
        for key in ("radial", "angular", "voronoi"):
            if not isinstance(p[key], bool):
                raise ValueError(f"parameter {key!r} must be a bool, got {p[key]!r}")
        if not (p["radial"] or p["angular"]):
            raise ValueError("at least one of 'radial' and 'angular' must be true")
        if p["radial_cutoff"] is not None:
            _number(p, "radial_cutoff", lo=1e-6, hi=MAX_CUTOFF)
        _number(p, "angular_cutoff", lo=1e-6, hi=MAX_CUTOFF)
    elif kind == "training":
        _number(p, "C", lo=1e-12, hi=1e6)
        _number(p, "test_size", lo=1e-6, hi=1.0 - 1e-6)
        _number(p, "seed", lo=0, hi=MAX_SEED, integer=True)
        _number(p, "train_fraction", lo=1e-6, hi=1.0 - 1e-6)
        if p["model_features"] not in ("structure", "all"):
            raise ValueError(f"parameter 'model_features' must be 'structure' or 'all', got {p['model_features']!r}")
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
    temperature. Outputs ``trajectory`` (ArrayData) and ``summary`` (Dict).
    """
    p = parameters.get_dict()
    keys = sorted(k for k in chunks if k.startswith("chunk_"))
    if not keys:
        raise ValueError("no chunk_<k> trajectories given")
    if len(p["chunk_ps"]) != len(keys):
        raise ValueError(f"{len(keys)} chunks given but chunk_ps lists {len(p['chunk_ps'])} durations")
    positions, cells, times = [], [], []
    offset_t, last, mismatch, chunk_bytes = 0.0, None, 0.0, 0
    for c, key in enumerate(keys):
        traj = chunks[key]
        pos = traj.get_array("positions").astype(np.float32, copy=False)
        chunk_bytes += int(pos.nbytes)
        cel = np.asarray(traj.get_array("cells"), dtype=np.float64)
        t = np.asarray(traj.get_array("times"), dtype=np.float64)
        t = t - t[0]
        if last is not None:
            # Whole-box shift that maps the repeated frame onto the previous chunk's last frame.
            shift = np.round((last - pos[0].astype(np.float64)) / cel[0]) * cel[0]
            pos = (pos.astype(np.float64) + shift).astype(np.float32)
            mismatch = max(mismatch, float(np.abs(pos[0].astype(np.float64) - last).max()))
            pos, cel, t = pos[1:], cel[1:], t[1:]
        positions.append(pos)
        cells.append(cel)
        times.append(t + offset_t)
        offset_t += float(p["chunk_ps"][c])
        if len(pos):
            last = pos[-1].astype(np.float64)
    out = orm.ArrayData()
    pos = np.concatenate(positions)
    tt = np.concatenate(times)
    out.set_array("positions", pos)
    out.set_array("cells", np.concatenate(cells))
    out.set_array("times", tt)
    out.set_array("steps", np.rint(tt / float(p["timestep"])).astype(np.int64))
    types = chunks[keys[0]].get_array("types").astype(np.int8)
    out.set_array("types", types)
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
    out.base.attributes.set_many({k: summary[k] for k in ("n_frames", "n_atoms", "record_every_ps", "duration_ps")})
    return {"trajectory": out, "summary": orm.Dict(summary)}


# ---------------------------------------------------------------------------------------------
# Events and features
# ---------------------------------------------------------------------------------------------


@calcfunction
def phop_events(trajectory: orm.ArrayData, parameters: orm.Dict) -> dict:
    """p_hop of every Al atom and balanced rearranging (1) / non-rearranging (0) (atom, frame) labels.

    Rearranging: one event per excursion of p_hop above ``rearranging_threshold`` (at its peak);
    non-rearranging: as many (atom, frame) with p_hop below ``non_rearranging_threshold``, drawn
    with ``seed``. ``max_events`` (optional) caps each class by a seeded random subset. Outputs
    ``events`` (ArrayData: atom, frame, label, time, event_phop; ``phop`` (frames, Al) float32 and
    ``al_index``) and ``counts`` (Dict).
    """
    p = check_parameters("events", parameters.get_dict())
    types = trajectory.get_array("types").astype(np.int64)
    times = np.asarray(trajectory.get_array("times"), dtype=np.float64)
    al = np.nonzero(types == _AL)[0]
    ph = phop(trajectory.get_array("positions")[:, al], times, p["t_r"])
    lab = label_events(
        ph,
        rearranging_threshold=p["rearranging_threshold"],
        non_rearranging_threshold=p["non_rearranging_threshold"],
        seed=int(p["seed"]),
    )
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
        "rearranging_rate_per_al_ps": finite_or_none(lab.n_rearranging_total / (al.size * span)) if span > 0 else None,
        "phop_median": finite_or_none(np.nanmedian(ph)) if defined.any() else None,
        "phop_max": finite_or_none(np.nanmax(ph)) if defined.any() else None,
        "t_start": finite_or_none(times[0]),
        "t_end": finite_or_none(times[-1]),
        **{k: p[k] for k in ("t_r", "rearranging_threshold", "non_rearranging_threshold", "seed", "max_events")},
    }
    events.base.attributes.set_many({k: summary[k] for k in ("n_events", "n_rearranging", "t_start", "t_end")})
    return {"events": events, "counts": orm.Dict(summary)}


@calcfunction
def event_features(trajectory: orm.ArrayData, events: orm.ArrayData, parameters: orm.Dict) -> orm.ArrayData:
    """Structure functions of each labelled Al atom at its frame (+ its Voronoi volume if asked).

    One structure-function evaluation per distinct event frame (centres = that frame's event
    atoms); with ``voronoi`` the frame is tessellated once and the column ``voronoi_volume`` (Å³)
    is appended. Arrays: ``features`` (events, columns) float32, ``label``, ``atom``, ``frame``,
    ``time``; attributes: ``feature_names``, ``structure_functions`` (the full keyword set),
    ``t_start`` / ``t_end`` of the run (for the time split).
    """
    p = check_parameters("features", parameters.get_dict())
    sf = structure_function_parameters(p)
    kw = _sf_kwargs(sf)
    atom = events.get_array("atom").astype(np.int64)
    frame = events.get_array("frame").astype(np.int64)
    types = trajectory.get_array("types").astype(np.int64)
    positions = trajectory.get_array("positions")
    cells = np.asarray(trajectory.get_array("cells"), dtype=np.float64)
    times = np.asarray(trajectory.get_array("times"), dtype=np.float64)
    # Column names from an empty call (no centres): identical to those of every frame.
    names = structure_functions(positions[0], cells[0], types, centers=np.zeros(0, np.int64), **kw).names
    n_col = len(names) + (1 if p["voronoi"] else 0)
    feats = np.zeros((atom.size, n_col), dtype=np.float32)
    for f in np.unique(frame):  # one call per frame, vectorised over its atoms
        rows = np.nonzero(frame == f)[0]
        res = structure_functions(positions[f], cells[f], types, centers=atom[rows], **kw)
        feats[rows, : len(names)] = res.features[np.searchsorted(res.centers, atom[rows])]
        if p["voronoi"]:
            feats[rows, -1] = voronoi_volumes(positions[f], cells[f])[atom[rows]]
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


@calcfunction
def train_softness(parameters: orm.Dict, **datasets) -> dict:
    """Train the softness SVM on the event features of every sample (keys = pressure labels).

    ``model``: SVM on all events of all samples (structure functions; with
    ``model_features="all"`` also the Voronoi column). ``report`` (Dict): grouped split (no atom
    of a sample in both sets) train/test accuracy, time split (first ``train_fraction`` of each
    run trains), ablations (radial / angular / structure / Voronoi / all + Voronoi), the
    cross-pressure table (train on p, test on q; diagonal = held-out accuracy) and event counts.
    A validation that cannot be computed (e.g. a split with one class only) is None with the
    reason in ``errors``.
    """
    p = check_parameters("training", parameters.get_dict())
    keys = sorted(datasets)
    if not keys:
        raise ValueError("train_softness needs at least one dataset")
    names = list(datasets[keys[0]].base.attributes.get("feature_names"))
    sf = datasets[keys[0]].base.attributes.get("structure_functions")
    xs, ys, atoms, tnorm, per = [], [], [], [], {}
    for key in keys:
        node = datasets[key]
        if list(node.base.attributes.get("feature_names")) != names:
            raise ValueError(f"dataset {key!r} has different feature columns than {keys[0]!r}")
        x = np.asarray(node.get_array("features"), dtype=np.float64)
        y = node.get_array("label").astype(np.int64)
        t0, t1 = node.base.attributes.get("t_start"), node.base.attributes.get("t_end")
        t = node.get_array("time")
        xs.append(x)
        ys.append(y)
        atoms.append(node.get_array("atom").astype(np.int64))
        tnorm.append((t - t0) / (t1 - t0) if t1 and t1 > t0 else np.zeros_like(t))
        per[key] = {"n_events": int(y.size), "n_rearranging": int(np.count_nonzero(y == 1))}
    x_all, y_all = np.vstack(xs), np.concatenate(ys)
    if np.unique(y_all).size != 2:
        raise ValueError(f"training needs rearranging and non-rearranging events; labels present: {np.unique(y_all)}")
    stride = int(max(int(a.max()) if a.size else 0 for a in atoms)) + 1
    groups = np.concatenate([k * stride + a for k, a in enumerate(atoms)])
    times = np.concatenate(tnorm)
    structure_cols = [i for i, n in enumerate(names) if n != VORONOI_COLUMN]
    cols = structure_cols if p["model_features"] == "structure" else list(range(len(names)))
    model_names = [names[i] for i in cols]
    xm = x_all[:, cols]
    common = {"C": float(p["C"])}
    split = {"test_size": float(p["test_size"]), "seed": int(p["seed"]), **common}
    errors: list[str] = []

    def attempt(label: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as exc:
            errors.append(f"{label}: {exc}")
            return None

    model = train_softness_model(xm, y_all, model_names, **common)
    grouped = attempt("grouped split", train_test_grouped, xm, y_all, groups, model_names, **split)
    timed = attempt(
        "time split",
        train_test_time_split,
        xm,
        y_all,
        times,
        model_names,
        train_fraction=float(p["train_fraction"]),
        t_start=0.0,
        t_end=1.0,
        **common,
    )
    cv_seed = int(p["seed"])
    cv = attempt("cross-validation", cross_validated_accuracy, xm, y_all, groups, folds=5, seed=cv_seed, **common)
    subsets = default_ablation_subsets(names, VORONOI_COLUMN)
    abl: dict[str, Any] = {}
    for sub, columns in subsets.items():
        res = attempt(f"ablation {sub}", ablation, x_all, y_all, groups, names, {sub: columns}, **split)
        abl[sub] = {**_scores(res[sub]), "n_features": len(columns)} if res else None
    cross = None
    if len(keys) > 1:
        data = {k: (x[:, cols], y, a) for k, x, y, a in zip(keys, xs, ys, atoms, strict=True)}
        table = attempt("cross pressure", cross_pressure_table, data, model_names, **split)
        if table is not None:
            acc = table.accuracy
            off = acc[~np.eye(len(keys), dtype=bool)]
            off = off[np.isfinite(off)]
            worst = np.unravel_index(np.nanargmin(np.where(np.isfinite(acc), acc, np.inf)), acc.shape)
            cross = {
                "keys": keys,
                "accuracy": [[finite_or_none(v) for v in row] for row in acc],
                "worst": finite_or_none(acc[worst]),
                "worst_train": keys[worst[0]],
                "worst_test": keys[worst[1]],
                "mean_off_diagonal": finite_or_none(off.mean()) if off.size else None,
            }
    g = _scores(grouped) if grouped else {"train_accuracy": None, "test_accuracy": None, "n_train": 0, "n_test": 0}
    report = {
        **g,
        "full_train_accuracy": finite_or_none(model_accuracy(xm, y_all, model)),
        "time_split": {**_scores(timed), "train_fraction": float(p["train_fraction"])} if timed else None,
        "cross_validation": {"mean": cv[0], "std": cv[1], "folds": cv[2]} if cv else None,
        "ablation": abl,
        "cross_pressure": cross,
        "datasets": per,
        "n_events": int(y_all.size),
        "n_rearranging": int(np.count_nonzero(y_all == 1)),
        "n_features": len(model_names),
        "model_features": p["model_features"],
        "C": float(p["C"]),
        "test_size": float(p["test_size"]),
        "seed": int(p["seed"]),
        "errors": errors,
        "warning": (
            f"only {int(y_all.size)} labelled events: accuracies and softness values are not meaningful "
            f"below {MIN_MEANINGFUL_EVENTS} (the paper used about 16,000); run longer or larger samples"
            if y_all.size < MIN_MEANINGFUL_EVENTS
            else None
        ),
    }
    node = SoftnessModelData(model=model, structure_functions=sf)
    node.base.attributes.set_many({"n_train_events": int(y_all.size), "test_accuracy": report["test_accuracy"]})
    return {"model": node, "report": orm.Dict(report)}


# ---------------------------------------------------------------------------------------------
# Application to frames (e.g. every strain step of a tension run)
# ---------------------------------------------------------------------------------------------


def _frame_axis(frames: orm.ArrayData) -> tuple[np.ndarray, str]:
    """The per-frame abscissa: ``strain`` if stored, else ``times``, else the frame index."""
    names = frames.get_arraynames()
    n = frames.get_shape("positions")[0]
    for key in ("strain", "times"):
        if key in names:
            return np.asarray(frames.get_array(key), dtype=np.float64), key
    return np.arange(n, dtype=np.float64), "index"


@calcfunction
def softness_of_frames(model: SoftnessModelData, frames: orm.ArrayData) -> dict:
    """Softness of every Al atom at every frame (features recomputed with the model's parameters).

    ``frames``: positions (F, N, 3), cells (F, 3), types, optionally strain and
    voronoi_volume (needed only if the model uses that column). Outputs ``softness``
    (ArrayData: softness (F, N_Al) float32, al_index, the abscissa, mean and std per frame) and
    ``summary`` (⟨S⟩ per frame, its maximum and the strain there, the unstrained ⟨S⟩).
    """
    m = model.to_model()
    sf = model.structure_function_parameters
    kw = _sf_kwargs(sf)
    types = frames.get_array("types").astype(np.int64)
    positions = frames.get_array("positions")
    cells = np.asarray(frames.get_array("cells"), dtype=np.float64)
    al = np.nonzero(types == int(sf.get("center_type", _AL)))[0]
    wanted = list(m.feature_names)
    vor = frames.get_array("voronoi_volume") if VORONOI_COLUMN in wanted else None
    if VORONOI_COLUMN in wanted and vor is None:
        raise ValueError("the model uses the Voronoi volume but the frames carry no 'voronoi_volume'")
    n_f = positions.shape[0]
    s = np.zeros((n_f, al.size), dtype=np.float64)
    for f in range(n_f):  # one vectorised evaluation per frame
        res = structure_functions(positions[f], cells[f], types, centers=al, **kw)
        table = dict(zip(res.names, res.features.T, strict=True))
        if vor is not None:
            table[VORONOI_COLUMN] = np.asarray(vor[f], dtype=np.float64)[al]
        missing = [n for n in wanted if n not in table]
        if missing:
            raise ValueError(f"features {missing[:3]} of the model cannot be computed from the frames")
        s[f] = softness_values(np.column_stack([table[n] for n in wanted]), m)
    axis, axis_name = _frame_axis(frames)
    mean, std = s.mean(axis=1), s.std(axis=1)
    out = orm.ArrayData()
    out.set_array("softness", s.astype(np.float32))
    out.set_array("al_index", al.astype(np.int64))
    out.set_array(axis_name if axis_name != "index" else "frame", axis)
    out.set_array("mean", mean)
    out.set_array("std", std)
    k = int(np.argmax(mean)) if n_f else 0
    summary = {
        "n_frames": int(n_f),
        "n_al": int(al.size),
        "axis": axis_name,
        axis_name: [finite_or_none(v) for v in axis],
        "mean_softness": [finite_or_none(v) for v in mean],
        "fraction_positive": [finite_or_none(v) for v in (s > 0).mean(axis=1)],
        "max_mean_softness": finite_or_none(mean[k]) if n_f else None,
        f"{axis_name}_at_max_mean": finite_or_none(axis[k]) if n_f else None,
        "frame_at_max_mean": k,
        "unstrained_mean_softness": finite_or_none(mean[0]) if n_f else None,
    }
    out.base.attributes.set_many({"n_frames": int(n_f), "n_al": int(al.size), "axis": axis_name})
    return {"softness": out, "summary": orm.Dict(summary)}


@calcfunction
def softness_clusters(frames: orm.ArrayData, softness: orm.ArrayData, parameters: orm.Dict) -> dict:
    """High-softness clusters per frame: the ``top_fraction`` softest Al, linked within ``cutoff``.

    Outputs ``clusters`` (ArrayData: n_clusters, largest, n_selected (F,) and labels (F, N_Al)
    int32, −1 = not selected, clusters numbered by decreasing size) and ``summary`` (the per-frame
    lists, the unstrained values and the frame / abscissa of the largest cluster).
    """
    p = check_parameters("clusters", parameters.get_dict())
    s = softness.get_array("softness")
    al = softness.get_array("al_index").astype(np.int64)
    positions = frames.get_array("positions")
    cells = np.asarray(frames.get_array("cells"), dtype=np.float64)
    if positions.shape[0] != s.shape[0]:
        raise ValueError(f"frames hold {positions.shape[0]} frames but softness {s.shape[0]}")
    n_f = s.shape[0]
    n_clusters = np.zeros(n_f, dtype=np.int64)
    largest = np.zeros(n_f, dtype=np.int64)
    selected = np.zeros(n_f, dtype=np.int64)
    labels = np.full(s.shape, -1, dtype=np.int32)
    for f in range(n_f):  # one connected-component search per frame
        mask = top_fraction_mask(s[f], float(p["top_fraction"]))
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
def rearrangement_probability_fn(frames: orm.ArrayData, softness: orm.ArrayData, parameters: orm.Dict) -> dict:
    """P_R(S): fraction of Al atoms of the given initial CN (Al5) whose CN has decreased by the final strain.

    Binned by each atom's softness in the first (unstrained) frame, with the exponential fit
    P_R = exp(a S + b). ``final_strain`` picks the frame nearest that strain (default: the last).
    Outputs ``probability`` (ArrayData: edges, centers, probability (nan = empty bin), counts,
    n_decreased) and ``summary`` (fit a, b, r2, counts, the final strain).
    """
    p = check_parameters("rearrangement", parameters.get_dict())
    types = frames.get_array("types").astype(np.int64)
    positions = frames.get_array("positions")
    cells = np.asarray(frames.get_array("cells"), dtype=np.float64)
    s0 = np.asarray(softness.get_array("softness")[0], dtype=np.float64)
    al_mask, o_mask = types == _AL, types == _O
    if not np.array_equal(np.nonzero(al_mask)[0], softness.get_array("al_index")):
        raise ValueError("softness and frames disagree on the Al atoms")
    axis, axis_name = _frame_axis(frames)
    final = axis.size - 1 if p["final_strain"] is None else int(np.argmin(np.abs(axis - p["final_strain"])))
    cut = float(p["al_o_cutoff"])
    cn0 = coordination_numbers(np.asarray(positions[0], np.float64), cells[0], al_mask, o_mask, cut)
    cn1 = coordination_numbers(np.asarray(positions[final], np.float64), cells[final], al_mask, o_mask, cut)
    sel = cn0 == int(p["coordination"])
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
