"""aiida-aloxide setup: idempotent profile, computer and code; the CLI around it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aiida_aloxide.cli import cli
from aiida_aloxide.setup import ensure_code, ensure_computer, find_executable, lammps_binary


def test_ensure_computer_and_code_are_idempotent(aiida_profile, tmp_path):
    c1 = ensure_computer("idem-host", workdir=tmp_path)
    c2 = ensure_computer("idem-host", workdir=tmp_path)
    assert c1.pk == c2.pk
    assert c1.get_default_mpiprocs_per_machine() == os.cpu_count()
    assert c1.get_mpirun_command()[0] == str(find_executable("mpirun"))
    k1 = ensure_code(c1, "lmp-idem")
    k2 = ensure_code(c1, "lmp-idem")
    assert k1.pk == k2.pk
    assert k1.default_calc_job_plugin == "aloxide.lammps"
    assert str(k1.get_executable()) == str(lammps_binary()[0])
    assert "LD_LIBRARY_PATH" in k1.prepend_text


def test_cli_setup_creates_then_reuses_profile(tmp_path):
    """The real console script in a fresh AIIDA_PATH: first run creates, second run reuses."""
    exe = Path(sys.executable).parent / "aiida-aloxide"
    env = {**os.environ, "AIIDA_PATH": str(tmp_path)}
    first = subprocess.run([str(exe), "setup", "--mpiprocs", "1"], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "profile 'aloxide': created (core.sqlite_dos + core.zeromq)" in first.stdout
    assert "code 'lammps@localhost-aloxide': created" in first.stdout
    second = subprocess.run([str(exe), "setup"], env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("exists, reused") == 3
    config = json.loads((tmp_path / ".aiida" / "config.json").read_text())
    assert config["default_profile"] == "aloxide"
    assert config["profiles"]["aloxide"]["options"]["caching.enabled_for"]


def test_cli_quench_refuses_bad_input(aiida_profile, lammps_code):
    runner = CliRunner()
    code = lammps_code.full_label
    res = runner.invoke(cli, ["quench", "-p", aiida_profile.name, "-P", "-3", "--code", code, "--protocol", "smoke"])
    assert res.exit_code != 0 and "pressure must be between 0 and 50" in res.output
    res = runner.invoke(cli, ["quench", "-p", aiida_profile.name, "-P", "1", "--code", code, "--protocol", "nope"])
    assert res.exit_code != 0 and "unknown protocol" in res.output
    res = runner.invoke(cli, ["quench", "-p", aiida_profile.name, "-P", "1", "--code", "nocode@nowhere"])
    assert res.exit_code != 0 and "not found" in res.output


def test_setup_after_an_archive_import_makes_its_own_computer_and_code(aiida_profile, tmp_path):
    """An imported computer (not configured here) and code (lmp of another machine) under the default labels are
    renamed, not reused: runs would fail on them (issue #19 imports the shared archives before `setup`)."""
    from aiida import orm

    from aiida_aloxide.setup import SetupReport, ensure_code, ensure_computer

    foreign = orm.Computer(label="imported-box", hostname="elsewhere", transport_type="core.local",
                           scheduler_type="core.direct", workdir=str(tmp_path)).store()  # fmt: skip
    report = SetupReport()
    computer = ensure_computer("imported-box", mpiprocs=1, workdir=tmp_path / "w", report=report)
    assert (
        computer.uuid != foreign.uuid and orm.load_computer(foreign.pk).label == f"imported-box-imported-{foreign.pk}"
    )
    stale = orm.InstalledCode(computer=computer, filepath_executable="/nowhere/lmp", label="lmp-x").store()
    code = ensure_code(computer, "lmp-x", report=report)
    assert code.uuid != stale.uuid and orm.load_node(stale.pk).label == f"lmp-x-imported-{stale.pk}"
    assert ensure_code(computer, "lmp-x", report=report).uuid == code.uuid  # the good one is reused
    assert sum("renamed" in line for line in report.lines) == 2


def test_slot_pool_refuses_more_slots_than_cores_unless_asked(aiida_profile, tmp_path):
    """A pool of more ranks than cores oversubscribes the machine: refused before anything is made."""
    from aiida_aloxide.slots import POOL_PROPERTY

    ncores = os.cpu_count() or 1
    with pytest.raises(ValueError, match="oversubscribe"):
        ensure_computer("pool-host", workdir=tmp_path, slots=ncores + 1)
    with pytest.raises(ValueError, match="slots must be >= 1"):
        ensure_computer("pool-host", workdir=tmp_path, slots=0)
    computer = ensure_computer("pool-host", workdir=tmp_path, slots=ncores + 1, oversubscribe=True)
    assert computer.get_property(POOL_PROPERTY)["slots"] == ncores + 1
    computer = ensure_computer("pool-host", workdir=tmp_path)  # reused: the pool stays as set
    assert computer.get_property(POOL_PROPERTY)["slots"] == ncores + 1
    result = CliRunner().invoke(cli, ["setup", "--slots", str(ncores + 5)])
    assert result.exit_code != 0 and "--oversubscribe" in result.output, result.output
