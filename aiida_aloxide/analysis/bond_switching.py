"""Bond switching of Al atoms under strain relative to the unstrained reference (SPEC §4).

Each Al atom at each strain step is put in one class, comparing its set of O neighbours
(within the Al–O cut-off, 2.25 Å) with the set it had in the reference frame:

* ``DC`` – coordination number decreased,
* ``IC`` – coordination number increased,
* ``SC`` – same coordination number but at least one O neighbour is a different atom,
* ``UC`` – same coordination number and the very same O atoms.

Neighbour sets are compared by atom *identity* (row-wise on sparse adjacency matrices whose
columns are atom indices), so the result does not depend on which periodic image an atom is
stored in: positions may be unwrapped or wrapped, and an atom crossing the box is not a switch.

Fracture plane (for the spatial distribution): in the final frame the atom density along the
loading axis is histogrammed in ~1 Å slabs, smoothed periodically with a Gaussian (σ = 2 Å),
and the plane is put at the centre of the longest periodic run of slabs whose smoothed density
is within 5 % (of the mean density) of the minimum, i.e. the middle of the widest
lowest-density gap. For a separated sample this is the middle of the vacuum gap; before
fracture it is the weakest (least dense) slab.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import gaussian_filter1d

from ..materials import ANION_TYPE, CATION_TYPE
from .neighbors import as_box, as_mask, neighbor_list

__all__ = [
    "CLASS_NAMES",
    "DC",
    "IC",
    "SC",
    "UC",
    "bond_adjacency",
    "bond_switching_trajectory",
    "classify_bond_switching",
    "fracture_plane",
    "signed_distance_to_plane",
    "switching_by_species",
    "switching_fractions",
    "switching_profile",
    "switching_vs_fracture_plane",
]

#: Integer codes of the four classes (index into :data:`CLASS_NAMES`).
UC, SC, DC, IC = 0, 1, 2, 3
CLASS_NAMES: tuple[str, ...] = ("UC", "SC", "DC", "IC")


def bond_adjacency(
    positions: ArrayLike,
    box: ArrayLike,
    center_mask: ArrayLike,
    neighbor_mask: ArrayLike,
    cutoff: float,
) -> sp.csr_matrix:
    """Sparse boolean bond matrix: row k = k-th centre (order of ``np.nonzero(center_mask)``), column = atom index.

    Row sums are the coordination numbers; columns are global atom indices so that rows of two
    frames can be compared by neighbour identity.
    """
    pos = np.asarray(positions, dtype=np.float64)
    n = pos.shape[0]
    cm = as_mask(center_mask, n)
    nl = neighbor_list(pos, box, cutoff, centers=cm, neighbors=as_mask(neighbor_mask, n))
    row_of_atom = np.cumsum(cm) - 1
    data = np.ones(nl.i.size, dtype=np.int8)
    return sp.csr_matrix((data, (row_of_atom[nl.i], nl.j)), shape=(int(cm.sum()), n))


def classify_bond_switching(reference: sp.spmatrix, current: sp.spmatrix) -> NDArray[np.int8]:
    """Class code (UC/SC/DC/IC) per centre from reference and current bond matrices of equal shape."""
    if reference.shape != current.shape:
        raise ValueError(f"adjacency shapes differ: {reference.shape} vs {current.shape}")
    ref = sp.csr_matrix(reference, dtype=np.int32)
    cur = sp.csr_matrix(current, dtype=np.int32)
    ref.data[:] = 1
    cur.data[:] = 1
    cn0 = np.asarray(ref.sum(axis=1)).ravel()
    cn = np.asarray(cur.sum(axis=1)).ravel()
    common = np.asarray(ref.multiply(cur).sum(axis=1)).ravel()
    codes = np.full(cn0.shape, UC, dtype=np.int8)
    codes[(cn == cn0) & (common < cn0)] = SC
    codes[cn < cn0] = DC
    codes[cn > cn0] = IC
    return codes


def bond_switching_trajectory(
    frames: ArrayLike,
    boxes: ArrayLike,
    types: ArrayLike,
    *,
    center_type: int = CATION_TYPE,
    neighbor_type: int = ANION_TYPE,
    cutoff: float,
    reference: int = 0,
) -> tuple[NDArray[np.int8], NDArray[np.int64]]:
    """Switch classes for every frame of (F, N, 3) positions vs frame ``reference``.

    ``boxes`` is (3,) or (F, 3); positions wrapped or unwrapped. Returns ``(codes (F, n_centres),
    cn (F, n_centres))``; the reference coordination numbers ``cn[reference]`` feed the species
    break-down.
    """
    pos = np.asarray(frames, dtype=np.float64)
    if pos.ndim != 3:
        raise ValueError(f"frames must have shape (F, N, 3), got {pos.shape}")
    b = np.asarray(boxes, dtype=np.float64)
    box_list = [as_box(b)] * pos.shape[0] if b.ndim == 1 else [as_box(x) for x in b]
    t = np.asarray(types)
    cm, nm = t == center_type, t == neighbor_type
    adj = [bond_adjacency(pos[f], box_list[f], cm, nm, cutoff) for f in range(pos.shape[0])]
    codes = np.stack([classify_bond_switching(adj[reference], a) for a in adj])
    cn = np.stack([np.diff(a.indptr) for a in adj]).astype(np.int64)
    return codes, cn


def switching_fractions(codes: ArrayLike) -> dict[str, NDArray[np.float64]]:
    """Fraction of centres in each class, per frame: ``{"UC": (F,), "SC": ..., "DC": ..., "IC": ...}``."""
    c = np.atleast_2d(np.asarray(codes))
    n = max(c.shape[1], 1)
    return {name: np.count_nonzero(c == k, axis=1) / n for k, name in enumerate(CLASS_NAMES)}


def switching_by_species(
    codes: ArrayLike,
    cn_reference: ArrayLike,
    species: tuple[int, ...] = (4, 5, 6),
    *,
    normalize: str = "total",
) -> dict[str, dict[str, NDArray[np.float64]]]:
    """Class fractions per frame broken down by the reference coordination ``{"Al5": {"DC": (F,), ...}}``.

    ``normalize="total"``: counts / all centres, so the species add up to the overall fraction
    (answers "where does DC come from"). ``normalize="species"``: counts / centres of that
    initial species (answers "how likely is an Al5 to switch").
    """
    if normalize not in ("total", "species"):
        raise ValueError("normalize must be 'total' or 'species'")
    c = np.atleast_2d(np.asarray(codes))
    cn0 = np.asarray(cn_reference)
    out: dict[str, dict[str, NDArray[np.float64]]] = {}
    for s in species:
        sel = cn0 == s
        denom = max(int(sel.sum()) if normalize == "species" else c.shape[1], 1)
        out[f"Al{s}"] = {name: np.count_nonzero(c[:, sel] == k, axis=1) / denom for k, name in enumerate(CLASS_NAMES)}
    return out


def fracture_plane(
    positions: ArrayLike,
    box: ArrayLike,
    *,
    axis: int = 0,
    bin_width: float = 1.0,
    smooth: float = 2.0,
    tolerance: float = 0.05,
) -> float:
    """Position (in ``[0, L)`` along ``axis``) of the fracture plane of one frame, normally the last.

    Centre of the widest lowest-density slab: periodic density profile in ``bin_width`` slabs,
    Gaussian smoothing ``smooth`` (Å, periodic), slabs within ``tolerance`` × mean density of
    the minimum, longest periodic run of such slabs, its centre. See the module docstring.
    """
    b = as_box(box)
    length = b[axis]
    x = np.mod(np.asarray(positions, dtype=np.float64)[:, axis], length)
    n_bins = max(int(round(length / bin_width)), 8)
    w = length / n_bins
    hist = np.bincount(np.minimum((x / w).astype(np.int64), n_bins - 1), minlength=n_bins).astype(float)
    dens = gaussian_filter1d(hist, smooth / w, mode="wrap") if smooth > 0 else hist
    low = dens <= dens.min() + tolerance * dens.mean()
    if low.all():
        return 0.5 * length
    # Longest periodic run of True: rotate so that the array starts just after a False.
    start = int(np.argmin(low))
    rolled = np.roll(low, -start)
    padded = np.concatenate([[False], rolled, [False]]).astype(np.int8)
    d = np.diff(padded)
    run_starts, run_ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    k = int(np.argmax(run_ends - run_starts))
    centre_bin = 0.5 * (run_starts[k] + run_ends[k])  # in bin units, rolled frame
    return float(np.mod((centre_bin + start) * w, length))


def signed_distance_to_plane(
    positions: ArrayLike, box: ArrayLike, plane: float, *, axis: int = 0
) -> NDArray[np.float64]:
    """Signed minimum-image distance along ``axis`` of every atom to the plane, in ``[-L/2, L/2)``."""
    length = as_box(box)[axis]
    d = np.asarray(positions, dtype=np.float64)[:, axis] - plane
    return d - length * np.floor(d / length + 0.5)


def switching_profile(
    distance: ArrayLike,
    codes: ArrayLike,
    bins: int | ArrayLike = 20,
    *,
    absolute: bool = False,
    range_: tuple[float, float] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """Histogram of switch classes vs distance to the fracture plane.

    ``distance`` and ``codes`` are per centre (one frame). Returns ``(edges, counts (4, n_bins),
    fractions (4, n_bins))`` where ``fractions[k, b]`` is the share of class k among the centres
    in bin b (nan for empty bins). ``absolute=True`` histograms |distance|.
    """
    d = np.asarray(distance, dtype=np.float64)
    d = np.abs(d) if absolute else d
    c = np.asarray(codes)
    if d.shape != c.shape:
        raise ValueError(f"distance {d.shape} and codes {c.shape} differ in shape")
    edges = np.histogram_bin_edges(d, bins=bins, range=range_)
    nb = len(edges) - 1
    idx = np.searchsorted(edges, d, side="right") - 1
    idx[d == edges[-1]] = nb - 1
    ok = (idx >= 0) & (idx < nb)
    counts = np.bincount(c[ok].astype(np.int64) * nb + idx[ok], minlength=4 * nb).reshape(4, nb)
    tot = counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(tot > 0, counts / tot, np.nan)
    return edges, counts, frac


def switching_vs_fracture_plane(
    positions: ArrayLike,
    box: ArrayLike,
    center_mask: ArrayLike,
    codes: ArrayLike,
    bins: int | ArrayLike = 20,
    *,
    absolute: bool = False,
    axis: int = 0,
    plane: float | None = None,
) -> tuple[float, NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """Spatial distribution of switch classes along ``axis`` relative to the fracture plane.

    ``positions``/``box``: one frame, normally the final (fractured) one, all atoms; ``codes``:
    classes of the centres at that frame. The plane is located with :func:`fracture_plane`
    unless given. Returns ``(plane, edges, counts (4, n_bins), fractions (4, n_bins))``.
    """
    pos = np.asarray(positions, dtype=np.float64)
    cm = as_mask(center_mask, pos.shape[0])
    x_plane = fracture_plane(pos, box, axis=axis) if plane is None else float(plane)
    dist = signed_distance_to_plane(pos[cm], box, x_plane, axis=axis)
    edges, counts, frac = switching_profile(dist, codes, bins, absolute=absolute)
    return x_plane, edges, counts, frac
