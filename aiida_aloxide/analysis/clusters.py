"""High-softness clusters and the rearrangement probability P_R(S) (SPEC §5).

* :func:`top_fraction_mask` selects e.g. the 10 % softest Al atoms;
  :func:`find_clusters` groups the selected atoms into connected components, two atoms being
  linked when they are within the material's cation–cation cut-off (3.7 Å Al–Al in alumina) under
  periodic boundaries, so a cluster
  may wrap around the box.
* :func:`rearrangement_probability` bins atoms by (unstrained) softness and returns, per bin, the
  fraction that decreased their coordination, with an exponential fit P_R = exp(a S + b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .structure_functions import periodic_neighbor_list

__all__ = [
    "ClusterResult",
    "ExponentialFit",
    "RearrangementProbability",
    "find_clusters",
    "fit_exponential",
    "rearrangement_probability",
    "top_fraction_mask",
]


def top_fraction_mask(values: ArrayLike, fraction: float = 0.1) -> NDArray[np.bool_]:
    """Boolean mask of the ``round(fraction * n)`` largest finite ``values``.

    Ties at the threshold are broken by index (lower index first), so exactly that many entries
    are selected; nan values are never selected.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must lie in [0, 1], got {fraction}")
    finite = np.isfinite(v)
    k = min(int(round(fraction * v.size)), int(finite.sum()))
    mask = np.zeros(v.size, dtype=bool)
    if k == 0:
        return mask
    key = np.where(finite, -v, np.inf)
    order = np.argsort(key, kind="stable")
    mask[order[:k]] = True
    return mask


@dataclass(frozen=True)
class ClusterResult:
    """Connected components of the selected atoms.

    ``labels[a]`` is the cluster of atom ``a`` (−1 if not selected); clusters are numbered by
    decreasing size (ties: lowest atom index first), so ``sizes`` is sorted in decreasing order
    and ``sizes[0] == largest``.
    """

    labels: NDArray[np.int64]
    n_clusters: int
    sizes: NDArray[np.int64]
    largest: int


def find_clusters(positions: ArrayLike, box: ArrayLike, mask: ArrayLike, cutoff: float) -> ClusterResult:
    """Clusters of the atoms selected by ``mask``: links between selected atoms within ``cutoff``.

    Works for any orthorhombic box (the cell is replicated internally when the cut-off reaches
    half a box length); positions may be unwrapped.
    """
    pos = np.asarray(positions, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    n = pos.shape[0]
    if mask.shape != (n,):
        raise ValueError(f"mask has shape {mask.shape}, expected ({n},)")
    labels = np.full(n, -1, dtype=np.int64)
    sel = np.nonzero(mask)[0]
    if sel.size == 0:
        return ClusterResult(labels, 0, np.zeros(0, dtype=np.int64), 0)
    nl = periodic_neighbor_list(pos, box, cutoff, centers=mask, neighbors=mask)
    local = np.full(n, -1, dtype=np.int64)
    local[sel] = np.arange(sel.size)
    keep = nl.i != nl.j  # links to an atom's own image do not join anything
    graph = coo_matrix(
        (np.ones(int(keep.sum()), dtype=np.int8), (local[nl.i[keep]], local[nl.j[keep]])),
        shape=(sel.size, sel.size),
    ).tocsr()
    n_comp, comp = connected_components(graph, directed=False)
    sizes = np.bincount(comp, minlength=n_comp)
    first_atom = np.full(n_comp, sel.size, dtype=np.int64)
    np.minimum.at(first_atom, comp, np.arange(sel.size))
    order = np.lexsort((first_atom, -sizes))
    rank = np.empty(n_comp, dtype=np.int64)
    rank[order] = np.arange(n_comp)
    labels[sel] = rank[comp]
    sizes = sizes[order].astype(np.int64)
    return ClusterResult(labels, int(n_comp), sizes, int(sizes[0]))


@dataclass(frozen=True)
class ExponentialFit:
    """P = exp(a·x + b) from weighted least squares on ln P; ``r2`` is the weighted R² of ln P."""

    a: float
    b: float
    r2: float


def fit_exponential(x: ArrayLike, probability: ArrayLike, weights: ArrayLike) -> ExponentialFit:
    """Weighted linear least squares of ln P against x over the points with P > 0 and weight > 0.

    Returns nan parameters when fewer than two such points exist.
    """
    x = np.asarray(x, dtype=np.float64)
    p = np.asarray(probability, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(p) & (p > 0) & (w > 0)
    if np.count_nonzero(ok) < 2 or np.ptp(x[ok]) == 0:
        return ExponentialFit(float("nan"), float("nan"), float("nan"))
    x, y, w = x[ok], np.log(p[ok]), w[ok]
    xm = np.average(x, weights=w)
    ym = np.average(y, weights=w)
    a = float(np.sum(w * (x - xm) * (y - ym)) / np.sum(w * (x - xm) ** 2))
    b = float(ym - a * xm)
    ss_tot = float(np.sum(w * (y - ym) ** 2))
    ss_res = float(np.sum(w * (y - (a * x + b)) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    return ExponentialFit(a, b, r2)


@dataclass(frozen=True)
class RearrangementProbability:
    """P_R per softness bin: ``probability = n_decreased / counts`` (nan for empty bins)."""

    edges: NDArray[np.float64]
    centers: NDArray[np.float64]
    probability: NDArray[np.float64]
    counts: NDArray[np.int64]
    n_decreased: NDArray[np.int64]
    fit: ExponentialFit


def rearrangement_probability(
    softness: ArrayLike, decreased_mask: ArrayLike, bins: int | ArrayLike = 10
) -> RearrangementProbability:
    """Fraction of atoms that decreased their coordination, binned by softness, with an exponential fit.

    ``bins``: number of equal-width bins over the softness range, or explicit edges (values
    outside are ignored). Fit: ln P_R = a S + b by weighted least squares over bins with at least
    one decreased atom, weighted by that number k (var(ln P̂) ≈ 1/k for small P, Poisson).
    """
    s = np.asarray(softness, dtype=np.float64).ravel()
    d = np.asarray(decreased_mask, dtype=bool).ravel()
    if s.shape != d.shape:
        raise ValueError("softness and decreased_mask must have the same length")
    finite = np.isfinite(s)
    s, d = s[finite], d[finite]
    edges = np.histogram_bin_edges(s, bins=bins) if np.ndim(bins) == 0 else np.asarray(bins, float)
    counts = np.histogram(s, bins=edges)[0].astype(np.int64)
    n_dec = np.histogram(s[d], bins=edges)[0].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = np.where(counts > 0, n_dec / np.maximum(counts, 1), np.nan)
    centers = 0.5 * (edges[1:] + edges[:-1])
    fit = fit_exponential(centers, prob, n_dec)
    return RearrangementProbability(edges, centers, prob, counts, n_dec, fit)
