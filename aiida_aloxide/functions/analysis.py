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
from ..analysis.coordination import coordination_numbers
from ..analysis.deformation import SPECIES, deformation
from ..analysis.nonaffine import D2MIN_CUTOFF
from ..analysis.rdf import first_minimum, partial_rdfs
from ..data.structure import structure_arrays, structure_material
from ..materials import ANION_TYPE, CATION_TYPE, Material, material_of
from ..schema import (
    Boolean,
    Constraint,
    Interval,
    Optional,
    Parameter,
    Section,
    check_section,
    section,
    section_defaults,
    section_schema,
)
from ..trajectory import cell_lengths, frames_material
from ..values import finite_or_none
from .versioning import calcfunction

__all__ = [
    "DEFORMATION_DEFAULTS",
    "DEFORMATION_PARAMETERS",
    "deformation_analysis",
    "plastic_energy_vs_d",
    "rdf_analysis",
    "validate_deformation_parameters",
]

_CUT = Interval(Real, 0, 20.0, closed="right")
_BINS = Interval(Integral, 1, 10_000)
#: The ``parameters`` of :func:`deformation_analysis`, each declared once; the ``deformation`` section of the
#: tension protocol (tension.yaml) holds exactly these defaults (tests/aiida/test_protocol_declarations.py).
#: The two cut-offs (cation–anion, cation–cation; named after alumina's Al–O and Al–Al) default to the
#: material's (``analysis`` of its file: 2.25 / 3.7 Å for alumina-matsui).
DEFORMATION_PARAMETERS: Section = section(
    Parameter("al_o_cutoff", None, Optional(_CUT), "Å", "cation–anion bond cut-off; None: the material's"),
    Parameter("al_al_cutoff", None, Optional(_CUT), "Å", "cation–cation cut-off; None: the material's"),
    Parameter("d2min_cutoff", D2MIN_CUTOFF, _CUT, "Å", "neighbourhood of the non-affine displacement"),
    Parameter("d2min_per_neighbor", False, Boolean(), "", "D²_min per neighbour instead of summed"),
    Parameter("profile_bins", 20, _BINS, "", "bins of the switching profile along x"),
    Parameter("d_bins", 50, _BINS, "", "bins of the D histogram"),
    Parameter("stress_bins", 60, _BINS, "", "bins of the atomic-stress histograms"),
)
DEFORMATION_DEFAULTS: dict[str, Any] = section_defaults(DEFORMATION_PARAMETERS)
#: The declared constraints of the ``parameters`` of :func:`deformation_analysis` (cut-offs in Å).
DEFORMATION_SCHEMA: dict[str, Constraint] = section_schema(DEFORMATION_PARAMETERS)


def validate_deformation_parameters(
    parameters: dict[str, Any] | None = None, material: Material | None = None
) -> dict[str, Any]:
    """The full parameter set of :func:`deformation_analysis` (defaults filled in, the cut-offs left unset
    taken from ``material``, default alumina), or ValueError.

    Unknown keys, wrong types and non-positive cut-offs / bin counts are refused with a message
    naming the key, so a work chain can check its inputs before launching anything.
    """
    mat = material_of(None) if material is None else material
    given = dict(parameters or {})
    unknown = sorted(set(given) - set(DEFORMATION_DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown deformation_analysis parameter(s) {unknown}; allowed: {sorted(DEFORMATION_DEFAULTS)}"
        )
    params = {**DEFORMATION_DEFAULTS, **given}
    params = {**params, **check_section(params, DEFORMATION_SCHEMA, label="parameter {key!r}")}
    if params["al_o_cutoff"] is None:
        params["al_o_cutoff"] = mat.cation_anion_cutoff
    if params["al_al_cutoff"] is None:
        params["al_al_cutoff"] = mat.cation_cation_cutoff
    return params


# ---------------------------------------------------------------------------------------------
# Pair distribution functions
# ---------------------------------------------------------------------------------------------


@calcfunction
def rdf_analysis(
    structure: orm.StructureData,
    r_max: orm.Float | None = None,
    n_bins: orm.Int | None = None,
    al_o_cutoff: orm.Float | None = None,
    al_al_cutoff: orm.Float | None = None,
) -> orm.ArrayData:
    """Partial g(r) cation–anion, cation–cation, anion–anion of one sample (Al–O, Al–Al, O–O for alumina;
    Si–O, Si–Si, O–O for silica) and their first minima next to the material's cut-offs.

    ``r_max`` (Å) defaults to min(8 Å, 0.49 × shortest box length); ``n_bins`` to 50 bins per Å
    of ``r_max`` (0.02 Å, rounded); the cut-offs to those of the packaged material of the structure's
    elements (2.25 / 3.7 Å for alumina). Output arrays: ``r`` (bin centres, Å)
    and ``g_<c>_<a>``, ``g_<c>_<c>``, ``g_<a>_<a>`` (float64; ``g_al_o`` ... for alumina). Attributes:
    ``<pair>_first_peak`` and ``<pair>_first_minimum`` (Å; None when g(r) has no peak above 1 or no
    minimum after it within ``r_max``), the cut-offs used (``<c>_<a>_cutoff``, ``<c>_<c>_cutoff``), the
    mean coordination numbers within them, and ``cation`` / ``anion``.
    """
    mat = structure_material(structure)
    positions, types, _, box = structure_arrays(structure, mat)
    if r_max is not None and not (math.isfinite(r_max.value) and r_max.value > 0):
        raise ValueError(f"r_max must be a positive number of Å, got {r_max.value!r}")
    if n_bins is not None and not 1 <= n_bins.value <= 100_000:
        raise ValueError(f"n_bins must be in [1, 100000], got {n_bins.value!r}")
    rmax = min(8.0, 0.49 * float(box.min())) if r_max is None else float(r_max.value)
    nbins = max(int(round(50 * rmax)), 10) if n_bins is None else int(n_bins.value)
    cut_alo = mat.cation_anion_cutoff if al_o_cutoff is None else float(al_o_cutoff.value)
    cut_alal = mat.cation_cation_cutoff if al_al_cutoff is None else float(al_al_cutoff.value)
    c, a = mat.cation.lower(), mat.anion.lower()
    names = {CATION_TYPE: mat.cation, ANION_TYPE: mat.anion}
    pairs = ((CATION_TYPE, ANION_TYPE), (CATION_TYPE, CATION_TYPE), (ANION_TYPE, ANION_TYPE))
    r, gs = partial_rdfs(positions, box, types, pairs, r_max=rmax, n_bins=nbins, names=names)
    pair_keys = {f"{mat.cation}-{mat.anion}": f"{c}_{a}", f"{mat.cation}-{mat.cation}": f"{c}_{c}",
                 f"{mat.anion}-{mat.anion}": f"{a}_{a}"}  # fmt: skip
    node = orm.ArrayData()
    node.set_array("r", np.asarray(r, dtype=np.float64))
    attrs: dict[str, Any] = {
        "r_max": rmax,
        "n_bins": nbins,
        f"{c}_{a}_cutoff": cut_alo,
        f"{c}_{c}_cutoff": cut_alal,
        "cation": mat.cation,
        "anion": mat.anion,
        "n_atoms": int(len(types)),
        "units": {"r": "Å", "g": "dimensionless (ideal gas = 1)"},
    }
    for name, g in gs.items():
        key = pair_keys[name]
        node.set_array(f"g_{key}", np.asarray(g, dtype=np.float64))
        try:
            m = first_minimum(r, g)
            attrs[f"{key}_first_peak"] = finite_or_none(m.r_peak)
            attrs[f"{key}_first_minimum"] = finite_or_none(m.r_min)
        except ValueError:
            attrs[f"{key}_first_peak"] = None
            attrs[f"{key}_first_minimum"] = None
    al, o = types == CATION_TYPE, types == ANION_TYPE
    for key, mask, cut in ((f"{c}_{a}", o, cut_alo), (f"{c}_{c}", al, cut_alal)):
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
    "indices": np.int32,
    "initial_species": np.int8,
    "cn": np.int8,
    "switching": np.int8,
    "d2min": np.float32,
    "d": np.float32,
    "hydrostatic_stress": np.float32,
}


@calcfunction
def deformation_analysis(
    frames: orm.TrajectoryData, parameters: orm.Dict | None = None, material: orm.Dict | None = None
) -> dict[str, orm.Data]:
    """Bond switching, cumulative non-affine displacement D and local stress of the cations of a tension run.

    ``frames``: the ``frames`` output of a tension work chain (frame 0 = unstrained reference).
    ``parameters``: optional Dict, keys of :data:`DEFORMATION_DEFAULTS`. ``material``: the run's material
    (absent: the packaged material of the frames' elements), whose cut-offs are the defaults and whose
    cation names the keys (``al4_fraction_initial``, ``si4_fraction_initial``). Outputs ``per_atom``
    (ArrayData, per-atom arrays in the repository), ``summary`` (Dict of queryable scalars) and
    ``curves`` (ArrayData of the curves and histograms the figures need). See docs/analysis.md;
    the science is :func:`aiida_aloxide.analysis.deformation.deformation`.
    """
    mat = frames_material(frames) if material is None else material_of(material)
    p = validate_deformation_parameters(None if parameters is None else parameters.get_dict(), mat)
    data = _read_frames(frames)
    res = deformation(data["positions"], data["cells"], data["types"], data["strain"], p,
                      data["stress_volume"], data["voronoi_volume"], cation=mat.cation)  # fmt: skip
    c = mat.cation.lower()
    per_atom, curves = orm.ArrayData(), orm.ArrayData()
    for name, arr in res.per_atom.items():
        kind = "indices" if name == f"{c}_indices" else name
        per_atom.set_array(name, arr.astype(_PER_ATOM_DTYPES[kind]) if kind in _PER_ATOM_DTYPES else arr)
    for name, arr in res.curves.items():
        curves.set_array(name, arr)
    per_atom.base.attributes.set_many(
        {
            "switching_codes": {name: k for k, name in enumerate(CLASS_NAMES)},
            "n_frames": res.summary["n_frames"],
            f"n_{c}": res.summary[f"n_{c}"],
            "cation": mat.cation,
            "units": {
                "d2min": "Å² per neighbour" if p["d2min_per_neighbor"] else "Å² (sum over neighbours)",
                "d": "Å",
                "hydrostatic_stress": "GPa (positive = local tension)",
            },
        }
    )
    curves.base.attributes.set_many(
        {
            "species_rows": [f"{mat.cation}{s}" for s in SPECIES],
            "cation": mat.cation,
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
