"""Partial pair distribution functions g_ab(r) and their first minima (SPEC §4 cut-offs).

Normalisation: for centre species a and neighbour species b in a box of volume V,

    g_ab(r) = V / (N_a (N_b - δ_ab)) · n_ab(r) / (4/3 π (r_hi³ - r_lo³)),

where n_ab(r) counts the *directed* pairs (i in a, j in b, i ≠ j) in the shell (r_lo, r_hi]
(counted by ``cKDTree.count_neighbors`` without materialising the pairs).
With N_b - δ_ab the expectation for an ideal gas is exactly 1 at every r, for like and
unlike pairs. Several frames are averaged frame by frame (each with its own volume).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import gaussian_filter1d
from scipy.spatial import cKDTree

from ..materials import ANION_TYPE, CATION_TYPE
from .neighbors import as_box, wrap

__all__ = [
    "DEFAULT_PAIRS",
    "RdfMinimum",
    "first_minimum",
    "partial_rdf",
    "partial_rdfs",
    "rdf_first_minima",
]

#: The partial functions the study uses: cation–anion, cation–cation, anion–anion (types 1 and 2 of
#: every material file: Al–O, Al–Al, O–O for alumina).
DEFAULT_PAIRS: tuple[tuple[int, int], ...] = (
    (CATION_TYPE, ANION_TYPE),
    (CATION_TYPE, CATION_TYPE),
    (ANION_TYPE, ANION_TYPE),
)


def _frames(positions: ArrayLike, box: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Normalise one frame (N,3) / many frames (F,N,3) and one box (3,) / boxes (F,3) to stacked arrays."""
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim == 2:
        pos = pos[None]
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"positions must have shape (N, 3) or (F, N, 3), got {pos.shape}")
    b = np.asarray(box, dtype=np.float64)
    if b.ndim == 2 and b.shape == (pos.shape[0], 3):
        boxes = np.stack([as_box(x) for x in b])  # one box per frame (wins over a 3x3 cell when F = 3)
    else:
        boxes = np.repeat(as_box(b)[None], pos.shape[0], axis=0)  # (3,) lengths or a diagonal 3x3 cell
    return pos, boxes


def _mask(types: ArrayLike, sel: int | ArrayLike, n: int) -> NDArray[np.bool_]:
    """Selection as a boolean mask: an integer type, or a boolean mask passed through."""
    if np.isscalar(sel):
        mask = np.asarray(types) == sel
    else:
        mask = np.asarray(sel, dtype=bool)
    if mask.shape != (n,):
        raise ValueError(f"selection mask has shape {mask.shape}, expected ({n},)")
    return mask


def partial_rdf(
    positions: ArrayLike,
    box: ArrayLike,
    types: ArrayLike | None,
    a: int | ArrayLike,
    b: int | ArrayLike,
    *,
    r_max: float = 8.0,
    n_bins: int = 400,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Partial g_ab(r) of one frame (N,3) or averaged over frames (F,N,3): returns ``(r_centres, g)``.

    ``a`` / ``b`` are atom types (ints compared with ``types``) or boolean masks. ``r_max`` must be
    below half the shortest box length (one minimum image per pair).
    """
    pos, boxes = _frames(positions, box)
    n = pos.shape[1]
    ma, mb = _mask(types, a, n), _mask(types, b, n)
    na, nb = int(ma.sum()), int(mb.sum())
    n_overlap = int(np.count_nonzero(ma & mb))
    n_pairs_norm = na * nb - n_overlap  # directed pairs i != j
    ma_is_mb = bool(np.array_equal(ma, mb))
    edges = np.linspace(0.0, r_max, n_bins + 1)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    g = np.zeros(n_bins)
    if n_pairs_norm <= 0:
        return 0.5 * (edges[1:] + edges[:-1]), g
    for f in range(pos.shape[0]):  # loop over frames only; pairs are counted in C by cKDTree
        if r_max >= 0.5 * boxes[f].min():
            raise ValueError(f"r_max {r_max} must be below half the shortest box length {boxes[f].min():.3f}")
        p = wrap(pos[f], boxes[f])
        ta = cKDTree(p[ma], boxsize=boxes[f])
        tb = ta if ma_is_mb else cKDTree(p[mb], boxsize=boxes[f])
        # counts[0]: pairs at d <= 0 (self pairs); counts[k]: pairs with edges[k-1] < d <= edges[k].
        counts = ta.count_neighbors(tb, edges, cumulative=False).astype(np.float64)
        counts[1] += counts[0] - n_overlap  # coincident distinct atoms, if any, go to the first bin
        g += counts[1:] * (np.prod(boxes[f]) / n_pairs_norm) / shell
    return 0.5 * (edges[1:] + edges[:-1]), g / pos.shape[0]


def partial_rdfs(
    positions: ArrayLike,
    box: ArrayLike,
    types: ArrayLike,
    pairs: tuple[tuple[int, int], ...] = DEFAULT_PAIRS,
    *,
    r_max: float = 8.0,
    n_bins: int = 400,
    names: dict[int, str] | None = None,
) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
    """Several partial g_ab(r) at once, keyed ``"Al-O"``, ``"Al-Al"``, ... by ``names`` (element of each type;
    default the type numbers, ``"1-2"``): returns ``(r, {name: g})``."""
    names = {} if names is None else names
    out: dict[str, NDArray[np.float64]] = {}
    r = np.empty(0)
    for ta, tb in pairs:
        r, g = partial_rdf(positions, box, types, ta, tb, r_max=r_max, n_bins=n_bins)
        out[f"{names.get(ta, str(ta))}-{names.get(tb, str(tb))}"] = g
    return r, out


@dataclass(frozen=True)
class RdfMinimum:
    """First peak and first minimum after it of a (smoothed) g(r)."""

    r_peak: float
    g_peak: float
    r_min: float
    g_min: float


def _parabolic(x: NDArray[np.float64], y: NDArray[np.float64], k: int) -> tuple[float, float]:
    """Vertex of the parabola through bins k-1, k, k+1 (uniform grid); the bin itself at the edges."""
    if k <= 0 or k >= len(y) - 1:
        return float(x[k]), float(y[k])
    y0, y1, y2 = y[k - 1], y[k], y[k + 1]
    den = y0 - 2.0 * y1 + y2
    if den == 0.0:
        return float(x[k]), float(y1)
    delta = 0.5 * (y0 - y2) / den
    h = x[1] - x[0]
    return float(x[k] + delta * h), float(y1 - 0.25 * (y0 - y2) * delta)


def first_minimum(r: ArrayLike, g: ArrayLike, *, smooth: float = 0.05, peak_threshold: float = 1.0) -> RdfMinimum:
    """Locate the first peak of g(r) above ``peak_threshold`` and the first minimum after it.

    g is smoothed with a Gaussian of width ``smooth`` (Å; 0 disables) so that noise does not
    create spurious extrema; both extrema are refined by a parabola through three bins. The
    first peak is the first local maximum of the smoothed curve exceeding ``peak_threshold``.
    Raises ``ValueError`` when no such peak or no minimum after it exists.
    """
    r = np.asarray(r, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    dr = r[1] - r[0]
    gs = gaussian_filter1d(g, smooth / dr, mode="nearest") if smooth > 0 else g
    interior = np.arange(1, len(gs) - 1)
    is_max = (gs[interior] > gs[interior - 1]) & (gs[interior] >= gs[interior + 1])
    peaks = interior[is_max & (gs[interior] > peak_threshold)]
    if peaks.size == 0:
        raise ValueError(f"g(r) has no peak above {peak_threshold}")
    kp = int(peaks[0])
    after = interior[interior > kp]
    is_min = (gs[after] < gs[after - 1]) & (gs[after] <= gs[after + 1])
    mins = after[is_min]
    if mins.size == 0:
        raise ValueError("g(r) has no minimum after its first peak within r_max")
    rp, gp = _parabolic(r, gs, kp)
    rm, gm = _parabolic(r, gs, int(mins[0]))
    return RdfMinimum(rp, gp, rm, gm)


def rdf_first_minima(
    r: ArrayLike, gs: dict[str, NDArray[np.float64]], *, smooth: float = 0.05, peak_threshold: float = 1.0
) -> dict[str, float]:
    """First-minimum positions (Å) of several g(r), e.g. the output of :func:`partial_rdfs`."""
    return {k: first_minimum(r, g, smooth=smooth, peak_threshold=peak_threshold).r_min for k, g in gs.items()}
