"""Parameters of the softness calcfunctions (SPEC §5): defaults, checks, structure-function keywords.

:func:`check_parameters` fills in the defaults of one section of a dynamics protocol (``events``,
``features``, ``training``, ``clusters``, ``rearrangement``) and refuses unknown keys and values out
of range with a ValueError naming the key, so work chains can refuse bad input before anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..analysis.clusters import AL_AL_CUTOFF
from ..analysis.configurations import CONFIGURATION_KINDS
from ..analysis.coordination import AL_O_CUTOFF
from ..analysis.hop_events import HOP_KINDS, NON_REARRANGING_RULES, REARRANGING_FRAMES
from ..analysis.phop import NON_REARRANGING_THRESHOLD, REARRANGING_THRESHOLD, T_R
from ..analysis.structure_functions import (
    ANGULAR_CUTOFF,
    RADIAL_L,
    RADIAL_MUS,
    default_radial_cutoff,
    scaled_angular_parameters,
)
from ..potentials import SPECIES_TYPES

__all__ = [
    "CLUSTER_DEFAULTS",
    "EVENT_DEFAULTS",
    "FEATURE_DEFAULTS",
    "MODEL_FEATURES",
    "REARRANGEMENT_DEFAULTS",
    "TRAINING_DEFAULTS",
    "check_parameters",
    "structure_function_kwargs",
    "structure_function_parameters",
]

_AL, _O = SPECIES_TYPES["Al"], SPECIES_TYPES["O"]

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


#: Bounds of the checked parameters: seeds fit 32 bits, neighbour cut-offs stay local (Å), bins stay few.
MAX_SEED = 2**32 - 1
MAX_CUTOFF = 20.0
MAX_BINS = 10_000
#: Longest duration (ps) a labelling window may span.
MAX_DURATION = 1.0e5


def _number(p: dict, key: str, *, lo: float | None = None, hi: float | None = None, integer: bool = False) -> None:
    """Refuse ``p[key]`` unless it is a finite number (an integer if asked) in ``[lo, hi]``."""
    v = p[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"parameter {key!r} must be a finite number, got {v!r}")
    if integer and int(v) != v:
        raise ValueError(f"parameter {key!r} must be an integer, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"parameter {key!r} must lie in [{lo}, {hi}], got {v!r}")


def _choice(p: dict, key: str, allowed: tuple[str, ...]) -> None:
    """Refuse ``p[key]`` unless it is one of ``allowed``."""
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


def structure_function_kwargs(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Stored structure-function parameters → keyword arguments (``center_type`` removed)."""
    kw = dict(stored)
    kw.pop("center_type", None)
    kw["angular_params"] = [tuple(x) for x in kw["angular_params"]]
    kw["mus"] = np.asarray(kw["mus"], dtype=np.float64)
    return kw
