"""The stage schema of ``aloxide.lammps``: declared constraints of every stage and segment key.

A *stage* is one LAMMPS run: a force-field setting, optional initial velocities and an ordered list
of *segments*. Every string that reaches the script comes from a fixed vocabulary (:class:`Options`)
and every number is checked to be finite and in range (:class:`Interval`), so a stage cannot inject
LAMMPS commands; :mod:`aiida_aloxide.calculations.script` writes the script of a validated stage.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

from . import (
    LAMMPS_SEED,
    Constraint,
    Interval,
    Optional,
    Options,
    Parameter,
    ParameterError,
    Ramp,
    Section,
    check,
    check_section,
    section,
)

__all__ = [
    "CHECKPOINT_TYPES",
    "DUMP_FIELDS",
    "MAX_STEPS",
    "MD_TYPES",
    "MINIMIZATION",
    "PACKING_MINIMIZATION",
    "SEGMENT_SCHEMAS",
    "STAGE_DEFAULTS",
    "STAGE_SCHEMA",
    "StageError",
    "stage_md_steps",
    "validate_stage",
]

#: Segment types that advance the timestep by a known number of MD steps (checkpointable stages).
MD_TYPES = {"nvt", "npt", "nve", "deform"}
#: Segment types a checkpointed stage may contain besides MD (no timestep change, no reset).
CHECKPOINT_TYPES = MD_TYPES | {"density", "strain"}

#: Per-atom quantities a stage may dump; computed ones are defined in the script.
DUMP_FIELDS = {
    "xu", "yu", "zu", "x", "y", "z", "vx", "vy", "vz", "fx", "fy", "fz", "q",
    "stress",  # six components of compute stress/atom (stress x volume, bar*Å^3)
    "voronoi",  # Voronoi volume from compute voronoi/atom (Å^3)
    "pe",  # per-atom potential energy (eV)
}  # fmt: skip

#: Most configurations one ``minimize_frames`` segment may minimise.
MAX_FRAMES = 100_000
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
    "cutoff": None,  # Å; None: the material's (its Coulomb cut-off when it has a separate short-range one)
    "kspace_accuracy": None,  # None: the material's
    # Steps between LAMMPS restart files (0: none); written only when the stage is longer.
    "checkpoint_every": 0,
    # Resume from the checkpoint at this timestep (the CalcJob's ``restart_file``) instead of the start.
    "resume_step": None,
}


def _steps(lo: int = 0, hi: int = MAX_STEPS) -> Interval:
    """A step count (or other LAMMPS integer) in [lo, hi]."""
    return Interval(Integral, lo, hi, whole_floats=True)


_TEMP = Interval(Real, 0, 20000, closed="right")  # K
_PRESS = Interval(Real, -50, 100)  # GPa
_ETOL = Interval(Real, 0, 1.0)
_FTOL = Interval(Real, 0, 100.0)  # eV/Å

#: The LAMMPS ``minimize`` settings of an inherent structure, declared once: the plane-strain steps
#: (tension's ``min_ftol`` / ``min_maxiter`` default to them) and the softness inherent structures
#: (``minimize_frames``) use them, so a model is trained and applied on the same kind of configuration.
MINIMIZATION: Section = section(
    Parameter("etol", 0.0, _ETOL, "", "relative energy tolerance (0: stop on the force criterion only)"),
    Parameter("ftol", 1.0e-6, _FTOL, "eV/Å", "force tolerance: the global force vector's 2-norm"),
    Parameter("maxiter", 1000, _steps(1), "", "most minimiser iterations"),
    Parameter("maxeval", 10000, _steps(1), "", "most force/energy evaluations"),
)
_MINIMIZATION = {p.key: (p.constraint, p.default) for p in MINIMIZATION}
#: A random packing's relaxation before its melt (``minimize_packing`` materials): the same minimiser, only
#: far enough to bond the ions (the melt erases the rest), so a looser force tolerance and more iterations.
PACKING_MINIMIZATION: dict[str, Any] = {p.key: p.default for p in MINIMIZATION} | {
    "ftol": 1.0e-4,
    "maxiter": 2000,
    "maxeval": 20000,
}

#: Constraints of the stage keys (``dump_fields`` and ``segments`` are checked on their own).
STAGE_SCHEMA: dict[str, Constraint] = {
    "timestep": Interval(Real, 0, 0.01, closed="right"),  # ps
    "thermo_every": _steps(lo=1),
    "tdamp": Interval(Real, 0, 1000.0, closed="right"),  # ps
    "pdamp": Interval(Real, 0, 1000.0, closed="right"),  # ps
    "dump_every": _steps(),
    "seed": LAMMPS_SEED,
    "cutoff": Optional(Interval(Real, 2.0, 30.0)),  # Å
    "kspace_accuracy": Optional(Interval(Real, 1e-10, 1e-2)),
    "velocity_temperature": Optional(Interval(Real, 0, 20000)),
    "checkpoint_every": _steps(),
    "resume_step": Optional(_steps(lo=1)),
}

#: Constraints (and defaults) of the keys of each segment type, in output order; ``axis`` of
#: ``strain_steps`` / ``deform`` and the ``strains`` list are checked on their own.
SEGMENT_SCHEMAS: dict[str, dict[str, Constraint | tuple[Constraint, Any]]] = {
    "nvt": {"steps": _steps(), "temp": Ramp(_TEMP)},
    "npt": {"steps": _steps(), "temp": Ramp(_TEMP), "press": Ramp(_PRESS), "couple": (Options(COUPLINGS), "iso")},
    "nve": {"steps": _steps()},
    "density": {"value": Interval(Real, 0.5, 10, closed="right")},  # g/cm^3
    "minimize": {"etol": (_ETOL, 0.0), "ftol": (_FTOL, 1e-6), "maxiter": (_steps(1), 10000),
                 "maxeval": (_steps(1), 100000)},
    "strain": {"axis": (Options({"x", "y", "z"}), "x"), "value": Interval(Real, -0.5, 0.5)},
    "strain_steps": {"temp": (_TEMP, 300.0), "reference_length": Interval(Real, 0, 1.0e5, closed="right"),
                     "equil_steps": (_steps(), 0), "sample_steps": _steps(1), "sample_every": (_steps(1), 10),
                     **_MINIMIZATION, "first_index": (_steps(hi=10**6), 0)},
    "deform": {"temp": (_TEMP, 300.0), "velocity": Interval(Real, -100, 100), "steps": _steps(),
               "lateral_press": (_PRESS, 0.0)},
    # The plane-strain steps' minimisation settings by default: the same kind of inherent structure.
    "minimize_frames": {"n_frames": _steps(1, MAX_FRAMES), **_MINIMIZATION},
}  # fmt: skip
_STRAIN = Interval(Real, -0.5, 5.0)
_SEGMENT_TYPES = Options(set(SEGMENT_SCHEMAS))


class StageError(ParameterError):
    """A stage description is invalid; the message says which field and why."""


def validate_stage(stage: dict[str, Any]) -> dict[str, Any]:
    """Return the stage with defaults filled in, or raise :class:`StageError`."""
    if not isinstance(stage, dict):
        raise StageError("a stage must be a dictionary")
    unknown = set(stage) - set(STAGE_DEFAULTS) - {"segments"}
    if unknown:
        raise StageError(f"unknown stage keys: {sorted(unknown)}; allowed: {sorted([*STAGE_DEFAULTS, 'segments'])}")
    out = {**STAGE_DEFAULTS, **stage}
    out.update(check_section(out, STAGE_SCHEMA, error=StageError))
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
    """Validate one segment against its type's schema and fill its defaults."""
    where = f"segments[{k}]"
    if not isinstance(seg, dict) or "type" not in seg:
        raise StageError(f"{where} must be a dictionary with a 'type'")
    kind = check(seg["type"], _SEGMENT_TYPES, f"{where}.type", StageError)
    schema = SEGMENT_SCHEMAS[kind]
    allowed = {"type", *schema} | (
        {"axis", "strains"} if kind == "strain_steps" else {"axis"} if kind == "deform" else set()
    )
    unknown = set(seg) - allowed
    if unknown:
        raise StageError(f"{where} ({kind}): unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    out: dict[str, Any] = {"type": kind}
    if kind in {"strain_steps", "deform"}:
        if seg.get("axis", "x") != "x":
            raise StageError(f"{where}.axis: only loading along x is supported")
        out["axis"] = "x"
    if kind == "strain_steps":
        strains = seg.get("strains")
        if not isinstance(strains, list | tuple) or not 0 < len(strains) <= MAX_STRAIN_STEPS:
            raise StageError(f"{where}.strains must be a list of 1 to {MAX_STRAIN_STEPS} engineering strains")
        out["strains"] = [check(e, _STRAIN, f"{where}.strains[{i}]", StageError) for i, e in enumerate(strains)]
    out.update(check_section(seg, schema, label=f"{where}.{{key}}", error=StageError))
    if kind == "strain_steps" and out["sample_steps"] % out["sample_every"]:
        raise StageError(f"{where}.sample_steps must be a multiple of sample_every")
    return out


def stage_md_steps(stage: dict[str, Any]) -> int:
    """Total MD steps of a validated stage (minimisations not counted)."""
    return sum(s.get("steps", 0) for s in stage["segments"])


#: MD-step equivalents of one CG minimisation (≈ 150 iterations, each ≈ 3 force evaluations): for priorities only.
MINIMIZE_STEP_EQUIVALENT = 450


def stage_work(stage: dict[str, Any], natoms: int) -> float:
    """Estimated work of a validated stage, atoms × MD-step equivalents: the slot pool's "longest first" order."""
    steps = 0
    for seg in stage["segments"]:
        if seg["type"] == "strain_steps":
            steps += len(seg["strains"]) * (seg["equil_steps"] + seg["sample_steps"] + MINIMIZE_STEP_EQUIVALENT)
        elif seg["type"] == "minimize":
            steps += MINIMIZE_STEP_EQUIVALENT
        elif seg["type"] == "minimize_frames":
            steps += seg["n_frames"] * MINIMIZE_STEP_EQUIVALENT
        else:
            steps += seg.get("steps", 0)
    return float(natoms) * max(steps, 1)
