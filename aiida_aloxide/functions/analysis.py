"""Calcfunctions of the structure and deformation analysis (SPEC §4): nodes in, nodes out.

Thin wrappers: the science lives in :mod:`aiida_aloxide.analysis` (plain numpy); here the
arrays are read from nodes, the analysis functions are called, and the results are stored
with provenance. Big per-atom arrays go to the file repository of ``ArrayData`` nodes
(float32 / int8); the scalars people filter on go to ``Dict`` attributes (never NaN: None).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from aiida import orm

from ..analysis.atomic_stress import hydrostatic_stress, species_histograms
from ..analysis.bond_switching import (
    CLASS_NAMES,
    bond_switching_trajectory,
    fracture_plane,
    signed_distance_to_plane,
    switching_by_species,
    switching_fractions,
    switching_profile,
)
from ..analysis.coordination import AL_O_CUTOFF, coordination_numbers, species_fractions
from ..analysis.nonaffine import D2MIN_CUTOFF, cumulative_nonaffine
from ..analysis.rdf import first_minimum, partial_rdfs
from ..data.structure import structure_arrays
from ..potentials import SPECIES_TYPES
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

#: Al–Al cut-off at the first minimum of g_AlAl (Du et al. 2021), Å.
AL_AL_CUTOFF = 3.7
#: Species of the break-downs, in row order of every (3, ...) array.
SPECIES = (4, 5, 6)

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


def _positive_float(params: dict[str, Any], key: str) -> float:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"parameter {key!r} must be a positive number, got {value!r}")
    return float(value)


def _positive_int(params: dict[str, Any], key: str) -> int:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"parameter {key!r} must be a positive integer, got {value!r}")
    return int(value)


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
    for key in ("al_o_cutoff", "al_al_cutoff", "d2min_cutoff"):
        params[key] = _positive_float(params, key)
        if params[key] > 20.0:
            raise ValueError(f"parameter {key!r} must be <= 20 Å, got {params[key]!r}")
    for key in ("profile_bins", "d_bins", "stress_bins"):
        params[key] = _positive_int(params, key)
        if params[key] > 10_000:
            raise ValueError(f"parameter {key!r} must be <= 10000, got {params[key]!r}")
    if not isinstance(params["d2min_per_neighbor"], bool):
        raise ValueError(f"parameter 'd2min_per_neighbor' must be a bool, got {params['d2min_per_neighbor']!r}")
    return params


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


def _hydrostatic_al(sv: np.ndarray, vv: np.ndarray, al: np.ndarray) -> np.ndarray:
    """Hydrostatic stress (GPa) of the Al atoms in every frame; NaN where the Voronoi volume is unusable."""
    out = np.full((sv.shape[0], int(al.sum())), np.nan)
    for f in range(sv.shape[0]):
        s, v = sv[f][al], vv[f][al]
        ok = np.isfinite(v) & (v > 0) & np.all(np.isfinite(s), axis=1)
        if ok.any():
            out[f, ok] = hydrostatic_stress(s[ok], v[ok])
    return out


def _nan_stat(func, values: np.ndarray) -> float | None:
    """A statistic over the finite values, None when there are none."""
    v = values[np.isfinite(values)]
    return finite_or_none(func(v)) if v.size else None


@calcfunction
def deformation_analysis(frames: orm.TrajectoryData, parameters: orm.Dict | None = None) -> dict[str, orm.Data]:
    """Bond switching, cumulative non-affine displacement D and local stress of the Al atoms of a tension run.

    ``frames``: the ``frames`` output of a tension work chain (frame 0 = unstrained reference).
    ``parameters``: optional Dict, keys of :data:`DEFORMATION_DEFAULTS`. Outputs ``per_atom``
    (ArrayData, per-atom arrays in the repository), ``summary`` (Dict of queryable scalars) and
    ``curves`` (ArrayData of the curves and histograms the figures need). See docs/analysis.md.
    """
    p = validate_deformation_parameters(None if parameters is None else parameters.get_dict())
    data = _read_frames(frames)
    pos, cells, types, strain = data["positions"], data["cells"], data["types"], data["strain"]
    n_frames = pos.shape[0]
    al = types == _AL
    n_al = int(al.sum())
    if n_al == 0:
        raise ValueError("frames contain no Al atoms (type 1)")
    last = n_frames - 1

    # Coordination and bond switching vs frame 0.
    codes, cn = bond_switching_trajectory(
        pos, cells, types, center_type=_AL, neighbor_type=_O, cutoff=p["al_o_cutoff"], reference=0
    )
    cn0 = cn[0]
    fractions = switching_fractions(codes)
    species_curve = [species_fractions(cn[f], SPECIES) for f in range(n_frames)]
    by_total = switching_by_species(codes[last:], cn0, SPECIES, normalize="total")
    by_within = switching_by_species(codes[last:], cn0, SPECIES, normalize="species")
    breakdown_total = np.array([[by_total[f"Al{s}"][c][0] for c in CLASS_NAMES] for s in SPECIES])
    breakdown_within = np.array([[by_within[f"Al{s}"][c][0] for c in CLASS_NAMES] for s in SPECIES])

    # Spatial distribution of the final switch classes vs the fracture plane (final frame, along x).
    plane = fracture_plane(pos[last], cells[last], axis=0)
    half = 0.5 * float(cells[last, 0])
    distance = signed_distance_to_plane(pos[last][al], cells[last], plane, axis=0)
    profile_edges, profile_counts, _ = switching_profile(distance, codes[last], p["profile_bins"], range_=(-half, half))

    # Cumulative non-affine displacement D (neighbourhood: all atoms within d2min_cutoff).
    d_cum, d2_steps = cumulative_nonaffine(
        pos, cells, centers=al, cutoff=p["d2min_cutoff"], per_neighbor=p["d2min_per_neighbor"], unwrapped=True
    )
    d_finite = d_cum[np.isfinite(d_cum)]
    d_range = (0.0, float(d_finite.max()) if d_finite.size and d_finite.max() > 0 else 1.0)
    d_counts, d_edges = np.histogram(d_finite, bins=p["d_bins"], range=d_range)

    # Local hydrostatic stress of the Al atoms.
    per_atom = orm.ArrayData()
    curves = orm.ArrayData()
    stress_summary: dict[str, Any] = {"stress_available": data["stress_volume"] is not None}
    if data["stress_volume"] is not None:
        hydro = _hydrostatic_al(data["stress_volume"], data["voronoi_volume"], al)
        per_atom.set_array("hydrostatic_stress", hydro.astype(np.float32))
        both = np.concatenate([hydro[0], hydro[last]])
        both = both[np.isfinite(both)]
        s_range = (float(both.min()), float(both.max())) if both.size else None
        if s_range is not None and s_range[0] == s_range[1]:
            s_range = (s_range[0] - 0.5, s_range[1] + 0.5)
        edges0, h0 = species_histograms(hydro[0], cn0, p["stress_bins"], SPECIES, range_=s_range)
        _, h1 = species_histograms(hydro[last], cn[last], p["stress_bins"], SPECIES, range_=s_range)
        curves.set_array("stress_edges", np.asarray(edges0, dtype=np.float64))
        curves.set_array("stress_density_initial", np.stack([h0[f"Al{s}"] for s in SPECIES]))
        curves.set_array("stress_density_final", np.stack([h1[f"Al{s}"] for s in SPECIES]))
        curves.set_array("hydrostatic_mean", np.array([_nan_stat(np.mean, h) for h in hydro], dtype=np.float64))
        stress_summary["hydrostatic_mean_al_initial"] = _nan_stat(np.mean, hydro[0])
        stress_summary["hydrostatic_mean_al_final"] = _nan_stat(np.mean, hydro[last])
        for s in SPECIES:
            stress_summary[f"hydrostatic_mean_al{s}_initial"] = _nan_stat(np.mean, hydro[0][cn0 == s])
        stress_summary["stress_undefined"] = int(np.count_nonzero(~np.isfinite(hydro)))
    else:
        stress_summary["hydrostatic_mean_al_initial"] = None
        stress_summary["hydrostatic_mean_al_final"] = None
        for s in SPECIES:
            stress_summary[f"hydrostatic_mean_al{s}_initial"] = None
        stress_summary["stress_undefined"] = None

    # --- per_atom -------------------------------------------------------------------------
    per_atom.set_array("al_indices", np.nonzero(al)[0].astype(np.int32))
    per_atom.set_array("initial_species", cn0.astype(np.int8))
    per_atom.set_array("cn", cn.astype(np.int8))
    per_atom.set_array("switching", codes.astype(np.int8))
    per_atom.set_array("d2min", d2_steps.astype(np.float32))
    per_atom.set_array("d", d_cum.astype(np.float32))
    per_atom.set_array("strain", strain)
    per_atom.base.attributes.set_many(
        {
            "switching_codes": {name: k for k, name in enumerate(CLASS_NAMES)},
            "n_frames": int(n_frames),
            "n_al": n_al,
            "units": {
                "d2min": "Å² per neighbour" if p["d2min_per_neighbor"] else "Å² (sum over neighbours)",
                "d": "Å",
                "hydrostatic_stress": "GPa (positive = local tension)",
            },
        }
    )

    # --- curves ---------------------------------------------------------------------------
    curves.set_array("strain", strain)
    for name in CLASS_NAMES:
        curves.set_array(f"fraction_{name.lower()}", np.asarray(fractions[name], dtype=np.float64))
    for s in SPECIES:
        curves.set_array(f"fraction_al{s}", np.array([sc[f"Al{s}"] for sc in species_curve]))
    curves.set_array("fraction_al_other", np.array([sc["other"] for sc in species_curve]))
    curves.set_array("by_species_final", breakdown_total)
    curves.set_array("by_species_final_within", breakdown_within)
    curves.set_array("profile_edges", np.asarray(profile_edges, dtype=np.float64))
    curves.set_array("profile_counts", np.asarray(profile_counts, dtype=np.int64))
    curves.set_array("d_edges", d_edges.astype(np.float64))
    curves.set_array("d_counts", d_counts.astype(np.int64))
    curves.base.attributes.set_many(
        {
            "species_rows": [f"Al{s}" for s in SPECIES],
            "class_columns": list(CLASS_NAMES),
            "fracture_plane": float(plane),
            "units": {
                "profile_edges": "Å, signed distance along x to the fracture plane",
                "d_edges": "Å",
                "stress_edges": "GPa (positive = local tension)",
                "stress_density": "1/GPa (each species normalised to 1)",
            },
        }
    )

    # --- summary --------------------------------------------------------------------------
    final = {name: float(fractions[name][last]) for name in CLASS_NAMES}
    summary: dict[str, Any] = {
        "n_frames": int(n_frames),
        "n_atoms": int(pos.shape[1]),
        "n_al": n_al,
        "reference_strain": float(strain[0]),
        "final_strain": float(strain[last]),
        **{f"{name.lower()}_fraction_final": final[name] for name in CLASS_NAMES},
        **{
            f"dc_fraction_final_from_al{s}": float(breakdown_total[i, CLASS_NAMES.index("DC")])
            for i, s in enumerate(SPECIES)
        },
        **{f"al{s}_fraction_initial": species_curve[0][f"Al{s}"] for s in SPECIES},
        "al_other_fraction_initial": species_curve[0]["other"],
        **{f"al{s}_fraction_final": species_curve[last][f"Al{s}"] for s in SPECIES},
        "al_other_fraction_final": species_curve[last]["other"],
        "mean_cn_initial": float(cn0.mean()),
        "mean_cn_final": float(cn[last].mean()),
        "d_mean": _nan_stat(np.mean, d_cum),
        "d_median": _nan_stat(np.median, d_cum),
        "d_std": _nan_stat(np.std, d_cum),
        "d_max": _nan_stat(np.max, d_cum),
        "d_undefined": int(np.count_nonzero(~np.isfinite(d_cum))),
        **stress_summary,
        "fracture_plane": finite_or_none(plane),
        "fracture_plane_relative": finite_or_none(plane / float(cells[last, 0])),
        "al_o_cutoff": p["al_o_cutoff"],
        "al_al_cutoff": p["al_al_cutoff"],
        "d2min_cutoff": p["d2min_cutoff"],
        "d2min_per_neighbor": p["d2min_per_neighbor"],
        "d2min_normalization": "per_neighbor" if p["d2min_per_neighbor"] else "sum",
        "profile_bins": p["profile_bins"],
        "d_bins": p["d_bins"],
        "stress_bins": p["stress_bins"],
    }
    return {"per_atom": per_atom, "summary": orm.Dict(summary), "curves": curves}


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
