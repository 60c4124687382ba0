"""``aloxide.quench``: melt-quench an Al2O3 sample under pressure (SPEC §2), one CalcJob per step.

Each SPEC step (melt; cool + hold; compress + hold; NPT quench; relax) is its own
``aloxide.lammps`` CalcJob (inside :class:`LammpsRestartWorkChain`, which resumes a killed
stage from its last checkpoint, every ``checkpoint_ps``), chained by final structure +
velocities. Why not one job:
each step's thermo and configuration is then a node of its own (provenance a
scientist can inspect and query), a failure in the 650 ps quench does not cost the
135 ps of melting before it, and caching can reuse the shared melt. The price is a few
seconds of scheduling per step, negligible beyond the smoke protocol.
"""

from __future__ import annotations

import math
from typing import Any

from aiida import orm
from aiida.engine import ToContext, WorkChain, while_

from ..data.structure import validate_alumina
from ..functions.structure import random_alumina, sample_properties
from ..lammps_io import box_for_density
from ..potentials import MATSUI
from .common import RESOURCE_KEYS, LammpsLauncher, calcjob_options, validate_resources, validate_seed
from .protocols import load_protocol

__all__ = ["QuenchWorkChain", "quench_stages"]

MAX_PRESSURE_GPA = 50.0
#: Largest sample the validators accept: 10^5 Al2O3 units = 500,000 atoms (the paper: 1620 units).
MAX_UNITS = 100_000

PROTOCOL_KEYS = {
    "n_units", "initial_density", "compressed_density", "min_distance", "timestep",
    "melt_temperature", "liquid_temperature", "final_temperature", "melt_ps", "cool_ps",
    "liquid_ps", "compressed_ps", "quench_ps", "relax_nvt_ps", "relax_npt_ps", "tdamp",
    "pdamp", "thermo_points", "cutoff", "kspace_accuracy", "checkpoint_ps", "protocol", *RESOURCE_KEYS,
}  # fmt: skip
#: Keys a resolved protocol may lack (``checkpoint_ps``: parameters frozen before checkpoints existed).
OPTIONAL_KEYS = {"protocol", "checkpoint_ps", *RESOURCE_KEYS}


def _steps(ps: float, dt: float) -> int:
    """Number of MD steps covering ``ps`` picoseconds."""
    return max(int(round(ps / dt)), 0)


def quench_stages(params: dict[str, Any], pressure: float, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """The five LAMMPS stages of SPEC §2 (steps 2-6) as (name, stage description) pairs."""
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
    unknown = set(params) - PROTOCOL_KEYS
    if unknown:
        return f"unknown quench parameters {sorted(unknown)}"
    missing = PROTOCOL_KEYS - set(params) - OPTIONAL_KEYS
    if missing:
        return f"missing quench parameters {sorted(missing)}"
    if (error := validate_resources(params)) is not None:
        return error
    n_units = params["n_units"]
    if isinstance(n_units, bool) or not isinstance(n_units, int) or not 2 <= n_units <= MAX_UNITS:
        return f"n_units must be an integer in [2, {MAX_UNITS}], got {n_units!r}"
    for key in sorted(k for k in params if k.endswith("_ps") or k.endswith("_temperature")):
        v = params[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            return f"{key} must be a finite number >= 0, got {v!r}"
    for key in ("initial_density", "compressed_density", "min_distance", "thermo_points"):
        v = params[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return f"{key} must be a finite number, got {v!r}"
    for key in ("initial_density", "compressed_density"):
        if not 1.0 <= params[key] <= 6.0:
            return f"{key} must be between 1 and 6 g/cm³, got {params[key]}"
    if not isinstance(params["thermo_points"], int) or not 1 <= params["thermo_points"] <= 10**6:
        return f"thermo_points must be an integer in [1, 1000000], got {params['thermo_points']!r}"
    msg = _check_packing(n_units, params["initial_density"], params["min_distance"])
    if msg:
        return msg
    try:
        from ..calculations.script import validate_stage

        for _name, st in quench_stages(params, 0.0, 1):
            validate_stage(st)
    except (ValueError, TypeError, KeyError) as exc:
        return f"invalid quench parameters: {exc}"
    return None


def _check_packing(n_units: int, density: float, min_distance: float) -> str | None:
    """Why the random packing of :func:`random_alumina` cannot be made (SPEC §2.1), or None."""
    if not 0.5 <= min_distance <= 3.0:
        return f"min_distance must be between 0.5 and 3 Å, got {min_distance}"
    edge = box_for_density(2 * n_units, 3 * n_units, density)
    phi = 5 * n_units * (math.pi / 6.0) * min_distance**3 / edge**3
    if min_distance >= 0.5 * edge or phi > 0.35:
        return f"min_distance {min_distance} Å is too large for {n_units} units at {density} g/cm³ (packing {phi:.2f})"
    return None


def validate_initial(value: orm.StructureData | None, _ctx) -> str | None:
    """An optional starting structure must be a charged Al2O3 sample."""
    if value is None:
        return None
    return validate_alumina(value, MATSUI.charges)


class QuenchWorkChain(LammpsLauncher, WorkChain):
    """Random packing -> melt -> liquid -> compress -> NPT quench at P -> relax; then density and Al CN."""

    @classmethod
    def define(cls, spec):
        """Inputs, outline, outputs and exit codes."""
        super().define(spec)
        spec.input("code", valid_type=orm.AbstractCode, help="The LAMMPS code (aiida-aloxide setup registers it).")
        spec.input("pressure", valid_type=orm.Float, validator=validate_pressure, help="Quench pressure (GPa).")
        spec.input("parameters", valid_type=orm.Dict, validator=validate_parameters, help="Resolved protocol.")
        spec.input("seed", valid_type=orm.Int, default=lambda: orm.Int(1), validator=validate_seed)
        spec.input(
            "structure",
            valid_type=orm.StructureData,
            required=False,
            validator=validate_initial,
            help="Starting structure; when absent a seeded random packing is made.",
        )
        spec.input(
            "options",
            valid_type=orm.Dict,
            required=False,
            help="CalcJob metadata options (resources, max_wallclock_seconds, ...) for every stage.",
        )
        spec.inputs.validator = cls.validate_inputs
        spec.outline(
            cls.setup,
            cls.make_initial,
            while_(cls.has_next_stage)(cls.run_stage, cls.inspect_stage),
            cls.finalize,
        )
        spec.output("structure", valid_type=orm.StructureData, help="The quenched, relaxed sample.")
        spec.output("properties", valid_type=orm.Dict, help="Density and Al coordination fractions.")
        spec.output_namespace("thermo", valid_type=orm.ArrayData, dynamic=True, help="Thermo of every stage.")
        spec.exit_code(300, "ERROR_STAGE_FAILED", message="Stage {stage} failed with exit status {status}: {message}")

    @classmethod
    def validate_inputs(cls, value, _ctx) -> str | None:
        """Cross-input check: the code must run aloxide.lammps (or be a generic LAMMPS code)."""
        code = value.get("code")
        if code is not None:
            plugin = code.default_calc_job_plugin
            if plugin not in (None, "aloxide.lammps", "lammps.raw", "lammps.base"):
                return f"code {code.full_label!r} is for {plugin!r}, not LAMMPS (aloxide.lammps)"
        return None

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        pressure: float,
        protocol: str | None = None,
        overrides: dict[str, Any] | None = None,
        seed: int = 1,
        options: dict[str, Any] | None = None,
    ):
        """A ready builder for ``protocol`` (smoke/demo/fast/paper) with checked ``overrides``."""
        params = orm.Dict(load_protocol("quench", protocol, overrides))
        return cls.get_builder_from_parameters(code, pressure, params, seed=seed, options=options)

    @classmethod
    def get_builder_from_parameters(
        cls,
        code: orm.AbstractCode,
        pressure: float,
        parameters: orm.Dict,
        seed: int = 1,
        options: dict[str, Any] | None = None,
    ):
        """A ready builder from resolved protocol ``parameters``; reads no protocol file (a running study's way)."""
        builder = cls.get_builder()
        builder.code = code
        builder.pressure = orm.Float(pressure)
        builder.parameters = parameters
        builder.seed = orm.Int(seed)
        if options is not None:
            builder.options = orm.Dict(options)
        protocol = parameters.get("protocol", "custom")
        builder.metadata.label = f"quench {protocol} {pressure:g} GPa"  # type: ignore[attr-defined]
        return builder

    def setup(self):
        """Resolve the stages and the CalcJob options."""
        params = self.inputs.parameters.get_dict()
        self.ctx.stages = quench_stages(params, self.inputs.pressure.value, self.inputs.seed.value)
        self.ctx.index = 0
        self.ctx.options = calcjob_options(self.inputs, params)
        self.node.base.extras.set_many(
            {"aloxide_pressure": self.inputs.pressure.value, "aloxide_protocol": params.get("protocol", "custom")}
        )

    def make_initial(self):
        """Seeded random packing (or the given structure) as the first configuration."""
        if "structure" in self.inputs:
            self.ctx.structure = self.inputs.structure
        else:
            params = self.inputs.parameters.get_dict()
            self.ctx.structure = random_alumina(
                orm.Int(params["n_units"]),
                orm.Float(params["initial_density"]),
                orm.Float(params["min_distance"]),
                self.inputs.seed,
            )
        self.ctx.velocities = None

    def has_next_stage(self) -> bool:
        """True while stages remain."""
        return self.ctx.index < len(self.ctx.stages)

    def run_stage(self):
        """Submit the next stage (with restarts) from the current structure and velocities."""
        name, stage = self.ctx.stages[self.ctx.index]
        self.report(f"stage {self.ctx.index + 1}/{len(self.ctx.stages)} {name}: launching")
        return ToContext(current=self._launch(name, self.ctx.structure, stage, self.ctx.velocities))

    def inspect_stage(self):
        """Stop with a named code on failure; otherwise carry structure and velocities on."""
        name, _ = self.ctx.stages[self.ctx.index]
        calc = self.ctx.current
        if "thermo" in calc.outputs:
            self.out(f"thermo.{name}", calc.outputs.thermo)
        if not calc.is_finished_ok:
            return self.exit_codes.ERROR_STAGE_FAILED.format(
                stage=name, status=calc.exit_status, message=calc.exit_message or calc.process_state.value
            )
        self.ctx.structure = calc.outputs.structure
        self.ctx.velocities = calc.outputs.velocities
        self.report(
            f"stage {name} done: T={calc.outputs.results['final_temperature']:.0f} K, "
            f"density={calc.outputs.results['final_density']:.3f} g/cm3"
        )
        self.ctx.index += 1
        return None

    def finalize(self):
        """Attach the final sample and its density / coordination summary."""
        props = sample_properties(self.ctx.structure, self.inputs.pressure)
        self.out("structure", self.ctx.structure)
        self.out("properties", props)
        self.report(
            f"sample at {self.inputs.pressure.value:g} GPa: density {props['density']:.3f} g/cm3, "
            f"Al4 {props['al4']:.2f} Al5 {props['al5']:.2f} Al6 {props['al6']:.2f}"
        )
