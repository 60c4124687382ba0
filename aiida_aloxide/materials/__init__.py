"""Materials as data (issue #21): one YAML file per oxide glass — formula unit, species (mass, charge),
force field, electrostatics, the species the analysis follows and its bond cut-offs.

``alumina-matsui`` is the default. ``silica-bks`` (BKS with a 30-6 repulsive core) is the second file;
its LAMMPS commands come from :func:`aiida_aloxide.potentials.pair_commands`.
:func:`load_material` reads and checks a file; :func:`available_materials` lists them
(``aiida-aloxide materials``).

In AiiDA a material travels as an ``orm.Dict`` holding the file's parsed YAML (:func:`material_node`), an
optional input of the ``aloxide.lammps`` CalcJob and of the quench work chains; :func:`material_of` turns
such a node (or its absence, which means ``alumina-matsui``) back into a checked :class:`Material`. The
alumina runs never get the input, so their inputs and cache hashes are those of before materials existed.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "ANION_TYPE",
    "CATION_TYPE",
    "DEFAULT_CATION",
    "DEFAULT_MATERIAL",
    "FORM_TERMS",
    "Material",
    "available_materials",
    "load_material",
    "material_for_species",
    "material_of_elements",
    "material_from_dict",
    "material_from_text",
    "material_node",
    "material_of",
]

DEFAULT_MATERIAL = "alumina-matsui"
#: LAMMPS type of the cation the analyses follow and of the anion: every material file lists them first
#: and second in ``species`` (checked on loading), so per-atom analyses need no material to find them.
CATION_TYPE = 1
ANION_TYPE = 2
#: Pair forms a material file may use, with the terms of a pair (their order is LAMMPS's): Buckingham
#: A exp(-r/rho) - C/r^6 (``rho`` or ``b`` = 1/rho); Born-Mayer-Huggins A exp((sigma - r)/rho) - C/r^6 + D/r^8;
#: Pedone D0 [exp(-2 alpha (r - r0)) - 2 exp(-alpha (r - r0))] + C0/r^12. Each with long-range Coulomb.
FORM_TERMS: dict[str, tuple[str, ...]] = {
    "buckingham": ("A", "rho", "C"),
    "born": ("A", "rho", "sigma", "C", "D"),
    "pedone": ("D0", "alpha", "r0", "C0"),
}
_FORMS = tuple(FORM_TERMS)
#: Optional repulsive core added to the Buckingham pairs: ``mie`` is 4 ε [(σ/r)^n - (σ/r)^m].
_SHORT_RANGE_FORMS = ("mie",)
_SHORT_RANGE_TERMS = ("epsilon", "sigma", "n", "m")


def _role(key: str, kind: type) -> property:
    """A read-only attribute of a :class:`Material` taken from its ``analysis`` block (``kind`` converts it)."""
    return property(lambda self: kind(self.analysis[key]), doc=f"``analysis.{key}`` of the material file.")


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
    #: Real-space Coulomb cut-off (Å) when it differs from :attr:`cutoff` (then ``cutoff`` is the short-range one).
    coulomb_cutoff: float | None = None
    #: Shift the short-range terms to zero at the cut-off (LAMMPS ``pair_modify shift yes``).
    shift: bool = False
    #: Form of the repulsive core (one of ``_SHORT_RANGE_FORMS``) or None.
    short_range_form: str | None = None
    #: Core terms by species pair (``epsilon``, ``sigma``, ``n``, ``m``).
    short_range: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    #: Published values the validation compares against (free-form entries with their sources).
    literature: tuple[dict[str, Any], ...] = ()
    #: Quench-protocol values this material replaces (e.g. ``initial_density``, ``compressed_density``):
    #: the alumina protocol densities would compress another glass far beyond its own density.
    preparation: dict[str, float] = field(default_factory=dict)
    #: Energy-minimise the random packing before the melt: strongly charged ions (BKS silica, ±2.4/−1.2 e)
    #: released so much energy bonding in the first femtoseconds of a 5000 K melt that atoms were lost.
    minimize_packing: bool = False
    #: Dynamics-protocol values this material replaces, by section (``{"dynamics": {"temperature": ...}}``): the
    #: thermal dynamics the softness is learned from must show rearrangements (a stiff network glass shows none
    #: at 300 K within tens of ps). Applied by the study as overrides, so they are stored with it.
    dynamics: dict[str, dict[str, Any]] = field(default_factory=dict)

    def protocol_overrides(self) -> dict[str, dict[str, Any]]:
        """The study's protocol overrides this material brings, by study section (``quench``, ``dynamics``)."""
        out: dict[str, dict[str, Any]] = {}
        if self.preparation:
            out["quench"] = dict(self.preparation)
        if self.dynamics:
            out["dynamics"] = {section: dict(values) for section, values in self.dynamics.items()}
        return out

    @property
    def types(self) -> dict[str, int]:
        """LAMMPS atom type of each species (1, 2, ... in file order)."""
        return {sp: k + 1 for k, sp in enumerate(self.masses)}

    @property
    def type_species(self) -> dict[int, str]:
        """Species of each LAMMPS atom type (the inverse of :attr:`types`)."""
        return {t: sp for sp, t in self.types.items()}

    #: The species the study follows (Al in alumina, Si in silica): LAMMPS type :data:`CATION_TYPE`.
    cation = _role("cation", str)
    #: The anion its coordination counts (O): LAMMPS type :data:`ANION_TYPE`.
    anion = _role("anion", str)
    #: Bond cut-off (Å) of the coordination and bond switching: the first minimum of g_cation-anion.
    cation_anion_cutoff = _role("cation_anion_cutoff", float)
    #: Cut-off (Å) linking cations into clusters: the first minimum of g_cation-cation.
    cation_cation_cutoff = _role("cation_cation_cutoff", float)

    @property
    def coordination_classes(self) -> tuple[int, ...]:
        """The coordination numbers the study breaks the cations down by (4, 5, 6)."""
        return tuple(int(c) for c in self.analysis["coordination_classes"])

    @property
    def atoms_per_unit(self) -> int:
        """Atoms in one formula unit (5 for Al2O3, 3 for SiO2)."""
        return sum(self.formula_unit.values())

    @property
    def formula(self) -> str:
        """The formula unit written as a chemist would (``Al2O3``, ``SiO2``), species in file order."""
        return "".join(f"{sp}{n if n > 1 else ''}" for sp, n in self.formula_unit.items())

    @property
    def unit_mass(self) -> float:
        """Mass of one formula unit (g/mol)."""
        return sum(n * self.masses[sp] for sp, n in self.formula_unit.items())


@functools.cache
def _descriptions() -> tuple[tuple[str, str], ...]:
    """(name, description) of every packaged material file, read once (the package's files do not change)."""
    out = []
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            out.append((entry.name[: -len(".yaml")], yaml.safe_load(entry.read_text()).get("description", "")))
    return tuple(out)


def available_materials() -> dict[str, str]:
    """Name → description of every packaged material file."""
    return dict(_descriptions())


@functools.cache
def _packaged(name: str) -> Material:
    """The packaged material ``name``, read and checked once: structures, frames and validators ask for it often."""
    return material_from_text(resources.files(__package__).joinpath(f"{name}.yaml").read_text())


def load_material(name: str = DEFAULT_MATERIAL) -> Material:
    """The checked :class:`Material` ``name``; a clear ValueError for an unknown or inconsistent file."""
    known = available_materials()
    if name not in known:
        raise ValueError(f"unknown material {name!r}; known: {sorted(known)}")
    return _packaged(name)


def material_for_species(symbols) -> Material | None:
    """The packaged material whose species are exactly ``symbols`` (the default first), or None.

    Used where only a structure is at hand (a port validator, a file import): its elements name the glass.
    """
    wanted = set(symbols)
    names = sorted(available_materials(), key=lambda n: n != DEFAULT_MATERIAL)
    for name in names:
        material = load_material(name)
        if set(material.masses) == wanted:
            return material
    return None


def material_of_elements(symbols) -> Material:
    """The packaged material of these elements (:func:`material_for_species`), else the default (alumina)."""
    return material_for_species(symbols) or load_material(DEFAULT_MATERIAL)


def material_from_text(text: str) -> Material:
    """A :class:`Material` from the YAML text of a material file, checked (ValueError naming what is wrong)."""
    return material_from_dict(yaml.safe_load(text))


def material_node(name: str = DEFAULT_MATERIAL):
    """The material ``name`` as an unstored ``orm.Dict``: the file's parsed YAML content (``name`` included).

    It is the ``material`` input of ``aloxide.lammps`` and of the quench work chains, so that the force
    field a run used is in its provenance as data, not implied by code. Checked first (ValueError for an
    unknown material, listing the known ones).
    """
    from aiida import orm

    load_material(name)  # unknown or inconsistent: ValueError before any node exists
    raw = yaml.safe_load(resources.files(__package__).joinpath(f"{name}.yaml").read_text())
    return orm.Dict(raw)


def material_of(node: Any = None) -> Material:
    """The checked :class:`Material` of a ``material`` input (an ``orm.Dict`` or a plain dict); ``None``: alumina.

    An absent input means ``alumina-matsui``: every run made before materials were inputs stays valid.
    """
    if node is None:
        return load_material(DEFAULT_MATERIAL)
    raw = node.get_dict() if hasattr(node, "get_dict") else dict(node)
    return material_from_dict(raw)


def material_from_dict(raw: Any) -> Material:
    """A :class:`Material` from the parsed content of a material file, checked (ValueError naming what is wrong)."""
    if not isinstance(raw, dict):
        raise ValueError(f"a material must be a mapping of sections, got {type(raw).__name__}")
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
        pairs[_pair(name, key, species)] = _pair_terms(name, key, terms, ff["form"])
    short_form, short_range = _short_range(name, ff.get("short_range"), species)
    preparation, minimize_packing = _preparation(name, raw.get("preparation"))
    analysis = dict(raw["analysis"])
    if analysis.get("cation") not in species or analysis.get("anion") not in species:
        raise ValueError(f"material {name}: analysis cation / anion must be declared species")
    order = list(species)
    if order[CATION_TYPE - 1] != analysis["cation"] or order[ANION_TYPE - 1] != analysis["anion"]:
        raise ValueError(
            f"material {name}: list the analysed cation ({analysis['cation']}) first and the anion "
            f"({analysis['anion']}) second in species (LAMMPS types {CATION_TYPE} and {ANION_TYPE}), got {order}"
        )
    missing = [k for k in ("coordination_classes", "cation_anion_cutoff", "cation_cation_cutoff") if k not in analysis]
    if missing:
        raise ValueError(f"material {name}: analysis misses {missing}")
    for key in ("cation_anion_cutoff", "cation_cation_cutoff"):
        value = analysis[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.5 < value < 10.0:
            raise ValueError(f"material {name}: analysis {key} must be a cut-off in (0.5, 10) Å, got {value!r}")
    classes = analysis["coordination_classes"]
    if not isinstance(classes, list) or not classes or not all(isinstance(c, int) and 1 <= c <= 12 for c in classes):
        raise ValueError(
            f"material {name}: analysis coordination_classes must be coordination numbers, got {classes!r}"
        )
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
        coulomb_cutoff=None if ff.get("coulomb_cutoff") is None else float(ff["coulomb_cutoff"]),
        shift=bool(ff.get("shift", False)),
        short_range_form=short_form,
        short_range=short_range,
        literature=tuple(raw.get("literature", ())),
        preparation=preparation,
        minimize_packing=minimize_packing,
        dynamics=_dynamics(name, raw.get("dynamics")),
    )


#: Quench-protocol keys a material file's ``preparation`` block may set, and their ranges (g/cm³, K).
_PREPARATION_KEYS = {
    "initial_density": (1.0, 6.0),
    "compressed_density": (1.0, 6.0),
    "melt_temperature": (300.0, 20000.0),
    "liquid_temperature": (300.0, 20000.0),
}
#: Flags of the ``preparation`` block that change how a quench starts (not protocol keys).
_PREPARATION_FLAGS = ("minimize_packing",)


def _preparation(name: str, block: Any) -> tuple[dict[str, float], bool]:
    """The optional ``preparation`` block: quench-protocol values for this material (densities, temperatures)
    and whether the random packing is energy-minimised before the melt (``minimize_packing``)."""
    if block is None:
        return {}, False
    allowed = [*_PREPARATION_KEYS, *_PREPARATION_FLAGS]
    if not isinstance(block, dict) or set(block) - set(allowed):
        raise ValueError(f"material {name}: preparation may only set {allowed}, got {block!r}")
    out = {}
    for key, value in block.items():
        if key in _PREPARATION_FLAGS:
            if not isinstance(value, bool):
                raise ValueError(f"material {name}: preparation {key} must be true or false, got {value!r}")
            continue
        lo, hi = _PREPARATION_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            raise ValueError(f"material {name}: preparation {key} must be a number in [{lo:g}, {hi:g}], got {value!r}")
        out[key] = float(value)
    return out, bool(block.get("minimize_packing", False))


def _dynamics(name: str, block: Any) -> dict[str, dict[str, Any]]:
    """The optional ``dynamics`` block: dynamics-protocol values by section, numbers or flags only (the study
    refuses keys its protocols do not have when it resolves them)."""
    if block is None:
        return {}
    if not isinstance(block, dict) or not all(isinstance(v, dict) and v for v in block.values()):
        raise ValueError(f"material {name}: dynamics must map protocol sections to their values, got {block!r}")
    for section, values in block.items():
        for key, value in values.items():
            if not isinstance(value, int | float | bool) or (isinstance(value, float) and value != value):
                raise ValueError(f"material {name}: dynamics {section}.{key} must be a number, got {value!r}")
    return {str(s): dict(v) for s, v in block.items()}


def _pair(name: str, key: str, species: dict[str, Any]) -> tuple[str, str]:
    """The species pair of a key ``"A-B"``; both must be declared species."""
    parts = str(key).split("-")
    if len(parts) != 2 or parts[0] not in species or parts[1] not in species:
        raise ValueError(f"material {name}: pair {key} names a species it does not declare")
    return parts[0], parts[1]


def _pair_terms(name: str, key: str, terms: dict[str, Any], form: str) -> dict[str, float]:
    """The checked terms of one pair of the file's force-field ``form`` (:data:`FORM_TERMS`)."""
    if form == "buckingham":
        return _buckingham_terms(name, key, terms)
    wanted = FORM_TERMS[form]
    if set(terms) != set(wanted):
        raise ValueError(f"material {name}: {form} pair {key} needs exactly {list(wanted)}, got {sorted(terms)}")
    out = {}
    for k in wanted:
        value = terms[k]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"material {name}: pair {key}: {k} must be a finite number, got {value!r}")
        out[k] = float(value)
    positive = ("A", "rho") if form == "born" else ("D0", "alpha", "r0")
    if not all(out[k] > 0 for k in positive):
        raise ValueError(f"material {name}: {form} pair {key}: {' and '.join(positive)} must be positive")
    return out


def _buckingham_terms(name: str, key: str, terms: dict[str, Any]) -> dict[str, float]:
    """A, rho, C of one Buckingham pair; the file gives either rho (Å) or its inverse b (1/Å)."""
    unknown = sorted(set(terms) - {"A", "rho", "b", "C"})
    if unknown:
        raise ValueError(f"material {name}: pair {key} has unknown Buckingham terms {unknown}")
    if ("rho" in terms) == ("b" in terms):
        raise ValueError(f"material {name}: pair {key} needs exactly one of rho and b")
    missing = [k for k in ("A", "C") if k not in terms]
    if missing:
        raise ValueError(f"material {name}: pair {key} misses Buckingham terms {missing}")
    out = {k: float(v) for k, v in terms.items()}
    if "b" in out:
        b = out.pop("b")
        if not b > 0:
            raise ValueError(f"material {name}: pair {key}: b must be positive, got {b:g}")
        out["rho"] = 1.0 / b
    if not (out["A"] > 0 and out["rho"] > 0 and out["C"] >= 0):
        raise ValueError(f"material {name}: pair {key}: A and rho must be positive and C not negative")
    return {"A": out["A"], "rho": out["rho"], "C": out["C"]}


def _short_range(
    name: str, block: dict[str, Any] | None, species: dict[str, Any]
) -> tuple[str | None, dict[tuple[str, str], dict[str, float]]]:
    """The optional repulsive-core block: its form and its checked terms by species pair."""
    if block is None:
        return None, {}
    form = block.get("form")
    if form not in _SHORT_RANGE_FORMS:
        raise ValueError(f"material {name}: short-range form {form!r} is not one of {_SHORT_RANGE_FORMS}")
    out = {}
    for key, terms in (block.get("pairs") or {}).items():
        pair = _pair(name, key, species)
        missing = [k for k in _SHORT_RANGE_TERMS if k not in terms]
        unknown = sorted(set(terms) - set(_SHORT_RANGE_TERMS))
        if missing or unknown:
            raise ValueError(
                f"material {name}: short-range pair {key} needs {list(_SHORT_RANGE_TERMS)}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {unknown}" if unknown else "")
            )
        values = {k: float(terms[k]) for k in _SHORT_RANGE_TERMS}
        if not all(v > 0 for v in values.values()):
            raise ValueError(f"material {name}: short-range pair {key}: all terms must be positive, got {values}")
        if not values["n"] > values["m"]:
            raise ValueError(f"material {name}: short-range pair {key}: exponent n must exceed m")
        out[pair] = values
    if not out:
        raise ValueError(f"material {name}: short-range block without pairs")
    return form, out


#: The cation of the default material (Al): the one the report's texts and the stored keys of alumina studies name.
DEFAULT_CATION: str = load_material(DEFAULT_MATERIAL).cation
