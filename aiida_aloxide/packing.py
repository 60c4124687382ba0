"""Seeded random packing of formula units (Al2O3 by default, any material's) in a cube with a minimum
interatomic distance (SPEC §2.1).

A minimum distance keeps the Buckingham r^-6 term from pulling ions onto each other
at 5000 K. Overlaps are removed by re-drawing every atom that is too close to another,
all at once (vectorised), until none is left.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from .lammps_io import box_for_counts
from .materials import Material, load_material

__all__ = ["random_packing"]


def random_packing(
    n_units: int,
    density: float,
    min_distance: float = 1.8,
    seed: int = 1,
    max_rounds: int = 10_000,
    material: Material | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """Place ``n_units`` formula units at ``density`` (g/cm³): returns positions, types, box lengths.

    The material's formula unit, masses and type order (all atoms of type 1 first, then type 2, ...);
    without ``material`` alumina-matsui (Al2O3 units, 1 = Al, 2 = O). Raises ``ValueError`` when the
    packing fraction makes the minimum distance unreachable.
    """
    if n_units < 1:
        raise ValueError(f"n_units must be >= 1, got {n_units}")
    if not density > 0:
        raise ValueError(f"density must be positive, got {density}")
    if not min_distance > 0:
        raise ValueError(f"min_distance must be positive, got {min_distance}")
    material = load_material() if material is None else material
    counts = {sp: k * n_units for sp, k in material.formula_unit.items()}
    edge = box_for_counts(counts, material.masses, density)
    n = sum(counts.values())
    if min_distance >= 0.5 * edge:
        raise ValueError(f"min_distance {min_distance} Å is too large for a {edge:.2f} Å box")
    # Random sequential packing of hard spheres jams near a packing fraction of 0.38.
    phi = n * (np.pi / 6.0) * min_distance**3 / edge**3
    if phi > 0.35:
        raise ValueError(f"packing fraction {phi:.2f} too high for min_distance {min_distance} Å")
    rng = np.random.default_rng(seed)
    types = np.concatenate([np.full(counts[sp], t) for sp, t in material.types.items()])
    box = np.full(3, edge)
    pos = rng.random((n, 3)) * edge
    for _ in range(max_rounds):
        tree = cKDTree(pos, boxsize=box)
        pairs = tree.query_pairs(min_distance, output_type="ndarray")
        if len(pairs) == 0:
            return pos, types.astype(np.int64), box
        # Redraw the higher-index atom of every overlapping pair.
        redraw = np.unique(pairs.max(axis=1))
        pos[redraw] = rng.random((len(redraw), 3)) * edge
        pos = np.mod(pos, edge)
    raise RuntimeError(f"could not remove overlaps in {max_rounds} rounds")
