"""Rearrangement events from p_hop (SPEC §5): excursions above the threshold, labelled training examples.

Split from :mod:`.phop` (the indicator itself): a p_hop peak above ``REARRANGING_THRESHOLD`` is a
rearrangement; the frame it is labelled at (the peak, or a precursor frame before it) and which
(atom, frame) pairs count as non-rearranging are the rules here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .neighbors import as_mask
from .phop import NON_REARRANGING_THRESHOLD, REARRANGING_THRESHOLD

__all__ = [
    "HOP_KINDS",
    "NON_REARRANGING_RULES",
    "REARRANGING_FRAMES",
    "Excursions",
    "LabelledEvents",
    "find_excursions",
    "label_events",
    "quiet_mask",
    "rearranging_events",
]

#: Rearranging configuration: the frame of the p_hop maximum (mid-hop) or a lag before the excursion.
REARRANGING_FRAMES = ("peak", "precursor")
#: Non-rearranging examples: p_hop below threshold at the frame only, or over a window around it.
NON_REARRANGING_RULES = ("instantaneous", "quiet")
#: Which excursions count as rearranging events.
HOP_KINDS = ("all", "irreversible")


@dataclass(frozen=True)
class Excursions:
    """Excursions of p_hop above a threshold, one row each, sorted by atom then start frame.

    ``start``: first frame above the (upper) threshold; ``peak``: frame of the largest p_hop;
    ``end``: last frame above the release threshold; ``peak_phop``: that maximum (Å²).
    ``hop_distance``: distance between the mean positions of the cage before ``start`` and after
    ``end`` (Å, nan without positions); ``reversible``: the cage after the excursion lies within
    ``return_distance`` of a cage the atom occupied before it (False without positions).
    """

    atom: NDArray[np.int64]
    start: NDArray[np.int64]
    peak: NDArray[np.int64]
    end: NDArray[np.int64]
    peak_phop: NDArray[np.float64]
    hop_distance: NDArray[np.float64]
    reversible: NDArray[np.bool_]

    @property
    def size(self) -> int:
        """Number of excursions."""
        return int(self.atom.size)

    def take(self, index: ArrayLike) -> Excursions:
        """The excursions at ``index`` (indices or boolean mask), in the same order."""
        idx = np.asarray(index)
        return Excursions(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})


def _window_means(cum: np.ndarray, atom: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mean position of ``atom`` over frames ``lo .. hi-1`` from prefix sums ``cum`` (F+1, N, 3)."""
    n = np.maximum(hi - lo, 1)[:, None]
    return (cum[hi, atom] - cum[lo, atom]) / n


def find_excursions(
    p_hop: ArrayLike,
    threshold: float = REARRANGING_THRESHOLD,
    *,
    release_threshold: float | None = None,
    min_gap: int = 0,
    positions: ArrayLike | None = None,
    cage_frames: int = 1,
    return_distance: float = 0.3,
) -> Excursions:
    """Excursions of every atom's p_hop above ``threshold`` (frames with nan never belong to one).

    Hysteresis: an excursion is a maximal run of frames with p_hop > ``release_threshold``
    (default ``threshold``: no hysteresis) that reaches above ``threshold``, so noise around the
    threshold does not split one hop into several. Runs of one atom separated by at most
    ``min_gap`` frames are merged. An excursion whose maximum sits on the first or last frame
    with a defined p_hop is dropped (not a confirmed peak). With ``positions`` (frames, atoms, 3;
    unwrapped, the same atoms as ``p_hop``) each excursion gets the distance between its cages,
    the mean position over ``cage_frames`` frames before ``start`` and after ``end``, and is
    *reversible* when the cage after it is within ``return_distance`` (Å) of a cage the atom
    occupied earlier (before its first excursion or after an earlier one).
    """
    p = np.asarray(p_hop, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError("p_hop must have shape (n_frames, n_atoms)")
    release = threshold if release_threshold is None else float(release_threshold)
    if release > threshold:
        raise ValueError("the release threshold must not exceed the rearranging threshold")
    if min_gap < 0 or cage_frames < 1:
        raise ValueError("min_gap must be >= 0 and cage_frames >= 1")
    n_frames, n_atoms = p.shape
    # Atom-major layout with one padding column so that runs never cross atoms.
    padded = np.full((n_atoms, n_frames + 1), np.nan)
    padded[:, :n_frames] = p.T
    flat = padded.ravel()
    on = flat > release  # nan compares False
    prev = np.concatenate(([False], on[:-1]))
    nxt = np.concatenate((on[1:], [False]))
    run_start = np.nonzero(on & ~prev)[0]
    run_end = np.nonzero(on & ~nxt)[0]
    empty_i = np.zeros(0, dtype=np.int64)
    if run_start.size == 0:
        return Excursions(empty_i, empty_i, empty_i, empty_i, np.zeros(0), np.zeros(0), np.zeros(0, bool))
    filled = np.where(on, flat, -np.inf)
    run_max = np.maximum.reduceat(filled, run_start)
    keep = run_max > threshold
    run_start, run_end, run_max = run_start[keep], run_end[keep], run_max[keep]
    atom = run_start // (n_frames + 1)
    s_run, e_run = run_start % (n_frames + 1), run_end % (n_frames + 1)
    # Merge runs of one atom separated by <= min_gap frames.
    new = np.ones(atom.size, dtype=bool)
    new[1:] = (atom[1:] != atom[:-1]) | (s_run[1:] - e_run[:-1] - 1 > min_gap)
    first = np.nonzero(new)[0]
    last = np.append(first[1:] - 1, atom.size - 1)
    atom, s_run, e_run = atom[first], s_run[first], e_run[last]
    # Peak and first frame above the upper threshold of each merged excursion.
    row = atom * (n_frames + 1)
    lengths = e_run - s_run + 1
    members = np.repeat(np.arange(atom.size), lengths)
    offsets = np.arange(members.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    frames_in = s_run[members] + offsets
    vals = np.where(np.isfinite(flat[row[members] + frames_in]), flat[row[members] + frames_in], -np.inf)
    order = np.lexsort((frames_in, -vals, members))
    head = np.ones(order.size, dtype=bool)
    head[1:] = members[order][1:] != members[order][:-1]
    peak = frames_in[order[head]]
    peak_val = vals[order[head]]
    above = vals > threshold
    first_above = np.full(atom.size, n_frames, dtype=np.int64)
    np.minimum.at(first_above, members[above], frames_in[above])
    start = first_above
    # Confirmed peaks only: both neighbouring frames must carry a defined p_hop.
    ok = (peak >= 1) & (peak + 1 < n_frames)
    ok[ok] = np.isfinite(p[peak[ok] - 1, atom[ok]]) & np.isfinite(p[peak[ok] + 1, atom[ok]])
    atom, start, peak, end, peak_val = atom[ok], start[ok], peak[ok], e_run[ok], peak_val[ok]
    atom = atom.astype(np.int64)
    hop = np.full(atom.size, np.nan)
    reversible = np.zeros(atom.size, dtype=bool)
    if positions is not None and atom.size:
        pos = np.asarray(positions)
        if pos.shape != (n_frames, n_atoms, 3):
            raise ValueError(f"positions must have shape {(n_frames, n_atoms, 3)}, got {pos.shape}")
        cum = np.zeros((n_frames + 1, n_atoms, 3))
        np.cumsum(pos - pos[0:1].astype(np.float64), axis=0, out=cum[1:])
        before = _window_means(cum, atom, np.maximum(start - cage_frames, 0), np.maximum(start, 1))
        after = _window_means(cum, atom, np.minimum(end + 1, n_frames - 1), np.minimum(end + 1 + cage_frames, n_frames))
        hop = np.linalg.norm(after - before, axis=1)
        # Cages visited before excursion i of an atom: the cage before its first excursion and
        # the cages after each earlier one; pairs (i, j) with j an earlier cage of the same atom.
        new_atom = np.ones(atom.size, dtype=bool)
        new_atom[1:] = atom[1:] != atom[:-1]
        first_idx = np.maximum.accumulate(np.where(new_atom, np.arange(atom.size), 0))
        k = np.arange(atom.size) - first_idx  # earlier excursions of the same atom
        counts = k + 1
        i_rep = np.repeat(np.arange(atom.size), counts)
        j_off = np.arange(i_rep.size) - np.repeat(np.cumsum(counts) - counts, counts)
        # j_off == 0 -> the first cage (before the atom's first excursion); j_off = m -> after excursion m-1.
        cages = np.where(
            (j_off == 0)[:, None],
            before[first_idx[i_rep]],
            after[np.maximum(first_idx[i_rep] + j_off - 1, 0)],
        )
        close = np.linalg.norm(after[i_rep] - cages, axis=1) < return_distance
        np.logical_or.at(reversible, i_rep, close)
    return Excursions(atom, start, peak, end.astype(np.int64), peak_val, hop, reversible)


def rearranging_events(
    p_hop: ArrayLike, threshold: float = REARRANGING_THRESHOLD
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Rearrangement events as (atom, frame) index arrays, one per excursion above ``threshold``.

    An *excursion* is a maximal run of consecutive frames with ``p_hop > threshold``; each gives
    one event at the frame where p_hop is largest within the run (the earliest on ties).
    Excursions whose maximum sits on the first or last frame with a defined p_hop are dropped
    (not a confirmed peak). Events are sorted by frame, then atom. See :func:`find_excursions`
    for hysteresis, merging and reversibility.
    """
    ex = find_excursions(p_hop, threshold)
    order = np.lexsort((ex.atom, ex.peak))
    return ex.atom[order], ex.peak[order]


@dataclass(frozen=True)
class LabelledEvents:
    """Balanced training events: ``label`` 1 = rearranging, 0 = non-rearranging.

    ``atom`` indexes the atoms of the trajectory and ``frame`` the frame whose configuration
    describes the example; rows are sorted by frame, then atom. ``n_rearranging_total`` /
    ``n_non_rearranging_total`` count all candidates before balancing;
    ``n_rearranging_atoms_total`` the distinct atoms among the rearranging candidates;
    ``n_reversible`` the excursions recognised as back-and-forth hops; ``peak_phop`` the maximum
    p_hop of each rearranging example's excursion (nan for non-rearranging rows).
    """

    atom: NDArray[np.int64]
    frame: NDArray[np.int64]
    label: NDArray[np.int8]
    n_rearranging_total: int
    n_non_rearranging_total: int
    n_rearranging_atoms_total: int = 0
    n_excursions: int = 0
    n_reversible: int = 0
    peak_phop: NDArray[np.float64] | None = None


def _first_k_per_atom(atom: np.ndarray, k: int | None) -> np.ndarray:
    """Boolean mask keeping the first ``k`` rows of every atom (rows grouped by atom, in time order)."""
    if k is None:
        return np.ones(atom.size, dtype=bool)
    order = np.lexsort((np.arange(atom.size), atom))
    sa = atom[order]
    new = np.ones(sa.size, dtype=bool)
    new[1:] = sa[1:] != sa[:-1]
    start = np.maximum.accumulate(np.where(new, np.arange(sa.size), 0))
    rank = np.arange(sa.size) - start
    keep = np.zeros(atom.size, dtype=bool)
    keep[order] = rank < k
    return keep


def quiet_mask(p_hop: ArrayLike, threshold: float, window: int) -> NDArray[np.bool_]:
    """(frame, atom) where p_hop stays below ``threshold`` on every frame within ``±window`` frames.

    Frames whose window reaches a frame without a defined p_hop (the trajectory ends) are False.
    """
    p = np.asarray(p_hop, dtype=np.float64)
    loud = ~(p < threshold)  # nan counts as not quiet
    if window <= 0:
        return ~loud
    n = p.shape[0]
    cum = np.zeros((n + 1, p.shape[1]), dtype=np.int64)
    np.cumsum(loud, axis=0, out=cum[1:])
    f = np.arange(n)
    lo, hi = f - window, f + window + 1
    inside = (lo >= 0) & (hi <= n)
    out = np.zeros(p.shape, dtype=bool)
    out[inside] = (cum[hi[inside]] - cum[lo[inside]]) == 0
    return out


def label_events(
    p_hop: ArrayLike,
    *,
    atoms: ArrayLike | None = None,
    rearranging_threshold: float = REARRANGING_THRESHOLD,
    non_rearranging_threshold: float = NON_REARRANGING_THRESHOLD,
    seed: int = 0,
    rearranging_frame: str = "peak",
    precursor_lag: int = 0,
    non_rearranging: str = "instantaneous",
    quiet_window: int = 0,
    release_threshold: float | None = None,
    min_gap: int = 0,
    hops: str = "all",
    positions: ArrayLike | None = None,
    cage_frames: int = 1,
    return_distance: float = 0.3,
    max_per_atom: int | None = None,
    min_frame: int = 0,
    frame_spacing: int = 1,
) -> LabelledEvents:
    """Balanced rearranging (1) / non-rearranging (0) examples from p_hop (frames, atoms).

    Rearranging: one example per excursion (:func:`find_excursions` with ``release_threshold``,
    ``min_gap``), described by the frame of its p_hop maximum (``rearranging_frame="peak"``,
    mid-hop) or ``precursor_lag`` frames before its first frame above the threshold
    (``"precursor"``: the structure about to rearrange; excursions whose precursor frame would
    precede ``min_frame`` are dropped). ``hops="irreversible"`` drops excursions after which the
    atom is back in a cage it occupied before (needs ``positions``); ``max_per_atom`` keeps each
    atom's first k. Non-rearranging: (atom, frame) with p_hop < ``non_rearranging_threshold`` at
    the frame (``"instantaneous"``) or on every frame within ``±quiet_window`` frames
    (``"quiet"``), frames >= ``min_frame``, at most ``max_per_atom`` per atom, as many as there are
    rearranging examples, drawn uniformly without replacement with ``default_rng(seed)``.
    ``frame_spacing`` > 1 moves every example frame down onto multiples of it (rearranging
    examples then sit ``precursor_lag`` to ``precursor_lag + frame_spacing − 1`` frames before the
    excursion; non-rearranging ones are drawn on the grid), so few distinct configurations serve
    all examples. ``atoms`` (indices or mask) restricts both classes (e.g. the Al atoms).
    Distances in frames.
    """
    if non_rearranging_threshold > rearranging_threshold:
        raise ValueError("the non-rearranging threshold must not exceed the rearranging threshold")
    if rearranging_frame not in REARRANGING_FRAMES:
        raise ValueError(f"rearranging_frame must be one of {REARRANGING_FRAMES}, got {rearranging_frame!r}")
    if non_rearranging not in NON_REARRANGING_RULES:
        raise ValueError(f"non_rearranging must be one of {NON_REARRANGING_RULES}, got {non_rearranging!r}")
    if hops not in HOP_KINDS:
        raise ValueError(f"hops must be one of {HOP_KINDS}, got {hops!r}")
    if hops == "irreversible" and positions is None:
        raise ValueError("telling reversible from irreversible hops needs the positions")
    if precursor_lag < 0 or quiet_window < 0 or min_frame < 0:
        raise ValueError("precursor_lag, quiet_window and min_frame must be >= 0")
    if frame_spacing < 1:
        raise ValueError("frame_spacing must be >= 1")
    if max_per_atom is not None and max_per_atom < 1:
        raise ValueError("max_per_atom must be >= 1 (or None)")
    p = np.asarray(p_hop, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError("p_hop must have shape (n_frames, n_atoms)")
    n_frames, n_atoms = p.shape
    keep = as_mask(atoms, n_atoms)
    ex = find_excursions(
        p,
        rearranging_threshold,
        release_threshold=release_threshold,
        min_gap=min_gap,
        positions=positions,
        cage_frames=cage_frames,
        return_distance=return_distance,
    )
    ex = ex.take(keep[ex.atom])
    n_excursions, n_reversible = ex.size, int(np.count_nonzero(ex.reversible))
    if hops == "irreversible":
        ex = ex.take(~ex.reversible)
    frame = ex.peak if rearranging_frame == "peak" else ex.start - precursor_lag
    frame = np.where(frame >= 0, (frame // frame_spacing) * frame_spacing, -1)
    ok = frame >= min_frame
    r_atom, r_frame, r_peak = ex.atom[ok], frame[ok], ex.peak_phop[ok]
    r_keep = _first_k_per_atom(r_atom, max_per_atom)
    r_atom, r_frame, r_peak = r_atom[r_keep], r_frame[r_keep], r_peak[r_keep]

    window = quiet_window if non_rearranging == "quiet" else 0
    calm = quiet_mask(p, non_rearranging_threshold, window) & keep[None, :]
    calm[:min_frame] = False
    if frame_spacing > 1:
        calm[np.arange(n_frames) % frame_spacing != 0] = False
    cand = np.flatnonzero(calm)  # frame-major flat indices
    rng = np.random.default_rng(seed)
    if max_per_atom is not None and cand.size:
        # At most k frames per atom, drawn at random, before the class is balanced.
        shuffled = rng.permutation(cand)
        cand = np.sort(shuffled[_first_k_per_atom(shuffled % n_atoms, max_per_atom)])
    n_take = min(r_atom.size, cand.size)
    pick = np.sort(rng.choice(cand, size=n_take, replace=False)) if n_take else cand[:0]
    n_frame, n_atom = np.divmod(pick, n_atoms)

    atom = np.concatenate((r_atom, n_atom)).astype(np.int64)
    frame_all = np.concatenate((r_frame, n_frame)).astype(np.int64)
    label = np.concatenate((np.ones(r_atom.size, np.int8), np.zeros(n_atom.size, np.int8)))
    peak = np.concatenate((r_peak, np.full(n_atom.size, np.nan)))
    order = np.lexsort((atom, frame_all))
    return LabelledEvents(
        atom=atom[order],
        frame=frame_all[order],
        label=label[order],
        n_rearranging_total=int(r_atom.size),
        n_non_rearranging_total=int(cand.size),
        n_rearranging_atoms_total=int(np.unique(r_atom).size),
        n_excursions=n_excursions,
        n_reversible=n_reversible,
        peak_phop=peak[order],
    )
