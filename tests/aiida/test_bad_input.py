"""Every row of docs/bad-input.md: the bad input is refused with its message, and no LAMMPS job is created.

Rows are data (id, what to try, key phrase of the error). Work chains and the CalcJob are launched
with ``run``; the refusal must happen before any CalcJobNode exists. Strings aimed at the LAMMPS
script must also be refused by the script generator itself, so they can never be written into one.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from click.testing import CliRunner

from aiida_aloxide.calculations.lammps import AloxideLammpsCalculation
from aiida_aloxide.calculations.script import StageError, generate_script
from aiida_aloxide.cli import cli
from aiida_aloxide.cli.common import load_softness_model
from aiida_aloxide.data.structure import ChargedStructureData, structure_from_arrays
from aiida_aloxide.functions.analysis import deformation_analysis, plastic_energy_vs_d, rdf_analysis
from aiida_aloxide.functions.softness import (
    merge_trajectories,
    phop_events,
    softness_clusters,
    train_softness,
)
from aiida_aloxide.functions.structure import random_alumina
from aiida_aloxide.functions.tension import replicate_x
from aiida_aloxide.materials import load_material, material_node
from aiida_aloxide.packing import random_packing
from aiida_aloxide.trajectory import frames_trajectory
from aiida_aloxide.workchains.dynamics import DynamicsWorkChain
from aiida_aloxide.workchains.protocols import load_protocol
from aiida_aloxide.workchains.quench import QuenchWorkChain
from aiida_aloxide.workchains.softness import SoftnessWorkChain
from aiida_aloxide.workchains.study import FractureStudyWorkChain
from aiida_aloxide.workchains.tension import PlaneStrainWorkChain, PlaneStressWorkChain

DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-input.md"
MISSING_PK = "99999999"


def _params(rows) -> list:
    """pytest params from rows ``(id, *values)``."""
    return [pytest.param(*row[1:], id=row[0]) for row in rows]


def _count(cls=orm.CalcJobNode) -> int:
    return orm.QueryBuilder().append(cls).count()


def _refused(launch, phrase: str) -> None:
    """``launch()`` raises a ValueError whose message contains ``phrase``, and no CalcJobNode was created."""
    before = _count()
    with pytest.raises(ValueError, match=re.escape(phrase)):
        launch()
    assert _count() == before, "a LAMMPS CalcJob was created for a bad input"


def _spec_refuses(process_class, builder, phrase: str) -> None:
    """The process spec (every port and namespace validator) refuses the builder's inputs: nothing is launched."""
    spec = process_class.spec().inputs
    message = spec.validate(spec.pre_process(builder._inputs(prune=True)))
    assert message is not None and phrase in str(message), message


@pytest.fixture(scope="module")
def sample(aiida_profile) -> ChargedStructureData:
    """A valid 150-atom charged Al2O3 packing (no LAMMPS needed)."""
    pos, types, box = random_packing(30, 2.75, 1.8, 1)
    return structure_from_arrays(pos, types, box, dict(load_material().charges)).store()


# ------------------------------------------------------------------------------------------------
# aloxide.lammps `parameters` (the stage description): every value that could reach the script
# ------------------------------------------------------------------------------------------------

NVT = {"type": "nvt", "steps": 10, "temp": 300.0}
STEPS = {"type": "strain_steps", "strains": [0.0], "reference_length": 20.0, "sample_steps": 10}
STAGE_ROWS = [
    ("stage-unknown-key", {"segments": [NVT], "shell": "ls"}, "unknown stage keys"),
    ("stage-type-injection", {"segments": [{**NVT, "type": "nvt\nshell rm -rf /"}]}, ".type must be one of"),
    ("stage-type-not-string", {"segments": [{**NVT, "type": ["nvt"]}]}, "got ['nvt']"),
    ("stage-segment-unknown-key", {"segments": [{**NVT, "fix": "all nve"}]}, "unknown keys ['fix']"),
    ("stage-couple-injection",
     {"segments": [{**NVT, "type": "npt", "press": 0.0, "couple": "iso\nshell touch /tmp/x"}]},
     ".couple must be one of ['aniso', 'iso', 'yz'], got 'iso\\nshell touch /tmp/x'"),
    ("stage-axis-injection", {"segments": [{"type": "strain", "axis": "x remap\nshell ls", "value": 0.1}]},
     ".axis must be one of ['x', 'y', 'z'], got 'x remap\\nshell ls'"),
    ("stage-dump-field-injection", {"segments": [NVT], "dump_every": 1, "dump_fields": ["xu", "id\nrun 1000000"]},
     "unknown dump_fields"),
    ("stage-dump-fields-string", {"segments": [NVT], "dump_fields": "xu yu zu"}, "dump_fields must be a list"),
    ("stage-number-newline-injection", {"segments": [{**NVT, "temp": "300\nshell ls"}]}, "temp must be a number"),
    ("stage-number-ampersand-injection", {"segments": [NVT], "timestep": "1.0 & shell touch /tmp/x"},
     "timestep must be a number"),
    ("stage-variable-injection", {"segments": [NVT], "velocity_temperature": "${x}"},
     "velocity_temperature must be a number"),
    ("stage-integer-injection", {"segments": [{**NVT, "steps": "1e5; print"}]}, "steps must be an integer"),
    ("stage-nan", {"segments": [NVT], "tdamp": math.nan}, "tdamp must be finite"),
    ("stage-inf", {"segments": [{**NVT, "type": "npt", "press": math.inf}]}, "press must be finite"),
    ("stage-huge-integer", {"segments": [NVT], "thermo_every": 10**30}, "thermo_every must be in [1, 1000000000]"),
    ("stage-huge-float", {"segments": [NVT], "tdamp": 1e300}, "tdamp must be <= 1000"),
    ("stage-bool-integer", {"segments": [{**NVT, "steps": True}]}, "steps must be an integer"),
    ("stage-bool-number", {"segments": [{**NVT, "temp": True}]}, "temp must be a number"),
    ("stage-timestep-range", {"segments": [NVT], "timestep": 0.5}, "timestep must be <= 0.01"),
    ("stage-temperature-range", {"segments": [{**NVT, "temp": 0.0}]}, "temp must be > 0"),
    ("stage-seed-range", {"segments": [NVT], "seed": 0}, "seed must be in [1, 900000000]"),
    ("stage-cutoff-range", {"segments": [NVT], "cutoff": 1.0}, "cutoff must be >= 2.0"),
    ("stage-no-segments", {"segments": []}, "segments must be a non-empty list"),
    ("stage-ramp-shape", {"segments": [{**NVT, "temp": [1.0, 2.0, 3.0]}]}, "must be a number or [start, stop]"),
    ("stage-density-range", {"segments": [{"type": "density", "value": 20.0}]}, "value must be <= 10"),
    ("stage-too-many-strains", {"segments": [{**STEPS, "strains": [0.0] * 1001}]},
     "strains must be a list of 1 to 1000"),
    ("stage-two-strain-steps", {"segments": [STEPS, STEPS]}, "at most one strain_steps segment"),
    ("stage-strain-steps-dump", {"segments": [STEPS], "dump_every": 10}, "set dump_every to 0"),
    ("stage-deform-axis", {"segments": [{"type": "deform", "axis": "y", "velocity": 0.1, "steps": 10}]},
     "only loading along x"),
    ("stage-sample-steps", {"segments": [{**STEPS, "sample_steps": 15}]}, "multiple of sample_every"),
    ("stage-checkpoint-not-md", {"segments": [STEPS], "checkpoint_every": 10},
     "checkpoint_every is for MD stages only"),
    ("stage-checkpoint-dump", {"segments": [NVT], "dump_every": 3, "checkpoint_every": 5},
     "must be a multiple of dump_every"),
    ("stage-resume-without-checkpoints", {"segments": [NVT], "resume_step": 5}, "resume_step needs checkpoint_every"),
    ("stage-resume-off-checkpoint", {"segments": [NVT], "checkpoint_every": 4, "resume_step": 6},
     "must be a checkpoint"),
]  # fmt: skip


@pytest.mark.parametrize(("stage", "phrase"), _params(STAGE_ROWS))
def test_stage_parameters(lammps_code, sample, stage, phrase):
    with pytest.raises(StageError, match=re.escape(phrase)):
        generate_script(stage)  # the generator itself refuses: nothing of it can reach a script
    _refused(
        lambda: run_get_node(AloxideLammpsCalculation, code=lammps_code, structure=sample, parameters=orm.Dict(stage)),
        phrase,
    )


# ------------------------------------------------------------------------------------------------
# aloxide.lammps `structure` (and every work chain's sample): charged, neutral, periodic Al2O3
# ------------------------------------------------------------------------------------------------


def _kinds_structure(sample, kinds: dict[str, str], al_names: list[str], charges: dict) -> ChargedStructureData:
    """``sample`` rebuilt with custom kinds: ``kinds`` name -> element; Al sites cycle over ``al_names``."""
    pos, types, _, box = sample.as_arrays()
    s = ChargedStructureData(cell=np.diag(box).tolist(), pbc=(True, True, True))
    for name, element in kinds.items():
        s.append_kind(orm.Kind(symbols=element, name=name))
    names = [al_names[k % len(al_names)] if t == 1 else "O" for k, t in enumerate(types)]
    s.base.attributes.set("sites", [{"kind_name": n, "position": p} for n, p in zip(names, pos.tolist(), strict=True)])
    s.base.attributes.set("charges", charges)
    return s


def _variant(sample, change: str) -> orm.StructureData:
    """A broken copy of ``sample``."""
    pos, types, _, box = sample.as_arrays()
    q = dict(load_material().charges)
    if change == "stoichiometry":
        return structure_from_arrays(pos[:-1], types[:-1], box, q)
    if change == "element":
        s = orm.StructureData(cell=np.diag(box).tolist())
        for p, t in zip(pos, types, strict=True):
            s.append_atom(position=p.tolist(), symbols="Si" if t == 1 else "O")
        return s
    if change == "no-charges":
        s = structure_from_arrays(pos, types, box, q)
        s.base.attributes.delete("charges")
        return s
    if change == "wrong-charges":
        return structure_from_arrays(pos, types, box, {"Al": 1.5, "O": -1.0})
    if change == "not-neutral":
        return structure_from_arrays(pos, types, box, {"Al": 1.4175, "O": -0.9})
    if change == "compensating-kinds":  # mean Al charge right, per-kind charges wrong
        return _kinds_structure(sample, {"Al1": "Al", "Al2": "Al", "O": "O"}, ["Al1", "Al2"],
                                {"Al1": 1.0, "Al2": 1.835, "O": -0.945, "Al": 1.4175})  # fmt: skip
    if change == "kind-injection":
        bad = "Al\nshell rm -rf /"
        return _kinds_structure(sample, {bad: "Al", "O": "O"}, [bad], {bad: 1.4175, "O": -0.945, "Al": 1.4175})
    if change == "charge-string":
        s = structure_from_arrays(pos, types, box, q)
        s.base.attributes.set("charges", {"Al": "1.4175; shell ls", "O": -0.945})
        return s
    if change == "nan-position":
        pos = pos.copy()
        pos[0, 0] = np.nan
        return structure_from_arrays(pos, types, box, q)
    if change == "outside-cell":
        pos = pos.copy()
        pos[0, 0] = 1.0e30
        return structure_from_arrays(pos, types, box, q)
    if change == "overlap":
        pos = pos.copy()
        pos[1] = pos[0] + [0.5, 0.0, 0.0]
        return structure_from_arrays(pos, types, box, q)
    if change == "tilted":
        s = structure_from_arrays(pos, types, box, q)
        cell = np.diag(box)
        cell[0, 1] = 1.0
        s.cell = cell.tolist()
        return s
    if change == "not-periodic":
        s = structure_from_arrays(pos, types, box, q)
        s.pbc = (True, True, False)
        return s
    if change == "dilute":
        return structure_from_arrays(pos, types, box * 1000, q)
    if change == "dense":
        return structure_from_arrays(pos * 0.5, types, box * 0.5, q)
    raise AssertionError(change)


STRUCTURE_ROWS = [
    ("structure-stoichiometry", "stoichiometry", "not Al2O3 stoichiometry"),
    ("structure-element", "element", "elements other than Al and O"),
    ("structure-no-charges", "no-charges", "structure has no charges"),
    ("structure-wrong-charges", "wrong-charges", "but the potential needs 1.4175"),
    ("structure-not-neutral", "not-neutral", "not charge neutral"),
    ("structure-kind-charges", "compensating-kinds", "charge of Al (kind 'Al1') is 1.0"),
    ("structure-kind-name-injection", "kind-injection", "kind name 'Al\\nshell rm -rf /' is not allowed"),
    ("structure-charge-not-number", "charge-string", "charge of kind 'Al' must be a finite number"),
    ("structure-nan-position", "nan-position", "non-finite (NaN or infinite)"),
    ("structure-outside-cell", "outside-cell", "wrap them into the cell"),
    ("structure-overlap", "overlap", "closer than 1.0 Å"),
    ("structure-not-orthorhombic", "tilted", "only orthorhombic cells"),
    ("structure-not-periodic", "not-periodic", "periodic in x, y and z"),
    ("structure-too-dilute", "dilute", "below 0.5 g/cm³"),
    ("structure-too-dense", "dense", "above 10 g/cm³"),
]


@pytest.mark.parametrize(("change", "phrase"), _params(STRUCTURE_ROWS))
def test_structure(lammps_code, sample, change, phrase):
    bad = _variant(sample, change)
    params = orm.Dict({"segments": [{"type": "nve", "steps": 1}]})
    _refused(lambda: run_get_node(AloxideLammpsCalculation, code=lammps_code, structure=bad, parameters=params), phrase)


# ------------------------------------------------------------------------------------------------
# aloxide.lammps: the other inputs
# ------------------------------------------------------------------------------------------------


def _velocities(n: int, name: str = "velocities", bad: float | None = None) -> orm.ArrayData:
    v = np.zeros((n, 3))
    if bad is not None:
        v[0, 0] = bad
    node = orm.ArrayData()
    node.set_array(name, v)
    return node


def _calc_launch(code, sample, **extra):
    params = orm.Dict({"segments": [{"type": "nve", "steps": 1}]})
    return lambda: run_get_node(AloxideLammpsCalculation, code=code, structure=sample, parameters=params, **extra)


def test_calc_script_given(lammps_code, sample):
    script = orm.SinglefileData.from_string("shell rm -rf /\n")
    _refused(_calc_launch(lammps_code, sample, script=script), "do not pass `script`")


def test_calc_velocities_name(lammps_code, sample):
    _refused(_calc_launch(lammps_code, sample, velocities=_velocities(150, "v")), "array named 'velocities'")


def test_calc_velocities_shape(lammps_code, sample):
    _refused(_calc_launch(lammps_code, sample, velocities=_velocities(149)), "has shape (149, 3)")


def test_calc_velocities_nan(lammps_code, sample):
    builder = AloxideLammpsCalculation.get_builder()
    builder.code, builder.structure = lammps_code, sample
    builder.parameters = orm.Dict({"segments": [{"type": "nve", "steps": 1}]})
    builder.velocities = _velocities(150, bad=np.nan)
    _spec_refuses(AloxideLammpsCalculation, builder, "must be finite (no NaN or inf)")


def _checkpoint(step: int | None) -> orm.SinglefileData:
    node = orm.SinglefileData.from_string("not read: refused before anything runs", filename="checkpoint.restart")
    if step is not None:
        node.base.attributes.set("timestep", step)
    return node


def _resumed_launch(code, sample, resume_step: int | None, **extra):
    stage = {"segments": [{"type": "nve", "steps": 8}], "checkpoint_every": 4}
    if resume_step is not None:
        stage["resume_step"] = resume_step
    return lambda: run_get_node(
        AloxideLammpsCalculation, code=code, structure=sample, parameters=orm.Dict(stage), **extra
    )


def test_calc_resume_without_restart_file(lammps_code, sample):
    _refused(_resumed_launch(lammps_code, sample, 4), "needs the `restart_file` input")


def test_calc_restart_file_without_resume(lammps_code, sample):
    _refused(_resumed_launch(lammps_code, sample, None, restart_file=_checkpoint(4)), "only used by a stage with")


def test_calc_restart_file_other_step(lammps_code, sample):
    _refused(_resumed_launch(lammps_code, sample, 4, restart_file=_checkpoint(0)), "holds step 0, the stage resumes")


def test_calc_material_structure_mismatch(lammps_code, sample):
    """An alumina sample with the silica material: its species are not the material's."""
    _refused(
        _calc_launch(lammps_code, sample, material=material_node("silica-bks")),
        "structure contains elements other than Si and O: ['Al']",
    )


def test_calc_material_invalid(lammps_code, sample):
    """A material whose content is not a consistent material file (here: a charged formula unit)."""
    content = material_node("alumina-matsui").get_dict()
    content["species"]["O"]["charge"] = -1.0
    _refused(_calc_launch(lammps_code, sample, material=orm.Dict(content)), "invalid material: material alumina-matsui")


def test_calc_code_missing(sample):
    params = orm.Dict({"segments": [{"type": "nve", "steps": 1}]})
    _refused(lambda: run_get_node(AloxideLammpsCalculation, structure=sample, parameters=params), "`code` is required")


# ------------------------------------------------------------------------------------------------
# Work chains: aloxide.quench, .tension.plane_strain / .plane_stress, .dynamics, .softness, .study
# ------------------------------------------------------------------------------------------------


def _quench(code, sample, overrides=None, **kwargs):
    args = {"pressure": 0.0, "protocol": "smoke", "overrides": overrides, **kwargs}
    return lambda: run_get_node(QuenchWorkChain.get_builder_from_protocol(code, **args))


def _quench_with(code, sample, **inputs):
    def launch():
        builder = QuenchWorkChain.get_builder_from_protocol(code, 0.0, protocol="smoke")
        for key, value in inputs.items():
            setattr(builder, key, value)
        return run_get_node(builder)

    return launch


def _quench_no_code(code, sample):
    def launch():
        builder = QuenchWorkChain.get_builder()
        builder.pressure = orm.Float(0.0)
        builder.parameters = orm.Dict(load_protocol("quench", "smoke"))
        return run_get_node(builder)

    return launch


def _other_code(code):
    return orm.InstalledCode(
        computer=code.computer, filepath_executable="/bin/true", label="not-lammps-bad-input",
        default_calc_job_plugin="core.arithmetic.add",
    ).store()  # fmt: skip


def _tension(code, sample, overrides=None, cls=PlaneStrainWorkChain, structure=None, **kwargs):
    structure = sample if structure is None else structure
    return lambda: run_get_node(
        cls.get_builder_from_protocol(code, structure, protocol="smoke", overrides=overrides, **kwargs)
    )


def _dynamics(code, sample, overrides=None, **kwargs):
    return lambda: run_get_node(
        DynamicsWorkChain.get_builder_from_protocol(code, sample, protocol="smoke", overrides=overrides, **kwargs)
    )


def _softness(code, sample, overrides=None, samples=None):
    samples = {"p0": sample} if samples is None else samples
    return lambda: run_get_node(
        SoftnessWorkChain.get_builder_from_protocol(code, samples, protocol="smoke", overrides=overrides)
    )


def _thermal_model():
    from aiida_aloxide.analysis.softness import SoftnessModel
    from aiida_aloxide.data.softness_model import SoftnessModelData

    model = SoftnessModel(("G_O_1.8",), np.zeros(1), np.ones(1), np.ones(1), 0.0, 1.0)
    return SoftnessModelData(model=model, structure_functions={}, configuration="thermal").store()


def _softness_frames(code, sample, frames_kind, model_kind=None):
    frames = frames_trajectory(np.zeros((1, 3, 3)), np.ones((1, 3)), [1, 2, 2])
    frames.base.attributes.set("configuration", frames_kind)
    extra = {}
    if model_kind is not None:
        from aiida_aloxide.analysis.softness import SoftnessModel
        from aiida_aloxide.data.softness_model import SoftnessModelData

        m = SoftnessModel(("G_O_1.8",), np.zeros(1), np.ones(1), np.ones(1), 0.0, 1.0)
        extra["apply_model"] = SoftnessModelData(model=m, structure_functions={}, configuration=model_kind).store()
    return lambda: run_get_node(
        SoftnessWorkChain.get_builder_from_protocol(
            code, {"p0": sample}, protocol="smoke", frames={"tension": frames}, **extra
        )
    )


def _softness_trajectories(code, sample, key, n_atoms=None):
    n = len(sample.sites) if n_atoms is None else n_atoms
    traj = frames_trajectory(np.zeros((2, n, 3)), np.full((2, 3), 10.0), [1] * n)
    return lambda: run_get_node(
        SoftnessWorkChain.get_builder_from_protocol(code, {"p0": sample}, protocol="smoke", trajectories={key: traj})
    )


def _softness_dropped_column(code, sample):
    """A model whose dropped (weight 0) column names a species its structure functions do not make."""
    from aiida_aloxide.analysis.softness import SoftnessModel
    from aiida_aloxide.data.softness_model import SoftnessModelData
    from aiida_aloxide.functions.softness_parameters import structure_function_parameters

    m = SoftnessModel(("G_O_1.8", "G_Si_1.6"), np.zeros(2), np.ones(2), np.array([1.0, 0.0]), 0.0, 1.0,
                      dropped=("G_Si_1.6",), z_clip=5.0)  # fmt: skip
    model = SoftnessModelData(model=m, structure_functions=structure_function_parameters(), configuration="inherent")
    frames = frames_trajectory(np.zeros((1, 3, 3)), np.ones((1, 3)), [1, 2, 2])
    frames.base.attributes.set("configuration", "inherent")
    return lambda: run_get_node(
        SoftnessWorkChain.get_builder_from_protocol(
            code, {"p0": sample}, protocol="smoke", frames={"tension": frames}, apply_model=model.store()
        )
    )


def _study(code, sample, pressures=(0.0,), **kwargs):
    args = {"protocol": "smoke", "softness": True, "loading": ["plane_strain"], **kwargs}
    return lambda: run_get_node(FractureStudyWorkChain.get_builder_from_protocol(code, list(pressures), **args))


WORKCHAIN_ROWS = [
    # aloxide.quench
    ("quench-pressure-range", lambda c, s: _quench(c, s, pressure=51.0), "pressure must be between 0 and 50"),
    ("quench-pressure-nan", lambda c, s: _quench(c, s, pressure=math.nan), "pressure must be between 0 and 50"),
    ("quench-protocol-unknown", lambda c, s: _quench(c, s, protocol="huge"), "unknown protocol 'huge'"),
    ("quench-override-unknown-key", lambda c, s: _quench(c, s, {"quench_time": 5}), "unknown override key"),
    ("quench-override-negative-time", lambda c, s: _quench(c, s, {"melt_ps": -5}), "melt_ps must be >= 0"),
    ("quench-override-string-injection", lambda c, s: _quench(c, s, {"melt_temperature": "5000\nshell ls"}),
     "melt_temperature must be a number"),
    ("quench-override-n-units", lambda c, s: _quench(c, s, {"n_units": 10**9}), "n_units must be in [2, 100000]"),
    ("quench-override-density", lambda c, s: _quench(c, s, {"initial_density": 0.1}),
     "initial_density must be >= 1.0"),
    ("quench-override-min-distance", lambda c, s: _quench(c, s, {"min_distance": 2.9}), "is too large for 30 units"),
    ("quench-override-timestep", lambda c, s: _quench(c, s, {"timestep": 0.5}), "timestep must be <= 0.01"),
    ("quench-override-thermo-points", lambda c, s: _quench(c, s, {"thermo_points": 0}),
     "thermo_points must be in [1, 1000000]"),
    ("quench-override-mpiprocs", lambda c, s: _quench(c, s, {"mpiprocs": 0}), "mpiprocs must be a positive integer"),
    ("quench-accelerator-unknown", lambda c, s: _quench(c, s, {"accelerator": "cuda"}),
     "accelerator must be one of ['gpu', 'kk', 'none', 'omp'] or null, got 'cuda'"),
    ("quench-gpus-zero", lambda c, s: _quench(c, s, {"accelerator": "gpu", "gpus": 0}),
     "gpus must be a positive integer or null"),
    ("quench-seed-range", lambda c, s: _quench(c, s, seed=0), "seed must be in [1, 900000000]"),
    ("quench-code-missing", _quench_no_code, "'code'"),
    ("quench-code-not-lammps", lambda c, s: _quench(_other_code(c), s), "not LAMMPS"),
    ("quench-structure-uncharged", lambda c, s: _quench_with(c, s, structure=_variant(s, "no-charges")),
     "structure has no charges"),
    ("quench-material-unknown", lambda c, s: _quench(c, s, material="glass-x"),
     "unknown material 'glass-x'; known: ['alumina-matsui', 'silica-bks']"),
    ("quench-material-structure-mismatch",
     lambda c, s: _quench_with(c, s, structure=s, material=material_node("silica-bks")),
     "structure contains elements other than Si and O: ['Al']"),
    ("quench-parameters-unknown-key",
     lambda c, s: _quench_with(c, s, parameters=orm.Dict({**load_protocol("quench", "smoke"), "fix": "nve"})),
     "unknown quench parameters ['fix']"),
    # aloxide.tension.plane_strain / plane_stress
    ("tension-strain-step", lambda c, s: _tension(c, s, {"strain_step": 0.3}), "strain_step must be < 0.2"),
    ("tension-material-structure-mismatch", lambda c, s: _tension(c, s, material="silica-bks"),
     "structure: structure contains elements other than Si and O: ['Al']"),
    ("tension-deformation-parameter", lambda c, s: _tension(c, s, {"deformation": {"d_bins": 0}}),
     "tension deformation: parameter 'd_bins' must be in [1, 10000]"),
    ("tension-max-strain", lambda c, s: _tension(c, s, {"max_strain": 3.0}), "max_strain must be <= 2.0"),
    ("tension-max-below-step", lambda c, s: _tension(c, s, {"max_strain": 0.01}), "must exceed strain_step"),
    ("tension-stop-fraction", lambda c, s: _tension(c, s, {"stop_fraction": 1.5}), "stop_fraction must be < 1.0"),
    ("tension-replicate", lambda c, s: _tension(c, s, {"replicate_x": 1000}), "replicate_x must be in [1, 20]"),
    ("tension-chunk-steps", lambda c, s: _tension(c, s, {"chunk_steps": 2.5}),
     "chunk_steps must be an integer, got 2.5"),
    ("tension-too-many-steps", lambda c, s: _tension(c, s, {"strain_step": 1e-5}), "more than 10000 strain steps"),
    ("tension-strain-rate", lambda c, s: _tension(c, s, {"strain_rate": 1e15}), "strain_rate must be <= 1e+12"),
    ("tension-timestep", lambda c, s: _tension(c, s, {"timestep": 0.5}), "invalid tension parameters: timestep"),
    ("tension-cutoff", lambda c, s: _tension(c, s, {"cutoff": 1.0}), "cutoff must be >= 2.0, got 1.0"),
    ("tension-temperature", lambda c, s: _tension(c, s, {"temperature": 1e6}), "must be <= 20000"),
    ("tension-min-ftol", lambda c, s: _tension(c, s, {"min_ftol": -1.0}), "ftol must be >= 0"),
    ("tension-string-injection", lambda c, s: _tension(c, s, {"temperature": "300\nshell ls"}),
     "temperature must be a number"),
    ("tension-bool-number", lambda c, s: _tension(c, s, {"relax_ps": True}), "relax_ps must be a number"),
    ("tension-structure-uncharged", lambda c, s: _tension(c, s, structure=_variant(s, "no-charges")),
     "structure has no charges"),
    ("tension-seed-range", lambda c, s: _tension(c, s, seed=0), "seed must be in [1, 900000000]"),
    ("plane-stress-strain", lambda c, s: _tension(c, s, {"plane_stress_strain": 0.01}, cls=PlaneStressWorkChain),
     "plane_stress_strain must be in [frame_strain, 2]"),
    # aloxide.dynamics
    ("dynamics-timestep", lambda c, s: _dynamics(c, s, {"timestep": 0.02}), "timestep must be <= 0.01"),
    ("dynamics-record-interval", lambda c, s: _dynamics(c, s, {"record_every_ps": 0.3}),
     "must divide every chunk"),
    ("dynamics-too-many-frames", lambda c, s: _dynamics(c, s, {"run_ps": 2000.0}), "100000 frames"),
    ("dynamics-temperature", lambda c, s: _dynamics(c, s, {"temperature": 1e5}), "invalid dynamics parameters: "),
    ("dynamics-cutoff", lambda c, s: _dynamics(c, s, {"cutoff": 1.0}), "cutoff must be >= 2.0"),
    ("dynamics-unknown-key", lambda c, s: _dynamics(c, s, {"thermostat": "nose"}), "unknown override key"),
    ("dynamics-seed-range", lambda c, s: _dynamics(c, s, seed=0), "seed must be in [1, 900000000]"),
    # aloxide.softness
    ("softness-no-samples", lambda c, s: _softness(c, s, samples={}), "give at least one sample"),
    ("softness-sample-uncharged", lambda c, s: _softness(c, s, samples={"p0": _variant(s, "no-charges")}),
     "sample 'p0': structure has no charges"),
    ("softness-unknown-section", lambda c, s: _softness(c, s, {"svm": {"C": 1}}), "unknown override key dynamics.svm"),
    ("softness-dynamics-section", lambda c, s: _softness(c, s, {"dynamics": {"timestep": 0.5}}),
     "dynamics: timestep must be <= 0.01"),
    ("softness-thresholds", lambda c, s: _softness(c, s, {"events": {"non_rearranging_threshold": 0.5}}),
     "non_rearranging_threshold"),
    ("softness-events-seed", lambda c, s: _softness(c, s, {"events": {"seed": 2**40}}),
     "'seed' must be in [0, 4294967295]"),
    ("softness-features-none", lambda c, s: _softness(c, s, {"features": {"radial": False, "angular": False}}),
     "at least one of 'radial' and 'angular'"),
    ("softness-features-cutoff", lambda c, s: _softness(c, s, {"features": {"angular_cutoff": 1e4}}),
     "'angular_cutoff' must be <= 20.0"),
    ("softness-training-unknown", lambda c, s: _softness(c, s, {"training": {"kernel": 1}}),
     "unknown override key dynamics.training.kernel"),
    ("softness-model-features-injection",
     lambda c, s: _softness(c, s, {"training": {"model_features": "structure\nshell ls"}}),
     "'model_features' must be one of"),
    ("softness-rearranging-frame-unknown", lambda c, s: _softness(c, s, {"events": {"rearranging_frame": "middle"}}),
     "'rearranging_frame' must be one of ['peak', 'precursor']"),
    ("softness-non-rearranging-unknown", lambda c, s: _softness(c, s, {"events": {"non_rearranging": "calm"}}),
     "'non_rearranging' must be one of ['instantaneous', 'quiet']"),
    ("softness-hops-unknown", lambda c, s: _softness(c, s, {"events": {"hops": "some"}}), "'hops' must be one of"),
    ("softness-configuration-unknown", lambda c, s: _softness(c, s, {"features": {"configuration": "quenched"}}),
     "'configuration' must be one of ['thermal', 'time_averaged', 'inherent']"),
    ("softness-lag-too-long", lambda c, s: _softness(c, s, {"events": {"precursor_lag": 5.0}}),
     "events.precursor_lag spans 5 ps, not shorter than the recorded dynamics (run_ps = 2 ps)"),
    ("softness-quiet-window-too-long", lambda c, s: _softness(c, s, {"events": {"quiet_window": 1.0}}),
     "events.quiet_window spans 2 ps, not shorter than the recorded dynamics"),
    ("softness-average-window-too-long",
     lambda c, s: _softness(c, s, {"features": {"configuration": "time_averaged", "average_window": 3.0}}),
     "features.average_window spans 3 ps"),
    ("softness-frames-wrong-kind", lambda c, s: _softness_frames(c, s, "thermal"),
     "frames 'tension' hold thermal configurations but the model trained here will see"),
    ("softness-apply-model-wrong-kind", lambda c, s: _softness_frames(c, s, "inherent", model_kind="thermal"),
     "frames 'tension' hold inherent configurations but `apply_model` was trained on thermal"),
    ("softness-loso-one-sample", lambda c, s: _softness(c, s, {"training": {"loso": "always"}}),
     "training.loso 'always' needs at least two samples to hold out one at a time, got 1"),
    ("softness-inherent-spacing-too-fine",
     lambda c, s: _softness(c, s, {"events": {"labels_from": "inherent", "inherent_spacing": 0.005}}),
     "events.inherent_spacing 0.005 ps is finer than the recording (dynamics.record_every_ps = 0.01 ps)"),
    ("softness-inherent-labels-thermal-features",
     lambda c, s: _softness(c, s, {"events": {"labels_from": "inherent", "inherent_spacing": 0.05},
                                   "features": {"configuration": "thermal"}}),
     "events.labels_from 'inherent' needs features.configuration 'inherent'"),
    ("softness-selection-unknown", lambda c, s: _softness(c, s, {"training": {"selection": "random"}}),
     "'selection' must be one of ['samples', 'atoms']"),
    ("softness-trajectory-without-sample", lambda c, s: _softness_trajectories(c, s, "p4"),
     "trajectories ['p4'] have no sample of the same key"),
    ("softness-trajectory-wrong-size", lambda c, s: _softness_trajectories(c, s, "p0", n_atoms=3),
     "trajectory 'p0' has positions of shape (2, 3, 3), not (frames, 150, 3)"),
    ("softness-apply-model-dropped-column", lambda c, s: _softness_dropped_column(c, s),
     "cannot be computed from frames with its structure-function parameters"),
    ("study-material-unknown", lambda c, s: _study(c, s, material="glass-x"),
     "unknown material 'glass-x'; known: ['alumina-matsui', 'silica-bks']"),
    ("study-material-model",
     lambda c, s: _study(c, s, material="silica-bks", softness_model=load_softness_model("reference")),
     "trained on Al/O frames, but the study's material silica-bks is Si/O"),
    ("study-material-override-unknown",
     lambda c, s: _study(c, s, material="silica-bks", overrides={"dynamics": {"dynamics": {"temprature": 900.0}}}),
     "unknown override key dynamics.dynamics.temprature"),
    ("study-model-wrong-kind", lambda c, s: _study(c, s, softness_model=_thermal_model()),
     "plane-strain frames, but `softness_model` was trained on thermal"),
    ("study-configuration-not-inherent",
     lambda c, s: _study(c, s, overrides={"dynamics": {"features": {"configuration": "thermal"}}}),
     "features.configuration is thermal"),
    ("softness-training-c", lambda c, s: _softness(c, s, {"training": {"C": -1.0}}), "'C' must be >= 1e-12"),
    ("softness-clusters-fraction", lambda c, s: _softness(c, s, {"clusters": {"top_fraction": 2.0}}),
     "'top_fraction' must be <= 1.0"),
    ("softness-bins", lambda c, s: _softness(c, s, {"rearrangement": {"bins": [3.0, 1.0]}}), "edges must increase"),
    ("softness-bins-bool", lambda c, s: _softness(c, s, {"rearrangement": {"bins": [0.0, True]}}),
     "must hold 2 to 10001 finite edges"),
    # aloxide.study
    ("study-pressures-empty", lambda c, s: _study(c, s, pressures=()), "give at least one pressure"),
    ("study-pressures-duplicate", lambda c, s: _study(c, s, pressures=(4.0, 4.0)), "pressures must be unique"),
    ("study-pressure-range", lambda c, s: _study(c, s, pressures=(-1.0,)), "pressure must be between 0 and 50"),
    ("study-protocol-unknown", lambda c, s: _study(c, s, protocol="huge"), "unknown protocol 'huge'"),
    ("study-override-section", lambda c, s: _study(c, s, overrides={"softness": {}}), "unknown override sections"),
    ("study-override-key", lambda c, s: _study(c, s, overrides={"tension": {"nope": 1}}), "unknown override key"),
    ("study-override-quench-value", lambda c, s: _study(c, s, overrides={"quench": {"melt_ps": -1.0}}),
     "melt_ps must be >= 0"),
    ("study-loading-unknown", lambda c, s: _study(c, s, loading=["shear"]), "unknown loading"),
    ("study-seed-range", lambda c, s: _study(c, s, seed=0), "seed must be in [1, 900000000]"),
    ("study-replicas-range", lambda c, s: _study(c, s, replicas=0), "replicas must be between 1 and 20"),
    ("study-replicas-cap", lambda c, s: _study(c, s, replicas=21), "replicas must be between 1 and 20"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "phrase"), _params(WORKCHAIN_ROWS))
def test_workchain_input(lammps_code, sample, make, phrase):
    _refused(lambda: make(lammps_code, sample)(), phrase)


@pytest.mark.parametrize(
    ("overrides", "phrase"),
    [
        pytest.param({"tension": {"timestep": 0.5}}, "overrides.tension", id="study-override-tension-value"),
        pytest.param({"dynamics": {"training": {"C": -1.0}}}, "overrides.dynamics", id="study-override-dynamics-value"),
    ],
)
def test_study_override_values(lammps_code, overrides, phrase):
    """Checked before the study starts (today only when the tension / softness step builds its inputs)."""
    with pytest.raises(ValueError, match=re.escape(phrase)):
        FractureStudyWorkChain.get_builder_from_protocol(lammps_code, [0.0], "smoke", overrides=overrides)
    # Inputs that bypass the builder are refused at launch: checked on the spec, so nothing can start here.
    builder = FractureStudyWorkChain.get_builder_from_protocol(lammps_code, [0.0], "smoke")
    builder.overrides = orm.Dict(overrides)
    _spec_refuses(FractureStudyWorkChain, builder, phrase)


def test_study_overrides_not_dict(lammps_code):
    _refused(
        lambda: FractureStudyWorkChain.get_builder_from_protocol(lammps_code, [0.0], "smoke", overrides=[1]),
        "overrides must be a dictionary",
    )


# ------------------------------------------------------------------------------------------------
# Calcfunctions (usable from a shell): a ValueError naming the input, no LAMMPS
# ------------------------------------------------------------------------------------------------


def _frames_without_voronoi(sample):
    pos, types, _, box = sample.as_arrays()
    return frames_trajectory(np.stack([pos, pos]), box, types)


def _trajectory(sample):
    pos, types, _, box = sample.as_arrays()
    return frames_trajectory(np.stack([pos, pos]), box, types, times=[0.0, 0.1])


FUNCTION_ROWS = [
    ("deformation-parameters-unknown",
     lambda s: deformation_analysis(_frames_without_voronoi(s), orm.Dict({"cutoff": 2.0})),
     "unknown deformation_analysis parameter(s) ['cutoff']"),
    ("deformation-parameters-range",
     lambda s: deformation_analysis(_frames_without_voronoi(s), orm.Dict({"d_bins": 10**9})),
     "'d_bins' must be in [1, 10000]"),
    ("deformation-frames-arrays", lambda s: deformation_analysis(_frames_without_voronoi(s)),
     "frames node lacks the array(s) ['strain']"),
    ("random-alumina-density", lambda s: random_alumina(orm.Int(30), orm.Float(-1.0), orm.Float(1.8), orm.Int(1)),
     "density must be positive"),
    ("random-alumina-packing", lambda s: random_alumina(orm.Int(30), orm.Float(2.75), orm.Float(3.0), orm.Int(1)),
     "too high for min_distance"),
    ("phop-events-parameters", lambda s: phop_events(_trajectory(s), orm.Dict({"t_r": -1.0})),
     "'t_r' must be >= 1e-06"),
    ("train-softness-no-data", lambda s: train_softness(orm.Dict({})), "needs at least one dataset"),
    ("softness-clusters-parameters",
     lambda s: softness_clusters(_frames_without_voronoi(s), orm.ArrayData(), orm.Dict({"cutoff": 0.0})),
     "'cutoff' must be >= 1e-06"),
    ("merge-trajectories-empty", lambda s: merge_trajectories(orm.Dict({"chunk_ps": []})), "no chunk_<k> trajectories"),
    ("plastic-energy-labels", lambda s: plastic_energy_vs_d(foo=orm.Dict({})), "must be named tension_<label>"),
    ("rdf-r-max", lambda s: rdf_analysis(s, orm.Float(-1.0)), "r_max must be"),
    ("rdf-n-bins", lambda s: rdf_analysis(s, None, orm.Int(0)), "n_bins must be"),
    ("replicate-copies", lambda s: replicate_x(s, orm.Int(0)), "copies must be"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "phrase"), _params(FUNCTION_ROWS))
def test_calcfunction_input(sample, call, phrase):
    _refused(lambda: call(sample), phrase)


# ------------------------------------------------------------------------------------------------
# The command line: a click error (exit code != 0, "Error: ..."), no traceback, no process created
# ------------------------------------------------------------------------------------------------

CLI_ROWS = [
    ("cli-quench-pressure", ["quench", "-P", "-3", "--code", "{code}", "--protocol", "smoke"],
     "pressure must be between 0 and 50"),
    ("cli-quench-protocol", ["quench", "-P", "1", "--code", "{code}", "--protocol", "nope"], "unknown protocol"),
    ("cli-quench-seed", ["quench", "-P", "1", "--code", "{code}", "--seed", "1; shell ls"], "is not a valid integer"),
    ("cli-quench-code", ["quench", "-P", "1", "--code", "nocode@nowhere"], "not found"),
    ("cli-quench-material-unknown", ["quench", "-P", "1", "--code", "{code}", "--material", "glass-x"],
     "unknown material 'glass-x'; known: ['alumina-matsui', 'silica-bks']"),
    ("cli-tension-sample-missing", ["tension", "-s", MISSING_PK, "--code", "{code}"], "no node"),
    ("cli-tension-sample-type", ["tension", "-s", "{dict}", "--code", "{code}"],
     "neither a quench work chain nor a structure"),
    ("cli-tension-sample-no-output", ["tension", "-s", "{workflow}", "--code", "{code}"],
     "neither a quench work chain nor a structure"),
    ("cli-tension-loading", ["tension", "-s", "{dict}", "--loading", "shear"], "is not one of"),
    ("cli-tension-report-missing", ["tension-report", MISSING_PK], "no node"),
    ("cli-tension-report-type", ["tension-report", "{dict}"], "not finished tension work chains"),
    ("cli-analyze-missing", ["analyze", MISSING_PK], "no node"),
    ("cli-analyze-type", ["analyze", "{dict}"], "not finished tension work chains"),
    ("cli-softness-train-missing", ["softness", "train", "-s", MISSING_PK, "--code", "{code}"], "no node"),
    ("cli-softness-train-type", ["softness", "train", "-s", "{dict}", "--code", "{code}"], "not a quench work chain"),
    ("cli-softness-predict-model", ["softness", "predict", "{dict}", "x"], "not a SoftnessModelData"),
    ("cli-softness-predict-missing", ["softness", "predict", MISSING_PK, "x"], "no model"),
    ("cli-softness-predict-reference-unknown", ["softness", "predict", "reference:nope", "x"],
     "unknown reference model 'nope'; known: fast-inherent"),
    ("cli-runs-loading", ["runs", "--loading", "shear"], "is not one of"),
    ("cli-samples-pressure", ["samples", "--min-pressure", "1e5; ls"], "is not a valid float"),
    ("cli-setup-broker", ["setup", "--broker", "kafka"], "is not one of"),
    ("cli-setup-mpiprocs", ["setup", "--mpiprocs", "0"], "is not in the range x>=1"),
    ("cli-setup-port", ["setup", "--pg-port", "5432; ls"], "is not a valid integer"),
    ("cli-setup-slots-zero", ["setup", "--slots", "0"], "is not in the range x>=1"),
    ("cli-setup-slots-oversubscribe", ["setup", "--slots", "4096"], "would oversubscribe it"),
    ("cli-demo-protocol", ["demo", "--protocol", "huge"], "unknown protocol"),
    ("cli-study-pressure", ["study", "run", "-P", "-1", "--code", "{code}"], "pressure must be between 0 and 50"),
    ("cli-study-material-unknown", ["study", "run", "-P", "0", "--material", "glass-x", "--code", "{code}"],
     "unknown material 'glass-x'; known: ['alumina-matsui', 'silica-bks']"),
    ("cli-study-material-model",
     ["study", "run", "-P", "0", "--material", "silica-bks", "--softness-model", "reference", "--code", "{code}"],
     "the packaged models are alumina's"),
    ("cli-study-replicas", ["study", "run", "--replicas", "0", "--code", "{code}"], "Invalid value for '--replicas'"),
    ("cli-study-overrides-json", ["study", "run", "-P", "0", "--overrides", "{not json", "--code", "{code}"],
     "is not JSON"),
    ("cli-study-overrides-key", ["study", "submit", "--overrides", '{"tension": {"nope": 1}}', "--code", "{code}"],
     "unknown override key"),
    ("cli-study-overrides-type", ["study", "run", "--overrides", "[1]", "--code", "{code}"],
     "overrides must be a dictionary"),
    # -P -1 makes sure nothing runs before the fix: today the pressure is refused instead.
    ("cli-study-interval", ["study", "run", "--interval", "-1", "-P", "-1", "--code", "{code}"], "--interval"),
    ("cli-study-show-missing", ["study", "show", MISSING_PK], "no node"),
    ("cli-study-show-type", ["study", "show", "{dict}"], "not a fracture study"),
    ("cli-study-report-type", ["study", "report", "{dict}"], "not a fracture study"),
    ("cli-study-export-type", ["study", "export", "{dict}", "out.aiida"], "not a fracture study"),
    ("cli-study-frames-type", ["study", "frames", "{dict}", "-o", "frames"],
     "neither a fracture study nor a tension run"),
    ("cli-study-frames-missing", ["study", "frames", "999999999", "-o", "frames"], "no node"),
    ("cli-study-frames-format", ["study", "frames", "{dict}", "-o", "frames", "--format", "pdb"],
     "'pdb' is not one of"),
    ("cli-study-frames-output", ["study", "frames", "{dict}"], "Missing option '-o'"),
]  # fmt: skip


@pytest.fixture(scope="module")
def nodes(aiida_profile, lammps_code):
    """PKs to put in CLI arguments: a plain Dict, a work flow node without outputs, the code."""
    return {
        "dict": str(orm.Dict({"a": 1}).store().pk),
        "workflow": str(orm.WorkflowNode().store().pk),
        "code": lammps_code.full_label,
    }


@pytest.mark.parametrize(("args", "phrase"), _params(CLI_ROWS))
def test_cli(aiida_profile, nodes, tmp_path, monkeypatch, args, phrase):
    monkeypatch.chdir(tmp_path)
    args = [a.format(**nodes) if a.strip("{}") in nodes else a for a in args]
    command = args[:2] if args[0] in ("softness", "study") else args[:1]
    if args[0] != "setup":  # setup creates its own profile; everything else uses the test profile
        args = [*command, "-p", aiida_profile.name, *args[len(command) :]]
    before = _count(orm.ProcessNode)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), f"traceback instead of a message: {result.exception!r}"
    assert phrase in result.output, result.output
    assert _count(orm.ProcessNode) == before


# ------------------------------------------------------------------------------------------------
# docs/bad-input.md and these tests stay in sync
# ------------------------------------------------------------------------------------------------


def _test_ids() -> set[str]:
    ids = {row[0] for row in (*STAGE_ROWS, *STRUCTURE_ROWS, *WORKCHAIN_ROWS, *FUNCTION_ROWS, *CLI_ROWS)}
    ids |= {"study-override-tension-value", "study-override-dynamics-value", "study-overrides-not-dict"}
    ids |= {f"calc-{name}" for name in ("script-given", "velocities-name", "velocities-shape", "velocities-nan",
                                        "code-missing", "resume-without-restart-file", "restart-file-without-resume",
                                        "restart-file-other-step", "material-structure-mismatch",
                                        "material-invalid")}  # fmt: skip
    return ids


def test_docs_table_and_tests_agree():
    doc_ids = set(re.findall(r"^\| `([a-z0-9-]+)` \|", DOC.read_text(), flags=re.MULTILINE))
    test_ids = _test_ids()
    assert len(test_ids) > 100
    assert doc_ids - test_ids == set(), "rows documented but not tested"
    reliability = (DOC.parent / "reliability.md").read_text()
    stated = int(re.search(r"(\d+) rows of \[the bad-input table\]", reliability).group(1))
    assert stated == len(test_ids), f"docs/reliability.md says {stated} bad-input rows, the table has {len(test_ids)}"
    assert test_ids - doc_ids == set(), "rows tested but not documented"
