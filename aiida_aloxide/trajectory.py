"""Frames as aiida-core ``TrajectoryData``: the one builder of every trajectory / frames node, and its box reader.

Every sequence of configurations the project stores (a LAMMPS run's dumped frames, the merged
thermal dynamics, the example frames of the softness labels, the tension frames, one structure
as a frame) is a ``TrajectoryData`` made by :func:`frames_trajectory`, so ``verdi data
core.trajectory show/export`` and every AiiDA tool read them. Layout:

* aiida's own arrays: ``positions`` (F, N, 3) float64 Å, unwrapped, box origin 0; ``cells``
  (F, 3, 3) float64, diagonal (orthorhombic boxes only); ``steps`` (F,) int64; optional
  ``times`` (F,) float64 ps and ``velocities`` (F, N, 3) float64 Å/ps; attributes ``symbols``
  (N element names) and ``pbc`` (periodic in x, y, z);
* beside them: ``types`` (N,) int8 (the material's LAMMPS types: 1 = Al, 2 = O for alumina) and any per-frame
  array (``stress_volume`` (F, N, 6), ``voronoi_volume`` (F, N), ``pe`` (F, N), ``strain`` (F,),
  ...) in the dtype it is given; attributes ``n_frames`` and ``n_atoms``.

aiida validates positions, cells, times and velocities as float64 (``dtype == float``), so a
frame takes twice the bytes of the former float32 positions. Only numpy and ``aiida.orm`` are
imported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from aiida import orm

from .materials import DEFAULT_MATERIAL, load_material, material_of_elements

__all__ = ["cell_lengths", "frames_material", "frames_trajectory", "trajectory_species"]


def _default_species() -> dict[int, str]:
    """Element of each LAMMPS type of the default material (frames made before materials were inputs)."""
    return load_material(DEFAULT_MATERIAL).type_species


def frames_material(trajectory: orm.TrajectoryData):
    """The packaged material whose elements the frames hold (alumina for frames of alumina), else alumina.

    Calcfunctions that get frames without a ``material`` input take their cation, anion and cut-offs from it.
    """
    return material_of_elements(set(trajectory_species(trajectory).values()))


def trajectory_species(trajectory: orm.TrajectoryData) -> dict[int, str]:
    """Element of each LAMMPS type in a frames node, read from its own ``symbols`` and ``types``.

    The frames of a silica run name Si, those of alumina Al: every merge and export takes its species
    from the node it reads, so no one has to be told the material again.
    """
    types = np.asarray(trajectory.get_array("types")).astype(np.int64)
    symbols = trajectory.symbols
    uniq, first = np.unique(types, return_index=True)
    return {int(t): str(symbols[int(i)]) for t, i in zip(uniq, first, strict=True)}


#: Arrays :func:`frames_trajectory` writes itself; extra arrays may not take these names.
_RESERVED = frozenset({"positions", "cells", "steps", "times", "velocities", "types"})

#: Largest off-diagonal cell entry (Å) still read as an orthorhombic box.
_ORTHO_TOL = 1e-8


def frames_trajectory(
    positions: Any,
    lengths: Any,
    types: Any,
    steps: Any = None,
    times: Any = None,
    velocities: Any = None,
    species: dict[int, str] | None = None,
    **extra_arrays: Any,
) -> orm.TrajectoryData:
    """An unstored ``TrajectoryData`` of F orthorhombic frames: the single builder of every frames node.

    ``positions`` (F, N, 3) Å; ``lengths`` (F, 3) box lengths Å (or (3,) for a fixed box); ``types``
    (N,) LAMMPS types; ``steps`` (F,) (default 0..F-1); ``times`` (F,) ps;
    ``velocities`` (F, N, 3) Å/ps; ``species``: element of each type (default: alumina's, 1 = Al, 2 = O;
    :func:`trajectory_species` of a source node); ``extra_arrays``: per-frame arrays (leading axis F) stored as
    given beside aiida's own. Raises ``ValueError`` for inconsistent shapes or unknown types.
    """
    pos = np.ascontiguousarray(positions, dtype=np.float64)
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"positions must have shape (F, N, 3), got {pos.shape}")
    n_frames, n_atoms = pos.shape[:2]
    box = np.asarray(lengths, dtype=np.float64)
    if box.shape == (3,):
        box = np.broadcast_to(box, (n_frames, 3))
    if box.shape != (n_frames, 3):
        raise ValueError(f"lengths must have shape ({n_frames}, 3) (or (3,)), got {box.shape}")
    typ = np.asarray(types)
    if typ.shape != (n_atoms,) or not np.issubdtype(typ.dtype, np.integer):
        raise ValueError(f"types must be {n_atoms} integers, got shape {typ.shape} of {typ.dtype}")
    names = _default_species() if species is None else {int(k): str(v) for k, v in species.items()}
    unknown = sorted(set(np.unique(typ).tolist()) - set(names))
    if unknown:
        raise ValueError(f"atom types {unknown} are not among {names}")
    cells = np.zeros((n_frames, 3, 3), dtype=np.float64)
    cells[:, [0, 1, 2], [0, 1, 2]] = box
    stepids = np.arange(n_frames, dtype=np.int64) if steps is None else np.asarray(steps, dtype=np.int64)
    t = None if times is None else np.asarray(times, dtype=np.float64)
    vel = None if velocities is None else np.ascontiguousarray(velocities, dtype=np.float64)
    for name, value, shape in (
        ("steps", stepids, (n_frames,)),
        ("times", t, (n_frames,)),
        ("velocities", vel, pos.shape),
    ):
        if value is not None and value.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
    clash = sorted(_RESERVED & set(extra_arrays))
    if clash:
        raise ValueError(f"extra arrays may not be named {clash}")
    extras = {name: np.asarray(value) for name, value in extra_arrays.items()}
    for name, value in extras.items():
        if value.ndim == 0 or value.shape[0] != n_frames:
            raise ValueError(f"extra array {name!r} must have {n_frames} frames on its first axis, got {value.shape}")

    node = orm.TrajectoryData()
    try:
        node.set_trajectory(
            symbols=[names[int(k)] for k in typ],
            positions=pos,
            stepids=stepids,
            cells=cells,
            times=t,
            velocities=vel,
            pbc=(True, True, True),
        )
    except TypeError as exc:  # aiida reports wrong dtypes as TypeError; here every input was converted
        raise ValueError(str(exc)) from exc
    node.set_array("types", typ.astype(np.int8))
    for name, value in extras.items():
        node.set_array(name, value)
    node.base.attributes.set_many({"n_frames": int(n_frames), "n_atoms": int(n_atoms)})
    return node


def cell_lengths(node: orm.ArrayData) -> np.ndarray:
    """Box lengths (F, 3) float64 of a frames node (the diagonal of its cells); only ``cells`` is read.

    Raises ``ValueError`` when the node has no (F, 3, 3) cells or a cell is not orthorhombic.
    """
    if "cells" not in node.get_arraynames():
        raise ValueError(f"{node.__class__.__name__}<{node.pk}> has no 'cells' array")
    cells = np.asarray(node.get_array("cells"), dtype=np.float64)
    if cells.ndim != 3 or cells.shape[1:] != (3, 3):
        raise ValueError(
            f"{node.__class__.__name__}<{node.pk}> has cells of shape {cells.shape}; expected (F, 3, 3) cell vectors "
            "(a TrajectoryData made by aiida_aloxide.trajectory.frames_trajectory)"
        )
    lengths = np.diagonal(cells, axis1=1, axis2=2).copy()
    off = cells.copy()
    off[:, [0, 1, 2], [0, 1, 2]] = 0.0
    if np.any(np.abs(off) > _ORTHO_TOL):
        frame = int(np.argwhere(np.abs(off) > _ORTHO_TOL)[0, 0])
        raise ValueError(
            f"{node.__class__.__name__}<{node.pk}>: cell of frame {frame} is not orthorhombic "
            f"(off-diagonal entries up to {np.abs(off[frame]).max():.3g} Å); only orthorhombic boxes are supported"
        )
    return lengths
