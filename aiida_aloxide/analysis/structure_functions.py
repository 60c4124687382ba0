"""Cubuk et al. structure functions of Al centre atoms (SPEC §5; Cubuk et al., PRL 114, 108001 (2015)).

For a centre atom k and neighbours i, j (minimum-image vectors under periodic boundaries):

* radial, one set per neighbour species X ∈ {Al, O}::

      G_X(k; μ) = Σ_{i ∈ X, r_ik ≤ R_G} exp(-(r_ik - μ)² / L²),   μ = 0.6, 0.8, …, 10.0 Å,  L = 0.2 Å

  (48 values of μ, Du et al. 2021). Default cut-off R_G = 10 Å + 3L = 10.6 Å: beyond it every
  Gaussian is below exp(-9) ≈ 1e-4.

* angular, one set per unordered neighbour-species pair (Al–Al, Al–O, O–O)::

      Ψ_XY(k; ξ, λ, ζ) = Σ_{i<j} exp(-(r_ik² + r_jk² + r_ij²) / ξ²) (1 + λ cos θ_ijk)^ζ

  over unordered pairs {i, j} of *distinct* neighbours within the angular cut-off R_Ψ, one of
  species X and the other of species Y (each pair counted once; an ordered double sum would give
  exactly twice these values, which standardisation makes irrelevant for the SVM).

Parameters of the angular functions
-----------------------------------
Cubuk et al. (2015, supplementary material) use 22 (ξ, λ, ζ) combinations, ξ in units of the
Lennard-Jones σ_AA of the Kob–Andersen mixture::

    ξ/σ = 14.638: (λ, ζ) = (-1, 1), (1, 1), (-1, 2), (1, 2)
    ξ/σ =  2.554: (λ, ζ) = (-1, 1), (1, 1), (-1, 2), (1, 2)
    ξ/σ =  1.648: (λ, ζ) = (1, 1), (1, 2)
    ξ/σ =  1.204: (λ, ζ) = (1, 1), (1, 2), (1, 4), (1, 16)
    ξ/σ =  0.933: (λ, ζ) = (1, 1), (1, 2), (1, 4), (1, 16)
    ξ/σ =  0.695: (λ, ζ) = (1, 1), (1, 2), (1, 4), (1, 16)

(Source: the supplementary material of the PRL, as transcribed in three independent public
softness codes that cite Cubuk et al. 2015 / Cubuk et al., Science 358, 1033 (2017); they agree
on all 22 rows except that two copies carry the typo 14.633 for the first two. The supplement
itself was not consulted directly.)

Length scaling for a-Al2O3: ``ξ[Å] = 2.0 Å × ξ/σ`` (:data:`LENGTH_SCALE`). Why 2.0 Å: Du et al.
transferred Cubuk's *radial* grid to alumina with exactly this factor — Cubuk's μ = 0.1σ…5.0σ in
steps of 0.1σ with L = 0.1σ becomes μ up to 10 Å in steps of 0.2 Å with L = 0.2 Å — so the
angular functions use the same σ → Å conversion. Physically 2 Å is close to the nearest-neighbour
(Al–O) distance of alumina (≈1.8–1.9 Å), as σ is for the LJ glass. The resulting ξ are
29.276, 5.108, 3.296, 2.408, 1.866 and 1.390 Å. The list is a parameter
(:data:`CUBUK_ANGULAR_SIGMA` / :func:`scaled_angular_parameters`), so other choices are one
argument away.

Angular cut-off: R_Ψ = 6.0 Å (:data:`ANGULAR_CUTOFF`). For the four narrowest ξ (≤ 3.296 Å,
14 of the 22 functions) a pair whose two legs reach R_Ψ carries a Gaussian weight
≤ exp(-2 R_Ψ²/ξ²) ≤ 1.3e-3, i.e. these functions are converged. For the two broad ξ
(29.276 and 5.108 Å) the Gaussian is nearly flat over any affordable neighbourhood — as
ξ = 14.638σ already was in the original — so those functions are angle-weighted counts of
neighbour pairs within R_Ψ and R_Ψ is part of their definition (public implementations often
reuse the radial neighbour shell, ≈ 5σ, which here would be ``angular_cutoff=10.0``). 6 Å covers the nearest-neighbour
shells of a-Al2O3 (Al–O ≈ 1.8 Å, O–O ≈ 2.8 Å, Al–Al ≈ 3.1 Å) and the shell beyond them, and keeps
all functions of a 16,200-atom frame within a few seconds. The angular cost grows with the
number of neighbour pairs, ∝ R_Ψ⁶ ((10/6)⁶ ≈ 21× for a 10 Å cut-off); measured figures are in
``docs/benchmarks-softness.md`` (``benchmarks/bench_softness.py``).

Everything runs on one periodic neighbour list (cKDTree) and two numba kernels parallel over
centre atoms. Boxes smaller than twice the cut-off are handled by replicating the cell
(:func:`periodic_neighbor_list`), so every periodic image within the cut-off is counted.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numba as nb
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..materials import ANION_TYPE, CATION_TYPE
from .neighbors import NeighborList, as_box, as_index, neighbor_list, wrap

__all__ = [
    "ANGULAR_CUTOFF",
    "CUBUK_ANGULAR_SIGMA",
    "LENGTH_SCALE",
    "RADIAL_L",
    "RADIAL_MUS",
    "StructureFunctions",
    "angular_feature_names",
    "default_radial_cutoff",
    "periodic_neighbor_list",
    "radial_feature_names",
    "scaled_angular_parameters",
    "structure_functions",
]

#: Radial centres μ (Å): 0.6 … 10.0 in steps of 0.2 (48 values).
RADIAL_MUS: NDArray[np.float64] = np.round(0.6 + 0.2 * np.arange(48), 10)
#: Radial Gaussian width L (Å).
RADIAL_L = 0.2
#: σ → Å conversion for Cubuk's angular parameters (see module docstring).
LENGTH_SCALE = 2.0
#: Angular cut-off R_Ψ (Å), see module docstring.
ANGULAR_CUTOFF = 6.0
#: Cubuk et al. (2015) angular parameters (ξ in units of σ, λ, ζ).
CUBUK_ANGULAR_SIGMA: tuple[tuple[float, int, int], ...] = (
    (14.638, -1, 1),
    (14.638, 1, 1),
    (14.638, -1, 2),
    (14.638, 1, 2),
    (2.554, -1, 1),
    (2.554, 1, 1),
    (2.554, -1, 2),
    (2.554, 1, 2),
    (1.648, 1, 1),
    (1.648, 1, 2),
    (1.204, 1, 1),
    (1.204, 1, 2),
    (1.204, 1, 4),
    (1.204, 1, 16),
    (0.933, 1, 1),
    (0.933, 1, 2),
    (0.933, 1, 4),
    (0.933, 1, 16),
    (0.695, 1, 1),
    (0.695, 1, 2),
    (0.695, 1, 4),
    (0.695, 1, 16),
)


def scaled_angular_parameters(
    params: Sequence[tuple[float, int, int]] = CUBUK_ANGULAR_SIGMA, scale: float = LENGTH_SCALE
) -> tuple[tuple[float, int, int], ...]:
    """(ξ·scale, λ, ζ) for every entry of ``params``; default: Cubuk's list in Å for a-Al2O3."""
    return tuple((round(float(xi) * scale, 10), int(lam), int(zeta)) for xi, lam, zeta in params)


def default_radial_cutoff(mus: ArrayLike = RADIAL_MUS, width: float = RADIAL_L) -> float:
    """Largest μ plus three widths (10.6 Å by default): Gaussians beyond are below exp(-9)."""
    return float(np.max(mus)) + 3.0 * width


class StructureFunctions(NamedTuple):
    """Feature matrix (one row per centre atom, in ``centers`` order) and one name per column."""

    features: NDArray[np.float64]
    names: list[str]
    centers: NDArray[np.int64]


def _labeller(labels: Mapping[int | str, str] | None) -> Callable[[int], str]:
    """Element name of a LAMMPS type for column names: ``labels`` (type → element; keys may be strings, as
    stored in a Dict), by default the default material's (1 = Al, 2 = O), ``T<type>`` for an unknown type."""
    if labels is None:
        from ..materials import load_material

        labels = load_material().type_species
    table = {int(k): str(v) for k, v in labels.items()}
    return lambda t: table.get(int(t), f"T{int(t)}")


def radial_feature_names(
    species: Sequence[int] = (CATION_TYPE, ANION_TYPE),
    mus: ArrayLike = RADIAL_MUS,
    labels: Mapping[int | str, str] | None = None,
) -> list[str]:
    """Column names ``G_<species>_<μ>`` in the column order of :func:`structure_functions`."""
    label = _labeller(labels)
    return [f"G_{label(s)}_{mu:g}" for s in species for mu in np.asarray(mus)]


def angular_feature_names(
    species: Sequence[int] = (CATION_TYPE, ANION_TYPE),
    params: Sequence[tuple[float, int, int]] | None = None,
    labels: Mapping[int | str, str] | None = None,
) -> list[str]:
    """Column names ``Psi_<XY>_xi<ξ>_l<λ>_z<ζ>`` in the column order of :func:`structure_functions`."""
    params = scaled_angular_parameters() if params is None else params
    label = _labeller(labels)
    pairs = list(itertools.combinations_with_replacement(species, 2))
    return [
        f"Psi_{label(a)}{label(b)}_xi{xi:g}_l{int(lam):+d}_z{int(zeta)}" for a, b in pairs for xi, lam, zeta in params
    ]


def periodic_neighbor_list(
    positions: ArrayLike,
    box: ArrayLike,
    cutoff: float,
    *,
    centers: ArrayLike | None = None,
    neighbors: ArrayLike | None = None,
) -> NeighborList:
    """Like :func:`neighbors.neighbor_list` but valid for any cut-off, replicating the cell if needed.

    When ``cutoff`` reaches half a box length the cell is repeated n times along that axis
    (n = ⌊2·cutoff/L⌋ + 1) and the list is built in the supercell; neighbour indices are mapped
    back to the original atoms. Every periodic image within the cut-off is then a separate pair,
    so the same ``j`` may appear several times for one ``i`` and ``j == i`` occurs for an atom's
    own images. Pairs are sorted by ``i`` (stable in the supercell order within each ``i``).
    """
    box = as_box(box)
    pos = wrap(positions, box)
    n = pos.shape[0]
    reps = np.floor(2.0 * cutoff / box).astype(np.int64) + 1
    if np.all(reps == 1):
        return neighbor_list(pos, box, cutoff, centers=centers, neighbors=neighbors)
    shifts = np.array(list(itertools.product(*(range(int(k)) for k in reps))), dtype=np.float64) * box
    big = (pos[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    big_box = box * reps
    ci = as_index(centers, n)
    nj = as_index(neighbors, n)
    nj_big = (nj[None, :] + n * np.arange(shifts.shape[0])[:, None]).ravel()
    nl = neighbor_list(big, big_box, cutoff, centers=ci, neighbors=nj_big)
    return NeighborList(nl.i, nl.j % n, nl.vectors, nl.distances, n)


@nb.njit(cache=True, parallel=True)
def _radial_kernel(offsets, dist, nspec, mus, inv_l, rcut, out):  # pragma: no cover - compiled
    n_c = offsets.size - 1
    n_mu = mus.size
    for c in nb.prange(n_c):
        for p in range(offsets[c], offsets[c + 1]):
            r = dist[p]
            s = nspec[p]
            if r > rcut or s < 0:
                continue
            base = s * n_mu
            for m in range(n_mu):
                x = (r - mus[m]) * inv_l
                x2 = x * x
                if x2 < 700.0:  # exp(-700) ~ 1e-304: below anything that matters
                    out[c, base + m] += math.exp(-x2)


@nb.njit(cache=True, inline="always")
def _ipow(base, k):  # pragma: no cover - compiled
    """base**k for a non-negative integer k by repeated squaring."""
    result = 1.0
    while k > 0:
        if k & 1:
            result *= base
        base *= base
        k >>= 1
    return result


@nb.njit(cache=True, parallel=True)
def _angular_kernel(
    offsets, vec, dist, nspec, rcut, pair_index, inv_xi2, lam, zeta, xi_of, ang_of, out
):  # pragma: no cover - compiled
    n_c = offsets.size - 1
    n_xi = inv_xi2.size
    n_ang = lam.size
    n_func = xi_of.size
    n_out = out.shape[1]
    for c in nb.prange(n_c):
        start = offsets[c]
        stop = offsets[c + 1]
        m = stop - start
        x = np.empty(m)
        y = np.empty(m)
        z = np.empty(m)
        r = np.empty(m)
        s = np.empty(m, dtype=np.int64)
        k = 0
        for p in range(start, stop):
            if dist[p] <= rcut and nspec[p] >= 0:
                x[k] = vec[p, 0]
                y[k] = vec[p, 1]
                z[k] = vec[p, 2]
                r[k] = dist[p]
                s[k] = nspec[p]
                k += 1
        acc = np.zeros(n_out)
        e = np.empty(n_xi)
        g = np.empty(n_ang)
        for a in range(k):
            xa = x[a]
            ya = y[a]
            za = z[a]
            ra = r[a]
            ra2 = ra * ra
            sa = s[a]
            for b in range(a + 1, k):
                dx = x[b] - xa
                dy = y[b] - ya
                dz = z[b] - za
                rb = r[b]
                ssum = ra2 + rb * rb + dx * dx + dy * dy + dz * dz
                cos = (xa * x[b] + ya * y[b] + za * z[b]) / (ra * rb)
                if cos > 1.0:
                    cos = 1.0
                elif cos < -1.0:
                    cos = -1.0
                for q in range(n_xi):
                    arg = ssum * inv_xi2[q]
                    e[q] = math.exp(-arg) if arg < 700.0 else 0.0
                for q in range(n_ang):
                    g[q] = _ipow(1.0 + lam[q] * cos, zeta[q])
                off = pair_index[sa, s[b]] * n_func
                for f in range(n_func):
                    acc[off + f] += e[xi_of[f]] * g[ang_of[f]]
        for f in range(n_out):
            out[c, f] = acc[f]


def structure_functions(
    positions: ArrayLike,
    box: ArrayLike,
    types: ArrayLike,
    centers: ArrayLike | None = None,
    *,
    center_type: int = CATION_TYPE,
    species: Sequence[int] = (CATION_TYPE, ANION_TYPE),
    mus: ArrayLike = RADIAL_MUS,
    width: float = RADIAL_L,
    radial_cutoff: float | None = None,
    angular_params: Sequence[tuple[float, int, int]] | None = None,
    angular_cutoff: float = ANGULAR_CUTOFF,
    radial: bool = True,
    angular: bool = True,
    labels: Mapping[int | str, str] | None = None,
) -> StructureFunctions:
    """Radial G and angular Ψ structure functions of the centre atoms of one frame (``labels``: the element
    of each type in the column names, default the default material's: ``G_Al_1.8``).

    ``centers``: atoms to describe (index array or boolean mask); default every atom of type
    ``center_type`` (Al). Rows follow ascending atom index (returned as ``centers``).
    ``species``: neighbour types, in column order (Al, O). ``angular_params``: (ξ [Å], λ, ζ),
    default Cubuk's list scaled to Å (:func:`scaled_angular_parameters`); ζ must be a
    non-negative integer. Columns: radial block (species-major, then μ) followed by the angular
    block (pair-major over ``combinations_with_replacement(species, 2)``, then parameter row).
    """
    pos = np.asarray(positions, dtype=np.float64)
    types = np.asarray(types).astype(np.int64)
    if pos.ndim != 2 or pos.shape[1] != 3 or types.shape != (pos.shape[0],):
        raise ValueError("positions must be (n_atoms, 3) and types (n_atoms,)")
    n = pos.shape[0]
    species = [int(s) for s in species]
    if len(set(species)) != len(species):
        raise ValueError("species must be distinct")
    mus = np.ascontiguousarray(mus, dtype=np.float64)
    params = scaled_angular_parameters() if angular_params is None else tuple(angular_params)
    rc_rad = default_radial_cutoff(mus, width) if radial_cutoff is None else float(radial_cutoff)
    rc_ang = float(angular_cutoff)
    for xi, _lam, zeta in params:
        if xi <= 0 or int(zeta) != zeta or zeta < 0:
            raise ValueError(f"invalid angular parameters (ξ={xi}, ζ={zeta}): need ξ > 0, integer ζ ≥ 0")

    ci = as_index(np.nonzero(types == center_type)[0] if centers is None else centers, n)
    n_sp = len(species)
    pairs = list(itertools.combinations_with_replacement(range(n_sp), 2))
    names: list[str] = []
    blocks: list[NDArray[np.float64]] = []
    if radial:
        names += radial_feature_names(species, mus, labels)
    if angular:
        names += angular_feature_names(species, params, labels)
    if ci.size == 0:
        return StructureFunctions(np.zeros((0, len(names))), names, ci)

    cutoff = max(rc_rad if radial else 0.0, rc_ang if angular else 0.0)
    neigh_mask = np.isin(types, species)
    nl = periodic_neighbor_list(pos, box, cutoff, centers=ci, neighbors=neigh_mask)
    lookup = np.full(max(int(types.max()), *species) + 1, -1, dtype=np.int64)
    lookup[species] = np.arange(n_sp)
    nspec = lookup[types[nl.j]]
    offsets = np.searchsorted(nl.i, np.append(ci, n)).astype(np.int64)
    offsets[-1] = nl.i.size

    if radial:
        g = np.zeros((ci.size, n_sp * mus.size))
        _radial_kernel(offsets, nl.distances, nspec, mus, 1.0 / width, rc_rad, g)
        blocks.append(g)
    if angular:
        pair_index = np.zeros((n_sp, n_sp), dtype=np.int64)
        for k, (a, b) in enumerate(pairs):
            pair_index[a, b] = pair_index[b, a] = k
        xis = sorted({float(p[0]) for p in params})
        angs = sorted({(float(p[1]), int(p[2])) for p in params})
        xi_of = np.array([xis.index(float(p[0])) for p in params], dtype=np.int64)
        ang_of = np.array([angs.index((float(p[1]), int(p[2]))) for p in params], dtype=np.int64)
        psi = np.zeros((ci.size, len(pairs) * len(params)))
        _angular_kernel(
            offsets,
            np.ascontiguousarray(nl.vectors),
            nl.distances,
            nspec,
            rc_ang,
            pair_index,
            1.0 / np.square(np.array(xis)),
            np.array([a[0] for a in angs]),
            np.array([a[1] for a in angs], dtype=np.int64),
            xi_of,
            ang_of,
            psi,
        )
        blocks.append(psi)
    features = np.hstack(blocks) if blocks else np.zeros((ci.size, 0))
    return StructureFunctions(features, names, ci)
