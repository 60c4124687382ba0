"""LAMMPS force-field commands of a material file (:mod:`aiida_aloxide.materials`).

:func:`pair_commands` turns a :class:`~aiida_aloxide.materials.Material` into the LAMMPS lines after
``read_data``: Buckingham + long-range Coulomb (``buck/coul/long``) for every species pair, a repulsive
core overlaid with ``mie/cut`` when the material declares one (BKS silica), the shift and the k-space
solver. For alumina-matsui these are the lines every alumina script has used (tests compare them with
the literal Matsui table). This is the one place that writes force-field commands.
"""

from __future__ import annotations

from itertools import combinations_with_replacement
from typing import TYPE_CHECKING

from . import FORM_TERMS

if TYPE_CHECKING:
    from . import Material

__all__ = ["mie_prefactor", "pair_commands"]


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

    The material's pair form with long-range Coulomb for every species pair: Buckingham (``buck/coul/long``)
    or Born–Mayer–Huggins (``born/coul/long``; pairs without terms get zero short-range terms: Coulomb
    only), or Pedone (``pedone`` overlaid on ``coul/long``); a repulsive core, when the material declares
    one, is overlaid with ``mie/cut`` at the short-range cut-off. ``cutoff`` is the short-range cut-off and
    ``coulomb_cutoff`` the real-space Coulomb one (both default to the material's). Charges come
    with the structure (data file); the calculation checks them against the material before anything runs.
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
    coulomb = "" if rcc is None or rcc == rc else f" {rcc:.6g}"
    if material.form == "pedone":  # the short-range part alone, Coulomb overlaid
        styles, sub, empty = [f"pedone {rc:.6g}", f"coul/long {rcc or rc:.6g}"], "pedone ", None
    else:
        style = {"buckingham": "buck/coul/long", "born": "born/coul/long"}[material.form]
        styles, sub = [f"{style} {rc:.6g}{coulomb}"], f"{style} "
        empty = "0 1 0" if material.form == "buckingham" else "0 1 0 0 0"
    if material.short_range:
        styles.append(f"mie/cut {rc:.6g}")
    hybrid = len(styles) > 1
    lines = [f"pair_style hybrid/overlay {' '.join(styles)}" if hybrid else f"pair_style {styles[0]}"]
    sub = sub if hybrid else ""
    if material.form == "pedone":
        lines.append("pair_coeff * * coul/long")

    def key(a: str, b: str) -> tuple[int, int]:
        return tuple(sorted((types[a], types[b])))

    # Declared pairs in file order (the alumina lines), then Coulomb-only pairs.
    done = set()
    for (a, b), t in material.pairs.items():
        ta, tb = key(a, b)
        done.add((ta, tb))
        lines.append(f"pair_coeff {ta} {tb} {sub}" + " ".join(f"{t[k]:.10g}" for k in FORM_TERMS[material.form]))
    for a, b in combinations_with_replacement(types, 2):
        if key(a, b) not in done and empty is not None:
            lines.append(f"pair_coeff {key(a, b)[0]} {key(a, b)[1]} {sub}{empty}")
    for (a, b), t in material.short_range.items():
        ta, tb = key(a, b)
        eps = 4.0 * t["epsilon"] / mie_prefactor(t["n"], t["m"])
        lines.append(f"pair_coeff {ta} {tb} mie/cut {eps:.12g} {t['sigma']:.10g} {t['n']:.10g} {t['m']:.10g}")
    if material.shift:
        lines.append("pair_modify shift yes")
    lines.append(f"kspace_style {kspace_style} {acc:.6g}")
    return lines
