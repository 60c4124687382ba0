"""Coordination numbers of the cations by the anions (Al by O, Si by O) and the species fractions (SPEC §4).

The bond cut-off is the material's (``analysis.cation_anion_cutoff`` of its file, :mod:`aiida_aloxide.materials`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .neighbors import neighbor_list

__all__ = ["coordination_numbers", "species_fractions"]


def coordination_numbers(
    positions: ArrayLike,
    box: ArrayLike,
    center_mask: ArrayLike,
    neighbor_mask: ArrayLike,
    cutoff: float,
) -> NDArray[np.int64]:
    """Number of neighbour-species atoms within ``cutoff`` of each centre atom.

    Returns one integer per centre atom (in the order of ``np.nonzero(center_mask)``).
    """
    center_mask = np.asarray(center_mask, dtype=bool)
    nl = neighbor_list(positions, box, cutoff, centers=center_mask, neighbors=neighbor_mask)
    counts = np.bincount(nl.i, minlength=len(center_mask))
    return counts[center_mask]


def species_fractions(cn: ArrayLike, species: tuple[int, ...] = (4, 5, 6)) -> dict[str, float]:
    """Fractions of atoms with each coordination number, plus the remainder as ``other``.

    Keys are ``"Al4"``, ``"Al5"``, ... and ``"other"``; values sum to 1 (empty input gives zeros).
    """
    cn = np.asarray(cn)
    n = max(cn.size, 1)
    out = {f"Al{k}": float(np.count_nonzero(cn == k)) / n for k in species}
    out["other"] = float(np.count_nonzero(~np.isin(cn, species))) / n if cn.size else 0.0
    return out
