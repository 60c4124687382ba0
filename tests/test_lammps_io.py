"""LAMMPS file readers on real LAMMPS output: complete, truncated and failed runs."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.calculations.script import FINAL_DUMP, TRAJ_DUMP, generate_script
from aiida_aloxide.lammps_io import DumpFormatError, parse_dump, parse_log, write_data
from aiida_aloxide.materials import load_material
from aiida_aloxide.packing import random_packing

from .helpers import run_lammps


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A real 150-atom LAMMPS run with a trajectory dump; returns its folder."""
    work = tmp_path_factory.mktemp("run")
    pos, types, box = random_packing(30, 2.75, seed=2)
    charges = np.where(types == 1, load_material().charges["Al"], load_material().charges["O"])
    vel = np.random.default_rng(0).normal(0, 5.0, (150, 3))
    stage = {
        "thermo_every": 10,
        "dump_every": 20,
        "dump_fields": ["xu", "yu", "zu", "stress", "voronoi"],
        "segments": [{"type": "nvt", "steps": 60, "temp": 2000}, {"type": "minimize", "maxiter": 20}],
    }
    run_lammps(work, generate_script(stage), {"structure.data": write_data(pos, types, charges, box, vel)})
    return work, pos, box


@pytest.mark.lammps
def test_log_of_complete_run(real_run):
    work, _, _ = real_run
    log = parse_log((work / "log.lammps").read_text())
    assert log.completed and not log.errors
    cols, table = log.thermo()
    assert cols[:4] == ["Step", "Time", "Temp", "Press"]
    assert table[0, 0] == 0 and table.shape[0] >= 7
    assert log.version.startswith("22 Jul 2025")


@pytest.mark.lammps
def test_dump_frames_and_final_state(real_run):
    work, pos, box = real_run
    frames, truncated = parse_dump((work / TRAJ_DUMP).read_text())
    # Minimisation steps continue the step counter: frames at 0..60 (MD) and 80 (minimize).
    assert not truncated and [f.timestep for f in frames] == [0, 20, 40, 60, 80]
    first = frames[0]
    np.testing.assert_allclose(np.column_stack([first.columns[k] for k in ("xu", "yu", "zu")]), pos, atol=1e-4)
    np.testing.assert_allclose(first.lengths, box, rtol=1e-9)
    # Voronoi volumes tile the box.
    assert first.columns["c_aloxVoro[1]"].sum() == pytest.approx(np.prod(box), rel=1e-5)
    final, _ = parse_dump((work / FINAL_DUMP).read_text())
    assert {"x", "xu", "vx", "q", "c_aloxStress[1]"} <= set(final[0].columns)
    assert np.all(np.diff(final[0].columns["id"]) == 1)


@pytest.mark.lammps
def test_truncated_log_and_dump_are_detected(real_run):
    work, _, _ = real_run
    text = (work / "log.lammps").read_text()
    cut = parse_log(text[: len(text) // 2])
    assert not cut.completed
    dump = (work / TRAJ_DUMP).read_text()
    frames, truncated = parse_dump(dump[: len(dump) - 500])
    assert truncated and len(frames) == 4
    with pytest.raises(DumpFormatError):
        parse_dump(dump[: len(dump) - 500], allow_truncated_last=False)
    garbage = dump.replace("ITEM: NUMBER OF ATOMS", "ITEM: NUMBER OF ATOMZ", 1)
    with pytest.raises(DumpFormatError):
        parse_dump(garbage)


@pytest.mark.lammps
def test_error_of_failed_run_is_reported(tmp_path):
    pos, types, box = random_packing(10, 2.75, seed=1)
    charges = np.where(types == 1, 1.4175, -0.945)
    script = generate_script({"segments": [{"type": "nvt", "steps": 1, "temp": 300}]}).replace(
        "read_data structure.data", "read_data missing.data"
    )
    with pytest.raises(RuntimeError):
        run_lammps(tmp_path, script, {"structure.data": write_data(pos, types, charges, box)})
    log = parse_log((tmp_path / "log.lammps").read_text())
    assert log.errors and "missing.data" in log.errors[0]
    assert not log.completed
