"""Plain readers and writers for LAMMPS files (data, custom dumps, logs); no AiiDA here.

Readers are vectorised per frame (numpy parses a whole frame at once) and tolerant of
truncated output: a partial last frame or thermo block is reported, never silently used.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .materials import load_material

if TYPE_CHECKING:
    from .materials import Material

__all__ = [
    "DumpFrame",
    "LogResult",
    "ThermoBlock",
    "box_for_counts",
    "mass_density",
    "parse_dump",
    "parse_log",
    "write_data",
]


def write_data(
    positions: ArrayLike,
    types: ArrayLike,
    charges: ArrayLike,
    box: ArrayLike,
    velocities: ArrayLike | None = None,
    title: str = "aiida-aloxide structure",
    material: Material | None = None,
) -> str:
    """LAMMPS ``atom_style charge`` data file text for an orthorhombic box with origin 0.

    ``velocities`` (Å/ps, metal units) are written as a Velocities section when given, so
    that a later stage continues the dynamics of an earlier one. Atom types and masses are
    ``material``'s (default: alumina, 1 = Al, 2 = O).
    """
    material = load_material() if material is None else material
    species_types, masses = material.types, material.masses
    pos = np.asarray(positions, dtype=np.float64)
    typ = np.asarray(types, dtype=np.int64)
    q = np.asarray(charges, dtype=np.float64)
    lengths = np.asarray(box, dtype=np.float64)
    n = pos.shape[0]
    if pos.shape != (n, 3) or typ.shape != (n,) or q.shape != (n,) or lengths.shape != (3,):
        raise ValueError("positions (n,3), types (n,), charges (n,) and box (3,) are required")
    buf = io.StringIO()
    buf.write(f"# {title}\n\n{n} atoms\n{len(species_types)} atom types\n\n")
    for axis, length in zip("xyz", lengths, strict=True):
        buf.write(f"0.0 {length:.12g} {axis}lo {axis}hi\n")
    buf.write("\nMasses\n\n")
    for species, t in species_types.items():
        buf.write(f"{t} {masses[species]:.8g}\n")
    buf.write("\nAtoms # charge\n\n")
    table = np.column_stack([np.arange(1, n + 1), typ, q, pos])
    np.savetxt(buf, table, fmt=["%d", "%d", "%.10g", "%.12g", "%.12g", "%.12g"])
    if velocities is not None:
        vel = np.asarray(velocities, dtype=np.float64)
        if vel.shape != (n, 3):
            raise ValueError(f"velocities must have shape ({n}, 3), got {vel.shape}")
        buf.write("\nVelocities\n\n")
        np.savetxt(buf, np.column_stack([np.arange(1, n + 1), vel]), fmt=["%d", "%.10g", "%.10g", "%.10g"])
    return buf.getvalue()


@dataclass
class DumpFrame:
    """One frame of a custom dump, atoms sorted by id; ``box`` is (3, 2) lo/hi."""

    timestep: int
    box: NDArray[np.float64]
    columns: dict[str, NDArray[np.float64]]

    @property
    def lengths(self) -> NDArray[np.float64]:
        """Box lengths (3,)."""
        return self.box[:, 1] - self.box[:, 0]


class DumpFormatError(ValueError):
    """A dump file is truncated or malformed."""


def parse_dump(text: str, *, allow_truncated_last: bool = True) -> tuple[list[DumpFrame], bool]:
    """Parse a LAMMPS custom dump (orthorhombic, ``ITEM: ATOMS ...``).

    Returns ``(frames, truncated)``: ``truncated`` is True when a trailing incomplete frame
    was dropped. A malformed frame anywhere else raises :class:`DumpFormatError`.
    """
    chunks = text.split("ITEM: TIMESTEP")
    frames: list[DumpFrame] = []
    truncated = False
    # Sections LAMMPS writes before each TIMESTEP with dump_modify units/time yes: skipped.
    if chunks and chunks[0].strip() and not _only_preamble(chunks[0]):
        raise DumpFormatError("dump does not start with 'ITEM: TIMESTEP'")
    bodies = [c for c in chunks[1:] if c.strip()]
    for k, chunk in enumerate(bodies):
        last = k == len(bodies) - 1
        try:
            frames.append(_parse_dump_frame(chunk))
        except DumpFormatError:
            if last and allow_truncated_last:
                truncated = True
                break
            raise
    return frames, truncated


def _only_preamble(text: str) -> bool:
    """True if ``text`` holds only ``ITEM: UNITS`` / ``ITEM: TIME`` sections (one value line each)."""
    lines = [line for line in text.strip("\n").split("\n") if line.strip()]
    heads = lines[0::2]
    return len(lines) % 2 == 0 and all(h.strip() in ("ITEM: UNITS", "ITEM: TIME") for h in heads)


def _parse_dump_frame(chunk: str) -> DumpFrame:
    """Parse the text after one ``ITEM: TIMESTEP`` marker."""
    lines = chunk.strip("\n").split("\n")
    try:
        timestep = int(lines[0])
        if not lines[1].startswith("ITEM: NUMBER OF ATOMS"):
            raise DumpFormatError("missing NUMBER OF ATOMS")
        n = int(lines[2])
        if not lines[3].startswith("ITEM: BOX BOUNDS"):
            raise DumpFormatError("missing BOX BOUNDS")
        if "xy" in lines[3]:
            raise DumpFormatError("triclinic dumps are not supported")
        box = np.array([[float(v) for v in lines[4 + a].split()[:2]] for a in range(3)])
        header = lines[7]
        if not header.startswith("ITEM: ATOMS"):
            raise DumpFormatError("missing ATOMS header")
        names = header.split()[2:]
        body = lines[8 : 8 + n]
    except (IndexError, ValueError) as exc:
        raise DumpFormatError(f"malformed dump frame header: {exc}") from exc
    if len(body) != n:
        raise DumpFormatError(f"frame at step {timestep} has {len(body)} of {n} atom lines")
    # A text column (LAMMPS' ``element``) is skipped; the numeric ones are read.
    numeric = [c for c, name in enumerate(names) if name != "element"]
    try:
        data = np.loadtxt(
            io.StringIO("\n".join(body)),
            dtype=np.float64,
            ndmin=2,
            usecols=numeric if len(numeric) < len(names) else None,
        )
    except ValueError as exc:
        raise DumpFormatError(f"unreadable atom lines at step {timestep}: {exc}") from exc
    names = [names[c] for c in numeric]
    if data.shape != (n, len(names)):
        raise DumpFormatError(f"frame at step {timestep}: expected {len(names)} columns, got {data.shape}")
    if "id" in names:
        data = data[np.argsort(data[:, names.index("id")], kind="stable")]
    return DumpFrame(timestep, box, {name: data[:, c] for c, name in enumerate(names)})


@dataclass
class ThermoBlock:
    """One ``run``/``minimize`` thermo table of a log: column names and rows."""

    columns: list[str]
    data: NDArray[np.float64]


@dataclass
class LogResult:
    """What a LAMMPS log says: thermo blocks, errors, warnings and whether it completed."""

    blocks: list[ThermoBlock] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    completed: bool = False
    wall_time_s: float | None = None
    version: str | None = None
    loop_times_s: list[float] = field(default_factory=list)

    def thermo(self) -> tuple[list[str], NDArray[np.float64]]:
        """All blocks with the first block's columns concatenated (duplicate step rows kept)."""
        if not self.blocks:
            return [], np.zeros((0, 0))
        cols = self.blocks[0].columns
        rows = [b.data for b in self.blocks if b.columns == cols and b.data.size]
        return cols, (np.vstack(rows) if rows else np.zeros((0, len(cols))))


_FLOAT_ROW = re.compile(r"^\s*[-+0-9.eEnaifNAIF ]+$")


def parse_log(text: str) -> LogResult:
    """Parse a LAMMPS log file (thermo tables, ERROR/WARNING lines, completion, timing)."""
    res = LogResult()
    lines = text.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k]
        stripped = line.strip()
        if stripped.startswith("LAMMPS ("):
            res.version = stripped[len("LAMMPS (") : -1] if stripped.endswith(")") else stripped
        elif stripped.startswith("ERROR"):
            res.errors.append(stripped)
        elif stripped.startswith("WARNING"):
            res.warnings.append(stripped)
        elif stripped.startswith("Total wall time:"):
            res.completed = True
            h, m, s = (int(v) for v in stripped.split(":", 1)[1].strip().split(":"))
            res.wall_time_s = float(3600 * h + 60 * m + s)
        elif stripped.startswith("Loop time of"):
            try:
                res.loop_times_s.append(float(stripped.split()[3]))
            except (IndexError, ValueError):
                pass
        elif stripped.startswith("Step ") or stripped == "Step":
            cols = stripped.split()
            rows: list[list[float]] = []
            k += 1
            while k < len(lines):
                row = lines[k]
                if not _FLOAT_ROW.match(row) or not row.strip():
                    break
                parts = row.split()
                if len(parts) != len(cols):
                    break
                try:
                    rows.append([float(v) for v in parts])
                except ValueError:
                    break
                k += 1
            res.blocks.append(ThermoBlock(cols, np.array(rows, dtype=np.float64).reshape(-1, len(cols))))
            continue
        k += 1
    return res


def finite(values: ArrayLike) -> bool:
    """True when every value is finite (no nan / inf)."""
    arr = np.asarray(values, dtype=np.float64)
    return bool(np.all(np.isfinite(arr))) if arr.size else True


def _mass_g(counts: dict[str, int], masses: dict[str, float]) -> float:
    """Mass (g) of atoms counted by species (masses in g/mol), summed in the order of ``counts``."""
    species = list(counts)
    mass = counts[species[0]] * masses[species[0]]
    for sp in species[1:]:
        mass = mass + counts[sp] * masses[sp]
    return mass / 6.02214076e23


def mass_density(counts: dict[str, int], masses: dict[str, float], volume_A3: float) -> float:
    """Mass density (g/cm³) of any system from atom counts by species, masses (g/mol) and volume (Å³)."""
    return _mass_g(counts, masses) / (volume_A3 * 1e-24)


def box_for_counts(counts: dict[str, int], masses: dict[str, float], density: float) -> float:
    """Edge (Å) of the cube holding atoms of any species (counts by species) at a mass density (g/cm³)."""
    return math.pow(_mass_g(counts, masses) / density * 1e24, 1.0 / 3.0)
