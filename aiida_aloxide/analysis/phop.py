"""Hop indicator p_hop (Candelier, Dauchot & Biroli 2010), SPEC §5; the events it defines: :mod:`.hop_events`.

For every atom and frame ``t`` two windows of the trajectory are compared,
``A = [t - t_R/2, t]`` and ``B = [t, t + t_R/2]`` (both closed, so frame ``t`` belongs to both):

    p_hop(t) = sqrt( <(r - <r>_B)^2>_A  *  <(r - <r>_A)^2>_B ).

An atom rattling in a cage gives p_hop of the order of its vibrational mean-square displacement;
an atom that jumps between two cages by ``d`` around time ``t`` gives p_hop close to ``d^2``.

Implementation: each window average is a difference of per-atom prefix sums of ``r`` and
``|r|^2`` (``<(r - m)^2>_W = <|r|^2>_W - 2 <r>_W . m + |m|^2``), so the cost is
O(frames x atoms) whatever the window length. Positions are referred to each atom's first frame
before summing, in float64, which keeps the cancellation error of the variance formula far below
the 0.05 Å² threshold even for long unwrapped trajectories. The kernel is compiled with numba
and runs in parallel over atoms.

Frames closer than ``t_R/2`` to either end of the trajectory have no complete window and get
``nan``.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["NON_REARRANGING_THRESHOLD", "REARRANGING_THRESHOLD", "T_R", "phop", "window_half_width"]

#: Total window t_R in ps (Du et al. 2021).
T_R = 6.0
#: p_hop above which a peak counts as a rearrangement (Å²).
REARRANGING_THRESHOLD = 0.2
#: p_hop below which an (atom, frame) counts as non-rearranging (Å²).
NON_REARRANGING_THRESHOLD = 0.05


def window_half_width(times: ArrayLike, t_r: float = T_R, rtol: float = 1e-3) -> int:
    """Number of frame intervals ``h`` spanning ``t_R/2`` for uniformly spaced ``times``.

    Each window then holds ``h + 1`` frames. Raises if the frames are not evenly spaced
    (relative tolerance ``rtol``) or if ``t_R/2`` is shorter than one frame interval.
    """
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise ValueError("times must be a 1-d array with at least two frames")
    dt = np.diff(t)
    step = float(np.median(dt))
    if step <= 0 or np.any(np.abs(dt - step) > rtol * step):
        raise ValueError("frame times must be strictly increasing and evenly spaced")
    h = int(round(0.5 * t_r / step))
    if h < 1:
        raise ValueError(f"t_R/2 = {0.5 * t_r} is shorter than the frame interval {step}")
    return h


@nb.njit(cache=True, parallel=True)
def _phop_kernel(pos: np.ndarray, h: int) -> np.ndarray:  # pragma: no cover - compiled
    n_frames, n_atoms, _ = pos.shape
    out = np.full((n_frames, n_atoms), np.nan, dtype=np.float64)
    n = h + 1
    inv_n = 1.0 / n
    for a in nb.prange(n_atoms):
        # Prefix sums S[f] = sum over frames < f of (r - r0) and |r - r0|^2.
        sx = np.zeros(n_frames + 1)
        sy = np.zeros(n_frames + 1)
        sz = np.zeros(n_frames + 1)
        s2 = np.zeros(n_frames + 1)
        x0 = np.float64(pos[0, a, 0])
        y0 = np.float64(pos[0, a, 1])
        z0 = np.float64(pos[0, a, 2])
        for f in range(n_frames):
            x = np.float64(pos[f, a, 0]) - x0
            y = np.float64(pos[f, a, 1]) - y0
            z = np.float64(pos[f, a, 2]) - z0
            sx[f + 1] = sx[f] + x
            sy[f + 1] = sy[f] + y
            sz[f + 1] = sz[f] + z
            s2[f + 1] = s2[f] + x * x + y * y + z * z
        for t in range(h, n_frames - h):
            # A = frames t-h .. t, B = frames t .. t+h (h+1 frames each).
            ax = (sx[t + 1] - sx[t - h]) * inv_n
            ay = (sy[t + 1] - sy[t - h]) * inv_n
            az = (sz[t + 1] - sz[t - h]) * inv_n
            aq = (s2[t + 1] - s2[t - h]) * inv_n
            bx = (sx[t + h + 1] - sx[t]) * inv_n
            by = (sy[t + h + 1] - sy[t]) * inv_n
            bz = (sz[t + h + 1] - sz[t]) * inv_n
            bq = (s2[t + h + 1] - s2[t]) * inv_n
            dot = ax * bx + ay * by + az * bz
            va = aq - 2.0 * dot + (bx * bx + by * by + bz * bz)  # <(r - <r>_B)^2>_A
            vb = bq - 2.0 * dot + (ax * ax + ay * ay + az * az)  # <(r - <r>_A)^2>_B
            if va < 0.0:
                va = 0.0
            if vb < 0.0:
                vb = 0.0
            out[t, a] = np.sqrt(va * vb)
    return out


def phop(positions: ArrayLike, times: ArrayLike, t_r: float = T_R) -> NDArray[np.float64]:
    """p_hop (Å²) of every atom at every frame, shape ``(n_frames, n_atoms)``.

    ``positions``: unwrapped coordinates, shape ``(n_frames, n_atoms, 3)`` (float32 accepted);
    ``times``: evenly spaced frame times in the unit of ``t_r`` (ps by default). Frames within
    ``t_r/2`` of either end are ``nan``.
    """
    pos = np.asarray(positions)
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"positions must have shape (n_frames, n_atoms, 3), got {pos.shape}")
    if pos.dtype not in (np.float32, np.float64):
        pos = pos.astype(np.float64)
    if len(np.asarray(times)) != pos.shape[0]:
        raise ValueError("times and positions disagree on the number of frames")
    h = window_half_width(times, t_r)
    if pos.shape[0] < 2 * h + 1:
        return np.full(pos.shape[:2], np.nan)
    return _phop_kernel(np.ascontiguousarray(pos), h)
