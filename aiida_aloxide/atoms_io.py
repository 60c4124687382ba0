"""Per-atom frame files that OVITO, ASE and LAMMPS read: extended XYZ and LAMMPS custom dump.

Pure numpy (no AiiDA): :mod:`aiida_aloxide.report.atoms` collects the arrays from stored nodes
and calls these writers. Columns are 1-D per-atom arrays; integer columns stay integers, float
columns may hold NaN where a quantity is undefined (e.g. D of an O atom), which both OVITO and
ASE read as NaN.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["AtomFrame", "write_extxyz", "write_lammps_dump"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class AtomFrame:
    """One configuration: positions (N, 3) in Å, orthorhombic box lengths (3,), species, columns, info."""

    positions: NDArray[np.float64]
    lengths: NDArray[np.float64]
    symbols: NDArray[np.str_]
    types: NDArray[np.int64]
    columns: dict[str, NDArray[Any]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check shapes and names once, so that the writers can trust them."""
        self.positions = np.asarray(self.positions, dtype=np.float64)
        self.lengths = np.asarray(self.lengths, dtype=np.float64)
        n = self.positions.shape[0]
        if self.positions.shape != (n, 3) or self.lengths.shape != (3,):
            raise ValueError(
                f"positions must be (N, 3) and lengths (3,), got {self.positions.shape}, {self.lengths.shape}"
            )
        if np.asarray(self.symbols).shape != (n,) or np.asarray(self.types).shape != (n,):
            raise ValueError("symbols and types need one entry per atom")
        for name, col in self.columns.items():
            if not _NAME.match(name):
                raise ValueError(f"column name {name!r} is not an identifier (OVITO, ASE and LAMMPS need one)")
            if np.asarray(col).shape != (n,):
                raise ValueError(f"column {name!r} has shape {np.asarray(col).shape}, expected ({n},)")
        for key in self.info:
            if not _NAME.match(key):
                raise ValueError(f"info key {key!r} is not an identifier")


def _kind(col: NDArray[Any]) -> str:
    """Extended-XYZ type letter of a column: I (integer, incl. bool) or R (real)."""
    return "I" if np.issubdtype(col.dtype, np.integer) or col.dtype == bool else "R"


def _info_value(value: Any) -> str:
    """An extended-XYZ comment-line value: numbers bare, text quoted (no quotes inside)."""
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):.10g}"
    text = str(value).replace('"', "'")
    return f'"{text}"'


def _rows(columns: Sequence[NDArray[Any]]) -> tuple[NDArray[Any], str]:
    """Columns as one object table and the matching printf format (ints %d, reals %.8g)."""
    fmts = []
    for col in columns:
        if col.dtype.kind in "US":
            fmts.append("%s")
        elif _kind(col) == "I":
            fmts.append("%d")
        else:
            fmts.append("%.8g")
    table = np.empty((columns[0].shape[0], len(columns)), dtype=object)
    for k, col in enumerate(columns):
        table[:, k] = col.astype(np.int64) if col.dtype == bool else col
    return table, " ".join(fmts)


def write_extxyz(path: str | Path, frames: Iterable[AtomFrame]) -> Path:
    """Write ``frames`` as one multi-frame extended XYZ file (ASE ``ase.io.read`` / OVITO readable).

    The comment line holds ``Lattice``, ``Properties`` (species, pos, then every column), ``pbc``
    and each frame's ``info`` (strain, source node UUIDs, ...).
    """
    path = Path(path)
    with open(path, "w") as handle:
        for frame in frames:
            cols = {k: np.asarray(v) for k, v in frame.columns.items()}
            props = "species:S:1:pos:R:3" + "".join(f":{k}:{_kind(v)}:1" for k, v in cols.items())
            lx, ly, lz = frame.lengths
            info = " ".join(f"{k}={_info_value(v)}" for k, v in frame.info.items())
            handle.write(f"{len(frame.positions)}\n")
            handle.write(
                f'Lattice="{lx:.10g} 0 0 0 {ly:.10g} 0 0 0 {lz:.10g}" Properties={props} pbc="T T T" {info}'.rstrip()
                + "\n"
            )
            table, fmt = _rows([np.asarray(frame.symbols), *frame.positions.T, *cols.values()])
            buf = io.StringIO()
            np.savetxt(buf, table, fmt=fmt)
            handle.write(buf.getvalue())
    return path


def write_lammps_dump(
    path: str | Path, frames: Iterable[AtomFrame], provenance: Mapping[str, str] | None = None
) -> Path:
    """Write ``frames`` as a LAMMPS custom dump (``id type element x y z <columns>``, box origin 0).

    A LAMMPS dump has no comment line, so the source node UUIDs (``provenance``) go after the
    unit style in the ``ITEM: UNITS`` section LAMMPS writes with ``dump_modify units yes``
    (OVITO skips that section). ``ITEM: TIME`` carries each frame's ``info['time']`` when set.
    """
    path = Path(path)
    note = " ".join(f"{k}={v}" for k, v in (provenance or {}).items())
    with open(path, "w") as handle:
        for step, frame in enumerate(frames):
            cols = {k: np.asarray(v) for k, v in frame.columns.items()}
            handle.write("ITEM: UNITS\nmetal" + (f"  # aiida-aloxide sources: {note}" if note else "") + "\n")
            if "time" in frame.info:
                handle.write(f"ITEM: TIME\n{float(frame.info['time']):.10g}\n")
            timestep = int(frame.info.get("timestep", step))
            n = len(frame.positions)
            handle.write(f"ITEM: TIMESTEP\n{timestep}\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n")
            handle.write("".join(f"0 {length:.10g}\n" for length in frame.lengths))
            handle.write("ITEM: ATOMS id type element x y z" + "".join(f" {k}" for k in cols) + "\n")
            ids = np.arange(1, n + 1)
            table, fmt = _rows([ids, np.asarray(frame.types), np.asarray(frame.symbols), *frame.positions.T,
                                *cols.values()])  # fmt: skip
            buf = io.StringIO()
            np.savetxt(buf, table, fmt=fmt)
            handle.write(buf.getvalue())
    return path
