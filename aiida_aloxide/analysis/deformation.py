"""The deformation analysis of a tension run (SPEC §4): frames in → per-atom arrays, curves and summary out.

Frame 0 is the unstrained reference. For the followed cation (Al in alumina, Si in silica: LAMMPS
type 1, the anion type 2, :mod:`aiida_aloxide.materials`): coordination and bond switching against
frame 0 (by initial species, and along x relative to the fracture plane of the last frame), the
cumulative non-affine displacement D, and — when the frames carry stress × volume and Voronoi
volumes — the local hydrostatic stress per cation species. Summary keys are named by the cation
(``al4_fraction_initial`` for alumina, ``si4_fraction_initial`` for silica). Pure numpy on top of
:mod:`~aiida_aloxide.analysis.bond_switching`, :mod:`~aiida_aloxide.analysis.nonaffine` and
:mod:`~aiida_aloxide.analysis.atomic_stress`; summary numbers are plain floats, never NaN (None).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..materials import ANION_TYPE, CATION_TYPE, DEFAULT_CATION
from ..values import finite_or_none
from .atomic_stress import hydrostatic_stress, species_histograms
from .bond_switching import (
    CLASS_NAMES,
    bond_switching_trajectory,
    fracture_plane,
    signed_distance_to_plane,
    switching_by_species,
    switching_fractions,
    switching_profile,
)
from .coordination import species_fractions
from .nonaffine import cumulative_nonaffine

__all__ = ["SPECIES", "Deformation", "deformation", "hydrostatic_al", "nan_stat"]

#: Coordination classes of the break-downs (the materials' default), in row order of every (3, ...) array.
SPECIES = (4, 5, 6)


@dataclass(frozen=True)
class Deformation:
    """Per-atom arrays (Al atoms), curves / histograms, the fracture plane (Å along x) and the summary."""

    per_atom: dict[str, NDArray]
    curves: dict[str, NDArray]
    fracture_plane: float
    summary: dict[str, Any]


def hydrostatic_al(stress_volume: NDArray, voronoi_volume: NDArray, al: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Hydrostatic stress (GPa) of the Al atoms in every frame; NaN where the Voronoi volume is unusable."""
    out = np.full((stress_volume.shape[0], int(al.sum())), np.nan)
    for f in range(stress_volume.shape[0]):
        s, v = stress_volume[f][al], voronoi_volume[f][al]
        ok = np.isfinite(v) & (v > 0) & np.all(np.isfinite(s), axis=1)
        if ok.any():
            out[f, ok] = hydrostatic_stress(s[ok], v[ok])
    return out


def nan_stat(func: Callable[[NDArray], Any], values: NDArray) -> float | None:
    """A statistic over the finite values, None when there are none."""
    v = values[np.isfinite(values)]
    return finite_or_none(func(v)) if v.size else None


def _stress(
    hydro: NDArray, cn0: NDArray, cn_last: NDArray, bins: int, c: str = "al"
) -> tuple[dict[str, NDArray], dict[str, Any]]:
    """Curves (per-species stress densities of the first and last frame, mean per frame) and summary of the stress."""
    last = hydro.shape[0] - 1
    both = np.concatenate([hydro[0], hydro[last]])
    both = both[np.isfinite(both)]
    s_range = (float(both.min()), float(both.max())) if both.size else None
    if s_range is not None and s_range[0] == s_range[1]:
        s_range = (s_range[0] - 0.5, s_range[1] + 0.5)
    edges0, h0 = species_histograms(hydro[0], cn0, bins, SPECIES, range_=s_range)
    _, h1 = species_histograms(hydro[last], cn_last, bins, SPECIES, range_=s_range)
    curves = {
        "stress_edges": np.asarray(edges0, dtype=np.float64),
        "stress_density_initial": np.stack([h0[f"Al{s}"] for s in SPECIES]),
        "stress_density_final": np.stack([h1[f"Al{s}"] for s in SPECIES]),
        "hydrostatic_mean": np.array([nan_stat(np.mean, h) for h in hydro], dtype=np.float64),
    }
    summary = {
        f"hydrostatic_mean_{c}_initial": nan_stat(np.mean, hydro[0]),
        f"hydrostatic_mean_{c}_final": nan_stat(np.mean, hydro[last]),
        **{f"hydrostatic_mean_{c}{s}_initial": nan_stat(np.mean, hydro[0][cn0 == s]) for s in SPECIES},
        "stress_undefined": int(np.count_nonzero(~np.isfinite(hydro))),
    }
    return curves, summary


def deformation(
    positions: NDArray,
    cells: NDArray,
    types: NDArray,
    strain: NDArray,
    params: Mapping[str, Any],
    stress_volume: NDArray | None = None,
    voronoi_volume: NDArray | None = None,
    cation: str = DEFAULT_CATION,
) -> Deformation:
    """Bond switching, cumulative non-affine D and local stress of the cations (type 1) of frames (F, N, 3),
    boxes (F, 3).

    ``params``: the checked parameters of ``functions.analysis.deformation_analysis`` (cut-offs, bin counts,
    ``d2min_per_neighbor``); ``stress_volume`` (F, N, 6) and ``voronoi_volume`` (F, N) are optional together;
    ``cation``: the element of type 1, which names the summary keys.
    """
    c = cation.lower()
    n_frames = positions.shape[0]
    al = types == CATION_TYPE
    n_al = int(al.sum())
    if n_al == 0:
        raise ValueError(f"frames contain no {cation} atoms (type {CATION_TYPE})")
    last = n_frames - 1

    # Coordination and bond switching vs frame 0.
    codes, cn = bond_switching_trajectory(
        positions,
        cells,
        types,
        center_type=CATION_TYPE,
        neighbor_type=ANION_TYPE,
        cutoff=params["al_o_cutoff"],
        reference=0,
    )
    cn0 = cn[0]
    fractions = switching_fractions(codes)
    species_curve = [species_fractions(cn[f], SPECIES) for f in range(n_frames)]
    by_total = switching_by_species(codes[last:], cn0, SPECIES, normalize="total")
    by_within = switching_by_species(codes[last:], cn0, SPECIES, normalize="species")
    breakdown_total = np.array([[by_total[f"Al{s}"][c][0] for c in CLASS_NAMES] for s in SPECIES])
    breakdown_within = np.array([[by_within[f"Al{s}"][c][0] for c in CLASS_NAMES] for s in SPECIES])

    # Spatial distribution of the final switch classes vs the fracture plane (final frame, along x).
    plane = fracture_plane(positions[last], cells[last], axis=0)
    half = 0.5 * float(cells[last, 0])
    distance = signed_distance_to_plane(positions[last][al], cells[last], plane, axis=0)
    profile_edges, profile_counts, _ = switching_profile(
        distance, codes[last], params["profile_bins"], range_=(-half, half)
    )

    # Cumulative non-affine displacement D (neighbourhood: all atoms within d2min_cutoff).
    d_cum, d2_steps = cumulative_nonaffine(
        positions, cells, centers=al, cutoff=params["d2min_cutoff"], per_neighbor=params["d2min_per_neighbor"],
        unwrapped=True,
    )  # fmt: skip
    d_finite = d_cum[np.isfinite(d_cum)]
    d_range = (0.0, float(d_finite.max()) if d_finite.size and d_finite.max() > 0 else 1.0)
    d_counts, d_edges = np.histogram(d_finite, bins=params["d_bins"], range=d_range)

    per_atom: dict[str, NDArray] = {
        f"{c}_indices": np.nonzero(al)[0],
        "initial_species": cn0,
        "cn": cn,
        "switching": codes,
        "d2min": d2_steps,
        "d": d_cum,
        "strain": strain,
    }
    curves: dict[str, NDArray] = {"strain": strain}
    for name in CLASS_NAMES:
        curves[f"fraction_{name.lower()}"] = np.asarray(fractions[name], dtype=np.float64)
    for s in SPECIES:
        curves[f"fraction_{c}{s}"] = np.array([sc[f"Al{s}"] for sc in species_curve])
    curves.update(
        {
            f"fraction_{c}_other": np.array([sc["other"] for sc in species_curve]),
            "by_species_final": breakdown_total,
            "by_species_final_within": breakdown_within,
            "profile_edges": np.asarray(profile_edges, dtype=np.float64),
            "profile_counts": np.asarray(profile_counts, dtype=np.int64),
            "d_edges": d_edges.astype(np.float64),
            "d_counts": d_counts.astype(np.int64),
        }
    )
    # Local hydrostatic stress of the Al atoms.
    have_stress = stress_volume is not None and voronoi_volume is not None
    stress_summary: dict[str, Any] = {"stress_available": have_stress}
    if have_stress:
        hydro = hydrostatic_al(stress_volume, voronoi_volume, al)
        per_atom["hydrostatic_stress"] = hydro
        stress_curves, more = _stress(hydro, cn0, cn[last], params["stress_bins"], c)
        curves.update(stress_curves)
        stress_summary.update(more)
    else:
        keys = [f"hydrostatic_mean_{c}_initial", f"hydrostatic_mean_{c}_final"]
        keys += [f"hydrostatic_mean_{c}{s}_initial" for s in SPECIES] + ["stress_undefined"]
        stress_summary.update(dict.fromkeys(keys))

    final = {name: float(fractions[name][last]) for name in CLASS_NAMES}
    summary: dict[str, Any] = {
        "n_frames": int(n_frames),
        "n_atoms": int(positions.shape[1]),
        "cation": cation,
        f"n_{c}": n_al,
        "reference_strain": float(strain[0]),
        "final_strain": float(strain[last]),
        **{f"{name.lower()}_fraction_final": final[name] for name in CLASS_NAMES},
        **{
            f"dc_fraction_final_from_{c}{s}": float(breakdown_total[i, CLASS_NAMES.index("DC")])
            for i, s in enumerate(SPECIES)
        },
        **{f"{c}{s}_fraction_initial": species_curve[0][f"Al{s}"] for s in SPECIES},
        f"{c}_other_fraction_initial": species_curve[0]["other"],
        **{f"{c}{s}_fraction_final": species_curve[last][f"Al{s}"] for s in SPECIES},
        f"{c}_other_fraction_final": species_curve[last]["other"],
        "mean_cn_initial": float(cn0.mean()),
        "mean_cn_final": float(cn[last].mean()),
        "d_mean": nan_stat(np.mean, d_cum),
        "d_median": nan_stat(np.median, d_cum),
        "d_std": nan_stat(np.std, d_cum),
        "d_max": nan_stat(np.max, d_cum),
        "d_undefined": int(np.count_nonzero(~np.isfinite(d_cum))),
        **stress_summary,
        "fracture_plane": finite_or_none(plane),
        "fracture_plane_relative": finite_or_none(plane / float(cells[last, 0])),
        **{key: params[key] for key in ("al_o_cutoff", "al_al_cutoff", "d2min_cutoff", "d2min_per_neighbor")},
        "d2min_normalization": "per_neighbor" if params["d2min_per_neighbor"] else "sum",
        **{key: params[key] for key in ("profile_bins", "d_bins", "stress_bins")},
    }
    return Deformation(per_atom=per_atom, curves=curves, fracture_plane=float(plane), summary=summary)
