"""The scheduler path: a smoke quench through a real single-node SLURM and an AiiDA ``core.slurm`` computer.

SLURM (Debian ``slurm-wlm``: slurmctld + slurmd) runs on loopback from a temp dir for this test only
(see ``slurm_cluster.py``); the computer is registered with :func:`aiida_aloxide.scheduler.ensure_slurm_computer`
exactly as for a cluster, except for the ``core.local`` transport and the wheel's ``mpirun``.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from aiida.engine.utils import instantiate_process, loop_scope
from aiida.manage import get_manager
from aiida.manage.caching import disable_caching

from aiida_aloxide.scheduler import ensure_slurm_computer
from aiida_aloxide.setup import ensure_code, find_executable
from aiida_aloxide.workchains.quench import QuenchWorkChain
from tests.aiida.test_quench import _check_quench
from tests.helpers import service_missing

from .slurm_cluster import SlurmCluster, missing_binaries

pytestmark = pytest.mark.lammps

#: Written by every job script (computer prepend text): proof that LAMMPS ran inside a SLURM allocation.
PROBE = 'echo "aloxide-probe job=$SLURM_JOB_ID partition=$SLURM_JOB_PARTITION cpus=$SLURM_CPUS_PER_TASK"'


@pytest.fixture
def fail_fast(aiida_profile):
    """Give up a refused transport task (e.g. ``sbatch``) after 2 quick tries instead of 5 over 5 minutes."""
    config, name = get_manager().get_config(), aiida_profile.name
    options = {"transport.task_retry_initial_interval": 1, "transport.task_maximum_attempts": 2}
    previous = {key: config.get_option(key, scope=name) for key in options}
    for key, value in options.items():
        config.set_option(key, value, scope=name)
    yield
    for key, value in previous.items():
        config.set_option(key, value, scope=name)


def run_watched(builder, timeout: float, logs=lambda: ""):
    """Run ``builder`` here and return its node; fail at once when a job pauses, or after ``timeout`` s.

    AiiDA pauses a CalcJob whose submission keeps failing, and ``run`` would then wait forever.
    """
    runner = get_manager().get_runner()
    with loop_scope(runner.loop):
        process = instantiate_process(runner, builder)

        async def watch():
            task = asyncio.ensure_future(process.step_until_terminated())
            deadline = time.monotonic() + timeout
            while not task.done():
                paused = [n for n in process.node.called_descendants if n.paused]
                if paused or time.monotonic() > deadline:
                    task.cancel()
                    why = f"paused: {paused[0].process_status}" if paused else f"not done after {timeout:g} s"
                    pytest.fail(f"{process.node.process_label} {why}\n{logs()}")
                await asyncio.sleep(0.5)

        runner.loop.run_until_complete(watch())
    return process.node


@pytest.fixture
def slurm(monkeypatch):
    """A running single-node SLURM; SLURM_CONF points the commands AiiDA runs (sbatch, squeue) at it."""
    missing = missing_binaries()
    if missing:
        service_missing(f"SLURM is not installed (Debian slurm-wlm): missing {', '.join(missing)}")
    if os.geteuid() != 0:
        service_missing("a throw-away slurmd needs root")
    with SlurmCluster(partition="aloxide", cpus=2) as cluster:
        monkeypatch.setenv("SLURM_CONF", str(cluster.conf))
        yield cluster


def test_smoke_quench_through_slurm(aiida_profile, slurm, fail_fast, tmp_path):
    computer = ensure_slurm_computer(
        "slurm-loopback",
        workdir=tmp_path / "scratch",
        transport="core.local",
        mpirun_command=[str(find_executable("mpirun")), "-np", "{tot_num_mpiprocs}"],
        mpiprocs=1,
        partition=slurm.partition,  # not SLURM's default partition: jobs run only if AiiDA names it
        prepend_text=PROBE,
        poll_interval=1,
        safe_interval=0,
    )
    code = ensure_code(computer)
    # Ranks from the smoke protocol (1), OpenMP threads from a protocol override (2), the wall time from
    # ``options`` (900 s, beating the protocol's 600 s), the partition from the computer.
    builder = QuenchWorkChain.get_builder_from_protocol(
        code, 0.0, protocol="smoke", seed=11, overrides={"omp_threads": 2}, options={"max_wallclock_seconds": 900}
    )
    t0 = time.monotonic()
    with disable_caching():  # every stage must really run, not come from an earlier identical run
        node = run_watched(builder, timeout=300, logs=slurm.logs)
    elapsed = time.monotonic() - t0
    assert node.is_finished_ok, f"{node.exit_status} {node.exit_message}\n{slurm.logs()}"
    _check_quench(node, 0.0)

    calcs = sorted((c for c in node.called_descendants if c.process_type.endswith("aloxide.lammps")),
                   key=lambda c: c.ctime)  # fmt: skip
    completed = slurm.completed_jobs()
    job_ids = [c.get_job_id() for c in calcs]
    assert all(j and j.isdigit() for j in job_ids) and len(set(job_ids)) == 5, job_ids
    for calc, job_id in zip(calcs, job_ids, strict=True):
        assert calc.computer.uuid == computer.uuid
        script = calc.base.repository.get_object_content("_aiidasubmit.sh")
        for line in ("--partition=aloxide", "--ntasks-per-node=1", "--cpus-per-task=2", "--time=00:15:00"):
            assert f"#SBATCH {line}\n" in script, (line, script)
        # SLURM's own record of the job: ran to completion on our partition with the requested limits.
        record = completed.get(job_id)
        assert record is not None, (job_id, sorted(completed), slurm.logs())
        assert record["JobState"] == "COMPLETED" and record["Partition"] == "aloxide"
        assert record["Name"] == f"aiida-{calc.pk}"
        assert record["TimeLimit"] == "15" and record["ProcCnt"] == "2"
        # The job script ran inside that allocation.
        assert f"aloxide-probe job={job_id} partition=aloxide cpus=2" in calc.get_scheduler_stdout()
    print(f"smoke quench through SLURM: {elapsed:.0f} s")
