"""aiida-aloxide setup: idempotent profile, computer and code; the CLI around it."""

from __future__ import annotations

import os

from aiida.manage.configuration import load_profile
from click.testing import CliRunner

from aiida_aloxide.cli import cli
from aiida_aloxide.setup import ensure_code, ensure_computer, find_executable


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
    assert str(k1.get_executable()) == str(find_executable("lmp"))


def test_cli_setup_creates_then_reuses_profile(aiida_config, aiida_profile):
    runner = CliRunner()
    first = runner.invoke(cli, ["setup", "--profile", "cli-test-profile", "--mpiprocs", "1"])
    assert first.exit_code == 0, first.output
    assert "profile 'cli-test-profile': created (core.sqlite_dos + core.zeromq)" in first.output
    second = runner.invoke(cli, ["setup", "--profile", "cli-test-profile"])
    assert second.exit_code == 0, second.output
    assert "exists, reused" in second.output
    assert "cli-test-profile" in aiida_config.profile_names
    assert aiida_config.get_option("caching.enabled_for", scope="cli-test-profile")
    load_profile(aiida_profile.name, allow_switch=True)  # setup switched profiles: switch back


def test_cli_quench_refuses_bad_input(aiida_profile, lammps_code):
    runner = CliRunner()
    code = lammps_code.full_label
    res = runner.invoke(cli, ["quench", "-p", aiida_profile.name, "-P", "-3", "--code", code, "--protocol", "smoke"])
    assert res.exit_code != 0 and "pressure must be between 0 and 50" in res.output
    res = runner.invoke(cli, ["quench", "-p", aiida_profile.name, "-P", "1", "--code", code, "--protocol", "nope"])
    assert res.exit_code != 0 and "unknown protocol" in res.output
    res = runner.invoke(cli, ["quench", "-p", aiida_profile.name, "-P", "1", "--code", "nocode@nowhere"])
    assert res.exit_code != 0 and "not found" in res.output
