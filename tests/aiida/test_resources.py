"""Resources of every LAMMPS run: MPI ranks, OpenMP threads, wall time, partition; who wins, and what SLURM gets.

Priority, highest first: the work chain's ``options`` input, the protocol (with its overrides), the
computer (default ranks, partition / account). No scheduler runs here: the SLURM job script is made by a
CalcJob dry run (tests/services/test_slurm.py runs a real SLURM).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import run_get_node

from aiida_aloxide.calculations.lammps import AloxideLammpsCalculation
from aiida_aloxide.calculations.script import stage_md_steps
from aiida_aloxide.data.structure import structure_from_arrays
from aiida_aloxide.materials import load_material
from aiida_aloxide.packing import random_packing
from aiida_aloxide.scheduler import COMPUTER_OPTIONS_PROPERTY, ensure_slurm_computer
from aiida_aloxide.workchains.common import RESOURCE_KEYS, calcjob_options, resolve_options, validate_resources
from aiida_aloxide.workchains.dynamics import DynamicsWorkChain
from aiida_aloxide.workchains.protocols import available_protocols, load_protocol
from aiida_aloxide.workchains.quench import QuenchWorkChain, quench_stages
from aiida_aloxide.workchains.tension import PlaneStrainWorkChain

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: Measured LAMMPS speed of this model (docs/howto-cluster.md): 43 steps/s for 8100 atoms on 2 cores.
ATOM_STEPS_PER_SECOND_2_CORES = 43 * 8100


def _ranks(opts: dict) -> int:
    return opts["resources"]["num_mpiprocs_per_machine"]


# -- priority -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "protocol", "computer", "expected"),
    [
        (None, {"mpiprocs": None}, None, 1),  # nothing set: one rank
        (None, {"mpiprocs": None}, 6, 6),  # the computer's default (setup: all cores)
        (None, {"mpiprocs": 2}, 6, 2),  # the protocol beats the computer
        ({"resources": {"num_mpiprocs_per_machine": 5}}, {"mpiprocs": 2}, 6, 5),  # options beat both
    ],
)
def test_mpi_ranks_priority(options, protocol, computer, expected):
    assert _ranks(resolve_options(options, protocol, computer)) == expected


def test_threads_priority_and_slurm_cpus_per_task():
    # threads > 1 become cores per rank (SLURM --cpus-per-task); 1 leaves the resources exactly as before
    assert resolve_options(None, {"omp_threads": 4})["resources"] == {
        "num_machines": 1,
        "num_mpiprocs_per_machine": 1,
        "num_cores_per_mpiproc": 4,
    }
    assert "num_cores_per_mpiproc" not in resolve_options(None, {"omp_threads": 1})["resources"]
    assert "num_cores_per_mpiproc" not in resolve_options(None, {"omp_threads": None})["resources"]
    given = {"resources": {"num_mpiprocs_per_machine": 2, "num_cores_per_mpiproc": 3}}
    assert resolve_options(given, {"omp_threads": 4})["resources"]["num_cores_per_mpiproc"] == 3
    per_machine = resolve_options({"resources": {"num_cores_per_machine": 8}}, {"omp_threads": 4})["resources"]
    assert "num_cores_per_mpiproc" not in per_machine  # the caller's own core layout is left alone


def test_wall_time_priority():
    assert resolve_options(None, {"max_wallclock_seconds": 3600})["max_wallclock_seconds"] == 3600
    assert (
        resolve_options({"max_wallclock_seconds": 60}, {"max_wallclock_seconds": 3600})["max_wallclock_seconds"] == 60
    )
    assert "max_wallclock_seconds" not in resolve_options(None, {"max_wallclock_seconds": None})


def test_partition_and_account_from_the_computer_unless_options_say_otherwise():
    computer = {"queue_name": "short", "account": "proj", "resources": {"num_machines": 9}, "qos": None}
    opts = resolve_options(None, {}, 4, computer)
    assert (opts["queue_name"], opts["account"]) == ("short", "proj")
    assert opts["resources"] == {"num_machines": 1, "num_mpiprocs_per_machine": 4}  # only scheduler keys taken
    assert "qos" not in opts
    assert resolve_options({"queue_name": "long"}, {}, 4, computer)["queue_name"] == "long"


def test_options_are_not_modified_and_total_ranks_are_respected():
    options = {"resources": {"tot_num_mpiprocs": 12}, "withmpi": True}
    opts = resolve_options(options, {"mpiprocs": 2, "omp_threads": 2}, 4)
    assert options == {"resources": {"tot_num_mpiprocs": 12}, "withmpi": True}
    assert opts["resources"] == {"tot_num_mpiprocs": 12, "num_cores_per_mpiproc": 2}


@pytest.mark.parametrize("value", [0, -2, 1.5, True, "4"])
@pytest.mark.parametrize("key", sorted(RESOURCE_KEYS - {"accelerator"}))  # a package name: test_accelerator_values
def test_bad_resource_values_are_refused(key, value):
    assert f"{key} must be a positive integer or null" in validate_resources({key: value})
    assert validate_resources({key: None}) is None and validate_resources({key: 3}) is None


# -- through the work chains ------------------------------------------------------------------------------
def _sample() -> orm.StructureData:
    """A 150-atom charged Al2O3 packing (valid input, never run)."""
    pos, types, box = random_packing(30, 3.0, 1.8, 1)
    return structure_from_arrays(pos, types, box, dict(load_material().charges))


@pytest.mark.parametrize("workflow", ["quench", "tension", "dynamics"])
def test_work_chains_refuse_bad_resource_overrides(lammps_code, workflow):
    with pytest.raises(ValueError, match="omp_threads must be a positive integer"):
        if workflow == "quench":
            QuenchWorkChain.get_builder_from_protocol(lammps_code, 0.0, "smoke", overrides={"omp_threads": 0})
        elif workflow == "tension":
            PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, _sample(), "smoke", {"omp_threads": 0})
        else:
            DynamicsWorkChain.get_builder_from_protocol(lammps_code, _sample(), "smoke", {"omp_threads": 0})


def test_slurm_job_script_of_a_paper_stage(lammps_code, tmp_path, monkeypatch):
    """Paper protocol + overrides + options on a SLURM computer: the #SBATCH lines of a dry-run CalcJob."""
    computer = ensure_slurm_computer(
        "slurm-dry", workdir=tmp_path / "w", mpiprocs=32, partition="compute", account="proj", poll_interval=30
    )
    assert computer.get_property(COMPUTER_OPTIONS_PROPERTY) == {"queue_name": "compute", "account": "proj"}
    assert computer.get_minimum_job_poll_interval() == 30
    code = orm.InstalledCode(computer=computer, filepath_executable="/opt/lammps/bin/lmp", label="lmp-dry").store()
    params = load_protocol("quench", "paper", {"omp_threads": 2})
    inputs = AttributeDict({"code": code, "options": orm.Dict({"account": "other", "qos": "high"})})
    options = calcjob_options(inputs, params)
    stage = dict(quench_stages(params, 0.0, 1))["melt"]
    monkeypatch.chdir(tmp_path)  # a dry run writes its folder below the working directory
    _, node = run_get_node(
        AloxideLammpsCalculation,
        code=code,
        structure=_sample(),
        parameters=orm.Dict(stage),
        metadata={"options": options, "dry_run": True, "store_provenance": False},
    )
    script = (Path(node.dry_run_info["folder"]) / "_aiidasubmit.sh").read_text()
    for line in (
        "--partition=compute",  # computer
        "--account=other",  # options beat the computer
        "--qos=high",  # options
        "--ntasks-per-node=32",  # computer default ranks (paper: mpiprocs null)
        "--cpus-per-task=2",  # protocol override
        "--time=12:00:00",  # paper quench wall time
    ):
        assert f"#SBATCH {line}\n" in script, (line, script)
    assert "'-sf' 'omp' '-pk' 'omp' '2'" in script  # threads reach LAMMPS through the OPENMP styles
    # A reused computer keeps its set-up; explicit settings update it.
    again = ensure_slurm_computer("slurm-dry", workdir=tmp_path / "other", partition="debug", mpiprocs=8)
    assert again.uuid == computer.uuid and again.get_workdir() == str(tmp_path / "w")
    assert again.get_property(COMPUTER_OPTIONS_PROPERTY) == {"queue_name": "debug", "account": "proj"}
    assert again.get_default_mpiprocs_per_machine() == 8
    with pytest.raises(ValueError, match="not core.slurm"):
        ensure_slurm_computer(lammps_code.computer.label, workdir=tmp_path)
    with pytest.raises(ValueError, match="transport must be one of"):
        ensure_slurm_computer("slurm-bad", workdir=tmp_path, transport="core.telnet")


# -- the protocol values ----------------------------------------------------------------------------------
def _longest_run(workflow: str, name: str) -> tuple[int, int]:
    """(MD steps of the longest single LAMMPS run, atoms) of ``workflow`` under protocol ``name``."""
    q = load_protocol("quench", name)
    atoms = 5 * q["n_units"]
    if workflow == "quench":
        return max(stage_md_steps(s) for _, s in quench_stages(q, 0.0, 1)), atoms
    if workflow == "tension":
        t = load_protocol("tension", name)
        dt = t["timestep"]
        plane_strain = t["chunk_steps"] * (t["relax_ps"] / dt + t["min_maxiter"])
        plane_stress = t["chunk_steps"] * t["frame_strain"] / (t["strain_rate"] * 1e-12 * dt)
        return int(max(t["equilibrate_ps"] / dt, plane_strain, plane_stress)), atoms * t["replicate_x"]
    d = load_protocol("dynamics", name)["dynamics"]
    return int(max(d["equilibrate_ps"], d["chunk_ps"]) / d["timestep"]), atoms


@pytest.mark.parametrize("workflow", ["quench", "tension", "dynamics"])
def test_protocol_wall_times_cover_the_longest_run(workflow):
    """Each protocol's wall time is >= 2x its longest LAMMPS run on 2 cores, and <= 2 days (partition limits)."""
    assert set(available_protocols(workflow)) == {"smoke", "demo", "fast", "paper"}
    for name in available_protocols(workflow):
        params = load_protocol(workflow, name)
        params = params.get("dynamics", params)
        assert RESOURCE_KEYS <= set(params) and validate_resources(params) is None, (workflow, name)
        steps, atoms = _longest_run(workflow, name)
        needed = steps * atoms / ATOM_STEPS_PER_SECOND_2_CORES
        assert 2 * needed <= params["max_wallclock_seconds"] <= 2 * 86400, (workflow, name, needed)
    assert load_protocol("quench", "paper")["max_wallclock_seconds"] == 12 * 3600


def test_howto_study_overrides_reach_each_stage():
    """The ``--overrides`` JSON of docs/howto-cluster.md is valid and sizes each stage as the text says."""
    text = (DOCS / "howto-cluster.md").read_text()
    overrides = json.loads(re.search(r"--overrides \\\n\s*'(\{.*?\})'", text, re.S).group(1))
    quench = load_protocol("quench", "paper", overrides["quench"])
    tension = load_protocol("tension", "paper", overrides["tension"])
    dynamics = load_protocol("dynamics", "paper", overrides["dynamics"])["dynamics"]
    for params in (quench, tension, dynamics):
        assert validate_resources(params) is None
    cluster = {"queue_name": "compute"}
    assert _ranks(resolve_options(None, quench, 64, cluster)) == 128
    assert resolve_options(None, quench, 64)["max_wallclock_seconds"] == 12 * 3600
    opts = resolve_options(None, tension, 64, cluster)
    assert (_ranks(opts), opts["max_wallclock_seconds"], opts["queue_name"]) == (256, 28800, "compute")
    opts = resolve_options(None, dynamics, 64)
    assert (_ranks(opts), opts["resources"]["num_cores_per_mpiproc"], opts["max_wallclock_seconds"]) == (64, 2, 3600)


@pytest.mark.parametrize("value", [0, "cuda", True, "OMP"])
def test_accelerator_values(value):
    assert f"accelerator must be one of ['gpu', 'kk', 'none', 'omp'] or null, got {value!r}" in validate_resources(
        {"accelerator": value}
    )
    assert (
        validate_resources({"accelerator": "kk", "gpus": 2}) is None
        and validate_resources({"accelerator": None}) is None
    )
