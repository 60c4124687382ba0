"""``aloxide.quench``: melt-quench an Al2O3 sample (or any material's) under pressure (SPEC §2), one CalcJob per step.

Each SPEC step (melt; cool + hold; compress + hold; NPT quench; relax) is its own
``aloxide.lammps`` CalcJob (inside :class:`LammpsRestartWorkChain`, which resumes a killed
stage from its last checkpoint, every ``checkpoint_ps``), chained by final structure +
velocities. Why not one job:
each step's thermo and configuration is then a node of its own (provenance a
scientist can inspect and query), a failure in the 650 ps quench does not cost the
135 ps of melting before it, and caching can reuse the shared melt. The price is a few
seconds of scheduling per step, negligible beyond the smoke protocol.

The optional ``material`` input (an ``orm.Dict``, :func:`aiida_aloxide.materials.material_node`) makes it
a quench of that material: the packing of its formula units, its force field in every LAMMPS run, its
density and cation coordination in ``properties``. Absent, it is the alumina quench it always was (same
inputs, same cache hashes).
"""

from __future__ import annotations

from typing import Any

from aiida import orm
from aiida.engine import ToContext, WorkChain, while_

from ..exit_codes import add_exit_codes
from ..functions.structure import random_alumina, sample_properties
from ..materials import DEFAULT_MATERIAL, Material, load_material, material_of
from ..schema.stage import PACKING_MINIMIZATION
from .common import LammpsLauncher, calcjob_options, material_input
from .protocols import ProtocolMixin
from .quench_parameters import (
    LIQUID_STAGES,
    MAX_PRESSURE_GPA,
    MAX_UNITS,
    formula_units,
    initial_problem,
    packing_problem,
    quench_stages,
    validate_parameters,
    validate_pressure,
)

__all__ = [
    "LIQUID_STAGES",
    "MAX_PRESSURE_GPA",
    "MAX_UNITS",
    "LiquidWorkChain",
    "QuenchWorkChain",
    "coordination_summary",
    "material_input",
    "quench_stages",
    "validate_parameters",
]


def _material_or_none(value) -> Material | None:
    """The checked material of an inputs mapping, or ``None`` when absent or invalid (its port reports that)."""
    if value.get("material") is None:
        return None
    try:
        return material_of(value["material"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _liquid_of(inputs) -> tuple[orm.StructureData | None, orm.ArrayData | None]:
    """The ``liquid.structure`` / ``liquid.velocities`` inputs of a quench (``None`` where absent)."""
    liquid = inputs.get("liquid") or {}
    return liquid.get("structure"), liquid.get("velocities")


class _StagedQuench(ProtocolMixin, LammpsLauncher, WorkChain):
    """The stage loop shared by the liquid and the quench: run, check, carry structure + velocities on."""

    _protocol_file = "quench"

    @classmethod
    def define(cls, spec):
        """The inputs both take; exit code ERROR_STAGE_FAILED for a failed stage."""
        super().define(spec)
        cls.define_lammps_inputs(spec, validate_parameters)
        spec.input(
            "structure",
            valid_type=orm.StructureData,
            required=False,
            help="Starting structure (a charged sample of the material); when absent a seeded random packing is made.",
        )
        spec.output_namespace("thermo", valid_type=orm.ArrayData, dynamic=True, help="Thermo of every stage.")
        add_exit_codes(spec, "aloxide.quench")

    @classmethod
    def validate_inputs(cls, value, _ctx) -> str | None:
        """Cross-input checks: the code runs aloxide.lammps (or is a generic LAMMPS code); a starting
        structure or liquid is a charged sample of the material; its packing can be made."""
        code = value.get("code")
        if code is not None:
            plugin = code.default_calc_job_plugin
            if plugin not in (None, "aloxide.lammps", "lammps.raw", "lammps.base"):
                return f"code {code.full_label!r} is for {plugin!r}, not LAMMPS (aloxide.lammps)"
        material = _material_or_none(value)
        liquid, _ = _liquid_of(value)
        for structure in (value.get("structure"), liquid):
            if (message := initial_problem(structure, material)) is not None:
                return message
        if material is not None and "parameters" in value:
            p = value["parameters"].get_dict()
            try:
                return packing_problem(p["n_units"], p["initial_density"], p["min_distance"], material)
            except (KeyError, TypeError, ValueError, ZeroDivisionError):
                return None  # reported by the parameters port
        return None

    @classmethod
    def get_builder_from_protocol(cls, *args: Any, **kwargs: Any):
        """A builder from a protocol; ``material=NAME`` (keyword) makes it a quench of that material.

        The material's ``preparation`` values (its packing and liquid densities) replace the protocol's,
        and the caller's ``overrides`` replace both.
        """
        node = material_input(kwargs.get("material"))
        if node is not None:
            kwargs["material"] = node
            kwargs["overrides"] = {**material_of(node).preparation, **(kwargs.get("overrides") or {})}
        return super().get_builder_from_protocol(*args, **kwargs)

    def _start(self, stages: list[tuple[str, dict[str, Any]]]) -> None:
        """Keep the stages to run and the CalcJob options; a material that asks for it (``minimize_packing``)
        gets its random packing energy-minimised at the start of the melt stage."""
        if self._material().minimize_packing and "structure" not in self.inputs and stages[0][0] == "melt":
            name, stage = stages[0]
            relax = {"type": "minimize", **PACKING_MINIMIZATION}
            # no checkpoints in it: a resumed stage could not repeat the minimisation (the melt is short)
            melt = {k: v for k, v in stage.items() if k != "checkpoint_every"}
            stages = [(name, {**melt, "segments": [relax, *stage["segments"]]}), *stages[1:]]
        self.ctx.stages = stages
        self.ctx.index = 0
        self.ctx.options = calcjob_options(self.inputs, self.inputs.parameters.get_dict())

    def _random_packing(self) -> orm.StructureData:
        """The seeded random packing of SPEC §2.1 (or the given ``structure``)."""
        if "structure" in self.inputs:
            return self.inputs.structure
        params = self.inputs.parameters.get_dict()
        return random_alumina(
            orm.Int(formula_units(params["n_units"], self._material())),
            orm.Float(params["initial_density"]),
            orm.Float(params["min_distance"]),
            self.inputs.seed,
            **self._material_kwargs(),
        )

    def _runs_left(self) -> int:
        """Stages left, this one included."""
        return len(self.ctx.get("stages", [])) - int(self.ctx.get("index", 0))

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


class LiquidWorkChain(_StagedQuench):
    """Random packing -> melt -> liquid -> compress: the pressure-independent half of a quench.

    A study runs it once and starts every pressure's :class:`QuenchWorkChain` from its output
    (``liquid`` inputs), so the shared parent is in the provenance and the stages run once, not
    once per pressure (they are identical: the same parameters and seed, no pressure in them).
    """

    @classmethod
    def define(cls, spec):
        """Inputs, outline, outputs."""
        super().define(spec)
        spec.inputs.validator = cls.validate_inputs
        spec.outline(cls.setup, while_(cls.has_next_stage)(cls.run_stage, cls.inspect_stage), cls.finalize)
        spec.output("structure", valid_type=orm.StructureData, help="The compressed liquid.")
        spec.output("velocities", valid_type=orm.ArrayData, help="Its velocities (Å/ps), by atom id.")

    @classmethod
    def get_builder_from_parameters(
        cls,
        code: orm.AbstractCode,
        parameters: orm.Dict,
        seed: int = 1,
        options: dict[str, Any] | None = None,
        *,
        material: str | orm.Dict | None = None,
    ):
        """A ready builder from resolved quench ``parameters`` (the same Dict the quenches take)."""
        label = f"liquid {parameters.get('protocol', 'custom')}"
        return cls.lammps_builder(code, parameters, seed, options, label, material=material)

    def setup(self):
        """The liquid stages from the packing."""
        params = self.inputs.parameters.get_dict()
        self._start(quench_stages(params, 0.0, self.inputs.seed.value, part="liquid"))
        self.node.base.extras.set("aloxide_protocol", params.get("protocol", "custom"))
        self.ctx.structure = self._random_packing()
        self.ctx.velocities = None

    def finalize(self):
        """The compressed liquid and its velocities."""
        self.out("structure", self.ctx.structure)
        self.out("velocities", self.ctx.velocities)


class QuenchWorkChain(_StagedQuench):
    """Random packing -> melt -> liquid -> compress -> NPT quench at P -> relax; then density and Al CN.

    Given ``liquid`` (a :class:`LiquidWorkChain`'s outputs), it runs only the pressure stages from it.
    """

    @classmethod
    def define(cls, spec):
        """Inputs, outline, outputs and exit codes."""
        super().define(spec)
        spec.input("pressure", valid_type=orm.Float, validator=validate_pressure, help="Quench pressure (GPa).")
        spec.input_namespace(
            "liquid",
            required=False,
            help="A compressed liquid (LiquidWorkChain outputs) to quench from: melt, cool and compress are skipped.",
        )
        spec.input("liquid.structure", valid_type=orm.StructureData, required=False)
        spec.input("liquid.velocities", valid_type=orm.ArrayData, required=False, help="Its velocities (Å/ps).")
        spec.inputs.validator = cls.validate_inputs
        spec.outline(cls.setup, while_(cls.has_next_stage)(cls.run_stage, cls.inspect_stage), cls.finalize)
        spec.output("structure", valid_type=orm.StructureData, help="The quenched, relaxed sample.")
        spec.output(
            "properties",
            valid_type=orm.Dict,
            help="Density and coordination fractions of the material's cation (al4/al5/al6 for alumina).",
        )

    @classmethod
    def validate_inputs(cls, value, _ctx) -> str | None:
        """The code runs LAMMPS; a ``liquid`` has structure and velocities of the protocol's size, no ``structure``."""
        if (message := super().validate_inputs(value, _ctx)) is not None:
            return message
        structure, velocities = _liquid_of(value)
        if structure is None and velocities is None:
            return None
        if structure is None or velocities is None:
            return "liquid needs both `structure` and `velocities` (the outputs of a LiquidWorkChain)"
        if "structure" in value:
            return "give either `structure` (a packing to melt) or `liquid` (a liquid to quench), not both"
        if "parameters" in value:
            n_units = value["parameters"].get("n_units", 0)
            material = _material_or_none(value)
            per_unit = 5 if material is None else material.atoms_per_unit
            atoms = per_unit * formula_units(n_units, material) if isinstance(n_units, int) else 0
            if len(structure.sites) != atoms:
                return f"liquid has {len(structure.sites)} atoms, the parameters' n_units {n_units} makes {atoms}"
        return None

    @classmethod
    def get_builder_from_parameters(
        cls,
        code: orm.AbstractCode,
        pressure: float,
        parameters: orm.Dict,
        seed: int = 1,
        options: dict[str, Any] | None = None,
        *,
        material: str | orm.Dict | None = None,
    ):
        """A ready builder from resolved protocol ``parameters``; reads no protocol file (a running study's way).

        ``material``: a material name or node (absent or ``alumina-matsui``: no ``material`` input).
        """
        label = f"quench {parameters.get('protocol', 'custom')} {pressure:g} GPa"
        return cls.lammps_builder(code, parameters, seed, options, label, material, pressure=orm.Float(pressure))

    def setup(self):
        """Resolve the stages, the CalcJob options and the first configuration (packing or liquid)."""
        params = self.inputs.parameters.get_dict()
        structure, velocities = _liquid_of(self.inputs)
        part = "all" if structure is None else "pressure"
        self._start(quench_stages(params, self.inputs.pressure.value, self.inputs.seed.value, part=part))
        self.node.base.extras.set_many(
            {"aloxide_pressure": self.inputs.pressure.value, "aloxide_protocol": params.get("protocol", "custom")}
        )
        self.ctx.structure = self._random_packing() if structure is None else structure
        self.ctx.velocities = velocities

    def finalize(self):
        """Attach the final sample and its density / coordination summary."""
        props = sample_properties(self.ctx.structure, self.inputs.pressure, **self._material_kwargs())
        self.out("structure", self.ctx.structure)
        self.out("properties", props)
        self.report(f"sample at {self.inputs.pressure.value:g} GPa: {coordination_summary(props.get_dict())}")


def coordination_summary(props: dict[str, Any], digits: int = 2) -> str:
    """``density 2.345 g/cm3, Al4 0.50 Al5 ...`` of a quench's ``properties`` (keys named by the cation)."""
    cation = load_material(props.get("material") or DEFAULT_MATERIAL).analysis["cation"]
    c = cation.lower()
    keys = [k for k in props if k.startswith(c) and k[len(c) :].isdigit()]
    return f"density {props['density']:.3f} g/cm3, " + ", ".join(
        f"{cation}{k[len(c) :]} {props[k]:.{digits}f}" for k in keys
    )
