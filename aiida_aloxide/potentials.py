"""Matsui (1994) rigid-ion potential for Al2O3, and its LAMMPS commands (SPEC §1).

The numbers live in the material file ``aiida_aloxide/materials/alumina-matsui.yaml``
(:mod:`aiida_aloxide.materials`); this module builds the constants the work chains use from it.

The Buckingham parameters follow the Matsui combining form
A = f0 (b_i + b_j) exp((a_i + a_j)/(b_i + b_j)), rho = b_i + b_j, C = c_i c_j,
with f0 = 4.184 kJ/mol/Å and energies converted to eV; the values are the ones
tabulated in the study (Du et al., ACS Nano 2021). LAMMPS atom types are fixed:
1 = Al, 2 = O.

:func:`pair_commands` builds the same kind of commands for any :class:`~aiida_aloxide.materials.Material`
(e.g. ``silica-bks``: BKS Buckingham with a 30-6 repulsive core, ``hybrid/overlay`` with ``mie/cut``);
for alumina it gives exactly the lines of :meth:`MatsuiPotential.lammps_commands`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations_with_replacement

__all__ = [
    "MATSUI",
    "SPECIES_TYPES",
    "BuckinghamPair",
    "MatsuiPotential",
    "mie_prefactor",
    "pair_commands",
]

from .materials import DEFAULT_MATERIAL, Material, load_material

_MATERIAL = load_material(DEFAULT_MATERIAL)

#: LAMMPS atom type of each species; every script and parser in the package uses these.
SPECIES_TYPES: dict[str, int] = _MATERIAL.types

#: Atomic masses (g/mol) used in the data file and density calculations.
MASSES: dict[str, float] = dict(_MATERIAL.masses)


@dataclass(frozen=True)
class BuckinghamPair:
    """One Buckingham pair A exp(-r/rho) - C/r^6 (eV, Å)."""

    A: float
    rho: float
    C: float


@dataclass(frozen=True)
class MatsuiPotential:
    """Charges, Buckingham pairs and the long-range settings that define the force field."""

    charges: dict[str, float] = field(default_factory=lambda: dict(_MATERIAL.charges))
    pairs: dict[tuple[str, str], BuckinghamPair] = field(
        default_factory=lambda: {pair: BuckinghamPair(t["A"], t["rho"], t["C"]) for pair, t in _MATERIAL.pairs.items()}
    )
    #: Real-space cut-off (Å) of both the Buckingham and the real-space Coulomb part. Not given
    #: in the paper; 10 Å is a common choice for Matsui alumina and keeps PPPM at 1e-5 cheap.
    cutoff: float = _MATERIAL.cutoff
    kspace_accuracy: float = _MATERIAL.kspace_accuracy

    def lammps_commands(
        self, cutoff: float | None = None, kspace_accuracy: float | None = None, kspace_style: str = "pppm"
    ) -> list[str]:
        """LAMMPS input lines (after ``read_data``) that set up the force field: :func:`pair_commands` of the
        alumina file (an instance's ``pairs`` are not consulted). Charges are not set here: they come with the
        structure (data file), and the calculation checks that they equal :attr:`charges` before anything runs.
        """
        return pair_commands(
            _MATERIAL,
            cutoff=self.cutoff if cutoff is None else cutoff,
            kspace_accuracy=self.kspace_accuracy if kspace_accuracy is None else kspace_accuracy,
            kspace_style=kspace_style,
        )

    def pair(self, a: str, b: str) -> BuckinghamPair:
        """Buckingham parameters of a species pair in either order."""
        return self.pairs.get((a, b)) or self.pairs[(b, a)]


MATSUI = MatsuiPotential()


def mie_prefactor(n: float, m: float) -> float:
    """LAMMPS ``mie/cut``'s C(n, m) in E = C ε [(σ/r)^n - (σ/r)^m]; it is 4 for n, m = 12, 6."""
    return (n / (n - m)) * (n / m) ** (m / (n - m))


def pair_commands(
    material: Material,
    cutoff: float | None = None,
    kspace_accuracy: float | None = None,
    kspace_style: str = "pppm",
    coulomb_cutoff: float | None = None,
) -> list[str]:
    """LAMMPS input lines (after ``read_data``) that set up the force field of ``material``.

    Buckingham + long-range Coulomb (``buck/coul/long``) for every species pair (pairs without
    Buckingham terms get A = C = 0: Coulomb only); a repulsive core, when the material declares one,
    is overlaid with ``mie/cut`` at the short-range cut-off. ``cutoff`` is the short-range cut-off and
    ``coulomb_cutoff`` the real-space Coulomb one (both default to the material's). Charges come
    with the structure, as for :meth:`MatsuiPotential.lammps_commands`.
    """
    rc = material.cutoff if cutoff is None else float(cutoff)
    rcc = material.coulomb_cutoff if coulomb_cutoff is None else float(coulomb_cutoff)
    acc = material.kspace_accuracy if kspace_accuracy is None else float(kspace_accuracy)
    if not rc > 0 or not (rcc is None or rcc > 0):
        raise ValueError(f"cut-offs must be positive, got {rc} and {rcc}")
    if not 0 < acc < 1:
        raise ValueError(f"kspace accuracy must be in (0, 1), got {acc}")
    if kspace_style not in {"pppm", "ewald"}:
        raise ValueError(f"kspace_style must be 'pppm' or 'ewald', got {kspace_style!r}")
    types = material.types
    buck = f"buck/coul/long {rc:.6g}" + ("" if rcc is None or rcc == rc else f" {rcc:.6g}")
    hybrid = bool(material.short_range)
    lines = [f"pair_style hybrid/overlay {buck} mie/cut {rc:.6g}" if hybrid else f"pair_style {buck}"]
    sub = "buck/coul/long " if hybrid else ""

    def key(a: str, b: str) -> tuple[int, int]:
        return tuple(sorted((types[a], types[b])))

    # Declared pairs in file order (the alumina lines), then Coulomb-only pairs.
    done = set()
    for (a, b), t in material.pairs.items():
        ta, tb = key(a, b)
        done.add((ta, tb))
        lines.append(f"pair_coeff {ta} {tb} {sub}{t['A']:.10g} {t['rho']:.10g} {t['C']:.10g}")
    for a, b in combinations_with_replacement(types, 2):
        if key(a, b) not in done:
            lines.append(f"pair_coeff {key(a, b)[0]} {key(a, b)[1]} {sub}0 1 0")
    for (a, b), t in material.short_range.items():
        ta, tb = key(a, b)
        eps = 4.0 * t["epsilon"] / mie_prefactor(t["n"], t["m"])
        lines.append(f"pair_coeff {ta} {tb} mie/cut {eps:.12g} {t['sigma']:.10g} {t['n']:.10g} {t['m']:.10g}")
    if material.shift:
        lines.append("pair_modify shift yes")
    lines.append(f"kspace_style {kspace_style} {acc:.6g}")
    return lines
