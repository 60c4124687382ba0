"""Calcfunctions of the structure and deformation analysis (SPEC §4): nodes in, nodes out.

Thin wrappers: the science lives in :mod:`aiida_aloxide.analysis` (plain numpy); here the
arrays are read from nodes, the analysis functions are called, and the results are stored
with provenance. Big per-atom arrays go to the file repository of ``ArrayData`` nodes
(float32 / int8); the scalars people filter on go to ``Dict`` attributes (never NaN: None).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
from aiida import orm

from ..analysis.bond_switching import CLASS_NAMES
from ..analysis.clusters import AL_AL_CUTOFF
from ..analysis.coordination import AL_O_CUTOFF, coordination_numbers
from ..analysis.deformation import SPECIES, deformation
from ..analysis.nonaffine import D2MIN_CUTOFF
from ..analysis.rdf import first_minimum, partial_rdfs
from ..data.structure import structure_arrays
from ..potentials import SPECIES_TYPES
from ..schema import Boolean, Constraint, Interval, check_section
from ..trajectory import cell_lengths
from ..values import finite_or_none
from .versioning import calcfunction

__all__ = [
    "AL_AL_CUTOFF",
    "DEFORMATION_DEFAULTS",
    "deformation_analysis",
    "plastic_energy_vs_d",
    "rdf_analysis",
    "validate_deformation_parameters",
]

#: Keys of the ``parameters`` Dict of :func:`deformation_analysis` and their defaults.
DEFORMATION_DEFAULTS: dict[str, Any] = {
    "al_o_cutoff": AL_O_CUTOFF,
    "al_al_cutoff": AL_AL_CUTOFF,
    "d2min_cutoff": D2MIN_CUTOFF,
    "d2min_per_neighbor": False,
    "profile_bins": 20,
    "d_bins": 50,
    "stress_bins": 60,
}

_AL, _O = SPECIES_TYPES["Al"], SPECIES_TYPES["O"]
_PAIR_KEYS = {"Al-O": "al_o", "Al-Al": "al_al", "O-O": "o_o"}


#: The declared constraints of the ``parameters`` of :func:`deformation_analysis` (cut-offs in Å).
DEFORMATION_SCHEMA: dict[str, Constraint] = {
    **dict.fromkeys(("al_o_cutoff", "al_al_cutoff", "d2min_cutoff"), Interval(Real, 0, 20.0, closed="right")),
    "d2min_per_neighbor": Boolean(),
    **dict.fromkeys(("profile_bins", "d_bins", "stress_bins"), Interval(Integral, 1, 10_000)),
}


def validate_deformation_parameters(parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full parameter set of :func:`deformation_analysis` (defaults filled in), or ValueError.

    Unknown keys, wrong types and non-positive cut-offs / bin counts are refused with a message
    naming the key, so a work chain can check its inputs before launching anything.
    """
    given = dict(parameters or {})
    unknown = sorted(set(given) - set(DEFORMATION_DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown deformation_analysis parameter(s) {unknown}; allowed: {sorted(DEFORMATION_DEFAULTS)}"
        )
    params = {**DEFORMATION_DEFAULTS, **given}
    return {**params, **check_section(params, DEFORMATION_SCHEMA, label="parameter {key!r}")}


# ---------------------------------------------------------------------------------------------
# Pair distribution functions
# ---------------------------------------------------------------------------------------------


@calcfunction
def rdf_analysis(
    structure: orm.StructureData,
    r_max: orm.Float | None = None,
    n_bins: orm.Int | None = None,
    al_o_cutoff: orm.Float = AL_O_CUTOFF,
    al_al_cutoff: orm.Float = AL_AL_CUTOFF,
) -> orm.ArrayData:
    """Partial g(r) of Al–O, Al–Al, O–O of one sample and their first minima next to the cut-offs.

    ``r_max`` (Å) defaults to min(8 Å, 0.49 × shortest box length); ``n_bins`` to 50 bins per Å
    of ``r_max`` (0.02 Å, rounded); the cut-offs default to the paper's 2.25 Å (Al–O) and
    3.7 Å (Al–Al), stored as input nodes either way. Output arrays: ``r`` (bin centres, Å)
    and ``g_al_o``, ``g_al_al``, ``g_o_o`` (float64). Attributes: ``<pair>_first_peak`` and
    ``<pair>_first_minimum`` (Å; None when g(r) has no peak above 1 or no minimum after it
    within ``r_max``), the cut-offs used, and the mean coordination numbers within them
    (O around Al, Al around Al).
    """
    positions, types, _, box = structure_arrays(structure)
    if r_max is not None and not (math.isfinite(r_max.value) and r_max.value > 0):
        raise ValueError(f"r_max must be a positive number of Å, got {r_max.value!r}")
    if n_bins is not None and not 1 <= n_bins.value <= 100_000:
        raise ValueError(f"n_bins must be in [1, 100000], got {n_bins.value!r}")
    rmax = min(8.0, 0.49 * float(box.min())) if r_max is None else float(r_max.value)
    nbins = max(int(round(50 * rmax)), 10) if n_bins is None else int(n_bins.value)
    cut_alo, cut_alal = float(al_o_cutoff.value), float(al_al_cutoff.value)

    r, gs = partial_rdfs(positions, box, types, ((_AL, _O), (_AL, _AL), (_O, _O)), r_max=rmax, n_bins=nbins)
    node = orm.ArrayData()
    node.set_array("r", np.asarray(r, dtype=np.float64))
    attrs: dict[str, Any] = {
        "r_max": rmax,
        "n_bins": nbins,
        "al_o_cutoff": cut_alo,
        "al_al_cutoff": cut_alal,
        "n_atoms": int(len(types)),
        "units": {"r": "Å", "g": "dimensionless (ideal gas = 1)"},
    }
    for name, g in gs.items():
        key = _PAIR_KEYS[name]
        node.set_array(f"g_{key}", np.asarray(g, dtype=np.float64))
        try:
            m = first_minimum(r, g)
            attrs[f"{key}_first_peak"] = finite_or_none(m.r_peak)
            attrs[f"{key}_first_minimum"] = finite_or_none(m.r_min)
        except ValueError:
            attrs[f"{key}_first_peak"] = None
            attrs[f"{key}_first_minimum"] = None
    al, o = types == _AL, types == _O
    for key, mask, cut in (("al_o", o, cut_alo), ("al_al", al, cut_alal)):
        if al.any() and mask.any() and cut < 0.5 * float(box.min()):
            attrs[f"mean_cn_{key}"] = float(coordination_numbers(positions, box, al, mask, cut).mean())
        else:
            attrs[f"mean_cn_{key}"] = None
    node.base.attributes.set_many(attrs)
    return node


# ---------------------------------------------------------------------------------------------
# Deformation: bond switching, non-affine displacement, local stress
# ---------------------------------------------------------------------------------------------


def _read_frames(frames: orm.TrajectoryData) -> dict[str, np.ndarray | None]:
    """The arrays of a tension ``frames`` node, checked for shape consistency."""
    names = set(frames.get_arraynames())
    missing = sorted({"positions", "cells", "types", "strain"} - names)
    if missing:
        raise ValueError(f"frames node lacks the array(s) {missing}; it has {sorted(names)}")
    pos = np.asarray(frames.get_array("positions"), dtype=np.float64)
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"frames 'positions' must have shape (F, N, 3), got {pos.shape}")
    n_frames, n_atoms = pos.shape[:2]
    if n_frames < 2:
        raise ValueError("deformation analysis needs the reference frame and at least one strained frame")
    cells = cell_lengths(frames)
    types = np.asarray(frames.get_array("types")).astype(np.int64)
    strain = np.asarray(frames.get_array("strain"), dtype=np.float64)
    if cells.shape != (n_frames, 3) or types.shape != (n_atoms,) or strain.shape != (n_frames,):
        raise ValueError(
            f"inconsistent frames arrays: positions {pos.shape}, cells {cells.shape}, types {types.shape}, "
            f"strain {strain.shape}"
        )
    out: dict[str, np.ndarray | None] = {"positions": pos, "cells": cells, "types": types, "strain": strain}
    if {"stress_volume", "voronoi_volume"} <= names:
        sv = np.asarray(frames.get_array("stress_volume"), dtype=np.float64)
        vv = np.asarray(frames.get_array("voronoi_volume"), dtype=np.float64)
        if sv.shape != (n_frames, n_atoms, 6) or vv.shape != (n_frames, n_atoms):
            raise ValueError(f"inconsistent stress arrays: stress_volume {sv.shape}, voronoi_volume {vv.shape}")
        out["stress_volume"], out["voronoi_volume"] = sv, vv
    else:
        out["stress_volume"] = out["voronoi_volume"] = None
    return out


#: Storage dtypes of the per-atom arrays (the rest is stored as computed).
_PER_ATOM_DTYPES = {
    "al_indices": np.int32,
    "initial_species": np.int8,
    "cn": np.int8,
    "switching": np.int8,
    "d2min": np.float32,
    "d": np.float32,
    "hydrostatic_stress": np.float32,
}


@calcfunction
def deformation_analysis(frames: orm.TrajectoryData, parameters: orm.Dict | None = None) -> dict[str, orm.Data]:
    """Bond switching, cumulative non-affine displacement D and local stress of the Al atoms of a tension run.

    ``frames``: the ``frames`` output of a tension work chain (frame 0 = unstrained reference).
    ``parameters``: optional Dict, keys of :data:`DEFORMATION_DEFAULTS`. Outputs ``per_atom``
    (ArrayData, per-atom arrays in the repository), ``summary`` (Dict of queryable scalars) and
    ``curves`` (ArrayData of the curves and histograms the figures need). See docs/analysis.md;
    the science is :func:`aiida_aloxide.analysis.deformation.deformation`.
    """
    p = validate_deformation_parameters(None if parameters is None else parameters.get_dict())
    data = _read_frames(frames)
    res = deformation(data["positions"], data["cells"], data["types"], data["strain"], p,
                      data["stress_volume"], data["voronoi_volume"])  # fmt: skip
    per_atom, curves = orm.ArrayData(), orm.ArrayData()
    for name, arr in res.per_atom.items():
        per_atom.set_array(name, arr.astype(_PER_ATOM_DTYPES[name]) if name in _PER_ATOM_DTYPES else arr)
    for name, arr in res.curves.items():
        curves.set_array(name, arr)
    per_atom.base.attributes.set_many(
        {
            "switching_codes": {name: k for k, name in enumerate(CLASS_NAMES)},
            "n_frames": res.summary["n_frames"],
            "n_al": res.summary["n_al"],
            "units": {
                "d2min": "Å² per neighbour" if p["d2min_per_neighbor"] else "Å² (sum over neighbours)",
                "d": "Å",
                "hydrostatic_stress": "GPa (positive = local tension)",
            },
        }
    )
    curves.base.attributes.set_many(
        {
            "species_rows": [f"Al{s}" for s in SPECIES],
            "class_columns": list(CLASS_NAMES),
            "fracture_plane": res.fracture_plane,
            "units": {
                "profile_edges": "Å, signed distance along x to the fracture plane",
                "d_edges": "Å",
                "stress_edges": "GPa (positive = local tension)",
                "stress_density": "1/GPa (each species normalised to 1)",
            },
        }
    )
    return {"per_atom": per_atom, "summary": orm.Dict(res.summary), "curves": curves}


# ---------------------------------------------------------------------------------------------
# Plastic energy vs mean D across samples
# ---------------------------------------------------------------------------------------------


@calcfunction
def plastic_energy_vs_d(**pairs: orm.Dict) -> orm.Dict:
    """Plastic energy (tension summary) vs mean D (deformation summary) of several samples, with a linear fit.

    Inputs come in pairs ``tension_<label>`` (the ``summary`` of a tension work chain, key
    ``plastic_energy``, GPa = GJ/m³) and ``deformation_<label>`` (the ``summary`` of
    :func:`deformation_analysis`, key ``d_mean``, Å). Samples where either value is None are
    listed but left out of the least-squares line ``plastic_energy = slope * d_mean + intercept``.
    """
    labels = sorted({k.split("_", 1)[1] for k in pairs if k.startswith(("tension_", "deformation_"))})
    unexpected = sorted(k for k in pairs if not k.startswith(("tension_", "deformation_")))
    if unexpected:
        raise ValueError(f"inputs must be named tension_<label> / deformation_<label>, got {unexpected}")
    incomplete = [lb for lb in labels if f"tension_{lb}" not in pairs or f"deformation_{lb}" not in pairs]
    if incomplete:
        raise ValueError(f"labels without both a tension and a deformation summary: {incomplete}")
    energy = [finite_or_none(pairs[f"tension_{lb}"].get("plastic_energy")) for lb in labels]
    mean_d = [finite_or_none(pairs[f"deformation_{lb}"].get("d_mean")) for lb in labels]
    ok = [e is not None and d is not None for e, d in zip(energy, mean_d, strict=True)]
    x = np.array([d for d, k in zip(mean_d, ok, strict=True) if k], dtype=np.float64)
    y = np.array([e for e, k in zip(energy, ok, strict=True) if k], dtype=np.float64)
    slope = intercept = r_value = None
    if x.size >= 2 and np.ptp(x) > 0:
        slope_f, intercept_f = np.polyfit(x, y, 1)
        slope, intercept = finite_or_none(slope_f), finite_or_none(intercept_f)
        if np.ptp(y) > 0:
            r_value = finite_or_none(np.corrcoef(x, y)[0, 1])
    return orm.Dict(
        {
            "labels": labels,
            "plastic_energy": energy,
            "mean_d": mean_d,
            "n_points": int(x.size),
            "slope": slope,
            "intercept": intercept,
            "r_value": r_value,
            "units": {"plastic_energy": "GPa (GJ/m³)", "mean_d": "Å", "slope": "GPa/Å"},
        }
    )
