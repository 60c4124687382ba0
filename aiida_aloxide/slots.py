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

A chain of runs (the strain chunks of one tension) loses its slot between two runs — the next run is
submitted seconds after the last ends, and a waiting job takes the slot meanwhile. With
``ALOXIDE_SLOT_GRACE_S`` > 0 (default 0: measured on the demo, the held slot idles while AiiDA parses the
run, which costs more than the chain's wait) a job that says its chain continues (``--chain ID
--continues``) leaves its ranks **reserved for that chain** for :data:`GRACE_S` seconds after it ends;
the chain's next job takes them at once, a job with less work ahead only after the grace (a job with more
work ahead than the chain takes them at once: a reservation never holds back more important work).
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
#: Seconds a continuing chain keeps its ranks after one of its jobs ends (AiiDA parses, then submits the next).
#: Off (0) by default: on the demo the slot then idles while AiiDA parses the run (measured: one LAMMPS running
#: and the interpreter busy), which costs more than the chain's wait for the next free slot.
GRACE_S = float(os.environ.get("ALOXIDE_SLOT_GRACE_S", "0"))
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
    state.setdefault("reserved", {})
    return state


def _prune(state: dict[str, Any], now: float | None = None) -> None:
    """Drop ended grants (a continuing chain's ranks become a reservation) and waiters; expire reservations."""
    now = time.time() if now is None else now
    for pid, entry in list(state["granted"].items()):
        if not _alive(entry):
            del state["granted"][pid]
            if entry.get("chain"):
                state["reserved"][entry["chain"]] = {
                    "ranks": int(entry["ranks"]),
                    "until": now + GRACE_S,
                    "priority": float(entry["priority"]),
                }
    state["waiting"] = {pid: e for pid, e in state["waiting"].items() if _alive(e)}
    state["reserved"] = {c: r for c, r in state["reserved"].items() if float(r["until"]) > now}


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
        mine = state["reserved"].get(me["from_chain"]) if me["from_chain"] else None
        if mine is not None:  # the chain's next job: the reserved ranks are its own
            held = sum(int(r["ranks"]) for r in state["reserved"].values())
            granted = used + held - int(mine["ranks"]) + int(me["ranks"]) <= slots or used == 0
        else:  # first in line among the jobs without a reservation, and room beside grants and the reservations
            # of chains with at least as much work ahead (a reservation never holds back more important work)
            held = sum(int(r["ranks"]) for r in state["reserved"].values()
                       if float(r.get("priority", 0.0)) >= float(me["priority"]))  # fmt: skip
            line = [e for e in state["waiting"].values() if e.get("from_chain", "") not in state["reserved"]]
            first = min(line, key=lambda e: (-float(e["priority"]), float(e["since"]), e["pid"]))
            granted = first["pid"] == me["pid"] and (used + held + int(me["ranks"]) <= slots or used + held == 0)
        if granted:
            state["granted"][key] = state["waiting"].pop(key)
            if mine is not None:
                del state["reserved"][me["from_chain"]]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        tmp.replace(path)
        return granted


def acquire(
    directory: str | Path,
    slots: int,
    ranks: int,
    priority: float,
    holder: int,
    poll: float = 0.5,
    chain: str | None = None,
    continues: bool = False,
) -> float:
    """Block until ``holder`` (a live PID) may run ``ranks`` ranks; returns the seconds waited.

    ``chain``: the chain (work chain) the job belongs to — a reservation the chain holds is used; with
    ``continues`` the chain runs another job after this one, so the ranks stay reserved for it.
    """
    if slots < 1 or ranks < 1:
        raise ValueError(f"slots and ranks must be >= 1, got slots={slots}, ranks={ranks}")
    start = _start_time(holder)
    if start is None:
        raise ValueError(f"holder process {holder} does not exist")
    me = {"pid": holder, "start": start, "ranks": ranks, "priority": priority, "since": time.time(),
          "from_chain": chain or "", "chain": (chain or "") if continues else ""}  # fmt: skip
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


def prepend_text(
    pool: dict[str, Any],
    ranks: int,
    priority: float,
    python: str | None = None,
    chain: str | None = None,
    continues: bool = False,
) -> str:
    """The job-script line that waits for ``ranks`` slots of ``pool`` (the computer's :data:`POOL_PROPERTY`)."""
    python = python or sys.executable
    extra = ""
    if chain:
        if not all(c.isalnum() or c == "-" for c in chain):
            raise ValueError(f"chain id must be letters, digits and '-', got {chain!r}")
        extra = f" --chain {chain}" + (" --continues" if continues else "")
    return (
        f'"{python}" "{Path(__file__).resolve()}" acquire --dir "{pool["dir"]}" --slots {int(pool["slots"])} '
        f"--ranks {int(ranks)} --priority {float(priority):.6g} --holder $${extra}"
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
    acq.add_argument("--chain", default=None, help="the chain (work chain UUID) the job belongs to")
    acq.add_argument("--continues", action="store_true", help="the chain runs another job after this one")
    args = parser.parse_args(argv)
    waited = acquire(args.dir, args.slots, args.ranks, args.priority, args.holder, chain=args.chain,
                     continues=args.continues)  # fmt: skip
    print(f"[aloxide slot pool] started after waiting {waited:.1f} s for {args.ranks} of {args.slots} slots",
          file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
