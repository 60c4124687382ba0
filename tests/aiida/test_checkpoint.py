"""Checkpoints inside MD stages with real LAMMPS: no effect on an uninterrupted run; a SIGKILLed quench resumes."""

from __future__ import annotations

import time

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_aloxide.calculations.lammps import AloxideLammpsCalculation
from aiida_aloxide.functions.restart import join_resumed_runs
from aiida_aloxide.functions.structure import random_alumina
from aiida_aloxide.trajectory import frames_trajectory
from aiida_aloxide.workchains.dynamics import DynamicsWorkChain
from aiida_aloxide.workchains.protocols import load_protocol
from aiida_aloxide.workchains.quench import LiquidWorkChain, QuenchWorkChain
from tests.helpers import kill_at_step_wrapper

pytestmark = pytest.mark.lammps

#: Quench NPT ramp of 1200 steps with a checkpoint every 200; thermo every step (to count the steps run).
OVERRIDES = {"quench_ps": 1.2, "checkpoint_ps": 0.2, "thermo_points": 1200}
INTERVAL = 200
#: The first quench run is SIGKILLed once its log shows this step (its checkpoint at 400 is complete then).
KILL_AT = 500


def _lammps_calcs(node) -> list[orm.CalcJobNode]:
    """The LAMMPS CalcJobs below a work chain, in order of creation."""
    calcs = [n for n in node.called_descendants if isinstance(n, orm.CalcJobNode)]
    return sorted(calcs, key=lambda n: n.ctime)


def test_checkpoints_do_not_change_the_dynamics(lammps_code):
    """The same ramp with and without restart files: identical thermo and final state, bit for bit."""
    sample = random_alumina(orm.Int(30), orm.Float(2.75), orm.Float(1.8), orm.Int(3))
    stage = {
        "velocity_temperature": 3000,
        "seed": 5,
        "thermo_every": 10,
        "segments": [
            {"type": "nvt", "steps": 100, "temp": 3000},
            {"type": "npt", "steps": 200, "temp": [3000, 2000], "press": [2.0, 1.0]},
        ],
    }
    runs = []
    for every in (0, 50):
        _, node = run_get_node(
            AloxideLammpsCalculation,
            code=lammps_code,
            structure=sample,
            parameters=orm.Dict({**stage, "checkpoint_every": every}),
        )
        assert node.is_finished_ok, node.exit_message
        assert "restart_file" not in node.outputs  # only an interrupted run keeps its checkpoint
        runs.append(node)
    plain, checkpointed = runs
    assert "restart 50 " in checkpointed.base.repository.get_object_content("aloxide.in")
    for name in plain.outputs.thermo.get_arraynames():
        np.testing.assert_array_equal(checkpointed.outputs.thermo.get_array(name), plain.outputs.thermo.get_array(name))
    for name in ("positions", "cell"):
        np.testing.assert_array_equal(
            checkpointed.outputs.final_frame.get_array(name), plain.outputs.final_frame.get_array(name)
        )


def test_join_resumed_runs_keeps_each_part_up_to_the_next_checkpoint(aiida_profile):
    """Thermo rows and frames of a killed run before its checkpoint, then all of the resumed run's."""

    def thermo(steps):
        node = orm.ArrayData()
        node.set_array("step", np.asarray(steps, dtype=float))
        node.set_array("temp", np.asarray(steps, dtype=float) * 2)
        node.base.attributes.set("columns", ["step", "temp"])
        return node

    def traj(steps):
        n = len(steps)
        pos = np.arange(n, dtype=float)[:, None, None] * np.ones((n, 2, 3))
        times = np.array(steps) * 1e-3
        return frames_trajectory(pos, np.full((n, 3), 10.0), np.array([1, 2]), steps=steps, times=times)

    out = join_resumed_runs(
        orm.List([40]),
        thermo_0=thermo([0, 10, 20, 30, 40, 50]),
        thermo_1=thermo([40, 50, 60]),
        trajectory_0=traj([0, 20, 40]),
        trajectory_1=traj([40, 60]),
    )
    np.testing.assert_array_equal(out["thermo"].get_array("step"), [0, 10, 20, 30, 40, 50, 60])
    np.testing.assert_array_equal(out["trajectory"].get_array("steps"), [0, 20, 40, 60])
    assert out["trajectory"].get_shape("positions") == (4, 2, 3)


def test_sigkilled_quench_resumes_from_last_checkpoint(lammps_code, tmp_path):
    """LAMMPS killed mid NPT ramp: the quench finishes from the checkpoint, steps and density as uninterrupted."""
    wrapper, marker = kill_at_step_wrapper(tmp_path, "npt temp 3000 300", KILL_AT)
    # Both quenches start from one liquid, as a study's pressures do (melt, cool, compress run once).
    params = orm.Dict(load_protocol("quench", "smoke", OVERRIDES))
    _, liquid = run_get_node(LiquidWorkChain.get_builder_from_parameters(lammps_code, params, seed=7))
    assert liquid.is_finished_ok, liquid.exit_message

    def quench(options=None):
        builder = QuenchWorkChain.get_builder_from_parameters(lammps_code, 2.0, params, seed=7, options=options)
        builder.liquid = {"structure": liquid.outputs.structure, "velocities": liquid.outputs.velocities}
        return builder

    t0 = time.monotonic()
    _, node = run_get_node(quench({"mpirun_extra_params": [str(wrapper)]}))
    t1 = time.monotonic()
    assert node.is_finished_ok, node.exit_message
    assert marker.exists()
    _, twin = run_get_node(quench())
    t2 = time.monotonic()
    assert twin.is_finished_ok, twin.exit_message

    # Every stage ran through the restart wrapper, with the labels of before.
    stages = {c.label: c for c in node.called if c.process_label == "LammpsRestartWorkChain"}
    assert set(stages) == {"quench", "relax"}
    killed, resumed = _lammps_calcs(stages["quench"])
    assert killed.exit_status == AloxideLammpsCalculation.exit_codes.ERROR_RUN_INCOMPLETE_CHECKPOINT.status
    checkpoint = killed.outputs.restart_file.base.attributes.get("timestep")
    assert resumed.is_finished_ok and resumed.inputs.restart_file.uuid == killed.outputs.restart_file.uuid
    assert resumed.inputs.parameters["resume_step"] == checkpoint and checkpoint % INTERVAL == 0
    script = resumed.base.repository.get_object_content("aloxide.in")
    total = 1200
    assert "read_restart checkpoint.in.restart" in script and f"run {total} upto start 0 stop {total}" in script
    # The thermostat/barostat state came from the checkpoint (same fix ID and style).
    log = resumed.outputs.retrieved.base.repository.get_object_content("log.lammps")
    assert "Resetting global fix info from restart file" in log

    # MD steps run in all: the stage plus what the kill lost since the checkpoint, under one interval.
    killed_steps = int(killed.outputs.thermo.get_array("step")[-1])
    assert killed_steps > checkpoint
    steps_run = killed_steps + (total - checkpoint)
    assert total <= steps_run <= total + INTERVAL, (killed_steps, checkpoint)
    size = len(killed.outputs.restart_file.get_content(mode="rb"))
    print(
        f"killed at step {killed_steps}, resumed from {checkpoint}: {steps_run} steps for {total}; "
        f"quench {t1 - t0:.1f} s vs uninterrupted {t2 - t1:.1f} s; resumed LAMMPS run "
        f"{resumed.outputs.results['wall_time_s']:.1f} s; checkpoint {size} B"
    )

    # The stage's thermo is one series 0..1200 as in the uninterrupted run.
    joined = node.outputs.thermo.quench.get_array("step")
    np.testing.assert_array_equal(joined, twin.outputs.thermo.quench.get_array("step"))

    # Densities: within the stage's fluctuation of the uninterrupted run (not bit for bit after a restart). The
    # resumed stage's final structure against the uninterrupted stage's, with the density's spread over its last
    # quarter; the sample after `relax` (NVT + a 0.1 ps NPT at 0 GPa, still swinging) with the relax stage's spread.
    rho_twin = twin.outputs.thermo.quench.get_array("density")
    sigma = float(np.std(rho_twin[-len(rho_twin) // 4 :]))
    rho_end = stages["quench"].outputs.results["final_density"]
    sigma_relax = float(np.std(twin.outputs.thermo.relax.get_array("density")))
    final, final_twin = node.outputs.properties["density"], twin.outputs.properties["density"]
    print(
        f"quench stage end density {rho_end:.4f} vs {rho_twin[-1]:.4f} (sigma {sigma:.4f}); "
        f"sample {final:.4f} vs {final_twin:.4f} (relax sigma {sigma_relax:.4f})"
    )
    assert abs(rho_end - rho_twin[-1]) <= 3 * sigma
    assert abs(final - final_twin) <= 3 * sigma_relax


def test_sigkilled_dynamics_chunk_keeps_every_frame(lammps_code, tmp_path):
    """A recorded NVT chunk killed after a checkpoint: the resumed run's frames join the killed run's seamlessly."""
    wrapper, marker = kill_at_step_wrapper(tmp_path, "dump aloxTraj", 600)
    sample = random_alumina(orm.Int(30), orm.Float(2.75), orm.Float(1.8), orm.Int(4))
    overrides = {"equilibrate_ps": 0.1, "run_ps": 1.0, "chunk_ps": 1.0, "checkpoint_ps": 0.25}
    builder = DynamicsWorkChain.get_builder_from_protocol(
        lammps_code, sample, protocol="smoke", overrides=overrides, options={"mpirun_extra_params": [str(wrapper)]}
    )
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    assert marker.exists()
    (chunk,) = [c for c in node.called if c.label == "record_000"]
    killed, resumed = _lammps_calcs(chunk)
    checkpoint = resumed.inputs.parameters["resume_step"]
    assert killed.exit_status == 316 and checkpoint >= 500 and checkpoint % 250 == 0
    # Frames every 10 steps from 0 to 1000, each once: the killed run's before the checkpoint, then the resumed run's.
    np.testing.assert_array_equal(chunk.outputs.trajectory.get_array("steps"), np.arange(0, 1001, 10))
    assert node.outputs.summary["n_frames"] == 101
    # Unwrapped positions continue across the checkpoint (image flags come with the restart file).
    pos = chunk.outputs.trajectory.get_array("positions")
    jumps = np.abs(np.diff(pos, axis=0)).max(axis=(1, 2))
    assert jumps[checkpoint // 10 - 1] < 5 * np.median(jumps)
