"""Local (per-atom) stress from LAMMPS ``compute stress/atom`` and Voronoi volumes (SPEC §4).

LAMMPS' ``compute stress/atom`` returns S_ab = -m v_a v_b - W_ab per atom, six columns in the
order xx, yy, zz, xy, xz, yz, in units of pressure × volume (bar·Å³ with ``units metal``).
The LAMMPS manual states that this per-atom stress "is the negative of the per-atom pressure
tensor" (Σ_i (S_xx + S_yy + S_zz) / 3V = -P). Hence S > 0 already means tension: no sign flip
is applied here. For a pair interaction, W = ½ (r_1 ⊗ F_1 + r_2 ⊗ F_2), i.e. S_i = ½ Σ_j
r_ij ⊗ f_ij with r_ij = r_j - r_i and f_ij the force on i due to j (Egami's σ_i V_i formula);
a repulsive (compressed) bond gives S < 0.

σ_i = S_i / V_i with V_i the Voronoi volume; output in GPa (1 bar = 1e-4 GPa); the hydrostatic
stress is trace/3, positive = local tension.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "BAR_TO_GPA",
    "EV_PER_A3_TO_GPA",
    "EV_PER_A3_TO_BAR",
    "atomic_stress",
    "hydrostatic_stress",
    "pair_stress_volume",
    "species_histograms",
    "voigt_to_tensor",
    "von_mises_stress",
]

#: 1 bar in GPa.
BAR_TO_GPA = 1.0e-4
#: 1 eV/Å³ in GPa (1.602176634e-19 J / 1e-30 m³ = 1.602176634e11 Pa).
EV_PER_A3_TO_GPA = 160.21766339999998
#: 1 eV/Å³ in bar.
EV_PER_A3_TO_BAR = 1.602176634e6


def _as_voigt(stress_volume: ArrayLike) -> NDArray[np.float64]:
    """Validate an (N, 6) xx yy zz xy xz yz array."""
    s = np.asarray(stress_volume, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != 6:
        raise ValueError(f"stress must have shape (N, 6) (xx yy zz xy xz yz), got {s.shape}")
    return s


def atomic_stress(
    stress_volume: ArrayLike, volumes: ArrayLike, *, unit_factor: float = BAR_TO_GPA
) -> NDArray[np.float64]:
    """Per-atom stress σ_i = S_i / V_i, (N, 6) in GPa, from LAMMPS stress/atom (bar·Å³) and volumes (Å³).

    ``unit_factor`` converts the stress×volume unit / Å³ to GPa (default: bar → GPa, ``units metal``).
    Positive = tension (LAMMPS sign kept, see module docstring).
    """
    s = _as_voigt(stress_volume)
    v = np.asarray(volumes, dtype=np.float64)
    if v.shape != (s.shape[0],):
        raise ValueError(f"volumes must have shape ({s.shape[0]},), got {v.shape}")
    if np.any(v <= 0):
        raise ValueError("volumes must be positive")
    return s * (unit_factor / v)[:, None]


def hydrostatic_stress(
    stress_volume: ArrayLike, volumes: ArrayLike, *, unit_factor: float = BAR_TO_GPA
) -> NDArray[np.float64]:
    """Per-atom hydrostatic stress (σ_xx + σ_yy + σ_zz) / 3 in GPa; positive = local tension."""
    return atomic_stress(stress_volume, volumes, unit_factor=unit_factor)[:, :3].mean(axis=1)


def von_mises_stress(stress: ArrayLike) -> NDArray[np.float64]:
    """Von Mises equivalent stress of (N, 6) Voigt stresses (same units as the input)."""
    s = _as_voigt(stress)
    xx, yy, zz, xy, xz, yz = s.T
    return np.sqrt(0.5 * ((xx - yy) ** 2 + (yy - zz) ** 2 + (zz - xx) ** 2) + 3.0 * (xy**2 + xz**2 + yz**2))


def voigt_to_tensor(stress: ArrayLike) -> NDArray[np.float64]:
    """(N, 6) xx yy zz xy xz yz → symmetric (N, 3, 3) tensors."""
    s = _as_voigt(stress)
    t = np.empty((s.shape[0], 3, 3))
    t[:, 0, 0], t[:, 1, 1], t[:, 2, 2] = s[:, 0], s[:, 1], s[:, 2]
    t[:, 0, 1] = t[:, 1, 0] = s[:, 3]
    t[:, 0, 2] = t[:, 2, 0] = s[:, 4]
    t[:, 1, 2] = t[:, 2, 1] = s[:, 5]
    return t


def pair_stress_volume(i: ArrayLike, vectors: ArrayLike, pair_forces: ArrayLike, n_atoms: int) -> NDArray[np.float64]:
    """Pair-virial stress×volume S_i = ½ Σ_j r_ij ⊗ f_ij, (N, 6) in (force × length) units.

    ``i``: centre index of each directed pair (each bond listed from both ends), ``vectors``:
    r_ij = r_j - r_i, ``pair_forces``: force on i due to j. Same sign and layout as LAMMPS
    ``compute stress/atom`` (pair term, no kinetic part): in eV, multiply by
    :data:`EV_PER_A3_TO_BAR` for bar·Å³.
    """
    idx = np.asarray(i, dtype=np.int64)
    r = np.asarray(vectors, dtype=np.float64)
    f = np.asarray(pair_forces, dtype=np.float64)
    comps = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
    # Symmetrised (r_a f_b + r_b f_a)/2: exact for central forces, where r ⊗ f is symmetric.
    return np.stack(
        [0.25 * np.bincount(idx, weights=r[:, a] * f[:, b] + r[:, b] * f[:, a], minlength=n_atoms) for a, b in comps],
        axis=1,
    )


def species_histograms(
    values: ArrayLike,
    cn: ArrayLike,
    bins: int | ArrayLike = 50,
    species: tuple[int, ...] = (4, 5, 6),
    *,
    range_: tuple[float, float] | None = None,
    density: bool = True,
) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
    """Histograms of a per-atom quantity (e.g. hydrostatic stress of Al) per coordination species.

    Common bin edges for all species; returns ``(edges, {"Al4": h, "Al5": h, ...})``, each
    normalised to a probability density when ``density`` (empty species give zeros).
    """
    x = np.asarray(values, dtype=np.float64)
    c = np.asarray(cn)
    if x.shape != c.shape:
        raise ValueError(f"values {x.shape} and cn {c.shape} differ in shape")
    edges = np.histogram_bin_edges(x[np.isfinite(x)], bins=bins, range=range_)
    out: dict[str, NDArray[np.float64]] = {}
    for s in species:
        sel = (c == s) & np.isfinite(x)
        if sel.any():
            out[f"Al{s}"] = np.histogram(x[sel], bins=edges, density=density)[0].astype(np.float64)
        else:
            out[f"Al{s}"] = np.zeros(len(edges) - 1)
    return edges, out
