"""`aiida-aloxide setup --postgres` against a real, throw-away PostgreSQL cluster.

The cluster is made with the server binaries of Debian's `postgresql` package when they are
installed (CI installs them); the test is skipped, saying why, when they are not.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pg_cluster():
    """A temporary PostgreSQL cluster on a free loopback port; yields (port, superuser, password)."""
    if not BIN:
        pytest.skip("PostgreSQL server binaries not installed (Debian package `postgresql`)")
    bindir = Path(BIN[-1])
    # Not below pytest's tmp folder: the `postgres` user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="aloxide-pg-"))
    data = root / "data"
    password = "aloxide-test"
    pwfile = root / "pw"
    pwfile.write_text(password)
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser")
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile),
         "--auth", "scram-sha-256"],
        check=True, capture_output=True,
    )  # fmt: skip
    log = root / "log"
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start",
         "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield port, "postgres", password
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def test_setup_postgres_profile(pg_cluster, tmp_path):
    port, user, password = pg_cluster
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
