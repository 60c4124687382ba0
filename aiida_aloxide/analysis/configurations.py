"""Which configuration the softness features describe (SPEC §5): thermal, time-averaged or inherent.

The structure functions of a thermal 300 K snapshot carry the vibrations of every atom
(bond lengths fluctuate by about the radial width L = 0.2 Å), while the plane-strain frames the
model is applied to are energy-minimised. Training and application must see the same kind of
configuration, so every model records the kind it was trained on:

* ``thermal`` — the recorded snapshot as it is;
* ``time_averaged`` — each atom's mean unwrapped position over a *past* window
  ``[t − Δ, t]`` (no information from after the frame leaks in);
* ``inherent`` — the snapshot relaxed to its local energy minimum (LAMMPS CG minimisation with the
  plane-strain steps' settings; done by the ``aloxide.lammps`` CalcJob's ``minimize_frames`` stage).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CONFIGURATION_KINDS", "past_window_average", "snap_to_grid", "unwrap_near"]

#: The configuration kinds a softness model can be trained on and applied to.
CONFIGURATION_KINDS = ("thermal", "time_averaged", "inherent")


def past_window_average(positions: ArrayLike, frames: ArrayLike, window: int) -> NDArray[np.float64]:
    """Mean unwrapped position of every atom over frames ``f − window .. f`` for each ``f`` in ``frames``.

    ``positions``: (n_frames, n_atoms, 3) unwrapped; returns (len(frames), n_atoms, 3) float64.
    Each frame needs ``window`` earlier frames (raises otherwise). Cost: one pass over the frames.
    """
    pos = np.asarray(positions)
    f = np.asarray(frames, dtype=np.int64).ravel()
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"positions must have shape (n_frames, n_atoms, 3), got {pos.shape}")
    if window < 0:
        raise ValueError("the averaging window must be >= 0 frames")
    if f.size and (f.min() - window < 0 or f.max() >= pos.shape[0]):
        raise ValueError(f"frames need {window} earlier frames inside the trajectory of {pos.shape[0]} frames")
    if window == 0:
        return pos[f].astype(np.float64)
    ref = pos[0].astype(np.float64)
    cum = np.zeros((pos.shape[0] + 1, *pos.shape[1:]))
    np.cumsum(pos - ref, axis=0, out=cum[1:])
    return ref + (cum[f + 1] - cum[f - window]) / (window + 1)


def snap_to_grid(frames: ArrayLike, spacing: int) -> NDArray[np.int64]:
    """Each frame moved down to the nearest multiple of ``spacing`` (frames of one grid share a
    configuration, so an inherent-structure minimisation serves every example at that frame)."""
    if spacing < 1:
        raise ValueError("the grid spacing must be >= 1 frame")
    f = np.asarray(frames, dtype=np.int64)
    return (f // spacing) * spacing


def unwrap_near(reference: NDArray, positions: NDArray, box: NDArray) -> NDArray[np.float64]:
    """``positions`` moved by whole box vectors to the image nearest ``reference`` (per atom, per frame).

    A minimisation moves atoms far less than half a box, so the inherent structure of an unwrapped
    thermal frame is its nearest image: the inherent trajectory stays continuous for p_hop.
    ``reference`` / ``positions`` (..., N, 3), ``box`` (..., 3) orthorhombic lengths.
    """
    ref = np.asarray(reference, dtype=np.float64)
    pos = np.asarray(positions, dtype=np.float64)
    lengths = np.asarray(box, dtype=np.float64)[..., None, :]
    delta = pos - ref
    return ref + delta - lengths * np.round(delta / lengths)
