"""``ChargedStructureData``: a StructureData that also carries the ionic charge of each kind.

A rigid-ion sample is only meaningful with its charges, so they travel with the
structure through the provenance graph instead of being implied by a script.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from aiida import orm
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..lammps_io import mass_density
from ..materials import Material, load_material, material_of, material_of_elements

__all__ = ["ChargedStructureData", "structure_arrays", "structure_from_arrays", "structure_material", "validate_sample"]

#: Closest approach (Å) accepted in an input structure; Al–O bonds are ≈ 1.6–2.0 Å, Si–O ≈ 1.6 Å.
MIN_DISTANCE = 1.0


class ChargedStructureData(orm.StructureData):
    """Periodic orthorhombic structure with per-kind charges (attribute ``charges``)."""

    @property
    def charges(self) -> dict[str, float]:
        """Charge of each kind name (e)."""
        return dict(self.base.attributes.get("charges", {}))

    def set_charges(self, charges: dict[str, float]) -> None:
        """Set the charge of each kind; every kind of the structure needs one."""
        missing = {k.name for k in self.kinds} - set(charges)
        if missing:
            raise ValueError(f"no charge given for kinds {sorted(missing)}")
        self.base.attributes.set("charges", {str(k): float(v) for k, v in charges.items()})

    def as_arrays(self) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """Positions (n,3), LAMMPS types (n,), charges (n,) and box lengths (3,)."""
        return structure_arrays(self)


def structure_arrays(
    structure: orm.StructureData, material: Material | None = None
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Positions, LAMMPS types, charges and box lengths of an (orthorhombic) structure.

    Types follow ``material``'s species order (default: the packaged material of the structure's elements,
    else alumina; 1 = Al, 2 = O for alumina); a species the material does not have gets type 0, which the
    validators refuse.
    """
    species_types = (structure_material(structure) if material is None else material).types
    cell = np.asarray(structure.cell, dtype=np.float64)
    if np.any(np.abs(cell - np.diag(np.diag(cell))) > 1e-8):
        raise ValueError("only orthorhombic cells are supported")
    kind_species = {k.name: k.symbols[0] for k in structure.kinds}
    site_kinds = [s.kind_name for s in structure.sites]
    species = np.array([kind_species[k] for k in site_kinds])
    types = np.array([species_types.get(s, 0) for s in species], dtype=np.int64)
    charges_by_kind = structure.base.attributes.get("charges", {})
    charges = np.array([charges_by_kind.get(k, np.nan) for k in site_kinds], dtype=np.float64)
    positions = np.array([s.position for s in structure.sites], dtype=np.float64)
    return positions, types, charges, np.diag(cell).copy()


def structure_material(structure: orm.StructureData, material: Any = None) -> Material:
    """The material of a ``material`` input (an ``orm.Dict``) if given, else the packaged one of the structure's
    elements (alumina when none matches): what a structure is a sample of when no one says otherwise."""
    if material is not None:
        return material_of(material)
    return material_of_elements({k.symbols[0] for k in structure.kinds})


def structure_from_arrays(
    positions: NDArray, types: NDArray, box: NDArray, charges: dict[str, float], material: Material | None = None
) -> ChargedStructureData:
    """Build an unstored ChargedStructureData from arrays (types of ``material``; default alumina, 1 = Al, 2 = O)."""
    species_types = (load_material() if material is None else material).types
    type_species = {v: k for k, v in species_types.items()}
    s = ChargedStructureData(cell=np.diag(np.asarray(box, dtype=float)).tolist(), pbc=(True, True, True))
    for species in species_types:
        s.append_kind(orm.Kind(symbols=species, name=species))
    # Bypass per-site validation cost: sites are plain attribute dicts in StructureData.
    pos = np.asarray(positions, dtype=float)
    names = [type_species[int(t)] for t in np.asarray(types)]
    s.base.attributes.set("sites", [{"kind_name": k, "position": p} for k, p in zip(names, pos.tolist(), strict=True)])
    s.set_charges(charges)
    return s


#: Kind names accepted in an input structure (they never reach LAMMPS, which sees types 1 and 2 only).
KIND_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


def _check_kinds_and_charges(structure: orm.StructureData, species: list[str]) -> str | None:
    """Why the kinds or the ``charges`` attribute are unusable (names, single species, finite numbers), or None."""
    example = ", ".join(repr(s) for s in species)
    for kind in structure.kinds:
        if not KIND_NAME.fullmatch(kind.name):
            return f"kind name {kind.name!r} is not allowed: use letters, digits and '_' (e.g. {example})"
        if len(kind.symbols) != 1 or kind.is_alloy or kind.has_vacancies:
            return f"kind {kind.name!r} must be a single element ({' or '.join(species)}), got {list(kind.symbols)}"
    charges = structure.base.attributes.get("charges", None)
    if charges is None:
        return None
    if not isinstance(charges, dict):
        return f"structure attribute 'charges' must map kind names to numbers, got {type(charges).__name__}"
    for name, q in charges.items():
        if isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q):
            return f"charge of kind {name!r} must be a finite number, got {q!r}"
    return None


def validate_sample(
    structure: orm.StructureData,
    material: Material | None = None,
    expected_charges: dict[str, float] | str | None = "material",
) -> str | None:
    """Why a structure is not a usable charged sample of ``material`` (default alumina), or None when it is.

    Species, stoichiometry (the formula unit), neutrality, periodicity, density and closest approach are
    checked; the charge of every kind against ``expected_charges`` (``"material"``: the material's
    charges; ``None``: not checked), since a rigid-ion force field is only defined with its own charges.
    """
    mat = load_material() if material is None else material
    if expected_charges == "material":
        expected_charges = mat.charges
    species_names = list(mat.masses)
    msg = _check_kinds_and_charges(structure, species_names)
    if msg:
        return msg
    cell = np.asarray(structure.cell, dtype=np.float64)
    positions = np.array([site.position for site in structure.sites], dtype=np.float64).reshape(-1, 3)
    if not np.all(np.isfinite(cell)) or not np.all(np.isfinite(positions)):
        return "structure has non-finite (NaN or infinite) cell vectors or positions"
    try:
        positions, types, charges, box = structure_arrays(structure, mat)
    except ValueError as exc:
        return str(exc)
    symbols = {k.symbols[0] for k in structure.kinds}
    if symbols - set(species_names):
        others = sorted(symbols - set(species_names))
        return f"structure contains elements other than {' and '.join(species_names)}: {others}"
    counts = {sp: int(np.count_nonzero(types == t)) for sp, t in mat.types.items()}
    first, n_first = next(iter(mat.formula_unit.items()))
    unit = mat.formula_unit
    if min(counts.values()) == 0 or any(counts[sp] * n_first != counts[first] * n for sp, n in unit.items()):
        found = " and ".join(f"{n} {sp}" for sp, n in counts.items())
        return f"structure is not {mat.formula} stoichiometry: {found}"
    if not structure.pbc or not all(structure.pbc):
        return "structure must be periodic in x, y and z"
    if np.any(box <= 0):
        return f"cell lengths {box.tolist()} Å must be positive"
    if np.any(positions < -box) or np.any(positions >= 2 * box):
        return "atom positions must lie within one cell length of the cell [0, L): wrap them into the cell"
    if "charges" not in structure.base.attributes.keys() or np.any(~np.isfinite(charges)):
        return f"structure has no charges: use ChargedStructureData.set_charges({mat.charges})"
    if abs(charges.sum()) > 1e-6 * len(charges):
        return f"structure is not charge neutral: total charge {charges.sum():.6g} e"
    if expected_charges is not None:
        got = structure.base.attributes.get("charges")
        for kind in structure.kinds:
            species = kind.symbols[0]
            q, want = got.get(kind.name), expected_charges.get(species)
            if want is not None and (q is None or abs(q - want) > 1e-8):
                return f"charge of {species} (kind {kind.name!r}) is {q} but the potential needs {want}" + (
                    "" if material is None else f" (material {mat.name})"
                )
    density = mass_density(counts, mat.masses, float(np.prod(box)))
    if density > 10:
        return "structure density above 10 g/cm³: wrong cell or units"
    if density < 0.5:
        return f"structure density {density:.3g} g/cm³ is below 0.5 g/cm³: wrong cell or units"
    if np.any(box < 2 * MIN_DISTANCE):
        return f"cell lengths {box.tolist()} Å are too small"
    close = cKDTree(np.mod(positions, box) % box, boxsize=box).query_pairs(MIN_DISTANCE, output_type="ndarray")
    if len(close):
        i, j = close[0]
        return (
            f"{len(close)} atom pairs closer than {MIN_DISTANCE} Å (e.g. atoms {i} and {j}); the Buckingham r^-6 "
            "term would collapse them: start from a packing with a minimum distance"
        )
    return None
