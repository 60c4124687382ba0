"""Materials as data (issue #21): one YAML file per oxide glass — formula unit, species (mass, charge),
force field, electrostatics, the species the analysis follows and its bond cut-offs.

``alumina-matsui`` is the default and the only material the study runs today; the work chains still
use the module-level constants of :mod:`aiida_aloxide.potentials`, which are now built from this file.
:func:`load_material` reads and checks a file; :func:`available_materials` lists them
(``aiida-aloxide materials``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

__all__ = ["DEFAULT_MATERIAL", "Material", "available_materials", "load_material", "material_from_text"]

DEFAULT_MATERIAL = "alumina-matsui"
_FORMS = ("buckingham",)


@dataclass(frozen=True)
class Material:
    """A material file, checked: species in LAMMPS type order, pair terms by species pair, analysis roles."""

    name: str
    description: str
    formula_unit: dict[str, int]
    masses: dict[str, float]
    charges: dict[str, float]
    form: str
    pairs: dict[tuple[str, str], dict[str, float]]
    cutoff: float
    kspace_accuracy: float
    analysis: dict[str, Any]
    references: tuple[str, ...]

    @property
    def types(self) -> dict[str, int]:
        """LAMMPS atom type of each species (1, 2, ... in file order)."""
        return {sp: k + 1 for k, sp in enumerate(self.masses)}


def available_materials() -> dict[str, str]:
    """Name → description of every packaged material file."""
    out = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            out[entry.name[: -len(".yaml")]] = yaml.safe_load(entry.read_text()).get("description", "")
    return out


def load_material(name: str = DEFAULT_MATERIAL) -> Material:
    """The checked :class:`Material` ``name``; a clear ValueError for an unknown or inconsistent file."""
    known = available_materials()
    if name not in known:
        raise ValueError(f"unknown material {name!r}; known: {sorted(known)}")
    return material_from_text(resources.files(__package__).joinpath(f"{name}.yaml").read_text())


def material_from_text(text: str) -> Material:
    """A :class:`Material` from the YAML text of a material file, checked (ValueError naming what is wrong)."""
    raw = yaml.safe_load(text)
    name = raw.get("name", "?")
    missing = [k for k in ("name", "formula_unit", "species", "force_field", "analysis") if k not in raw]
    if missing:
        raise ValueError(f"material {name}: missing sections {missing}")
    species = raw["species"]
    unit = {str(k): int(v) for k, v in raw["formula_unit"].items()}
    if set(unit) != set(species):
        raise ValueError(f"material {name}: formula unit {sorted(unit)} and species {sorted(species)} differ")
    charge = sum(unit[s] * float(species[s]["charge"]) for s in unit)
    if abs(charge) > 1e-9:
        raise ValueError(f"material {name}: the formula unit carries a net charge of {charge:g} e")
    ff = raw["force_field"]
    if ff["form"] not in _FORMS:
        raise ValueError(f"material {name}: force-field form {ff['form']!r} is not one of {_FORMS}")
    pairs = {}
    for key, terms in ff["pairs"].items():
        a, b = key.split("-")
        if a not in species or b not in species:
            raise ValueError(f"material {name}: pair {key} names a species it does not declare")
        pairs[(a, b)] = {k: float(v) for k, v in terms.items()}
    analysis = dict(raw["analysis"])
    if analysis.get("cation") not in species or analysis.get("anion") not in species:
        raise ValueError(f"material {name}: analysis cation / anion must be declared species")
    return Material(
        name=raw["name"],
        description=raw.get("description", ""),
        formula_unit=unit,
        masses={s: float(v["mass"]) for s, v in species.items()},
        charges={s: float(v["charge"]) for s, v in species.items()},
        form=ff["form"],
        pairs=pairs,
        cutoff=float(ff["cutoff"]),
        kspace_accuracy=float(ff["kspace_accuracy"]),
        analysis=analysis,
        references=tuple(raw.get("references", ())),
    )
