"""The slot pool (aiida_aloxide/slots.py) with real processes: never more ranks than slots, most work first,
a killed job frees its slots, and the job-script line it writes works from a shell."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aiida_aloxide import slots

SLOTS_PY = Path(slots.__file__).resolve()


def _job(pool: Path, log: Path, name: str, ranks: int, priority: float, seconds: float, n_slots: int):
    """A shell job as the pool sees one: acquire (holder = the shell), record start/end, sleep."""
    script = (
        f'"{sys.executable}" "{SLOTS_PY}" acquire --dir "{pool}" --slots {n_slots} --ranks {ranks} '
        f"--priority {priority} --holder $$ && "
        f'echo "{name} start $(date +%s.%N)" >> "{log}" && sleep {seconds} && '
        f'echo "{name} end $(date +%s.%N)" >> "{log}"'
    )
    return subprocess.Popen(["bash", "-c", script], stderr=subprocess.PIPE, text=True)


def _intervals(log: Path) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        name, _, t = line.split()
        out.setdefault(name, []).append(float(t))
    return out


def _wait_for(predicate, timeout: float = 20.0) -> None:
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError
        time.sleep(0.05)


def test_never_more_ranks_than_slots(tmp_path):
    """Five 1-rank jobs on 2 slots: at no moment do three run."""
    pool, log = tmp_path / "pool", tmp_path / "log"
    jobs = [_job(pool, log, f"j{k}", 1, 1.0, 0.6, 2) for k in range(5)]
    for job in jobs:
        assert job.wait(timeout=60) == 0
    spans = list(_intervals(log).values())
    assert len(spans) == 5
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    running, peak = 0, 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak == 2  # full, never over
    assert "started after waiting" in jobs[-1].stderr.read()


def test_most_work_first_and_wide_jobs_wait_for_room(tmp_path):
    """With the single slot taken, waiters of priority 1, 9, 5 start 9, 5, 1; a 2-rank job on 2 slots waits for both."""
    pool, log = tmp_path / "pool", tmp_path / "log"
    holder = _job(pool, log, "holder", 1, 0.0, 1.5, 1)
    _wait_for(lambda: log.exists())
    waiters = [_job(pool, log, f"w{p}", 1, float(p), 0.2, 1) for p in (1, 9, 5)]
    _wait_for(lambda: len(slots.pool_state(pool)["waiting"]) == 3)
    for job in (holder, *waiters):
        assert job.wait(timeout=60) == 0
    starts = {name: t[0] for name, t in _intervals(log).items()}
    assert sorted(["w1", "w9", "w5"], key=starts.get) == ["w9", "w5", "w1"]

    log2 = tmp_path / "log2"
    one = _job(pool, log2, "one", 1, 0.0, 1.0, 2)
    _wait_for(lambda: log2.exists())
    wide = _job(pool, log2, "wide", 2, 100.0, 0.1, 2)
    assert one.wait(timeout=60) == 0 and wide.wait(timeout=60) == 0
    t = _intervals(log2)
    assert t["wide"][0] >= t["one"][1]  # the 2-rank job started only when both slots were free


def test_killed_job_frees_its_slot(tmp_path):
    """A job killed while holding the only slot does not block the next one."""
    pool, log = tmp_path / "pool", tmp_path / "log"
    victim = _job(pool, log, "victim", 1, 1.0, 60.0, 1)
    _wait_for(lambda: log.exists())
    victim.kill()
    victim.wait()
    nxt = _job(pool, log, "next", 1, 1.0, 0.1, 1)
    assert nxt.wait(timeout=20) == 0
    assert "next" in _intervals(log)


def test_bad_requests_are_refused(tmp_path):
    """Zero slots or ranks, or a holder that does not exist: an error, not a hang."""
    with pytest.raises(ValueError, match="slots and ranks"):
        slots.acquire(tmp_path, 0, 1, 1.0, holder=1)
    with pytest.raises(ValueError, match="does not exist"):
        slots.acquire(tmp_path, 1, 1, 1.0, holder=2**22 + 12345)


def test_prepend_text_runs_in_a_shell(tmp_path):
    """The job-script line :func:`slots.prepend_text` writes acquires a slot when run by bash."""
    pool = {"slots": 1, "dir": str(tmp_path / "pool")}
    line = slots.prepend_text(pool, ranks=1, priority=3.0)
    out = subprocess.run(["bash", "-c", f"{line} && echo ran"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == "ran"
    state = json.loads((tmp_path / "pool" / "pool.json").read_text())
    assert len(state["granted"]) == 1  # the (now ended) shell held it; pruned on the next look
    assert slots.pool_state(tmp_path / "pool")["granted"] == {}
