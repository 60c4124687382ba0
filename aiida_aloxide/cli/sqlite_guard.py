"""One writer per SQLite profile: refuse a foreground run while another interpreter has the database open.

SQLite serialises writers; two interpreters that both run work chains on one profile (``study run`` in
one shell, ``softness train`` in another) ended in "database is locked", with one of them stuck until
killed. The daemon's workers are expected (processes submitted to it are run by them alone); any
other Python process holding the profile's ``database.sqlite`` open is named in the error, with the
two ways out: submit to the daemon, or use PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

__all__ = ["LOCKED_ADVICE", "database_file", "ensure_single_writer", "other_openers"]

LOCKED_ADVICE = (
    "two interpreters writing one SQLite profile can deadlock: let one of them finish, submit the work to the "
    "daemon instead (`aiida-aloxide study submit`, `--submit`), or use a PostgreSQL profile "
    "(`aiida-aloxide setup --postgres`)"
)


def database_file(profile) -> Path | None:
    """The SQLite file of a ``core.sqlite_dos`` / ``core.sqlite_zip`` profile, None for other storage."""
    if not str(profile.storage_backend).startswith("core.sqlite"):
        return None
    root = Path(profile.storage_config.get("filepath", ""))
    path = root / "database.sqlite" if root.is_dir() else root
    return path if path.exists() else None


def other_openers(path: Path) -> list[tuple[int, str]]:
    """(PID, command line) of the other processes with ``path`` open, daemon workers left out (Linux /proc)."""
    target = os.path.realpath(path)
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            fds = list((entry / "fd").iterdir())
            holds = any(os.path.realpath(fd) == target for fd in fds)
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (PermissionError, FileNotFoundError, ProcessLookupError, OSError):
            continue
        if holds and "daemon worker" not in cmd:
            found.append((int(entry.name), cmd))
    return found


def ensure_single_writer(profile=None) -> None:
    """Raise a click error naming the other interpreters that have this SQLite profile's database open.

    ``profile``: default the loaded one. Called before a command runs work chains in its own interpreter.
    """
    if profile is None:
        from aiida.manage import get_manager

        profile = get_manager().get_profile()
        if profile is None:
            return
    path = database_file(profile)
    if path is None:
        return
    others = other_openers(path)
    if others:
        names = "; ".join(f"PID {pid}: {cmd[:100]}" for pid, cmd in others[:3])
        raise click.ClickException(
            f"another process has the SQLite profile {profile.name!r} open ({names}); {LOCKED_ADVICE}"
        )
