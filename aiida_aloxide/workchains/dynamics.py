"""``aloxide.dynamics``: the thermal NVT dynamics of an unstrained sample that softness is learned from (SPEC §5).

Velocities are drawn at the target temperature (seeded), a short NVT equilibration lets the
kinetic and potential energy settle (not recorded), then the recorded NVT run follows in
chunks of ``chunk_ps`` (each one ``aloxide.lammps.restart`` job continuing from the previous
chunk's structure and velocities, so an interruption costs one chunk). A calcfunction merges
the chunks into one continuous trajectory, dropping the repeated boundary frames.

Storage choice (paper scale, 8100 atoms, 200 ps). p_hop needs the Al positions at every
frame and the structure functions need *all* atoms at every labelled frame, which can be any
frame, so every atom is kept at every recorded frame, unwrapped Å, in a ``TrajectoryData``
whose positions aiida requires as float64 (the dump precision, %.7g, is 1e-5 Å: far below the
0.05 Å² threshold). The CalcJob dumps every atom of every chunk and those chunk trajectories
stay in the repository for provenance, so each frame is stored twice. At one frame per 0.5 ps
— t_R/2 = 3 ps is then exactly 6 frame intervals, enough to resolve the peaks of a statistic
averaged over 3 ps windows:

* merged: 401 frames × 8100 atoms × 3 × 8 B = 77,954,400 B;
* chunks: 4 × 101 frames (each repeats one boundary frame) × 194,400 B = 78,537,600 B;
* together 156,492,000 B of positions. The rest, per sample: five CalcJobs (equilibration +
  4 chunks) × ≈ 220 B per atom (input ``structure.data`` with velocities ≈ 82 B, retrieved
  ``final.dump`` ≈ 88 B, ``final_frame`` + ``velocities`` arrays ≈ 49 B) ≈ 8.9 MB; p_hop of the
  3240 Al at 401 frames (float32) 5,197,440 B; features of 3200 events × 163 columns × 4 B
  ≈ 2.1 MB. Total ≈ 173 MB per sample: over the 100 MB budget the former float32 positions
  met (≈ 95 MB); keeping the chunk copies out of the repository would bring it to ≈ 94 MB.

With ``chunk_ps >= run_ps`` the run is one job, but the merged copy is still written (uniform
outputs), so positions always take (2 F + n_chunks − 1) × N × 24 B with
F = run_ps / record_every_ps + 1 frames.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from aiida import orm
from aiida.engine import ToContext, WorkChain, while_

from ..functions.softness_events import merge_trajectories
from ..schema import POSITIVE, Interval, Parameter, Section, section, section_names
from .common import (
    LammpsLauncher,
    calcjob_options,
    parameters_problem,
    stage_problem,
    validate_sample,
)
from .protocols import ProtocolMixin, run_parameters

__all__ = ["DYNAMICS_KEYS", "DynamicsWorkChain", "chunk_durations", "validate_dynamics_parameters"]

#: The ``dynamics`` section of dynamics.yaml, each parameter declared once (its ``default_inputs`` equals
#: their defaults: tests/aiida/test_protocol_declarations.py); the other sections: ``softness_parameters.SECTIONS``.
DYNAMICS_PARAMETERS: Section = section(
    Parameter("temperature", 300.0, POSITIVE, "K", "NVT temperature"),
    Parameter("equilibrate_ps", 1.0, Interval(Real, 0, None), "ps", "NVT equilibration, not recorded"),
    Parameter("run_ps", 20.0, POSITIVE, "ps", "recorded NVT run"),
    Parameter("record_every_ps", 0.1, POSITIVE, "ps", "frame interval of the recorded run"),
    Parameter("chunk_ps", 50.0, POSITIVE, "ps", "recorded run per LAMMPS job"),
    Parameter("timestep", 0.001, Interval(Real, 0, 0.01, closed="right"), "ps", "MD timestep"),
    Parameter("tdamp", 0.1, POSITIVE, "ps", "thermostat damping"),
    *run_parameters(max_wallclock_seconds=3600),
)
#: The keys, the keys a resolved protocol may lack (``checkpoint_ps``: parameters frozen before checkpoints existed)
#: and the declared constraints: positive numbers, durations that may be 0, the timestep (ps).
DYNAMICS_KEYS, _OPTIONAL, DYNAMICS_SCHEMA = section_names(DYNAMICS_PARAMETERS)
#: Bounds on the recorded run: frames kept in memory by the analyses, LAMMPS jobs per sample.
MAX_FRAMES = 100_000
MAX_CHUNKS = 1000


def _multiple(value: float, unit: float) -> bool:
    """``value`` is an integer multiple of ``unit`` (relative tolerance 1e-9)."""
    k = value / unit
    return abs(k - round(k)) < 1e-9 * max(1.0, abs(k))


def chunk_durations(params: dict[str, Any]) -> list[float]:
    """Durations (ps) of the recorded chunks: ``chunk_ps`` each, the last one shorter if needed."""
    run, chunk = float(params["run_ps"]), float(params["chunk_ps"])
    n = max(int(math.ceil(run / chunk - 1e-9)), 1)
    out = [chunk] * (n - 1)
    out.append(round(run - chunk * (n - 1), 10))
    return out


def validate_dynamics_parameters(value: orm.Dict, _ctx=None) -> str | None:
    """Known keys, positive numbers, and a recording interval that divides the chunks and the run."""
    p = value.get_dict() if isinstance(value, orm.Dict) else dict(value)
    if (error := parameters_problem(p, DYNAMICS_KEYS, _OPTIONAL, DYNAMICS_SCHEMA, "dynamics")) is not None:
        return error
    for key in ("record_every_ps", "chunk_ps", "run_ps", "equilibrate_ps"):
        if not _multiple(p[key], p["timestep"]):
            return f"{key} ({p[key]}) must be a whole number of timesteps ({p['timestep']} ps)"
    if p["run_ps"] / p["record_every_ps"] > MAX_FRAMES or p["run_ps"] / p["chunk_ps"] > MAX_CHUNKS:
        return (
            f"run_ps / record_every_ps must be <= {MAX_FRAMES} frames and run_ps / chunk_ps <= {MAX_CHUNKS} "
            f"chunks, got {p['run_ps'] / p['record_every_ps']:.3g} and {p['run_ps'] / p['chunk_ps']:.3g}"
        )
    if (error := _check_dynamics_stage(p)) is not None:
        return error
    for dur in chunk_durations(p):
        if not _multiple(dur, p["record_every_ps"]):
            return (
                f"record_every_ps ({p['record_every_ps']}) must divide every chunk (chunk_ps {p['chunk_ps']}, "
                f"run_ps {p['run_ps']}: a chunk of {dur} ps)"
            )
    if p["record_every_ps"] > p["run_ps"]:
        return f"record_every_ps ({p['record_every_ps']}) exceeds run_ps ({p['run_ps']})"
    return None


def _check_dynamics_stage(p: dict[str, Any]) -> str | None:
    """Validate the LAMMPS stage of the longest run (temperature, damping, cut-off, ...) before anything runs."""
    every = int(round(p["record_every_ps"] / p["timestep"]))
    longest = max(p["chunk_ps"], p["equilibrate_ps"])
    stage = {
        **{key: p[key] for key in ("timestep", "tdamp", "cutoff", "kspace_accuracy")},
        "velocity_temperature": p["temperature"],
        "thermo_every": every,
        "dump_every": every,
        "segments": [{"type": "nvt", "steps": int(round(longest / p["timestep"])), "temp": p["temperature"]}],
    }
    return stage_problem([stage], "dynamics")


class DynamicsWorkChain(ProtocolMixin, LammpsLauncher, WorkChain):
    """Velocities at T → NVT equilibration (not recorded) → recorded NVT run in chunks → merged trajectory."""

    _protocol_file = "dynamics"

    @classmethod
    def define(cls, spec):
        """Inputs, outline, outputs and exit codes."""
        from ..exit_codes import add_exit_codes

        super().define(spec)
        cls.define_lammps_inputs(spec, validate_dynamics_parameters, "The `dynamics` section of a dynamics protocol.")
        spec.input("structure", valid_type=orm.StructureData, validator=validate_sample, help="Unstrained sample.")
        spec.outline(
            cls.setup,
            cls.equilibrate,
            cls.inspect_equilibration,
            while_(cls.has_next_chunk)(cls.run_chunk, cls.inspect_chunk),
            cls.finalize,
        )
        spec.output(
            "trajectory",
            valid_type=orm.TrajectoryData,
            help="positions (F, N, 3) unwrapped Å, cells, times (ps from the first recorded frame), steps, types.",
        )
        spec.output("summary", valid_type=orm.Dict, help="Frames, interval, duration, mean temperature, bytes.")
        add_exit_codes(spec, "aloxide.dynamics")

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: dict[str, Any] | None = None) -> dict:
        """The ``dynamics`` section of a dynamics protocol (+ its name); ``overrides`` are of that section."""
        params = super().get_protocol_inputs(protocol, {"dynamics": overrides} if overrides else None)
        return {**params["dynamics"], "protocol": params["protocol"]}

    @classmethod
    def builder_label(cls, parameters: orm.Dict) -> str | None:
        """``dynamics <protocol>``."""
        return f"dynamics {parameters.get('protocol', 'custom')}"

    # -- helpers ---------------------------------------------------------------------------------
    def _steps(self, ps: float) -> int:
        """MD steps covering ``ps``."""
        return int(round(ps / self.ctx.params["timestep"]))

    def _checkpoint(self, multiple: int = 1) -> dict[str, Any]:
        """Stage key for LAMMPS restart files every ``checkpoint_ps`` (a multiple of the dump interval)."""
        ps = self.ctx.params.get("checkpoint_ps")
        if not ps:
            return {}
        return {"checkpoint_every": multiple * max(math.ceil(self._steps(ps) / multiple), 1)}

    def _stage(self, **extra) -> dict[str, Any]:
        """Stage keys shared by every run."""
        return {**self._stage_keys("timestep", "tdamp", "cutoff", "kspace_accuracy"), **extra}

    # -- steps -----------------------------------------------------------------------------------
    def setup(self):
        """Parameters, chunk plan and CalcJob options."""
        self.ctx.params = p = self.inputs.parameters.get_dict()
        self.ctx.chunks = chunk_durations(p)
        self.ctx.index = 0
        self.ctx.trajectories = []
        self.ctx.thermos = []
        self.ctx.structure = self.inputs.structure
        self.ctx.velocities = None
        self.ctx.options = calcjob_options(self.inputs, p)
        self.node.base.extras.set_many(
            {
                "aloxide_workflow": "dynamics",
                "aloxide_protocol": p.get("protocol", "custom"),
                "aloxide_temperature": p["temperature"],
            }
        )

    def equilibrate(self):
        """Velocities at T and NVT for ``equilibrate_ps`` without dumps (skipped when 0)."""
        p = self.ctx.params
        n = self._steps(p["equilibrate_ps"])
        if n == 0:
            return None
        stage = self._stage(
            **self._checkpoint(),
            velocity_temperature=p["temperature"],
            thermo_every=max(1, n // 50),
            segments=[{"type": "nvt", "steps": n, "temp": p["temperature"]}],
        )
        self.report(f"{len(self.ctx.structure.sites)} atoms: velocities at {p['temperature']:g} K, NVT {n} steps")
        return ToContext(equilibration=self._launch("equilibrate", self.ctx.structure, stage))

    def inspect_equilibration(self):
        """Continue from the equilibrated structure and velocities."""
        if "equilibration" not in self.ctx:
            return None
        node = self.ctx.equilibration
        if not node.is_finished_ok:
            return self._failed("equilibrate", node)
        self.ctx.structure = node.outputs.structure
        self.ctx.velocities = node.outputs.velocities
        return None

    def _runs_left(self) -> int:
        """Recording chunks left (the equilibration counts as one)."""
        return len(self.ctx.get("chunks", [])) - int(self.ctx.get("index", 0)) + 1

    def has_next_chunk(self) -> bool:
        """Recorded chunks remain."""
        return self.ctx.index < len(self.ctx.chunks)

    def run_chunk(self):
        """The next recorded NVT chunk, dumping every atom every ``record_every_ps``."""
        p = self.ctx.params
        k = self.ctx.index
        every = self._steps(p["record_every_ps"])
        extra: dict[str, Any] = {}
        if self.ctx.velocities is None:  # no equilibration: draw velocities here
            extra["velocity_temperature"] = p["temperature"]
        stage = self._stage(
            **self._checkpoint(every),
            thermo_every=every,
            dump_every=every,
            dump_fields=["xu", "yu", "zu"],
            segments=[{"type": "nvt", "steps": self._steps(self.ctx.chunks[k]), "temp": p["temperature"]}],
            **extra,
        )
        name = f"record_{k:03d}"
        self.report(f"recorded chunk {k + 1}/{len(self.ctx.chunks)}: {self.ctx.chunks[k]:g} ps")
        return ToContext(chunk=self._launch(name, self.ctx.structure, stage, self.ctx.velocities))

    def inspect_chunk(self):
        """Keep the chunk's frames and thermo; continue from its final state."""
        node = self.ctx.chunk
        name = f"record_{self.ctx.index:03d}"
        if not node.is_finished_ok:
            return self._failed(name, node)
        if "trajectory" not in node.outputs:
            return self.exit_codes.ERROR_NO_FRAMES.format(name=name)
        self.ctx.trajectories.append(node.outputs.trajectory)
        self.ctx.thermos.append(node.outputs.thermo)
        self.ctx.structure = node.outputs.structure
        self.ctx.velocities = node.outputs.velocities
        self.ctx.index += 1
        return None

    def finalize(self):
        """Merge the chunks (dropping repeated boundary frames) into ``trajectory`` + ``summary``."""
        p = self.ctx.params
        kwargs = {}
        for k, (traj, thermo) in enumerate(zip(self.ctx.trajectories, self.ctx.thermos, strict=True)):
            kwargs[f"chunk_{k:03d}"] = traj
            kwargs[f"thermo_{k:03d}"] = thermo
        merge_params = orm.Dict(
            {"timestep": p["timestep"], "chunk_ps": self.ctx.chunks, "temperature": p["temperature"]}
        )
        result = merge_trajectories(merge_params, **kwargs)
        self.out("trajectory", result["trajectory"])
        self.out("summary", result["summary"])
        s = result["summary"]
        temp = s["temperature_mean"]
        self.report(
            f"trajectory: {s['n_frames']} frames x {s['n_atoms']} atoms over {s['duration_ps']:g} ps "
            f"({s['positions_bytes'] / 1e6:.1f} MB), mean T {temp if temp is None else round(temp, 1)} K"
        )
