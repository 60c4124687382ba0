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

from ..analysis.configurations import CONFIGURATION_KINDS
from ..analysis.hop_events import HOP_KINDS, NON_REARRANGING_RULES, REARRANGING_FRAMES
from ..analysis.phop import NON_REARRANGING_THRESHOLD, REARRANGING_THRESHOLD, T_R
from ..analysis.structure_functions import (
    ANGULAR_CUTOFF,
    RADIAL_L,
    RADIAL_MUS,
    default_radial_cutoff,
    scaled_angular_parameters,
)
from ..materials import ANION_TYPE, CATION_TYPE
from ..schema import (
    MAX_NUMPY_SEED,
    NUMPY_SEED,
    Boolean,
    Constraint,
    Interval,
    Optional,
    Options,
    Parameter,
    Section,
    check,
    check_section,
    section,
    section_defaults,
    section_schema,
)

__all__ = [
    "CLUSTER_DEFAULTS",
    "EVENT_DEFAULTS",
    "FEATURE_DEFAULTS",
    "MODEL_FEATURES",
    "REARRANGEMENT_DEFAULTS",
    "SECTIONS",
    "TRAINING_DEFAULTS",
    "check_parameters",
    "structure_function_kwargs",
    "structure_function_parameters",
]


#: ``labels_from``: p_hop of the recorded (thermal) trajectory, or of its inherent structures every
#: ``inherent_spacing`` ps (each frame minimised; vibrations removed before p_hop).
LABEL_SOURCES = ("thermal", "inherent")
#: ``model_features`` values: chosen inside the folds, or one fixed subset of columns.
MODEL_FEATURES = ("select", "structure", "all", "radial", "radial_short", "radial_4", "angular")
#: ``selection``: choose subset and C by leave-one-sample-out over the training samples (``samples``;
#: grouped-by-atom CV when there is one sample) or by grouped-by-atom CV over all events (``atoms``).
SELECTION_RULES = ("samples", "atoms")
#: ``loso``: leave-one-sample-out validation when there are >= 2 samples (``auto``), required
#: (``always``: an error with fewer) or skipped (``never``).
LOSO_RULES = ("auto", "always", "never")

#: Bounds of the checked parameters: seeds fit 32 bits, neighbour cut-offs stay local (Å), bins stay few.
MAX_SEED = MAX_NUMPY_SEED
MAX_CUTOFF = 20.0
MAX_BINS = 10_000
#: Longest duration (ps) a labelling window may span.
MAX_DURATION = 1.0e5

_CUTOFF = Interval(Real, 1e-6, MAX_CUTOFF)
_DURATION = Interval(Real, 0.0, MAX_DURATION)
_SPACING = Interval(Real, 1e-6, MAX_DURATION)
_FRACTION = Interval(Real, 1e-6, 1.0 - 1e-6)
_PENALTY = Interval(Real, 1e-12, 1e6)
_COUNT = Optional(Interval(Integral, 1, 10**9, whole_floats=True))


def _int(lo: int | None, hi: int | None) -> Interval:
    """An integer in [lo, hi] (3.0 accepted, as JSON may give it)."""
    return Interval(Integral, lo, hi, whole_floats=True)


# Each parameter of a softness section is declared once below; dynamics.yaml's ``default_inputs`` equals
# these defaults (tests/aiida/test_protocol_declarations.py). Constraint None: checked by :func:`check_parameters`
# against another key (thresholds) or on its own (``Cs``, ``source``, ``bins``).

#: :func:`phop_events` parameters (Du et al. 2021: t_R = 6 ps, 0.2 / 0.05 Å²). Durations in ps.
#: The labelling rules follow the softness literature (Cubuk 2015, Schoenholz 2016): a rearranging
#: example is the structure t_R/2 before its excursion, a non-rearranging one an atom that stays
#: below the lower threshold for t_R on either side (docs/softness.md, docs/validation.md).
EVENT_PARAMETERS: Section = section(
    Parameter("t_r", T_R, Interval(Real, 1e-6, 1000.0), "ps", "p_hop window t_R"),
    Parameter("rearranging_threshold", REARRANGING_THRESHOLD, Interval(Real, 0.0, None), "Å²",
              "p_hop above it: a rearrangement"),
    Parameter("non_rearranging_threshold", NON_REARRANGING_THRESHOLD, None, "Å²",
              "p_hop below it: quiet (<= rearranging_threshold)"),
    Parameter("seed", 1, NUMPY_SEED, "", "subsampling seed"),
    Parameter("max_events", None, _COUNT, "", "most rearranging examples kept per sample (None: all)"),
    Parameter("rearranging_frame", "precursor", Options(REARRANGING_FRAMES), "", "which frame is the example"),
    Parameter("precursor_lag", 3.0, _DURATION, "ps", "how long before the excursion the example is taken"),
    Parameter("non_rearranging", "quiet", Options(NON_REARRANGING_RULES), "", "rule of a non-rearranging example"),
    Parameter("quiet_window", 6.0, _DURATION, "ps", "quiet on either side for this long"),
    Parameter("release_threshold", None, None, "Å²", "hysteresis: an event ends below it (None: no hysteresis)"),
    Parameter("min_gap", 0.0, _DURATION, "ps", "shortest gap between two events of an atom"),
    Parameter("hops", "all", Options(HOP_KINDS), "", "which hops count (all, or irreversible only)"),
    Parameter("return_distance", 0.3, _CUTOFF, "Å", "a hop back within it is reversible"),
    Parameter("max_per_atom", None, _COUNT, "", "most examples per atom (None: no cap)"),
    Parameter("min_time", 0.0, _DURATION, "ps", "first usable time"),
    # 2.0 ps: the value every study has used (dynamics.yaml); the Python default follows the YAML.
    Parameter("frame_spacing", 2.0, _SPACING, "ps", "example frames moved down onto this grid"),
    Parameter("labels_from", "thermal", Options(LABEL_SOURCES), "",
              "p_hop of the thermal trajectory or of its inherent structures"),
    Parameter("inherent_spacing", 1.0, _SPACING, "ps", "inherent-structure interval when labels_from=inherent"),
)  # fmt: skip
#: :func:`event_features` parameters; ``radial_cutoff`` None = largest μ + 3L (10.6 Å).
FEATURE_PARAMETERS: Section = section(
    Parameter("radial", True, Boolean(), "", "radial structure functions G"),
    Parameter("angular", True, Boolean(), "", "angular structure functions Ψ"),
    Parameter("voronoi", True, Boolean(), "", "Voronoi features"),
    Parameter("radial_cutoff", None, Optional(_CUTOFF), "Å", "radial cut-off (None: largest μ + 3L)"),
    Parameter("angular_cutoff", ANGULAR_CUTOFF, _CUTOFF, "Å", "angular cut-off"),
    Parameter("configuration", "inherent", Options(CONFIGURATION_KINDS), "", "configuration the features see"),
    Parameter("average_window", 3.0, _DURATION, "ps", "window of the time-averaged configuration"),
)
#: :func:`train_softness` parameters; ``model_features`` "structure" (G + Ψ) or "all" (+ Voronoi).
TRAINING_PARAMETERS: Section = section(
    Parameter("C", 1.0, _PENALTY, "", "SVM penalty of a fixed model"),
    Parameter("Cs", [0.01, 0.03, 0.1, 1.0], None, "", "penalties the selection chooses from"),
    Parameter("test_size", 0.2, _FRACTION, "", "held-out fraction"),
    Parameter("seed", 0, NUMPY_SEED, "", "split and CV seed"),
    Parameter("train_fraction", 0.8, _FRACTION, "", "training fraction of the time split"),
    Parameter("time_gap", T_R, _DURATION, "ps", "gap between training and test times"),
    Parameter("model_features", "select", Options(MODEL_FEATURES), "", "feature subset (select: inside the folds)"),
    Parameter("cv_folds", 5, _int(2, 100), "", "grouped CV folds"),
    Parameter("cv_repeats", 10, _int(1, 1000), "", "repeats of the grouped CV"),
    Parameter("inner_folds", 3, _int(2, 100), "", "folds of the selection inside each fold"),
    Parameter("ablation_repeats", 5, _int(1, 1000), "", "repeats of the feature ablation"),
    Parameter("selection", "samples", Options(SELECTION_RULES), "", "how subset and C are chosen"),
    Parameter("loso", "auto", Options(LOSO_RULES), "", "leave-one-sample-out validation"),
    Parameter("source", "trained", None, "", "where the model came from (set by the caller)", in_yaml=False),
)  # fmt: skip
#: :func:`softness_clusters` parameters (top 10 % cations; ``cutoff`` None: the frames' material's
#: cation–cation cut-off, 3.7 Å Al–Al for alumina).
CLUSTER_PARAMETERS: Section = section(
    Parameter("top_fraction", 0.1, Interval(Real, 0.0, 1.0), "", "softest fraction of the cations"),
    Parameter("cutoff", None, Optional(_CUTOFF), "Å", "cation–cation neighbour cut-off (None: the material's)"),
)
#: :func:`rearrangement_probability_fn` parameters; ``final_strain`` None = last frame; ``al_o_cutoff``
#: None: the frames' material's cation–anion cut-off (2.25 Å Al–O for alumina).
REARRANGEMENT_PARAMETERS: Section = section(
    Parameter("al_o_cutoff", None, Optional(_CUTOFF), "Å", "cation–anion bond cut-off (None: the material's)"),
    Parameter("coordination", 5, _int(0, None), "", "coordination a rearranging Al changes from"),
    Parameter("final_strain", None, Optional(Interval(Real, None, None)), "", "strain compared (None: last frame)"),
    Parameter("bins", 10, None, "", "softness bins: a count or increasing edges"),
)  # fmt: skip
#: The sections of dynamics.yaml besides ``dynamics``, by name.
SECTIONS: dict[str, Section] = {
    "events": EVENT_PARAMETERS,
    "features": FEATURE_PARAMETERS,
    "training": TRAINING_PARAMETERS,
    "clusters": CLUSTER_PARAMETERS,
    "rearrangement": REARRANGEMENT_PARAMETERS,
}
EVENT_DEFAULTS: dict[str, Any] = section_defaults(EVENT_PARAMETERS)
FEATURE_DEFAULTS: dict[str, Any] = section_defaults(FEATURE_PARAMETERS)
TRAINING_DEFAULTS: dict[str, Any] = section_defaults(TRAINING_PARAMETERS)
CLUSTER_DEFAULTS: dict[str, Any] = section_defaults(CLUSTER_PARAMETERS)
REARRANGEMENT_DEFAULTS: dict[str, Any] = section_defaults(REARRANGEMENT_PARAMETERS)
#: The declared constraints of each section (thresholds bounded by another key are checked after).
SCHEMAS: dict[str, dict[str, Constraint]] = {name: section_schema(params) for name, params in SECTIONS.items()}
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


def structure_function_parameters(
    features: Mapping[str, Any] | None = None, labels: Mapping[int, str] | None = None
) -> dict[str, Any]:
    """Full keyword set of ``structure_functions`` for the ``features`` parameters (JSON-safe); ``labels``
    (element of each type, from the frames) name the columns when they are not the default material's."""
    p = check_parameters("features", features)
    extra = {} if labels is None else {"labels": {str(k): str(v) for k, v in labels.items()}}
    return {
        **extra,
        "center_type": CATION_TYPE,
        "species": [CATION_TYPE, ANION_TYPE],
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
