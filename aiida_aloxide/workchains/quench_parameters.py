"""The parameters of a melt-quench (SPEC §2): its protocol keys, its LAMMPS stages, their checks.

Kept apart from the work chains (``quench.py``) so that the stage plan can be read without them
(the progress display and the docs use it).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

from aiida import orm

from ..data.structure import validate_sample
from ..lammps_io import box_for_counts
from ..materials import DEFAULT_MATERIAL, Material, load_material
from ..schema import Interval, Parameter, Section, section, section_names
from .common import parameters_problem, stage_problem
from .protocols import run_parameters

__all__ = [
    "LIQUID_STAGES",
    "MAX_PRESSURE_GPA",
    "MAX_UNITS",
    "formula_units",
    "initial_problem",
    "packing_problem",
    "quench_stages",
    "validate_parameters",
    "validate_pressure",
]

MAX_PRESSURE_GPA = 50.0
#: Largest sample the validators accept: 10^5 Al2O3 units = 500,000 atoms (the paper: 1620 units).
MAX_UNITS = 100_000

_NON_NEGATIVE = Interval(Real, 0, None)
_DENSITY = Interval(Real, 1.0, 6.0)
#: The stage durations (ps) of SPEC §2: default and meaning of each.
_DURATIONS = {
    "melt_ps": (5.0, "NVT at the melt temperature"),
    "cool_ps": (2.0, "NVT ramp from melt to liquid temperature"),
    "liquid_ps": (5.0, "NVT at the liquid temperature"),
    "compressed_ps": (5.0, "NVT of the compressed liquid"),
    "quench_ps": (30.0, "NPT ramp to the final temperature at the pressure"),
    "relax_nvt_ps": (2.5, "NVT relaxation at the final temperature"),
    "relax_npt_ps": (2.5, "NPT relaxation at 0 GPa"),
}
#: The quench protocol's parameters, each declared once (quench.yaml's ``default_inputs`` equals their
#: defaults: tests/aiida/test_protocol_declarations.py). Constraint None: checked by the LAMMPS stages they lead to.
QUENCH_PARAMETERS: Section = section(
    Parameter("n_units", 120, Interval(Integral, 2, MAX_UNITS), "", "Al2O3 formula units (5 atoms each)"),
    Parameter("initial_density", 2.75, _DENSITY, "g/cm³", "density of the random packing (a material may replace it)"),
    Parameter("compressed_density", 3.175, _DENSITY, "g/cm³", "density of the compressed liquid (likewise)"),
    Parameter("min_distance", 1.8, Interval(Real, None, None), "Å", "closest approach of the random packing "
              "(its range is checked with the packing)"),
    Parameter("timestep", 0.001, None, "ps", "MD timestep"),
    Parameter("melt_temperature", 5000.0, _NON_NEGATIVE, "K", "melt"),
    Parameter("liquid_temperature", 3000.0, _NON_NEGATIVE, "K", "liquid the quench starts from"),
    Parameter("final_temperature", 300.0, _NON_NEGATIVE, "K", "end of the quench"),
    *(Parameter(key, default, _NON_NEGATIVE, "ps", meaning) for key, (default, meaning) in _DURATIONS.items()),
    Parameter("tdamp", 0.1, None, "ps", "thermostat damping"),
    Parameter("pdamp", 1.0, None, "ps", "barostat damping"),
    Parameter("thermo_points", 100, Interval(Integral, 1, 10**6), "", "thermo lines per stage"),
    *run_parameters(max_wallclock_seconds=1800),
)  # fmt: skip
#: The keys, the keys a resolved protocol may lack (``checkpoint_ps``: parameters frozen before checkpoints existed)
#: and the declared constraints (the stages they lead to are validated as stages too).
PROTOCOL_KEYS, OPTIONAL_KEYS, QUENCH_SCHEMA = section_names(QUENCH_PARAMETERS)


def _steps(ps: float, dt: float) -> int:
    """Number of MD steps covering ``ps`` picoseconds."""
    return max(int(round(ps / dt)), 0)


#: The pressure-independent stages (SPEC §2 steps 2-4): a study runs them once and branches per pressure.
LIQUID_STAGES = ("melt", "cool_liquid", "compress")


def quench_stages(
    params: dict[str, Any], pressure: float, seed: int, part: str = "all"
) -> list[tuple[str, dict[str, Any]]]:
    """The LAMMPS stages of SPEC §2 (steps 2-6) as (name, stage description) pairs.

    ``part``: ``all`` five, ``liquid`` (melt, cool + liquid, compress: no pressure in them) or
    ``pressure`` (NPT quench at ``pressure``, relax), the two halves a shared liquid splits them into.
    """
    if part not in ("all", "liquid", "pressure"):
        raise ValueError(f"part must be 'all', 'liquid' or 'pressure', got {part!r}")
    stages = _all_stages(params, pressure, seed)
    if part == "all":
        return stages
    return [(name, st) for name, st in stages if (name in LIQUID_STAGES) == (part == "liquid")]


def _all_stages(params: dict[str, Any], pressure: float, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """The five stages of :func:`quench_stages`."""
    dt = params["timestep"]
    tm, tl, tf = params["melt_temperature"], params["liquid_temperature"], params["final_temperature"]
    common = {
        "timestep": dt,
        "tdamp": params["tdamp"],
        "pdamp": params["pdamp"],
        "cutoff": params["cutoff"],
        "kspace_accuracy": params["kspace_accuracy"],
        "seed": seed,
    }
    if params.get("checkpoint_ps"):  # LAMMPS restart files every checkpoint_ps within longer stages
        common["checkpoint_every"] = max(_steps(params["checkpoint_ps"], dt), 1)

    def stage(segments: list[dict], **extra) -> dict[str, Any]:
        steps = sum(s.get("steps", 0) for s in segments)
        every = max(1, math.ceil(max(steps, 1) / params["thermo_points"]))
        return {**common, "thermo_every": every, "segments": segments, **extra}

    return [
        ("melt", stage([{"type": "nvt", "steps": _steps(params["melt_ps"], dt), "temp": tm}], velocity_temperature=tm)),
        (
            "cool_liquid",
            stage(
                [
                    {"type": "nvt", "steps": _steps(params["cool_ps"], dt), "temp": [tm, tl]},
                    {"type": "nvt", "steps": _steps(params["liquid_ps"], dt), "temp": tl},
                ]
            ),
        ),
        (
            "compress",
            stage(
                [
                    {"type": "density", "value": params["compressed_density"]},
                    {"type": "nvt", "steps": _steps(params["compressed_ps"], dt), "temp": tl},
                ]
            ),
        ),
        (
            "quench",
            stage(
                [
                    {
                        "type": "npt",
                        "steps": _steps(params["quench_ps"], dt),
                        "temp": [tl, tf],
                        "press": pressure,
                        "couple": "iso",
                    }
                ]
            ),
        ),
        (
            "relax",
            stage(
                [
                    {"type": "nvt", "steps": _steps(params["relax_nvt_ps"], dt), "temp": tf},
                    {"type": "npt", "steps": _steps(params["relax_npt_ps"], dt), "temp": tf, "press": 0.0},
                ]
            ),
        ),
    ]


def validate_pressure(value: orm.Float, _ctx) -> str | None:
    """Quench pressure in GPa: 0 to 50."""
    if not 0.0 <= value.value <= MAX_PRESSURE_GPA or not math.isfinite(value.value):
        return f"pressure must be between 0 and {MAX_PRESSURE_GPA} GPa, got {value.value}"
    return None


def validate_parameters(value: orm.Dict, _ctx) -> str | None:
    """Resolved protocol parameters: known keys, sane numbers, stages that validate."""
    params = value.get_dict()
    if (error := parameters_problem(params, PROTOCOL_KEYS, OPTIONAL_KEYS, QUENCH_SCHEMA, "quench")) is not None:
        return error
    msg = packing_problem(params["n_units"], params["initial_density"], params["min_distance"])
    if msg:
        return msg
    try:
        stages = [st for _name, st in quench_stages(params, 0.0, 1)]
    except (ValueError, TypeError, KeyError) as exc:
        return f"invalid quench parameters: {exc}"
    return stage_problem(stages, "quench")


def formula_units(n_units: int, material: Material | None = None) -> int:
    """Formula units of ``material`` in a sample of the protocol's size.

    The protocol's ``n_units`` counts Al2O3 units; it fixes the number of atoms (5 ``n_units``), and
    another material gets the formula units closest to that many atoms (smoke: 30 Al2O3 = 150 atoms,
    50 SiO2 = 150 atoms), so a protocol means the same system size, and cost, for every material.
    """
    if material is None or material.name == DEFAULT_MATERIAL:
        return int(n_units)
    atoms = int(n_units) * load_material(DEFAULT_MATERIAL).atoms_per_unit
    return max(1, round(atoms / material.atoms_per_unit))


def packing_problem(n_units: int, density: float, min_distance: float, material: Material | None = None) -> str | None:
    """Why the random packing of ``material`` (default alumina) for protocol ``n_units`` cannot be made
    (SPEC §2.1), or None."""
    if not 0.5 <= min_distance <= 3.0:
        return f"min_distance must be between 0.5 and 3 Å, got {min_distance}"
    mat = load_material(DEFAULT_MATERIAL) if material is None else material
    units = formula_units(n_units, material)
    counts = {sp: k * units for sp, k in mat.formula_unit.items()}
    edge = box_for_counts(counts, mat.masses, density)
    phi = sum(counts.values()) * (math.pi / 6.0) * min_distance**3 / edge**3
    if min_distance >= 0.5 * edge or phi > 0.35:
        what = f"{units} units" if material is None else f"{units} {mat.formula} units"
        return f"min_distance {min_distance} Å is too large for {what} at {density} g/cm³ (packing {phi:.2f})"
    return None


def initial_problem(value: orm.StructureData | None, material: Material | None) -> str | None:
    """Why an optional starting structure (or liquid) is not a charged sample of ``material`` (None: alumina)."""
    if value is None:
        return None
    return validate_sample(value, material)
