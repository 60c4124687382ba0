"""Live stage progress read from a LAMMPS log (issue #20): steps done / total, simulated ps, speed, ETA."""

from __future__ import annotations

import datetime
import os
import time
from types import SimpleNamespace

from aiida_aloxide.cli.live import StageProgress, stage_progress, total_steps

LOG = """LAMMPS (22 Jul 2025)
Step Time Temp Press PotEng
         0   0              300   1.0  -16000
       500   0.5            301   2.0  -16001
      1000   1.0            299   3.0  -16002
"""


def _calc(folder, stage, label="quench"):
    """A stand-in for a running aloxide.lammps CalcJob node: what stage_progress reads of one."""
    return SimpleNamespace(
        inputs=SimpleNamespace(parameters=SimpleNamespace(get_dict=lambda: stage)),
        get_remote_workdir=lambda: str(folder),
        get_option=lambda name: "aloxide.in",
        ctime=datetime.datetime.now(datetime.UTC),
        label=label, process_label="AloxideLammpsCalculation", pk=7,
    )  # fmt: skip


def test_total_steps_of_each_stage_kind():
    assert total_steps({"segments": [{"type": "nvt", "steps": 100}, {"type": "npt", "steps": 50}]}) == (150, "steps")
    assert total_steps({"segments": [{"type": "strain_steps", "strains": [0, 0.01, 0.02]}]}) == (3, "strain steps")
    assert total_steps({"segments": [{"type": "minimize_frames", "n_frames": 12}]}) == (12, "frames")
    assert total_steps({"segments": []}) == (None, "")


def test_md_stage_read_from_its_log(tmp_path):
    (tmp_path / "aloxide.in").write_text("run 4000\n")
    os.utime(tmp_path / "aloxide.in", (time.time() - 10, time.time() - 10))  # started 10 s ago
    (tmp_path / "log.lammps").write_text(LOG)
    p = stage_progress(_calc(tmp_path, {"segments": [{"type": "nvt", "steps": 4000}]}))
    assert (p.done, p.total, p.unit, p.ps) == (1000, 4000, "steps", 1.0)
    assert 90 < p.rate < 110  # 1000 steps in ~10 s
    text = p.text()
    assert text.startswith("quench: 1000/4000 steps (1.0 ps), ") and "steps/s, ETA" in text


def test_strain_and_unreadable_stages(tmp_path):
    (tmp_path / "aloxide.in").write_text("")
    (tmp_path / "strain_steps.txt").write_text("0 0.0\n1 0.01\n")
    p = stage_progress(_calc(tmp_path, {"segments": [{"type": "strain_steps", "strains": [0, 0.01, 0.02, 0.03]}]},
                             label="strain_000"))  # fmt: skip
    assert (p.done, p.total, p.unit) == (2, 4, "strain steps") and p.text().startswith("strain_000: 2/4 strain steps")
    gone = stage_progress(_calc(tmp_path / "elsewhere", {"segments": [{"type": "nvt", "steps": 10}]}))
    assert gone.done is None and "log not readable here" in gone.text()
    assert StageProgress(1, "x", 5, None, "steps", None, None, 3.0).text() == "x: 5/? steps"
