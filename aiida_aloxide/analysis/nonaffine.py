"""Falk–Langer non-affine squared displacement D²_min and the cumulative D of SPEC §4.

For a centre i with neighbours j (all atoms within ``cutoff`` = 4 Å of i in the *reference*,
i.e. earlier, frame), with d0_j = r_j - r_i in the reference and d_j the same vector in the
current frame,

    D²_min(i) = min_J Σ_j |d_j - J d0_j|²,   J = X Y⁻¹,  X = Σ d_j d0_jᵀ,  Y = Σ d0_j d0_jᵀ.

Normalisation: by default the *un-normalised* sum over neighbours, as in Falk & Langer (1998)
and OVITO's "Nonaffine Squared Displacement"; ``per_neighbor=True`` divides by the number of
neighbours (Å² per bond). The cumulative D of Du et al. (2021) is Σ_s sqrt(D²_min(s-1 → s))
over consecutive strain steps, with the same choice.

Periodic images: d0_j uses the minimum image in the reference box; the integer image shift n
found there is re-used in the current frame, d_j = r_j(cur) - r_i(cur) + n · L_cur, which is
exact for unwrapped coordinates and lets the box change between frames. For wrapped
coordinates (``unwrapped=False``) d_j is instead the minimum image in the current box.

Degenerate neighbourhoods (fewer than 3 neighbours, or all coplanar/collinear so that Y is
singular, judged by min/max eigenvalue of Y < ``degenerate_tol``) give ``nan`` by default
(``degenerate="nan"``); ``degenerate="pinv"`` uses the pseudo-inverse of Y instead, which still
yields the least-squares minimum (0 for fewer than 3 neighbours, as any 2 vectors are mapped
exactly by some J).

Implementation: candidate neighbours from a parallel numba cell list (or, in boxes thinner
than three cut-offs, a periodic k-nearest-neighbour query), then two parallel numba passes per
centre (accumulate X, Y; residual for the fitted J) around one stacked numpy solve: no Python
loop over atoms and no per-pair temporary arrays.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from .neighbors import as_box, as_index, wrap

__all__ = ["D2MIN_CUTOFF", "cumulative_nonaffine", "cumulative_d_by_frame", "d2min", "d2min_steps"]

#: Neighbourhood radius of Du et al. (2021), Å.
D2MIN_CUTOFF = 4.0


def d2min(
    reference: ArrayLike,
    current: ArrayLike,
    box_reference: ArrayLike,
    box_current: ArrayLike | None = None,
    *,
    centers: ArrayLike | None = None,
    neighbors: ArrayLike | None = None,
    cutoff: float = D2MIN_CUTOFF,
    per_neighbor: bool = False,
    unwrapped: bool = True,
    degenerate: str = "nan",
    degenerate_tol: float = 1e-8,
    return_affine: bool = False,
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.float64]]:
    """D²_min (Å²) of each selected centre between a reference and a current frame.

    ``centers`` / ``neighbors`` are boolean masks or index arrays (default: all atoms). Returns
    one value per centre in the order of the selection; with ``return_affine`` also the best-fit
    maps J, shape (n_centres, 3, 3). See the module docstring for conventions.
    """
    if degenerate not in ("nan", "pinv"):
        raise ValueError("degenerate must be 'nan' or 'pinv'")
    r0 = np.ascontiguousarray(reference, dtype=np.float64)
    r1 = np.ascontiguousarray(current, dtype=np.float64)
    if r0.shape != r1.shape or r0.ndim != 2 or r0.shape[1] != 3:
        raise ValueError(f"reference {r0.shape} and current {r1.shape} must both be (N, 3)")
    b0 = as_box(box_reference)
    b1 = b0 if box_current is None else as_box(box_current)
    if cutoff <= 0 or cutoff >= 0.5 * b0.min():
        raise ValueError(f"cutoff {cutoff} must be in (0, half the shortest box length {b0.min():.3f})")
    n = r0.shape[0]
    ci = as_index(centers, n)
    nj = as_index(neighbors, n)
    indptr, indices = _candidates(wrap(r0, b0), b0, ci, nj, cutoff)
    rc2 = cutoff * cutoff
    x, y, counts = _accumulate(r0, r1, b0, b1, ci, indptr, indices, rc2, unwrapped)

    m = ci.size
    eig = np.linalg.eigvalsh(y) if m else np.zeros((0, 3))
    ok = (counts >= 3) & (eig[:, 0] > degenerate_tol * np.maximum(eig[:, 2], 1e-300))
    jac = np.full((m, 3, 3), np.nan)
    # J = X Y⁻¹  <=>  Jᵀ = Y⁻¹ Xᵀ (Y symmetric): one stacked solve.
    if ok.any():
        jac[ok] = np.swapaxes(np.linalg.solve(y[ok], np.swapaxes(x[ok], 1, 2)), 1, 2)
    if degenerate == "pinv" and (~ok).any():
        jac[~ok] = x[~ok] @ np.linalg.pinv(y[~ok], hermitian=True)
    d2 = _residual(r0, r1, b0, b1, ci, indptr, indices, rc2, unwrapped, np.ascontiguousarray(jac))
    if degenerate == "nan":
        d2[~ok] = np.nan
    if per_neighbor:
        with np.errstate(invalid="ignore", divide="ignore"):
            d2 = np.where(counts > 0, d2 / np.maximum(counts, 1), np.nan)
    return (d2, jac) if return_affine else d2


def _candidates(
    wrapped: NDArray[np.float64], box: NDArray[np.float64], ci: NDArray[np.int64], nj: NDArray[np.int64], cutoff: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """CSR (indptr, indices) of the atoms within ``cutoff`` of each centre (self excluded).

    Numba cell list when the box holds at least 3 cells of width >= cutoff in every direction;
    otherwise a periodic k-nearest-neighbour query (cKDTree, K doubled until no row saturates).
    """
    if ci.size == 0 or nj.size == 0:
        return np.zeros(ci.size + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if np.all(np.floor(box / cutoff) >= 3):
        return _cell_candidates(wrapped, box, ci, nj, cutoff * cutoff * (1.0 + 1e-12))
    tree = cKDTree(wrapped[nj], boxsize=box)
    k = min(64, nj.size)
    while True:
        dist, idx = tree.query(wrapped[ci], k=k, distance_upper_bound=cutoff * (1.0 + 1e-12), workers=-1)
        dist, idx = dist.reshape(ci.size, k), idx.reshape(ci.size, k)
        if k >= nj.size or not np.any(np.isfinite(dist[:, -1])):
            break
        k = min(2 * k, nj.size)
    found = np.isfinite(dist)
    found[found] = nj[idx[found]] != np.repeat(ci, found.sum(axis=1))
    indptr = np.concatenate([[0], np.cumsum(found.sum(axis=1))]).astype(np.int64)
    return indptr, nj[idx[found]].astype(np.int64)


@numba.njit(cache=True)
def _scan_cells(i, wrapped, box, nc, cw, starts, members, rc2, out, offset):
    """Count (and, if ``out`` is non-empty, store from ``offset``) the neighbours of atom i."""
    cnt = 0
    c0 = np.empty(3, dtype=np.int64)
    for a in range(3):
        c0[a] = min(int(wrapped[i, a] / cw[a]), nc[a] - 1)
    for dx in range(-1, 2):
        cx = (c0[0] + dx) % nc[0]
        for dy in range(-1, 2):
            cy = (c0[1] + dy) % nc[1]
            for dz in range(-1, 2):
                cz = (c0[2] + dz) % nc[2]
                c = (cx * nc[1] + cy) * nc[2] + cz
                for q in range(starts[c], starts[c + 1]):
                    j = members[q]
                    if j == i:
                        continue
                    r2 = 0.0
                    for a in range(3):
                        d = wrapped[j, a] - wrapped[i, a]
                        d -= box[a] * np.floor(d / box[a] + 0.5)
                        r2 += d * d
                    if r2 <= rc2:
                        if out.size:
                            out[offset + cnt] = j
                        cnt += 1
    return cnt


@numba.njit(cache=True, parallel=True)
def _cell_candidates(wrapped, box, ci, nj, rc2):
    """Cell-list neighbour search (cells of width >= cut-off, >= 3 per direction) -> CSR."""
    nc = np.empty(3, dtype=np.int64)
    cw = np.empty(3)
    for a in range(3):
        nc[a] = int(box[a] // np.sqrt(rc2))
        cw[a] = box[a] / nc[a]
    cell = np.empty(nj.size, dtype=np.int64)
    for q in range(nj.size):
        c = 0
        for a in range(3):
            c = c * nc[a] + min(int(wrapped[nj[q], a] / cw[a]), nc[a] - 1)
        cell[q] = c
    order = np.argsort(cell)
    members = nj[order]
    starts = np.zeros(nc[0] * nc[1] * nc[2] + 1, dtype=np.int64)
    for q in range(nj.size):
        starts[cell[q] + 1] += 1
    starts = np.cumsum(starts)
    m = ci.size
    counts = np.empty(m, dtype=np.int64)
    empty = np.empty(0, dtype=np.int64)
    for k in numba.prange(m):
        counts[k] = _scan_cells(ci[k], wrapped, box, nc, cw, starts, members, rc2, empty, 0)
    indptr = np.zeros(m + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(counts)
    indices = np.empty(indptr[m], dtype=np.int64)
    for k in numba.prange(m):
        _scan_cells(ci[k], wrapped, box, nc, cw, starts, members, rc2, indices, indptr[k])
    return indptr, indices


@numba.njit(cache=True)
def _pair_vectors(r0, r1, b0, b1, i, j, unwrapped, d0, d1):
    """Fill d0 (minimum image, reference box) and d1 (same image shift in the current box); return |d0|²."""
    s0 = 0.0
    for a in range(3):
        raw = r0[j, a] - r0[i, a]
        shift = -np.floor(raw / b0[a] + 0.5)
        d0[a] = raw + shift * b0[a]
        raw1 = r1[j, a] - r1[i, a]
        if unwrapped:
            d1[a] = raw1 + shift * b1[a]
        else:
            d1[a] = raw1 - np.floor(raw1 / b1[a] + 0.5) * b1[a]
        s0 += d0[a] * d0[a]
    return s0


@numba.njit(cache=True, parallel=True)
def _accumulate(r0, r1, b0, b1, ci, indptr, indices, rc2, unwrapped):
    """Per centre: X = Σ d1 d0ᵀ, Y = Σ d0 d0ᵀ and the neighbour count (see module docstring)."""
    m = ci.size
    x = np.zeros((m, 3, 3))
    y = np.zeros((m, 3, 3))
    counts = np.zeros(m, dtype=np.int64)
    for k in numba.prange(m):
        i = ci[k]
        d0 = np.empty(3)
        d1 = np.empty(3)
        for q in range(indptr[k], indptr[k + 1]):
            if _pair_vectors(r0, r1, b0, b1, i, indices[q], unwrapped, d0, d1) > rc2:
                continue
            counts[k] += 1
            for a in range(3):
                for b in range(3):
                    x[k, a, b] += d1[a] * d0[b]
                    y[k, a, b] += d0[a] * d0[b]
    return x, y, counts


@numba.njit(cache=True, parallel=True)
def _residual(r0, r1, b0, b1, ci, indptr, indices, rc2, unwrapped, jac):
    """Per centre: Σ_j |d1_j - J d0_j|² over the same neighbours as :func:`_accumulate`."""
    m = ci.size
    out = np.zeros(m)
    for k in numba.prange(m):
        i = ci[k]
        d0 = np.empty(3)
        d1 = np.empty(3)
        acc = 0.0
        for q in range(indptr[k], indptr[k + 1]):
            if _pair_vectors(r0, r1, b0, b1, i, indices[q], unwrapped, d0, d1) > rc2:
                continue
            for a in range(3):
                e = d1[a] - (jac[k, a, 0] * d0[0] + jac[k, a, 1] * d0[1] + jac[k, a, 2] * d0[2])
                acc += e * e
        out[k] = acc
    return out


def _frames_and_boxes(frames: ArrayLike, boxes: ArrayLike) -> tuple[NDArray[np.float64], list]:
    """Stacked (F, N, 3) positions and a list of F box-length arrays."""
    pos = np.asarray(frames, dtype=np.float64)
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"frames must have shape (F, N, 3), got {pos.shape}")
    b = np.asarray(boxes, dtype=np.float64)
    box_list = [as_box(b)] * pos.shape[0] if b.ndim == 1 else [as_box(x) for x in b]
    if len(box_list) != pos.shape[0]:
        raise ValueError(f"{len(box_list)} boxes for {pos.shape[0]} frames")
    return pos, box_list


def d2min_steps(
    frames: ArrayLike,
    boxes: ArrayLike,
    *,
    centers: ArrayLike | None = None,
    neighbors: ArrayLike | None = None,
    cutoff: float = D2MIN_CUTOFF,
    per_neighbor: bool = False,
    unwrapped: bool = True,
    degenerate: str = "nan",
) -> NDArray[np.float64]:
    """ΔD²_min between consecutive frames s-1 → s (reference = s-1): shape (F-1, n_centres)."""
    pos, box_list = _frames_and_boxes(frames, boxes)
    return np.stack(
        [
            d2min(
                pos[s - 1],
                pos[s],
                box_list[s - 1],
                box_list[s],
                centers=centers,
                neighbors=neighbors,
                cutoff=cutoff,
                per_neighbor=per_neighbor,
                unwrapped=unwrapped,
                degenerate=degenerate,
            )
            for s in range(1, pos.shape[0])
        ]
    )


def cumulative_nonaffine(
    frames: ArrayLike,
    boxes: ArrayLike,
    *,
    centers: ArrayLike | None = None,
    neighbors: ArrayLike | None = None,
    cutoff: float = D2MIN_CUTOFF,
    per_neighbor: bool = False,
    unwrapped: bool = True,
    degenerate: str = "nan",
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cumulative D = Σ_s sqrt(ΔD²_min,s) per centre (Å), plus the per-step ΔD²_min (F-1, n_centres).

    A centre that is degenerate in any step gets D = nan (use the per-step array with
    ``np.nansum`` for another policy).
    """
    steps = d2min_steps(
        frames,
        boxes,
        centers=centers,
        neighbors=neighbors,
        cutoff=cutoff,
        per_neighbor=per_neighbor,
        unwrapped=unwrapped,
        degenerate=degenerate,
    )
    return np.sqrt(np.maximum(steps, 0.0)).sum(axis=0), steps


def cumulative_d_by_frame(steps: ArrayLike) -> NDArray[np.float64]:
    """D up to every frame (F, n_centres) from the per-step ΔD²_min (F-1, n_centres): 0 at frame 0.

    Row F-1 equals the cumulative D of :func:`cumulative_nonaffine` (nan once a step was degenerate).
    """
    d2 = np.asarray(steps, dtype=np.float64)
    if d2.ndim != 2:
        raise ValueError(f"steps must be (F-1, n_centres), got shape {d2.shape}")
    out = np.zeros((d2.shape[0] + 1, d2.shape[1]))
    out[1:] = np.cumsum(np.sqrt(np.maximum(d2, 0.0)), axis=0)
    return out
