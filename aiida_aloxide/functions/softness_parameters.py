"""Parameters of the softness calcfunctions (SPEC §5): defaults, checks, structure-function keywords.

:func:`check_parameters` fills in the defaults of one section of a dynamics protocol (``events``,
``features``, ``training``, ``clusters``, ``rearrangement``) and refuses unknown keys and values out
of range with a ValueError naming the key, so work chains can refuse bad input before anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
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
from ..schema import MAX_NUMPY_SEED, NUMPY_SEED, Boolean, Constraint, Interval, Optional, Options, check, check_section

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
    "frame_spacing": 2.0,
    "labels_from": "thermal",
    "inherent_spacing": 1.0,
}
#: ``labels_from``: p_hop of the recorded (thermal) trajectory, or of its inherent structures every
#: ``inherent_spacing`` ps (each frame minimised; vibrations removed before p_hop).
LABEL_SOURCES = ("thermal", "inherent")
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
    "Cs": [0.01, 0.03, 0.1, 1.0],
    "test_size": 0.2,
    "seed": 0,
    "train_fraction": 0.8,
    "time_gap": T_R,
    "model_features": "select",
    "cv_folds": 5,
    "cv_repeats": 10,
    "inner_folds": 3,
    "ablation_repeats": 5,
    "selection": "samples",
    "loso": "auto",
    "source": "trained",
}
#: ``model_features`` values: chosen inside the folds, or one fixed subset of columns.
MODEL_FEATURES = ("select", "structure", "all", "radial", "radial_short", "radial_4", "angular")
#: ``selection``: choose subset and C by leave-one-sample-out over the training samples (``samples``;
#: grouped-by-atom CV when there is one sample) or by grouped-by-atom CV over all events (``atoms``).
SELECTION_RULES = ("samples", "atoms")
#: ``loso``: leave-one-sample-out validation when there are >= 2 samples (``auto``), required
#: (``always``: an error with fewer) or skipped (``never``).
LOSO_RULES = ("auto", "always", "never")
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
MAX_SEED = MAX_NUMPY_SEED
MAX_CUTOFF = 20.0
MAX_BINS = 10_000
#: Longest duration (ps) a labelling window may span.
MAX_DURATION = 1.0e5

_CUTOFF = Interval(Real, 1e-6, MAX_CUTOFF)
_DURATION = Interval(Real, 0.0, MAX_DURATION)
_FRACTION = Interval(Real, 1e-6, 1.0 - 1e-6)
_PENALTY = Interval(Real, 1e-12, 1e6)
_COUNT = Optional(Interval(Integral, 1, 10**9, whole_floats=True))


def _int(lo: int | None, hi: int | None) -> Interval:
    """An integer in [lo, hi] (3.0 accepted, as JSON may give it)."""
    return Interval(Integral, lo, hi, whole_floats=True)


#: The declared constraints of each section (thresholds bounded by another key are checked after).
SCHEMAS: dict[str, dict[str, Constraint]] = {
    "events": {
        "t_r": Interval(Real, 1e-6, 1000.0),
        "rearranging_threshold": Interval(Real, 0.0, None),
        "seed": NUMPY_SEED,
        "max_events": _COUNT,
        "rearranging_frame": Options(REARRANGING_FRAMES),
        "non_rearranging": Options(NON_REARRANGING_RULES),
        "hops": Options(HOP_KINDS),
        **dict.fromkeys(("precursor_lag", "quiet_window", "min_gap", "min_time"), _DURATION),
        "frame_spacing": Interval(Real, 1e-6, MAX_DURATION),
        "labels_from": Options(LABEL_SOURCES),
        "inherent_spacing": Interval(Real, 1e-6, MAX_DURATION),
        "return_distance": _CUTOFF,
        "max_per_atom": _COUNT,
    },
    "features": {
        **dict.fromkeys(("radial", "angular", "voronoi"), Boolean()),
        "radial_cutoff": Optional(_CUTOFF),
        "angular_cutoff": _CUTOFF,
        "configuration": Options(CONFIGURATION_KINDS),
        "average_window": _DURATION,
    },
    "training": {
        "C": _PENALTY,
        "test_size": _FRACTION,
        "seed": NUMPY_SEED,
        "train_fraction": _FRACTION,
        "time_gap": _DURATION,
        "model_features": Options(MODEL_FEATURES),
        "cv_folds": _int(2, 100),
        "cv_repeats": _int(1, 1000),
        "inner_folds": _int(2, 100),
        "ablation_repeats": _int(1, 1000),
        "selection": Options(SELECTION_RULES),
        "loso": Options(LOSO_RULES),
    },
    "clusters": {"top_fraction": Interval(Real, 0.0, 1.0), "cutoff": _CUTOFF},
    "rearrangement": {
        "al_o_cutoff": _CUTOFF,
        "coordination": _int(0, None),
        "final_strain": Optional(Interval(Real, None, None)),
    },
}
_LABEL = "parameter {key!r}"


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
    check_section(p, SCHEMAS[kind], label=_LABEL)  # checked only: the values stay as given
    if kind == "events":
        below = Interval(Real, 0.0, p["rearranging_threshold"])
        check(p["non_rearranging_threshold"], below, "parameter 'non_rearranging_threshold'")
        check(p["release_threshold"], Optional(below), "parameter 'release_threshold'")
    elif kind == "features" and not (p["radial"] or p["angular"]):
        raise ValueError("at least one of 'radial' and 'angular' must be true")
    elif kind == "training":
        cs = p["Cs"]
        if not isinstance(cs, list | tuple) or not cs:
            raise ValueError("parameter 'Cs' must be a non-empty list of penalties")
        for k, c in enumerate(cs):
            check(c, _PENALTY, f"parameter 'Cs[{k}]'")
        if not isinstance(p["source"], str) or not 0 < len(p["source"]) <= 200:
            raise ValueError("parameter 'source' must be a short string naming where the data came from")
    elif kind == "rearrangement":
        bins = p["bins"]
        if isinstance(bins, list):
            numbers = all(isinstance(b, int | float) and not isinstance(b, bool) and math.isfinite(b) for b in bins)
            if not 2 <= len(bins) <= MAX_BINS + 1 or not numbers:
                raise ValueError(f"parameter 'bins' as a list must hold 2 to {MAX_BINS + 1} finite edges")
            if np.any(np.diff(bins) <= 0):
                raise ValueError("parameter 'bins' edges must increase")
        else:
            check(bins, _int(1, MAX_BINS), "parameter 'bins'")
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
