"""Stage description -> LAMMPS input script, with strict validation (no AiiDA here).

A *stage* is one LAMMPS run: a force-field setting, optional initial velocities and an
ordered list of *segments* (MD at NVT/NPT/NVE with linear T/P ramps, density rescaling,
energy minimisation, a strain increment). Every string that reaches the script comes
from a fixed vocabulary and every number is checked to be finite, so a stage cannot
inject LAMMPS commands.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from ..potentials import MATSUI, MatsuiPotential

__all__ = [
    "DATA_FILENAME",
    "DUMP_FIELDS",
    "FINAL_DUMP",
    "FRAMES_DUMP",
    "LOG_FILENAME",
    "MIN_DUMP",
    "RESTART_FILES",
    "RESTART_IN",
    "STAGE_DEFAULTS",
    "STEP_COLUMNS",
    "STEPS_FILE",
    "STEP_TAG",
    "TRAJ_DUMP",
    "StageError",
    "generate_script",
    "restart_timestep",
    "stage_md_steps",
    "validate_stage",
]

DATA_FILENAME = "structure.data"
LOG_FILENAME = "log.lammps"
FINAL_DUMP = "final.dump"
TRAJ_DUMP = "trajectory.dump"
#: Energy-minimised configuration of every plane-strain step (for the structural analyses).
MIN_DUMP = "minimized.dump"
#: Input frames of a ``minimize_frames`` segment (one dump frame per configuration, timesteps 1..F).
FRAMES_DUMP = "frames.dump"
#: One line per completed strain step; written (and closed) after the step's frame, so a killed
#: run never lists a step whose configuration is missing.
STEPS_FILE = "strain_steps.txt"
#: The two checkpoint files LAMMPS alternates between (``restart N a b``): when a kill interrupts
#: the writing of one, the other still holds the previous complete checkpoint.
RESTART_FILES = ("checkpoint.a.restart", "checkpoint.b.restart")
#: The checkpoint a resumed stage starts from (``read_restart`` instead of ``read_data``).
RESTART_IN = "checkpoint.in.restart"
#: Segment types that advance the timestep by a known number of MD steps (checkpointable stages).
MD_TYPES = {"nvt", "npt", "nve", "deform"}
#: Segment types a checkpointed stage may contain besides MD (no timestep change, no reset).
CHECKPOINT_TYPES = MD_TYPES | {"density", "strain"}

GPA_TO_BAR = 1.0e4

#: Per-atom quantities a stage may dump; computed ones are defined in the script.
DUMP_FIELDS = {
    "xu", "yu", "zu", "x", "y", "z", "vx", "vy", "vz", "fx", "fy", "fz", "q",
    "stress",  # six components of compute stress/atom (stress x volume, bar*Å^3)
    "voronoi",  # Voronoi volume from compute voronoi/atom (Å^3)
    "pe",  # per-atom potential energy (eV)
}  # fmt: skip

SEGMENT_TYPES = {"nvt", "npt", "nve", "density", "minimize", "strain", "strain_steps", "deform", "minimize_frames"}
#: Most configurations one ``minimize_frames`` segment may minimise.
MAX_FRAMES = 100_000

#: Tag of the per-strain-step summary line printed into the log by ``strain_steps``.
STEP_TAG = "ALOXIDE_STEP"
#: Columns of that line, after the tag.
STEP_COLUMNS = [
    "index", "strain", "sxx", "sxx2", "syy", "szz", "n_samples", "pe", "lx", "ly", "lz", "step",
]  # fmt: skip
COUPLINGS = {"iso", "aniso", "yz"}
#: Upper bounds that keep every integer a LAMMPS ``int`` and every script a sane size.
MAX_STEPS = 10**9
MAX_STRAIN_STEPS = 1000

STAGE_DEFAULTS: dict[str, Any] = {
    "timestep": 0.001,  # ps (1 fs)
    "thermo_every": 100,
    "tdamp": 0.1,  # ps
    "pdamp": 1.0,  # ps
    "dump_every": 0,
    "dump_fields": ["xu", "yu", "zu"],
    "seed": 1,
    "velocity_temperature": None,
    "cutoff": MATSUI.cutoff,
    "kspace_accuracy": MATSUI.kspace_accuracy,
    # Steps between LAMMPS restart files (0: none); written only when the stage is longer.
    "checkpoint_every": 0,
    # Resume from the checkpoint at this timestep (the CalcJob's ``restart_file``) instead of the start.
    "resume_step": None,
}


class StageError(ValueError):
    """A stage description is invalid; the message says which field and why."""


def _num(value: Any, name: str, *, lo: float | None = None, hi: float | None = None, strict_lo=False) -> float:
    """Check that ``value`` is a finite real number within bounds and return it as float."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise StageError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise StageError(f"{name} must be finite, got {value!r}")
    if lo is not None and (v <= lo if strict_lo else v < lo):
        raise StageError(f"{name} must be {'>' if strict_lo else '>='} {lo}, got {v}")
    if hi is not None and v > hi:
        raise StageError(f"{name} must be <= {hi}, got {v}")
    return v


def _int(value: Any, name: str, *, lo: int = 0, hi: int = MAX_STEPS) -> int:
    """Check that ``value`` is an integer within bounds (at most ``MAX_STEPS`` unless told)."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise StageError(f"{name} must be an integer, got {value!r}")
    if value < lo or value > hi:
        raise StageError(f"{name} must be in [{lo}, {hi}], got {value}")
    return int(value)


def _word(value: Any, name: str, allowed: set[str]) -> str:
    """Check that ``value`` is one of the fixed words ``allowed`` (the only strings a script contains)."""
    if not isinstance(value, str) or value not in allowed:
        raise StageError(f"{name} {value!r} is not one of {sorted(allowed)}")
    return value


def _pair(value: Any, name: str, **bounds) -> tuple[float, float]:
    """A [start, stop] ramp (a single number means constant)."""
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise StageError(f"{name} must be a number or [start, stop], got {value!r}")
        return _num(value[0], f"{name}[0]", **bounds), _num(value[1], f"{name}[1]", **bounds)
    v = _num(value, name, **bounds)
    return v, v


def validate_stage(stage: dict[str, Any]) -> dict[str, Any]:
    """Return the stage with defaults filled in, or raise :class:`StageError`."""
    if not isinstance(stage, dict):
        raise StageError("a stage must be a dictionary")
    unknown = set(stage) - set(STAGE_DEFAULTS) - {"segments"}
    if unknown:
        raise StageError(f"unknown stage keys: {sorted(unknown)}; allowed: {sorted([*STAGE_DEFAULTS, 'segments'])}")
    out = {**STAGE_DEFAULTS, **stage}
    out["timestep"] = _num(out["timestep"], "timestep", lo=0, hi=0.01, strict_lo=True)
    out["thermo_every"] = _int(out["thermo_every"], "thermo_every", lo=1)
    out["tdamp"] = _num(out["tdamp"], "tdamp", lo=0, hi=1000.0, strict_lo=True)
    out["pdamp"] = _num(out["pdamp"], "pdamp", lo=0, hi=1000.0, strict_lo=True)
    out["dump_every"] = _int(out["dump_every"], "dump_every", lo=0)
    out["seed"] = _int(out["seed"], "seed", lo=1, hi=900_000_000)
    out["cutoff"] = _num(out["cutoff"], "cutoff", lo=2.0, hi=30.0)
    out["kspace_accuracy"] = _num(out["kspace_accuracy"], "kspace_accuracy", lo=1e-10, hi=1e-2)
    if out["velocity_temperature"] is not None:
        out["velocity_temperature"] = _num(out["velocity_temperature"], "velocity_temperature", lo=0, hi=20000)
    out["checkpoint_every"] = _int(out["checkpoint_every"], "checkpoint_every", lo=0)
    if out["resume_step"] is not None:
        out["resume_step"] = _int(out["resume_step"], "resume_step", lo=1)
    fields = out["dump_fields"]
    if not isinstance(fields, list | tuple) or not all(isinstance(f, str) for f in fields):
        raise StageError("dump_fields must be a list of names")
    bad = [f for f in fields if f not in DUMP_FIELDS]
    if bad:
        raise StageError(f"unknown dump_fields {bad}; allowed: {sorted(DUMP_FIELDS)}")
    out["dump_fields"] = list(fields)
    segments = out.get("segments")
    if not isinstance(segments, list | tuple) or not segments:
        raise StageError("segments must be a non-empty list")
    out["segments"] = [_validate_segment(s, k) for k, s in enumerate(segments)]
    n_steps_segments = sum(seg["type"] == "strain_steps" for seg in out["segments"])
    if n_steps_segments > 1:
        raise StageError("a stage may contain at most one strain_steps segment")
    if n_steps_segments and out["dump_every"]:
        raise StageError("strain_steps writes its own frames: set dump_every to 0")
    n_frame_segments = sum(seg["type"] == "minimize_frames" for seg in out["segments"])
    if n_frame_segments and (len(out["segments"]) > 1 or out["dump_every"]):
        raise StageError("minimize_frames must be the only segment of its stage, with dump_every 0")
    _check_checkpoints(out)
    return out


def _check_checkpoints(st: dict[str, Any]) -> None:
    """Checkpoints only in pure MD stages (known timesteps), on dump frames; a resume step on a checkpoint."""
    every, resume = st["checkpoint_every"], st["resume_step"]
    if not every:
        if resume is not None:
            raise StageError("resume_step needs checkpoint_every > 0 (the stage that wrote the checkpoint)")
        return
    other = sorted({s["type"] for s in st["segments"]} - CHECKPOINT_TYPES)
    if other:
        # Minimisations advance the timestep by an unknown count and strain_steps resets it.
        raise StageError(f"checkpoint_every is for MD stages only; this stage has {other} segments")
    if st["dump_every"] and every % st["dump_every"]:
        raise StageError(f"checkpoint_every ({every}) must be a multiple of dump_every ({st['dump_every']})")
    if resume is not None and (resume % every or resume > stage_md_steps(st)):
        raise StageError(
            f"resume_step ({resume}) must be a checkpoint: a multiple of checkpoint_every ({every}) "
            f"within the stage's {stage_md_steps(st)} steps"
        )


def _validate_segment(seg: Any, k: int) -> dict[str, Any]:
    """Validate one segment and fill its defaults."""
    where = f"segments[{k}]"
    if not isinstance(seg, dict) or "type" not in seg:
        raise StageError(f"{where} must be a dictionary with a 'type'")
    kind = _word(seg["type"], f"{where}.type", SEGMENT_TYPES)
    allowed = {
        "nvt": {"type", "steps", "temp"},
        "npt": {"type", "steps", "temp", "press", "couple"},
        "nve": {"type", "steps"},
        "density": {"type", "value"},
        "minimize": {"type", "etol", "ftol", "maxiter", "maxeval"},
        "strain": {"type", "axis", "value"},
        "strain_steps": {"type", "axis", "strains", "reference_length", "temp", "equil_steps", "sample_steps",
                         "sample_every", "etol", "ftol", "maxiter", "maxeval", "first_index"},
        "deform": {"type", "axis", "velocity", "steps", "temp", "lateral_press"},
        "minimize_frames": {"type", "n_frames", "etol", "ftol", "maxiter", "maxeval"},
    }[kind]  # fmt: skip
    unknown = set(seg) - allowed
    if unknown:
        raise StageError(f"{where} ({kind}): unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    out: dict[str, Any] = {"type": kind}
    if kind in {"nvt", "npt", "nve"}:
        out["steps"] = _int(seg.get("steps"), f"{where}.steps", lo=0)
    if kind in {"nvt", "npt"}:
        out["temp"] = _pair(seg.get("temp"), f"{where}.temp", lo=0, hi=20000, strict_lo=True)
    if kind == "npt":
        out["press"] = _pair(seg.get("press"), f"{where}.press", lo=-50, hi=100)
        out["couple"] = _word(seg.get("couple", "iso"), f"{where}.couple", COUPLINGS)
    if kind == "density":
        out["value"] = _num(seg.get("value"), f"{where}.value", lo=0.5, hi=10, strict_lo=True)
    if kind == "minimize":
        out["etol"] = _num(seg.get("etol", 0.0), f"{where}.etol", lo=0, hi=1.0)
        out["ftol"] = _num(seg.get("ftol", 1e-6), f"{where}.ftol", lo=0, hi=100.0)
        out["maxiter"] = _int(seg.get("maxiter", 10000), f"{where}.maxiter", lo=1)
        out["maxeval"] = _int(seg.get("maxeval", 100000), f"{where}.maxeval", lo=1)
    if kind == "minimize_frames":
        out["n_frames"] = _int(seg.get("n_frames"), f"{where}.n_frames", lo=1, hi=MAX_FRAMES)
        # The plane-strain steps' minimisation settings by default: the same kind of inherent structure.
        out["etol"] = _num(seg.get("etol", 0.0), f"{where}.etol", lo=0, hi=1.0)
        out["ftol"] = _num(seg.get("ftol", 1e-6), f"{where}.ftol", lo=0, hi=100.0)
        out["maxiter"] = _int(seg.get("maxiter", 1000), f"{where}.maxiter", lo=1)
        out["maxeval"] = _int(seg.get("maxeval", 10000), f"{where}.maxeval", lo=1)
    if kind in {"strain_steps", "deform"}:
        if seg.get("axis", "x") != "x":
            raise StageError(f"{where}.axis: only loading along x is supported")
        out["axis"] = "x"
        out["temp"] = _num(seg.get("temp", 300.0), f"{where}.temp", lo=0, hi=20000, strict_lo=True)
    if kind == "strain_steps":
        strains = seg.get("strains")
        if not isinstance(strains, list | tuple) or not 0 < len(strains) <= MAX_STRAIN_STEPS:
            raise StageError(f"{where}.strains must be a list of 1 to {MAX_STRAIN_STEPS} engineering strains")
        out["strains"] = [_num(e, f"{where}.strains[{i}]", lo=-0.5, hi=5.0) for i, e in enumerate(strains)]
        out["reference_length"] = _num(
            seg.get("reference_length"), f"{where}.reference_length", lo=0, hi=1.0e5, strict_lo=True
        )
        out["equil_steps"] = _int(seg.get("equil_steps", 0), f"{where}.equil_steps", lo=0)
        out["sample_steps"] = _int(seg.get("sample_steps"), f"{where}.sample_steps", lo=1)
        out["sample_every"] = _int(seg.get("sample_every", 10), f"{where}.sample_every", lo=1)
        if out["sample_steps"] % out["sample_every"]:
            raise StageError(f"{where}.sample_steps must be a multiple of sample_every")
        out["etol"] = _num(seg.get("etol", 0.0), f"{where}.etol", lo=0, hi=1.0)
        out["ftol"] = _num(seg.get("ftol", 1e-6), f"{where}.ftol", lo=0, hi=100.0)
        out["maxiter"] = _int(seg.get("maxiter", 1000), f"{where}.maxiter", lo=0)
        out["maxeval"] = _int(seg.get("maxeval", 10000), f"{where}.maxeval", lo=1)
        out["first_index"] = _int(seg.get("first_index", 0), f"{where}.first_index", lo=0, hi=10**6)
    if kind == "deform":
        out["velocity"] = _num(seg.get("velocity"), f"{where}.velocity", lo=-100, hi=100)
        out["steps"] = _int(seg.get("steps"), f"{where}.steps", lo=0)
        out["lateral_press"] = _num(seg.get("lateral_press", 0.0), f"{where}.lateral_press", lo=-50, hi=100)
    if kind == "strain":
        out["axis"] = _word(seg.get("axis", "x"), f"{where}.axis", {"x", "y", "z"})
        out["value"] = _num(seg.get("value"), f"{where}.value", lo=-0.5, hi=0.5)
    return out


def stage_md_steps(stage: dict[str, Any]) -> int:
    """Total MD steps of a validated stage (minimisations not counted)."""
    return sum(s.get("steps", 0) for s in stage["segments"])


def generate_script(stage: dict[str, Any], potential: MatsuiPotential = MATSUI) -> str:
    """The LAMMPS input script of a stage (validated first)."""
    st = validate_stage(stage)
    dt = st["timestep"]
    resume = st["resume_step"]
    lines = [
        "# generated by aiida-aloxide: Matsui a-Al2O3 stage",
        "units metal",
        "atom_style charge",
        "boundary p p p",
        "atom_modify map array sort 1000 2.0",
        # A resumed stage: box, atoms, charges, velocities, timestep and the state of the fixes
        # (thermostat / barostat) from the checkpoint; the force field is set again below.
        f"read_data {DATA_FILENAME}" if resume is None else f"read_restart {RESTART_IN}",
        *potential.lammps_commands(cutoff=st["cutoff"], kspace_accuracy=st["kspace_accuracy"]),
        "neighbor 2.0 bin",
        "neigh_modify every 1 delay 0 check yes",
        f"timestep {dt:.10g}",
        "thermo_style custom step time temp press pe ke etotal vol density lx ly lz pxx pyy pzz pxy pxz pyz",
        "thermo_modify flush yes lost error norm no",
        f"thermo {st['thermo_every']}",
    ]
    if st["velocity_temperature"] is not None and resume is None:
        lines.append(f"velocity all create {st['velocity_temperature']:.10g} {st['seed']} mom yes rot no dist gaussian")
    fields = st["dump_fields"]
    has_steps = any(seg["type"] == "strain_steps" for seg in st["segments"])
    needs_stress = "stress" in fields and not has_steps  # strain_steps defines its own computes
    needs_voro = "voronoi" in fields and not has_steps
    needs_pe = "pe" in fields
    if needs_stress:
        lines.append("compute aloxStress all stress/atom NULL")
    if needs_voro:
        lines.append("compute aloxVoro all voronoi/atom")
    if needs_pe:
        lines.append("compute aloxPE all pe/atom")
    cols = _dump_columns(fields)
    if st["dump_every"] > 0:
        lines.append(f"dump aloxTraj all custom {st['dump_every']} {TRAJ_DUMP} id type {' '.join(cols)}")
        lines.append("dump_modify aloxTraj sort id format float %.7g")
    if st["checkpoint_every"] and stage_md_steps(st) > st["checkpoint_every"]:
        # Writing restart files does not change the dynamics (no re-neighbouring, no extra setup).
        lines.append(f"restart {st['checkpoint_every']} {RESTART_FILES[0]} {RESTART_FILES[1]}")
    fix_id = 0
    begin = 0  # timestep at the start of the segment (read_data starts at 0; only MD advances it)
    skipping = resume is not None  # segments before the checkpoint are in the restart file already
    for seg in st["segments"]:
        kind = seg["type"]
        run = None
        if kind in MD_TYPES:
            fix_id += 1
            end = begin + seg["steps"]
            run = f"run {seg['steps']}"
            if skipping and resume >= end:
                skipping = resume > end
                begin = end
                continue
            if skipping:
                # Resume inside this segment with the same fix ID (its state comes from the checkpoint):
                # `start`/`stop` keep a T/P ramp on the segment's course; `fix deform` at constant
                # velocity continues from the current box over the remaining steps.
                run = f"run {end} upto" + (f" start {begin} stop {end}" if kind != "deform" else "")
                skipping = False
            begin = end
        elif skipping:
            continue
        if kind in {"nvt", "npt", "nve"}:
            name = f"aloxInt{fix_id}"
            if kind == "nvt":
                t0, t1 = seg["temp"]
                lines.append(f"fix {name} all nvt temp {t0:.10g} {t1:.10g} {st['tdamp']:.10g}")
            elif kind == "npt":
                t0, t1 = seg["temp"]
                p0, p1 = (p * GPA_TO_BAR for p in seg["press"])
                if seg["couple"] == "yz":
                    baro = (
                        f"y {p0:.10g} {p1:.10g} {st['pdamp']:.10g} z {p0:.10g} {p1:.10g} {st['pdamp']:.10g} couple none"
                    )
                else:
                    baro = f"{seg['couple']} {p0:.10g} {p1:.10g} {st['pdamp']:.10g}"
                lines.append(f"fix {name} all npt temp {t0:.10g} {t1:.10g} {st['tdamp']:.10g} {baro}")
            else:
                lines.append(f"fix {name} all nve")
            lines.append(run)
            lines.append(f"unfix {name}")
        elif kind == "density":
            lines += [
                "variable aloxMass equal mass(all)",
                # mass in g/mol -> g: / N_A ; volume Å^3 -> cm^3: 1e-24
                f"variable aloxScale equal (v_aloxMass/6.02214076e23/({seg['value']:.10g}*1e-24)/vol)^(1.0/3.0)",
                "change_box all x scale ${aloxScale} y scale ${aloxScale} z scale ${aloxScale} remap",
            ]
        elif kind == "minimize":
            lines.append("min_style cg")
            lines.append(f"minimize {seg['etol']:.10g} {seg['ftol']:.10g} {seg['maxiter']} {seg['maxeval']}")
        elif kind == "strain":
            ax = seg["axis"]
            lines.append(f"change_box all {ax} scale {1.0 + seg['value']:.12g} remap")
        elif kind == "strain_steps":
            lines += _strain_steps_commands(seg, st)
        elif kind == "minimize_frames":
            lines += _minimize_frames_commands(seg)
        elif kind == "deform":
            p = seg["lateral_press"] * GPA_TO_BAR
            lines += [
                f"fix aloxDef{fix_id} all deform 1 x vel {seg['velocity']:.12g} remap x",
                f"fix aloxInt{fix_id} all npt temp {seg['temp']:.10g} {seg['temp']:.10g} {st['tdamp']:.10g} "
                f"y {p:.10g} {p:.10g} {st['pdamp']:.10g} z {p:.10g} {p:.10g} {st['pdamp']:.10g} couple none",
                run,
                f"unfix aloxInt{fix_id}",
                f"unfix aloxDef{fix_id}",
            ]
    if st["dump_every"] > 0:
        lines.append("undump aloxTraj")
    # Final configuration: positions (wrapped + image-unwrapped), velocities, and any
    # per-atom quantity asked for, evaluated on the final state.
    final_cols = ["x", "y", "z", "xu", "yu", "zu", "vx", "vy", "vz", "q"]
    extra = [c for c in _dump_columns(fields) if c not in final_cols]
    lines.append("run 0 post no")
    lines.append(f"write_dump all custom {FINAL_DUMP} id type {' '.join(final_cols + extra)} modify sort id")
    return "\n".join(lines) + "\n"


def _strain_steps_commands(seg: dict[str, Any], st: dict[str, Any]) -> list[str]:
    """Plane-strain loading unrolled step by step: strain x (y, z fixed), minimise, NVT, sample σ.

    Each step sets Lx = L0 (1 + ε) (affine remap), minimises, runs NVT for ``equil_steps``,
    then samples σ_xx = -P_xx every ``sample_every`` steps over ``sample_steps`` (mean and
    mean of squares, GPa, tension positive). Two frames per step are appended: the minimised
    configuration with stress x volume and Voronoi volumes (``minimized.dump``, for the
    analyses) and the thermal one with velocities (``trajectory.dump``, to resume from).
    Only then is the step's line written to ``strain_steps.txt``, so a killed run never
    lists a step whose frames are missing.
    """
    t = seg["temp"]
    n_samples = seg["sample_steps"] // seg["sample_every"]
    thermal_cols = " ".join(_dump_columns(["xu", "yu", "zu", "vx", "vy", "vz"]))
    inherent_cols = " ".join(_dump_columns(["xu", "yu", "zu", "stress", "voronoi"]))
    out = [
        "compute aloxStress all stress/atom NULL",
        "compute aloxVoro all voronoi/atom",
        "variable aloxSxx equal -1.0e-4*pxx",
        "variable aloxSxx2 equal v_aloxSxx*v_aloxSxx",
        "variable aloxSyy equal -1.0e-4*pyy",
        "variable aloxSzz equal -1.0e-4*pzz",
        "thermo_modify norm no",
    ]
    for k, eps in enumerate(seg["strains"]):
        idx = seg["first_index"] + k
        target = seg["reference_length"] * (1.0 + eps)
        out += [
            f"change_box all x scale $({target:.12g}/lx) remap",
            "min_style cg",
            f"minimize {seg['etol']:.10g} {seg['ftol']:.10g} {seg['maxiter']} {seg['maxeval']}",
            # The energy-minimised (inherent) configuration at this strain, with its atomic
            # stress and Voronoi volumes: what the structural analyses use (no thermal noise).
            "run 0 post no",
            f"write_dump all custom {MIN_DUMP} id type {inherent_cols} modify sort id append yes format float %.7g",
            f"fix aloxSS all nvt temp {t:.10g} {t:.10g} {st['tdamp']:.10g}",
            f"run {seg['equil_steps']}",
            # fix ave/time reports on multiples of its Nfreq: restart the step counter so the
            # average over exactly this window is ready at the end of the sampling run.
            "reset_timestep 0",
            f"fix aloxAve all ave/time {seg['sample_every']} {n_samples} {seg['sample_steps']} "
            "v_aloxSxx v_aloxSxx2 v_aloxSyy v_aloxSzz",
            f"run {seg['sample_steps']}",
            # The thermal configuration at the end of the hold: where a resumed run continues.
            f"write_dump all custom {TRAJ_DUMP} id type {thermal_cols} modify sort id append yes format float %.7g",
            f'print "{STEP_TAG} {idx} {eps:.10g} $(f_aloxAve[1]:%.10g) $(f_aloxAve[2]:%.10g) '
            f"$(f_aloxAve[3]:%.10g) $(f_aloxAve[4]:%.10g) {n_samples} $(pe:%.10g) $(lx:%.10g) $(ly:%.10g) "
            f'$(lz:%.10g) $(step)" append {STEPS_FILE} screen no',
            "unfix aloxAve",
            "unfix aloxSS",
        ]
    return out


def _minimize_frames_commands(seg: dict[str, Any]) -> list[str]:
    """Inherent structure of each configuration of ``frames.dump``: read it, minimise, append it.

    Frame k (timestep k of the input dump, k = 1..n_frames) replaces the positions and box, is
    minimised with CG (the plane-strain steps' settings by default, so training and tension
    frames are the same kind of inherent structure) and is appended to ``minimized.dump`` with
    its Voronoi volumes, in input order.
    """
    cols = " ".join(_dump_columns(["xu", "yu", "zu", "voronoi"]))
    return [
        "compute aloxVoro all voronoi/atom",
        "min_style cg",
        f"variable aloxFrame loop {seg['n_frames']}",
        "label aloxFrameLoop",
        f"read_dump {FRAMES_DUMP} ${{aloxFrame}} x y z box yes replace yes",
        f"minimize {seg['etol']:.10g} {seg['ftol']:.10g} {seg['maxiter']} {seg['maxeval']}",
        "run 0 post no",
        f"write_dump all custom {MIN_DUMP} id type {cols} modify sort id append yes format float %.7g",
        "next aloxFrame",
        "jump SELF aloxFrameLoop",
    ]


def frames_dump(positions: Any, lengths: Any, types: Any) -> str:
    """Text of ``frames.dump``: configuration k at timestep k + 1 (positions in Å, box lengths (F, 3))."""
    import io

    import numpy as np

    pos = np.asarray(positions, dtype=np.float64)
    box = np.asarray(lengths, dtype=np.float64)
    typ = np.asarray(types).astype(np.int64)
    if pos.ndim != 3 or pos.shape[2] != 3 or box.shape != (pos.shape[0], 3) or typ.shape != (pos.shape[1],):
        raise StageError("frames must be positions (F, N, 3), box lengths (F, 3) and types (N,)")
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(box)) and np.all(box > 0)):
        raise StageError("frame positions and cells must be finite, cells positive")
    ids = np.arange(1, typ.size + 1)
    parts = []
    for k in range(pos.shape[0]):
        x = np.mod(pos[k], box[k])
        head = (
            f"ITEM: TIMESTEP\n{k + 1}\nITEM: NUMBER OF ATOMS\n{typ.size}\nITEM: BOX BOUNDS pp pp pp\n"
            + "".join(f"0 {box[k, d]:.12g}\n" for d in range(3))
            + "ITEM: ATOMS id type x y z\n"
        )
        buf = io.StringIO()
        np.savetxt(buf, np.column_stack([ids, typ, x]), fmt=["%d", "%d", "%.9g", "%.9g", "%.9g"])
        parts.append(head + buf.getvalue())
    return "".join(parts)


def _dump_columns(fields: list[str]) -> list[str]:
    """Expand dump field names into LAMMPS custom-dump column tokens."""
    cols: list[str] = []
    for f in fields:
        if f == "stress":
            cols += [f"c_aloxStress[{k}]" for k in range(1, 7)]
        elif f == "voronoi":
            cols.append("c_aloxVoro[1]")
        elif f == "pe":
            cols.append("c_aloxPE")
        else:
            cols.append(f)
    return cols


#: Magic string LAMMPS writes at the start and (since 2019) at the end of every restart file.
_RESTART_MAGIC = b"LammpS RestartT\x00"


def restart_timestep(data: bytes) -> int | None:
    """Timestep held by a LAMMPS restart file, or ``None`` when it is incomplete or not one.

    A file LAMMPS finished writing starts and ends with the magic string; a kill during the
    write leaves the end missing. The header that follows the magic string, endianness and
    format revision is: version string, four integer sizes, units string, then the timestep
    (checked against files of LAMMPS 22 Jul 2025).
    """
    import struct

    magic = _RESTART_MAGIC
    if len(data) < 2 * len(magic) or not data.startswith(magic) or not data.endswith(magic):
        return None
    try:
        offset = len(magic) + 8  # endianness flag and format revision
        _, n = struct.unpack_from("<ii", data, offset)  # VERSION: flag, length, text
        offset += 8 + n + 4 * 8  # SMALLINT, IMAGEINT, TAGINT, BIGINT: flag + value each
        _, n = struct.unpack_from("<ii", data, offset)  # UNITS
        offset += 8 + n
        (step,) = struct.unpack_from("<q", data, offset + 4)  # NTIMESTEP: flag, bigint
    except struct.error:
        return None
    return int(step) if 0 <= step <= MAX_STEPS else None
