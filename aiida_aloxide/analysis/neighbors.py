"""Periodic neighbour search in orthorhombic boxes (scipy cKDTree, vectorised).

Every analysis in this package works on orthorhombic periodic cells described by
the three box lengths; positions may be unwrapped (any image) and are wrapped
here. Pairs are returned as flat index arrays so that downstream code can use
``np.bincount`` / sparse matrices instead of Python loops over atoms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

__all__ = ["NeighborList", "as_box", "as_index", "as_mask", "minimum_image", "neighbor_list", "wrap"]


def as_box(box: ArrayLike) -> NDArray[np.float64]:
    """Return the three orthorhombic box lengths as a float64 array, validating them."""
    arr = np.asarray(box, dtype=np.float64)
    if arr.shape == (3, 3):
        off = arr - np.diag(np.diag(arr))
        if np.any(np.abs(off) > 1e-8 * np.max(np.abs(arr))):
            raise ValueError("only orthorhombic cells are supported (off-diagonal cell entries found)")
        arr = np.diag(arr).copy()
    if arr.shape != (3,):
        raise ValueError(f"box must be 3 lengths or a diagonal 3x3 cell, got shape {arr.shape}")
    if np.any(~np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"box lengths must be positive and finite, got {arr}")
    return arr


def wrap(positions: ArrayLike, box: ArrayLike) -> NDArray[np.float64]:
    """Wrap positions into [0, L) in every direction (box origin at 0)."""
    box = as_box(box)
    pos = np.mod(np.asarray(positions, dtype=np.float64), box)
    # np.mod can return exactly L for tiny negative inputs; cKDTree requires < L.
    pos[pos >= box] -= box[np.nonzero(pos >= box)[1]]
    return pos


def minimum_image(vectors: ArrayLike, box: ArrayLike) -> NDArray[np.float64]:
    """Apply the minimum-image convention to separation vectors (in place on a copy)."""
    box = as_box(box)
    vec = np.array(vectors, dtype=np.float64, copy=True)
    vec -= box * np.round(vec / box)
    return vec


@dataclass(frozen=True)
class NeighborList:
    """Directed pairs (i -> j) within a cut-off: ``vectors[k] = r_j - r_i`` (minimum image).

    ``i`` indexes the query (centre) set and ``j`` the neighbour set; pairs are sorted by
    ``i`` then ``j``. ``distances[k] = |vectors[k]|``.
    """

    i: NDArray[np.int64]
    j: NDArray[np.int64]
    vectors: NDArray[np.float64]
    distances: NDArray[np.float64]
    n_centers: int

    def counts(self) -> NDArray[np.int64]:
        """Number of neighbours of every centre (zeros included)."""
        return np.bincount(self.i, minlength=self.n_centers)


def neighbor_list(
    positions: ArrayLike,
    box: ArrayLike,
    cutoff: float,
    *,
    centers: ArrayLike | None = None,
    neighbors: ArrayLike | None = None,
) -> NeighborList:
    """All pairs (centre i, neighbour j) with 0 < |r_j - r_i| <= cutoff under periodic boundaries.

    ``centers`` / ``neighbors`` are optional index arrays (or boolean masks) selecting which
    atoms act as centres and which as neighbours; returned ``i`` and ``j`` are indices into
    the *full* position array. Self pairs are excluded. The cut-off must be smaller than half
    the shortest box length, so that each pair has exactly one minimum image.
    """
    box = as_box(box)
    pos = wrap(positions, box)
    n = pos.shape[0]
    if cutoff <= 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")
    if cutoff >= 0.5 * box.min():
        raise ValueError(
            f"cutoff {cutoff} must be smaller than half the shortest box length {box.min():.3f}; "
            "replicate the cell first"
        )
    ci = as_index(centers, n)
    nj = as_index(neighbors, n)
    tree_n = cKDTree(pos[nj], boxsize=box)
    tree_c = cKDTree(pos[ci], boxsize=box)
    sdm = tree_c.sparse_distance_matrix(tree_n, cutoff, output_type="coo_matrix")
    ii = ci[sdm.row.astype(np.int64)]
    jj = nj[sdm.col.astype(np.int64)]
    keep = ii != jj
    ii, jj = ii[keep], jj[keep]
    order = np.lexsort((jj, ii))
    ii, jj = ii[order], jj[order]
    vec = minimum_image(pos[jj] - pos[ii], box)
    dist = np.sqrt(np.einsum("ij,ij->i", vec, vec))
    inside = dist <= cutoff
    return NeighborList(ii[inside], jj[inside], vec[inside], dist[inside], n)


def as_mask(sel: ArrayLike | None, n: int) -> NDArray[np.bool_]:
    """Turn None (every atom) / boolean mask / index array into a boolean mask of length ``n``."""
    if sel is not None and np.asarray(sel).dtype == bool:
        arr = np.asarray(sel)
        if arr.shape != (n,):
            raise ValueError(f"boolean mask has shape {arr.shape}, expected ({n},)")
        return arr
    mask = np.zeros(n, dtype=bool)
    mask[as_index(sel, n)] = True
    return mask


def as_index(sel: ArrayLike | None, n: int) -> NDArray[np.int64]:
    """Turn None / boolean mask / index array into a sorted int64 index array."""
    if sel is None:
        return np.arange(n, dtype=np.int64)
    arr = np.asarray(sel)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"boolean mask has shape {arr.shape}, expected ({n},)")
        return np.nonzero(arr)[0].astype(np.int64)
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError("index out of range in atom selection")
    return np.unique(arr)
