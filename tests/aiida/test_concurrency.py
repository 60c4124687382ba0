"""Four studies submitted at once to a two-worker daemon on the embedded SQLite + ZeroMQ profile (issue #7).

Four ``aiida-aloxide study submit`` commands start at the same moment (four more writers on the SQLite
file besides the two daemon workers), with different seeds so that nothing is served from the cache.
All must finish with exit status 0, overlapping in time, with no "database is locked" anywhere.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.services.conftest import BIN, AiidaSandbox

pytestmark = [pytest.mark.lammps, pytest.mark.daemon]

SEEDS = (21, 22, 23, 24)
STUDY_ARGS = [
    "--protocol", "smoke", "-P", "0", "--no-softness", "--loading", "plane_strain",
    "--overrides", json.dumps({"tension": {"max_strain": 0.1}}),
]  # fmt: skip


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A profile made by ``aiida-aloxide setup`` with a two-worker daemon; stopped afterwards."""
    box = AiidaSandbox(tmp_path_factory.mktemp("concurrency"), "concurrency")
    try:
        box.aloxide("setup", "--profile", box.profile, "--mpiprocs", "1")
        box.verdi("config", "set", "daemon.timeout", "30")  # see test_daemon.py
        box.verdi("daemon", "start", "2")
        yield box
    finally:
        box.close()


def test_four_studies_at_once(sandbox, record_property):
    t0 = time.time()
    submit = [str(BIN / "aiida-aloxide"), "study", "submit", "-p", sandbox.profile, *STUDY_ARGS]
    submits = [
        subprocess.Popen(
            [*submit, "--seed", str(seed), "--label", f"seed{seed}"],
            env=sandbox.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for seed in SEEDS
    ]
    outputs = [proc.communicate(timeout=300)[0] for proc in submits]
    assert all(proc.returncode == 0 for proc in submits), outputs
    assert not any("database is locked" in out for out in outputs), outputs
    pks = [int(out.split("submitted study PK ", 1)[1].split(";", 1)[0]) for out in outputs]
    states = sandbox.probe("wait", "900", *map(str, pks))
    wall = time.time() - t0
    log = sandbox.daemon_log()
    assert all(s["state"] == "finished" and s["exit_status"] == 0 for s in states.values()), f"{states}\n{log[-3000:]}"
    assert "database is locked" not in log
    # All four were in flight at the same time: the last to start began before the first to end ended.
    overlap = min(s["mtime"] for s in states.values()) - max(s["ctime"] for s in states.values())
    assert overlap > 0, states
    densities = set()
    for info in sandbox.probe("describe", *map(str, pks)).values():
        assert info["exit_status"] == 0 and info["summary"] is not None
        assert all(row["state"] == "finished" and row["exit_status"] == 0 for row in info["tree"]), info["tree"]
        assert not any(row["cached"] for row in info["tree"])
        assert info["study_in_group"] and info["descendants_in_group"]
        densities.add(info["summary"]["rows"]["p0"]["density"])
    assert len(densities) == len(SEEDS), densities  # four independent samples
    assert info["unfinished_processes"] == []
    busy = sum(s["mtime"] - s["ctime"] for s in states.values())
    figures = {"studies": len(pks), "wall_s": round(wall, 1), "overlap_s": round(overlap, 1),
               "summed_study_s": round(busy, 1)}  # fmt: skip
    for key, value in figures.items():
        record_property(key, value)
    print(f"\n[reliability] concurrent studies: {figures}")
