"""A slot pool for LAMMPS jobs on one machine: at most ``slots`` ranks run at once, the most work first.

AiiDA's direct scheduler starts every job as soon as it is submitted, so a study that launches six
runs on a 2-core machine oversubscribes it (MPI ranks polling each other on shared cores waste CPU
time). ``aiida-aloxide setup`` gives the local computer a pool (computer property
:data:`POOL_PROPERTY`); every LAMMPS job script then first calls this file as a script (stdlib only, no
AiiDA import, so it costs milliseconds)::

    python slots.py acquire --dir DIR --slots 2 --ranks 1 --priority 8.4e6 --holder $$

which blocks until the job may start. The pool is a JSON file in ``DIR`` changed under an exclusive
``flock``. A grant belongs to the job script's shell (``--holder``, its PID and start time), so it ends
when that process ends, however it ends (a killed job never keeps its slots). Among waiting jobs the
one with the highest ``--priority`` (estimated work: atoms × steps of its whole remaining chain) starts
first, then the oldest; a job never starts ahead of one with higher priority (no starvation of wide
jobs). A job asking for more ranks than the pool has is started when the pool is empty.

A chain of runs (the strain chunks of one tension) gives its slot up between two runs: AiiDA submits
the next run only after parsing the last one, and a waiting job takes the slot meanwhile. Keeping the
slot for the chain was tried (session 7) and measured worse on the demo: the held slot idled while the
interpreter parsed (docs/validation.md).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["POOL_PROPERTY", "acquire", "pool_state", "prepend_text"]

#: Computer property holding ``{"slots": N, "dir": path}``; absent: no pool (SLURM does the queueing).
POOL_PROPERTY = "aloxide_slot_pool"
STATE = "pool.json"
LOCK = "pool.lock"


def _start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot, /proc) or ``None`` if it has ended; PID reuse guard."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            text = handle.read()
        fields = text[text.rindex(")") + 2 :].split()
        return None if fields[0] in ("Z", "X") else fields[19]  # a zombie has ended, even if not reaped yet
    except FileNotFoundError:
        return None
    except (OSError, ValueError, IndexError):  # no /proc (macOS): fall back to "does it exist"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "?"


def _alive(entry: dict[str, Any]) -> bool:
    start = _start_time(int(entry["pid"]))
    return start is not None and (start == entry.get("start") or "?" in (start, entry.get("start")))


def _load(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        state = {}
    state.setdefault("granted", {})
    state.setdefault("waiting", {})
    return state


def _prune(state: dict[str, Any]) -> None:
    """Drop grants and waiters whose process has ended."""
    for key in ("granted", "waiting"):
        state[key] = {pid: e for pid, e in state[key].items() if _alive(e)}


def _try(directory: Path, slots: int, me: dict[str, Any]) -> bool:
    """One locked look at the pool: register ``me`` as waiting, grant it if it is first in line and fits."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK, "a+", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = directory / STATE
        state = _load(path)
        _prune(state)
        key = str(me["pid"])
        state["waiting"].setdefault(key, me)
        used = sum(int(e["ranks"]) for e in state["granted"].values())
        first = min(state["waiting"].values(), key=lambda e: (-float(e["priority"]), float(e["since"]), e["pid"]))
        granted = first["pid"] == me["pid"] and (used + int(me["ranks"]) <= slots or used == 0)
        if granted:
            state["granted"][key] = state["waiting"].pop(key)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        tmp.replace(path)
        return granted


def acquire(directory: str | Path, slots: int, ranks: int, priority: float, holder: int, poll: float = 0.5) -> float:
    """Block until ``holder`` (a live PID) may run ``ranks`` ranks; returns the seconds waited."""
    if slots < 1 or ranks < 1:
        raise ValueError(f"slots and ranks must be >= 1, got slots={slots}, ranks={ranks}")
    start = _start_time(holder)
    if start is None:
        raise ValueError(f"holder process {holder} does not exist")
    me = {"pid": holder, "start": start, "ranks": ranks, "priority": priority, "since": time.time()}
    t0 = time.monotonic()
    while not _try(Path(directory), slots, me):
        time.sleep(poll)
    return time.monotonic() - t0


def pool_state(directory: str | Path) -> dict[str, Any]:
    """The pool's live grants and waiters (ended processes dropped), for display and tests."""
    directory = Path(directory)
    if not (directory / STATE).exists():
        return {"granted": {}, "waiting": {}}
    with open(directory / LOCK, "a+", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        state = _load(directory / STATE)
    _prune(state)
    return state


def prepend_text(pool: dict[str, Any], ranks: int, priority: float, python: str | None = None) -> str:
    """The job-script line that waits for ``ranks`` slots of ``pool`` (the computer's :data:`POOL_PROPERTY`)."""
    python = python or sys.executable
    return (
        f'"{python}" "{Path(__file__).resolve()}" acquire --dir "{pool["dir"]}" --slots {int(pool["slots"])} '
        f"--ranks {int(ranks)} --priority {float(priority):.6g} --holder $$"
    )


def main(argv: list[str] | None = None) -> int:
    """``acquire``: block until this job may start (prints the wait to stderr)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    acq = sub.add_parser("acquire", help="wait for free slots")
    acq.add_argument("--dir", required=True)
    acq.add_argument("--slots", type=int, required=True)
    acq.add_argument("--ranks", type=int, default=1)
    acq.add_argument("--priority", type=float, default=0.0)
    acq.add_argument("--holder", type=int, required=True, help="PID whose life the grant lasts (the job shell)")
    args = parser.parse_args(argv)
    waited = acquire(args.dir, args.slots, args.ranks, args.priority, args.holder)
    print(f"[aloxide slot pool] started after waiting {waited:.1f} s for {args.ranks} of {args.slots} slots",
          file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
