"""Fracture simulations (SPEC §3): replicate + equilibrate, then plane-strain or plane-stress tension.

Plane strain (``aloxide.tension.plane_strain``, the loading the analyses use): x is strained
in steps (y, z fixed); at each step the energy is minimised, the sample is held at 300 K
(NVT) and σ_xx is averaged over the second part of the hold. Steps run in *chunks* of a
few per LAMMPS job, each job wrapped in :class:`LammpsRestartWorkChain` so that an
interrupted job resumes from its last completed step. Between chunks the work chain
checks the fracture criterion: σ_xx below ``stop_fraction`` of the peak for
``stop_consecutive`` steps, or the maximum strain.

Plane stress (``aloxide.tension.plane_stress``): constant engineering strain rate along x
(``fix deform`` at constant velocity L0·rate), NPT at 300 K holding σ_yy = σ_zz = 0, frames
every ``frame_strain``; also chunked, so an interruption costs one chunk at most.
"""

from __future__ import annotations

import math
from dataclasses import replace
from numbers import Integral, Real
from typing import Any

import numpy as np
from aiida import orm
from aiida.engine import ToContext, WorkChain, if_, while_

from ..data.structure import structure_arrays
from ..exit_codes import add_exit_codes
from ..functions.tension import collect_plane_strain, collect_plane_stress, replicate_x
from ..schema import POSITIVE, Interval, Parameter, Section, section, section_names, section_parameter
from ..schema.stage import MINIMIZATION
from .common import (
    LammpsLauncher,
    calcjob_options,
    material_inputs_problem,
    parameters_problem,
    stage_problem,
    validate_sample,
)
from .protocols import ProtocolMixin, run_parameters

__all__ = ["PlaneStrainWorkChain", "PlaneStressWorkChain", "TensionEquilibrationWorkChain", "deformation_inputs"]

_NUMBER = Interval(Real, None, None)  # any finite number: the LAMMPS stages it leads to check the range


def _count(hi: int) -> Interval:
    """An integer in [1, hi] (3.0 accepted, as JSON may give it)."""
    return Interval(Integral, 1, hi, whole_floats=True)


#: The tension protocol's parameters, each declared once (tension.yaml's ``default_inputs`` equals their
#: defaults: tests/aiida/test_protocol_declarations.py); cross-key rules are checked by the validator.
#: ``min_ftol`` / ``min_maxiter`` are the one minimisation declaration (``schema.stage.MINIMIZATION``).
TENSION_PARAMETERS: Section = section(
    Parameter("replicate_x", 2, _count(20), "", "copies of the sample along x (the paper: 2)"),
    Parameter("temperature", 300.0, POSITIVE, "K", "temperature of the equilibration and the loading"),
    Parameter("equilibrate_ps", 3.0, POSITIVE, "ps", "NPT equilibration of the replicated sample"),
    Parameter("strain_step", 0.01, Interval(Real, 0, 0.2, closed="neither"), "", "plane-strain step"),
    Parameter("max_strain", 0.5, Interval(Real, 0, 2.0, closed="right"), "", "largest plane strain"),
    Parameter("relax_ps", 0.4, POSITIVE, "ps", "NVT hold at each strain step"),
    Parameter("sample_fraction", 0.5, Interval(Real, 0, 1.0, closed="right"), "",
              "last part of the hold σ_xx is averaged over"),
    Parameter("sample_every", 10, _count(10**6), "steps", "σ_xx sampling interval"),
    Parameter("chunk_steps", 5, _count(1000), "", "strain steps per LAMMPS job"),
    Parameter("stop_fraction", 0.1, Interval(Real, 0, 1.0, closed="neither"), "",
              "fracture: σ_xx below this fraction of the peak"),
    Parameter("stop_consecutive", 3, _count(1000), "", "... for this many consecutive steps"),
    replace(section_parameter(MINIMIZATION, "ftol"), key="min_ftol"),
    replace(section_parameter(MINIMIZATION, "maxiter"), key="min_maxiter"),
    Parameter("strain_rate", 1.0e11, Interval(Real, 0, 1.0e12, closed="right"), "1/s", "plane-stress strain rate"),
    Parameter("plane_stress_strain", 0.5, _NUMBER, "", "final plane-stress strain"),
    Parameter("frame_strain", 0.01, POSITIVE, "", "plane-stress frame interval"),
    Parameter("timestep", 0.001, POSITIVE, "ps", "MD timestep"),
    Parameter("tdamp", 0.1, _NUMBER, "ps", "thermostat damping"),
    Parameter("pdamp", 1.0, _NUMBER, "ps", "barostat damping"),
    *run_parameters(max_wallclock_seconds=1800),
)  # fmt: skip
#: The keys, the keys a resolved protocol may lack (``checkpoint_ps``: parameters frozen before checkpoints existed)
#: and the declared constraints (the LAMMPS stages they lead to are validated as stages too).
TENSION_KEYS, OPTIONAL_KEYS, TENSION_SCHEMA = section_names(TENSION_PARAMETERS)
#: Most strain steps one plane-strain run may plan (the paper: 50).
MAX_STRAIN_STEPS = 10_000


def validate_tension_parameters(value: orm.Dict, _ctx) -> str | None:
    """Refuse unknown keys and impossible strain schedules before anything runs; the ``deformation`` section
    (the analysis of the plane-strain frames; absent in parameters frozen before it existed) is checked too."""
    from ..functions.analysis import validate_deformation_parameters

    p = value.get_dict()
    deformation = p.pop("deformation", None)
    if deformation is not None:
        try:
            validate_deformation_parameters(deformation)
        except ValueError as exc:
            return f"tension deformation: {exc}"
    if (error := parameters_problem(p, TENSION_KEYS, OPTIONAL_KEYS, TENSION_SCHEMA, "tension")) is not None:
        return error
    if p["max_strain"] <= p["strain_step"]:
        return f"max_strain ({p['max_strain']}) must exceed strain_step ({p['strain_step']})"
    if p["max_strain"] / p["strain_step"] > MAX_STRAIN_STEPS:
        return f"max_strain / strain_step gives more than {MAX_STRAIN_STEPS} strain steps"
    if not p["frame_strain"] <= p["plane_stress_strain"] <= 2.0:
        return f"plane_stress_strain must be in [frame_strain, 2], got {p['plane_stress_strain']}"
    return _check_tension_stages(p)


def _check_tension_stages(p: dict[str, Any]) -> str | None:
    """Validate the LAMMPS stages the parameters lead to (timestep, damping, cut-off, minimiser, ...) up front."""
    common = {key: p[key] for key in ("timestep", "tdamp", "pdamp", "cutoff", "kspace_accuracy")}
    steps = max(int(round(p["equilibrate_ps"] / p["timestep"])), 1)
    hold = max(int(round(p["relax_ps"] / p["timestep"])), 1)
    every = int(p["sample_every"])
    stages = [
        {**common, "velocity_temperature": p["temperature"], "segments": [
            {"type": "npt", "steps": steps, "temp": p["temperature"], "press": 0.0, "couple": "aniso"}]},
        {**common, "segments": [
            {"type": "strain_steps", "strains": [0.0], "reference_length": 10.0, "temp": p["temperature"],
             "equil_steps": hold, "sample_steps": every * max(hold // every, 1), "sample_every": every,
             "ftol": p["min_ftol"], "maxiter": int(p["min_maxiter"])}]},
        {**common, "segments": [
            {"type": "deform", "velocity": 0.0, "steps": max(int(round(p["plane_stress_strain"] / (
                p["strain_rate"] * 1e-12 * p["timestep"]))), 1), "temp": p["temperature"]}]},
    ]  # fmt: skip
    return stage_problem(stages, "tension")


class _TensionCommon(ProtocolMixin, LammpsLauncher, WorkChain):
    """Inputs, replication and NPT equilibration shared by both loadings and the shared equilibration."""

    _protocol_file = "tension"

    @classmethod
    def define(cls, spec):
        """Common inputs."""
        super().define(spec)
        cls.define_lammps_inputs(spec, validate_tension_parameters)
        spec.input("structure", valid_type=orm.StructureData, validator=validate_sample, help="Quenched sample.")
        add_exit_codes(spec, "aloxide.tension")

    # -- helpers ---------------------------------------------------------------------------------
    def _common_stage(self) -> dict[str, Any]:
        """Stage keys shared by every run."""
        return self._stage_keys("timestep", "tdamp", "pdamp", "cutoff", "kspace_accuracy")

    def _steps(self, ps: float) -> int:
        """MD steps covering ``ps``."""
        return max(int(round(ps / self.ctx.params["timestep"])), 1)

    def _checkpoint(self, multiple: int = 1) -> dict[str, Any]:
        """Stage key for LAMMPS restart files every ``checkpoint_ps`` (a multiple of the dump interval)."""
        ps = self.ctx.params.get("checkpoint_ps")
        if not ps:
            return {}
        return {"checkpoint_every": multiple * math.ceil(self._steps(ps) / multiple)}

    # -- steps -----------------------------------------------------------------------------------
    def setup(self):
        """Protocol parameters and CalcJob options."""
        self.ctx.params = self.inputs.parameters.get_dict()
        self.ctx.options = calcjob_options(self.inputs, self.ctx.params)

    def replicate(self):
        """Repeat the sample along x."""
        n = int(self.ctx.params["replicate_x"])
        self.ctx.structure = replicate_x(self.inputs.structure, orm.Int(n)) if n > 1 else self.inputs.structure

    def equilibrate(self):
        """NPT at 300 K and 0 GPa (each axis independently)."""
        p = self.ctx.params
        stage = {
            **self._common_stage(),
            **self._checkpoint(),
            "velocity_temperature": p["temperature"],
            "thermo_every": max(1, self._steps(p["equilibrate_ps"]) // 100),
            "segments": [
                {
                    "type": "npt",
                    "steps": self._steps(p["equilibrate_ps"]),
                    "temp": p["temperature"],
                    "press": 0.0,
                    "couple": "aniso",
                }
            ],
        }
        self.report(f"equilibrating {len(self.ctx.structure.sites)} atoms: NPT {p['equilibrate_ps']} ps")
        return ToContext(equilibration=self._launch("equilibrate", self.ctx.structure, stage))


class TensionEquilibrationWorkChain(_TensionCommon):
    """Replicate along x and equilibrate (NPT 300 K, 0 GPa) once per sample, for both loadings (issue #20).

    Its ``structure`` and ``velocities`` outputs are the ``equilibrated`` inputs of the plane-strain and
    plane-stress chains of the same sample, so the equilibration runs once and the provenance shows
    that both loadings start from the same stored configuration.
    """

    def _runs_left(self) -> int:
        """The equilibration and the plane-strain chunks that wait for it: the pool starts it early."""
        p = self.ctx.params
        return 1 + -(-len(plane_strain_strains(p)) // int(p["chunk_steps"]))

    @classmethod
    def define(cls, spec):
        """Outline: replicate, equilibrate; outputs the equilibrated structure and its velocities."""
        super().define(spec)
        spec.outline(cls.setup, cls.replicate, cls.equilibrate, cls.finalize)
        spec.output("structure", valid_type=orm.StructureData, help="Replicated sample after NPT at 300 K.")
        spec.output("velocities", valid_type=orm.ArrayData, help="Its velocities (Å/ps).")

    def finalize(self):
        """The equilibrated structure and velocities."""
        node = self.ctx.equilibration
        if not node.is_finished_ok:
            return self._failed("equilibrate", node)
        self.out("structure", node.outputs.structure)
        self.out("velocities", node.outputs.velocities)
        return None


def deformation_inputs(p: dict[str, Any]) -> dict[str, orm.Dict]:
    """``parameters=`` of ``deformation_analysis`` from the tension parameters' ``deformation`` section (none in
    parameters frozen before the section existed: the analysis's defaults, which the section holds)."""
    return {} if p.get("deformation") is None else {"parameters": orm.Dict(p["deformation"])}


def plane_strain_strains(p: dict[str, Any]) -> list[float]:
    """Plane-strain strains of tension parameters ``p``: 0 (the unstrained reference), Δε, 2Δε, ... to the maximum."""
    n = int(math.floor(p["max_strain"] / p["strain_step"] + 1e-9))
    return [round(k * p["strain_step"], 10) for k in range(n + 1)]


def validate_equilibrated(value: dict, _ctx) -> str | None:
    """An ``equilibrated`` input has both structure and velocities."""
    if value and not ("structure" in value and "velocities" in value):
        return "equilibrated needs both `structure` and `velocities` (the outputs of aloxide.tension.equilibrate)"
    return None


def validate_loading_inputs(value: dict, _ctx) -> str | None:
    """The samples are the material's; a shared equilibration holds the sample replicated ``replicate_x`` times."""
    if (message := material_inputs_problem(value)) is not None:
        return message
    given = value.get("equilibrated") or {}
    if not given.get("structure") or "structure" not in value or "parameters" not in value:
        return None
    n_rep = value["parameters"].get_dict().get("replicate_x")
    if not isinstance(n_rep, int):
        return None  # reported by the parameters validator
    n = len(value["structure"].sites) * n_rep
    if len(given["structure"].sites) != n:
        return f"equilibrated has {len(given['structure'].sites)} atoms, the sample replicated {n_rep} times has {n}"
    return None


class _TensionBase(_TensionCommon):
    """A loading: equilibration (its own, or a shared one given as ``equilibrated``), then chunks of loading."""

    @classmethod
    def define(cls, spec):
        """Common outputs and the outline."""
        super().define(spec)
        spec.input_namespace(
            "equilibrated",
            required=False,
            validator=validate_equilibrated,
            help="A replicated, equilibrated sample (aloxide.tension.equilibrate outputs) shared with the other "
            "loading: replication and NPT are skipped.",
        )
        spec.input("equilibrated.structure", valid_type=orm.StructureData, required=False)
        spec.input("equilibrated.velocities", valid_type=orm.ArrayData, required=False)
        spec.inputs.validator = validate_loading_inputs
        spec.output("stress_strain", valid_type=orm.ArrayData, help="σ_xx(ε) (GPa, tension positive) with errors.")
        spec.output("frames", valid_type=orm.TrajectoryData, required=False, help="Configuration at every strain step.")
        spec.output("summary", valid_type=orm.Dict, help="Peak stress, fracture strain, toughness, plastic energy.")
        spec.output("equilibrated", valid_type=orm.StructureData, help="Replicated sample after NPT at 300 K.")
        # Replicate, equilibrate (unless given), then chunks of loading until done; subclasses define the chunks.
        spec.outline(
            cls.setup,
            if_(cls.needs_equilibration)(cls.replicate, cls.equilibrate),
            cls.inspect_equilibration,
            while_(cls.should_continue)(cls.run_chunk, cls.inspect_chunk),
            cls.finalize,
        )

    def needs_equilibration(self) -> bool:
        """No shared equilibration was given."""
        return not (self.inputs.get("equilibrated") or {})

    def inspect_equilibration(self):
        """Carry the equilibrated structure and velocities on; L0 is its length along x."""
        given = self.inputs.get("equilibrated") or {}
        if given:
            structure, velocities = given["structure"], given["velocities"]
        else:
            node = self.ctx.equilibration
            if not node.is_finished_ok:
                return self._failed("equilibrate", node)
            structure, velocities = node.outputs.structure, node.outputs.velocities
        self.ctx.current = structure
        self.ctx.velocities = velocities
        self.ctx.reference_length = float(structure_arrays(self.ctx.current)[3][0])
        self.out("equilibrated", structure)
        self.ctx.chunks = []
        return None


class PlaneStrainWorkChain(_TensionBase):
    """Stepwise plane-strain tension to fracture (minimise, NVT hold, sample σ at every 0.01 strain)."""

    @classmethod
    def define(cls, spec):
        """Plus ``analyse``: the SPEC §4 analysis of the frames as the chain's last step (the study's way)."""
        super().define(spec)
        spec.input(
            "analyse",
            valid_type=orm.Bool,
            default=lambda: orm.Bool(False),
            help="Run deformation_analysis (bond switching, D, atomic stress) on the frames as soon as they exist, "
            "so a study's analysis of one pressure does not wait for the other pressures' tensions.",
        )
        spec.output_namespace(
            "deformation",
            valid_type=orm.Data,
            dynamic=True,
            required=False,
            help="deformation_analysis outputs (summary, curves, per_atom) when `analyse`.",
        )

    def inspect_equilibration(self):
        """Prepare the list of strains: 0 (the unstrained reference), Δε, 2Δε, ... up to the maximum."""
        code = super().inspect_equilibration()
        if code is not None:
            return code
        self.ctx.strains = plane_strain_strains(self.ctx.params)
        self.ctx.next_index = 0
        self.ctx.fractured = False
        self.ctx.sxx: list[float] = []
        return None

    def _runs_left(self) -> int:
        """Strain-step chunks left (fracture may end the chain earlier)."""
        left = len(self.ctx.get("strains", [])) - int(self.ctx.get("next_index", 0))
        return max(-(-left // int(self.ctx.params["chunk_steps"])), 1) if "params" in self.ctx else 1

    def should_continue(self) -> bool:
        """More strain steps to run and no fracture yet."""
        return not self.ctx.fractured and self.ctx.next_index < len(self.ctx.strains)

    def run_chunk(self):
        """The next ``chunk_steps`` strain steps in one LAMMPS job."""
        p = self.ctx.params
        k0 = self.ctx.next_index
        strains = self.ctx.strains[k0 : k0 + int(p["chunk_steps"])]
        hold = self._steps(p["relax_ps"])
        sample = max(int(round(hold * p["sample_fraction"])), p["sample_every"])
        sample -= sample % int(p["sample_every"])
        stage = {
            **self._common_stage(),
            "thermo_every": max(hold, 1),
            "segments": [
                {
                    "type": "strain_steps",
                    "strains": strains,
                    "reference_length": self.ctx.reference_length,
                    "temp": p["temperature"],
                    "equil_steps": max(hold - sample, 0),
                    "sample_steps": sample,
                    "sample_every": int(p["sample_every"]),
                    "ftol": p["min_ftol"],
                    "maxiter": int(p["min_maxiter"]),
                    "first_index": k0,
                }
            ],
        }
        name = f"strain_{k0:03d}"
        self.report(f"strain steps {k0}..{k0 + len(strains) - 1} (ε = {strains[0]:.3f} … {strains[-1]:.3f})")
        return ToContext(chunk=self._launch(name, self.ctx.current, stage, self.ctx.velocities))

    def inspect_chunk(self):
        """Collect the chunk's steps and frames (from every run of the restart wrapper); check fracture."""
        node = self.ctx.chunk
        if not node.is_finished_ok:
            return self._failed(node.label, node)
        for calc in sorted(node.called, key=lambda n: n.ctime):
            if "strain_steps" in calc.outputs and "minimized_frames" in calc.outputs:
                self.ctx.chunks.append((calc.outputs.strain_steps, calc.outputs.minimized_frames))
                self.ctx.sxx.extend(calc.outputs.strain_steps.get_array("sxx").tolist())
        self.ctx.next_index += int(self.ctx.params["chunk_steps"])
        self.ctx.current = node.outputs.structure
        self.ctx.velocities = node.outputs.velocities
        from ..analysis.mechanics import fracture_index

        p = self.ctx.params
        idx = fracture_index(np.array(self.ctx.sxx), p["stop_fraction"], int(p["stop_consecutive"]))
        peak = max(self.ctx.sxx) if self.ctx.sxx else float("nan")
        self.report(f"σ_xx = {self.ctx.sxx[-1]:.2f} GPa at step {len(self.ctx.sxx) - 1} (peak {peak:.2f} GPa)")
        if idx is not None:
            self.ctx.fractured = True
            self.report(f"fractured: σ_xx below {p['stop_fraction']:.0%} of the peak from step {idx} on")
        return None

    def finalize(self):
        """Merge every chunk into the stress–strain curve, frames and summary."""
        kwargs = {}
        for k, (steps, traj) in enumerate(self.ctx.chunks):
            kwargs[f"steps_{k}"] = steps
            kwargs[f"frames_{k}"] = traj
        result = collect_plane_strain(self.inputs.parameters, **kwargs)
        for key in ("stress_strain", "frames", "summary"):
            self.out(key, result[key])
        s = result["summary"]
        self.report(
            f"plane strain done: peak {s['peak_stress']:.2f} GPa at ε={s['strain_at_peak']:.2f}, "
            f"fracture strain {s['fracture_strain']}, toughness {s['toughness']:.3f} GJ/m3"
        )
        if not self.inputs.analyse.value:
            return None
        from ..functions.analysis import deformation_analysis

        analysis, node = deformation_analysis.run_get_node(
            result["frames"],
            **deformation_inputs(self.ctx.params),
            **self._material_kwargs(),
            metadata={"call_link_label": "deformation"},
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=node.exit_message or node.process_state.value)
        for key, value in analysis.items():
            self.out(f"deformation.{key}", value)
        return None


class PlaneStressWorkChain(_TensionBase):
    """Constant strain-rate tension along x with y, z at zero stress (NPT), frames every 0.01 strain."""

    def inspect_equilibration(self):
        """Plan chunks of ``chunk_steps`` × ``frame_strain`` strain each."""
        code = super().inspect_equilibration()
        if code is not None:
            return code
        p = self.ctx.params
        self.ctx.velocity = p["strain_rate"] * 1e-12 * self.ctx.reference_length  # Å/ps
        self.ctx.steps_per_frame = max(int(round(p["frame_strain"] / (p["strain_rate"] * 1e-12 * p["timestep"]))), 1)
        n_frames = int(math.floor(p["plane_stress_strain"] / p["frame_strain"] + 1e-9))
        self.ctx.frames_left = n_frames
        return None

    def _runs_left(self) -> int:
        """Deformation chunks left, the one being launched included."""
        if "params" not in self.ctx or "frames_left" not in self.ctx:
            return 1
        return max(-(-int(self.ctx.frames_left) // int(self.ctx.params["chunk_steps"])), 0) + 1

    def should_continue(self) -> bool:
        """More strain to apply."""
        return self.ctx.frames_left > 0

    def run_chunk(self):
        """Deform for the next chunk at constant velocity."""
        p = self.ctx.params
        n = min(int(p["chunk_steps"]), self.ctx.frames_left)
        steps = n * self.ctx.steps_per_frame
        stage = {
            **self._common_stage(),
            **self._checkpoint(self.ctx.steps_per_frame),
            "thermo_every": max(self.ctx.steps_per_frame // 20, 1),
            "dump_every": self.ctx.steps_per_frame,
            "dump_fields": ["xu", "yu", "zu", "vx", "vy", "vz", "stress", "voronoi"],
            "segments": [{"type": "deform", "velocity": self.ctx.velocity, "steps": steps, "temp": p["temperature"]}],
        }
        self.ctx.frames_left -= n
        name = f"deform_{len(self.ctx.chunks):03d}"
        return ToContext(chunk=self._launch(name, self.ctx.current, stage, self.ctx.velocities))

    def inspect_chunk(self):
        """Keep the chunk's thermo and frames."""
        node = self.ctx.chunk
        if not node.is_finished_ok:
            return self._failed(node.label, node)
        self.ctx.chunks.append((node.outputs.thermo, node.outputs.trajectory))
        self.ctx.current = node.outputs.structure
        self.ctx.velocities = node.outputs.velocities
        lx = node.outputs.thermo.get_array("lx")[-1]
        self.report(f"strain {lx / self.ctx.reference_length - 1:.3f} reached")
        return None

    def finalize(self):
        """Bin σ_xx per frame strain and merge frames."""
        kwargs = {}
        for k, (thermo, traj) in enumerate(self.ctx.chunks):
            kwargs[f"thermo_{k}"] = thermo
            kwargs[f"frames_{k}"] = traj
        result = collect_plane_stress(self.inputs.parameters, orm.Float(self.ctx.reference_length), **kwargs)
        for key in ("stress_strain", "frames", "summary"):
            if key in result:
                self.out(key, result[key])
