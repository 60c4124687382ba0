"""Small crystal builders with known answers for the analysis tests (no AiiDA, plain numpy)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Corundum (alpha-Al2O3), space group R-3c (No. 167), hexagonal setting.
CORUNDUM_A = 4.759
CORUNDUM_C = 12.99
CORUNDUM_Z_AL = 0.3523  # Wyckoff 12c (0, 0, z)
CORUNDUM_X_O = 0.3064  # Wyckoff 18e (x, 0, 1/4)

#: Molar masses (g/mol) and Avogadro's number, for density checks.
M_AL = 26.9815385
M_O = 15.999
AVOGADRO = 6.02214076e23

_R_CENTRING = np.array([[0.0, 0.0, 0.0], [2 / 3, 1 / 3, 1 / 3], [1 / 3, 2 / 3, 2 / 3]])


def corundum_hexagonal_fractional() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Fractional coordinates and LAMMPS types (1 = Al, 2 = O) of the 30 atoms of one hexagonal cell.

    Orbits of R-3c (hexagonal axes, International Tables): 12c = (0,0,z), (0,0,-z+1/2),
    (0,0,-z), (0,0,z+1/2); 18e = (x,0,1/4), (0,x,1/4), (-x,-x,1/4), (-x,0,3/4), (0,-x,3/4),
    (x,x,3/4); each plus the rhombohedral centring translations (0,0,0), (2/3,1/3,1/3), (1/3,2/3,2/3).
    """
    z, x = CORUNDUM_Z_AL, CORUNDUM_X_O
    al = np.array([[0, 0, z], [0, 0, 0.5 - z], [0, 0, -z], [0, 0, z + 0.5]])
    o = np.array([[x, 0, 0.25], [0, x, 0.25], [-x, -x, 0.25], [-x, 0, 0.75], [0, -x, 0.75], [x, x, 0.75]])
    al_all = (al[None, :, :] + _R_CENTRING[:, None, :]).reshape(-1, 3)
    o_all = (o[None, :, :] + _R_CENTRING[:, None, :]).reshape(-1, 3)
    frac = np.mod(np.vstack([al_all, o_all]), 1.0)
    types = np.concatenate([np.ones(len(al_all), dtype=np.int64), np.full(len(o_all), 2, dtype=np.int64)])
    return frac, types


def corundum_orthorhombic(
    reps: tuple[int, int, int] = (3, 2, 1),
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """Corundum in an orthorhombic supercell: ``(positions, types, box)``.

    The orthorhombic cell spans A = a1, B = a1 + 2 a2 = (0, sqrt(3) a, 0), C = c of the hexagonal
    lattice (a1 = a(1,0,0), a2 = a(-1/2, sqrt(3)/2, 0)); it holds two hexagonal cells (the atoms
    r and r + a2), i.e. 24 Al + 36 O. It is then replicated ``reps`` times.
    """
    a, c = CORUNDUM_A, CORUNDUM_C
    hexcell = np.array([[a, 0.0, 0.0], [-0.5 * a, 0.5 * np.sqrt(3.0) * a, 0.0], [0.0, 0.0, c]])
    frac, types = corundum_hexagonal_fractional()
    cart = frac @ hexcell
    cell = np.array([a, np.sqrt(3.0) * a, c])
    cart = np.vstack([cart, cart + hexcell[1]])
    types = np.concatenate([types, types])
    cart = np.mod(cart, cell)
    nx, ny, nz = reps
    shifts = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij"), -1)
    shifts = shifts.reshape(-1, 3) * cell
    pos = (cart[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    types = np.tile(types, len(shifts))
    return pos, types, cell * np.array(reps, dtype=np.float64)


def density_g_cm3(types: NDArray[np.int64], box: NDArray[np.float64]) -> float:
    """Mass density (g/cm^3) of an Al/O configuration (types 1 = Al, 2 = O) in an orthorhombic box."""
    mass = np.count_nonzero(types == 1) * M_AL + np.count_nonzero(types == 2) * M_O
    return float(mass / AVOGADRO / (np.prod(box) * 1e-24))


def simple_cubic(n: int, a: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Simple cubic lattice of n^3 points with spacing ``a``: ``(positions, box)``."""
    g = np.arange(n, dtype=np.float64) * a
    pos = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    return pos, np.full(3, n * a)


def fcc(n: int, a: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Face-centred cubic lattice, n^3 conventional cells of edge ``a``: ``(positions, box)``."""
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]) * a
    sc, box = simple_cubic(n, a)
    pos = (sc[:, None, :] + basis[None, :, :]).reshape(-1, 3)
    return pos, box
