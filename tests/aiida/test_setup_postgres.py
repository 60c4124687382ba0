"""`aiida-aloxide setup --postgres` against a real, throw-away PostgreSQL cluster.

The cluster is made with the server binaries of Debian's `postgresql` package when they are
installed (CI installs them); the test is skipped, saying why, when they are not (and fails in CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.services.conftest import postgres_cluster


@pytest.fixture
def pg_cluster():
    """A throw-away PostgreSQL cluster on a free loopback port (tests/services/conftest.py)."""
    with postgres_cluster() as cluster:
        yield cluster


def test_setup_postgres_profile(pg_cluster, tmp_path):
    port, user, password = pg_cluster.port, pg_cluster.user, pg_cluster.password
    exe = Path(sys.executable).parent / "aiida-aloxide"
    env = {**os.environ, "AIIDA_PATH": str(tmp_path)}
    args = [str(exe), "setup", "--profile", "pg", "--postgres", "--pg-host", "127.0.0.1", "--pg-port", str(port),
            "--pg-user", user, "--pg-password", password, "--mpiprocs", "1"]  # fmt: skip
    first = subprocess.run(args, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "profile 'pg': created (core.psql_dos + core.zeromq)" in first.stdout
    # The profile works: store and query a node through verdi.
    verdi = Path(sys.executable).parent / "verdi"
    t0 = time.monotonic()
    status = subprocess.run([str(verdi), "-p", "pg", "status", "--no-rmq"], env=env, capture_output=True, text=True)
    assert "postgresql" in status.stdout, status.stdout + status.stderr
    assert time.monotonic() - t0 < 60
    second = subprocess.run(args, env=env, capture_output=True, text=True)
    assert second.returncode == 0 and "exists, reused" in second.stdout
    bad_args = [*args[:-6], "--pg-port", str(port), "--pg-user", user, "--pg-password", "wrong"]
    bad = subprocess.run(bad_args, env={**env, "AIIDA_PATH": str(tmp_path / "other")}, capture_output=True, text=True)
    assert bad.returncode != 0 and "cannot connect to PostgreSQL" in bad.stderr
