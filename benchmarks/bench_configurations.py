"""Timings of the softness configuration steps at paper scale: time averaging and inherent structures.

Usage::

    python benchmarks/bench_configurations.py            # print the table
    python benchmarks/bench_configurations.py --write    # also write docs/benchmarks-configurations.md

* Time averaging (``features.configuration: time_averaged``): past-window means of the 100 example
  frames of a paper dynamics trajectory, 401 frames × 8100 atoms, window 3 ps = 6 frames.
* Inherent structures (``inherent``, the default): the ``minimize_frames`` LAMMPS script the
  ``aloxide.lammps`` CalcJob runs, on 8100-atom thermal frames, per frame, 1 and 2 MPI ranks. The
  frames come from a random 8100-atom packing (2.75 g/cm³, minimum distance 1.8 Å) relaxed and then run for
  1 ps of NVT at 300 K, so each frame is a 300 K snapshot near a local minimum, as the training
  frames are; the minimisation settings are the plane-strain steps' (CG, ftol 1e-6, ≤ 1000 iterations).
  The paper protocol minimises at most one frame per 2 ps of dynamics (``frame_spacing``), ≤ 100
  per sample.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from aiida_aloxide.analysis.configurations import past_window_average
from aiida_aloxide.calculations.script import frames_dump, generate_script
from aiida_aloxide.lammps_io import write_data
from aiida_aloxide.materials import load_material
from aiida_aloxide.packing import random_packing
from aiida_aloxide.workchains.softness import INHERENT_MINIMIZATION

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks-configurations.md"
N_UNITS = 1620  # 8100 atoms


def bench_average(repeat: int) -> float:
    rng = np.random.default_rng(0)
    pos = rng.random((401, 8100, 3)).astype(np.float32) * 44.0
    frames = np.sort(rng.choice(np.arange(6, 401), 100, replace=False))
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        past_window_average(pos, frames, 6)
        best = min(best, time.perf_counter() - t0)
    return best


def _lmp(workdir: Path, script: str, ranks: int) -> float:
    (workdir / "in.lmp").write_text(script)
    exe = shutil.which("lmp") or str(Path(__import__("lammps").__file__).parent / "lmp")
    mpirun = shutil.which("mpirun")
    cmd = [mpirun, "-np", str(ranks), exe, "-in", "in.lmp", "-log", "log.lammps"] if mpirun else [exe, "-in", "in.lmp"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=workdir, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def bench_minimize(n_frames: int, ranks: list[int]) -> dict[int, float]:
    pos, types, box = random_packing(N_UNITS, 2.75, 1.8, 7)  # the quench's starting density
    charges = np.where(types == 1, load_material().charges["Al"], load_material().charges["O"])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "structure.data").write_text(write_data(pos, types, charges, box))
        prep = generate_script(
            {
                "velocity_temperature": 300.0,
                "seed": 3,
                "dump_every": 100,
                "thermo_every": 100,
                "segments": [
                    {"type": "minimize", "maxiter": 2000},
                    {"type": "nvt", "steps": 100 * n_frames, "temp": [300.0, 300.0]},
                ],
            }  # fmt: skip
        )
        _lmp(work, prep, max(ranks))
        import re

        perf = re.findall(r"Performance: .*?, ([0-9.]+) timesteps/s", (work / "log.lammps").read_text())
        md_speed = float(perf[-1]) if perf else float("nan")
        from aiida_aloxide.lammps_io import parse_dump

        frames, _ = parse_dump((work / "trajectory.dump").read_text())
        frames = frames[1 : n_frames + 1]
        positions = np.stack(
            [np.column_stack([f.columns["xu"], f.columns["yu"], f.columns["zu"]]) - f.box[:, 0] for f in frames]
        )
        cells = np.stack([f.lengths for f in frames])
        (work / "frames.dump").write_text(frames_dump(positions, cells, types))
        script = generate_script(
            {
                "thermo_every": 1000,
                "segments": [{"type": "minimize_frames", "n_frames": len(frames), **INHERENT_MINIMIZATION}],
            }  # fmt: skip
        )
        return {r: _lmp(work, script, r) / len(frames) for r in ranks}, md_speed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--frames", type=int, default=4)
    args = ap.parse_args()
    t_avg = bench_average(args.repeat)
    per_frame, md_speed = bench_minimize(args.frames, [1, 2])
    rows = [
        ("time average, 100 example frames of 401 × 8100 atoms, window 6 frames", f"{t_avg:.2f} s"),
        *[(f"inherent structure of one 8100-atom 300 K frame, {r} MPI rank(s)", f"{t:.1f} s")
          for r, t in per_frame.items()],
        ("inherent structures of one paper sample (≤ 100 frames), 2 ranks", f"≤ {100 * per_frame[2] / 60:.0f} min"),
        ("for scale: NVT MD of the same 8100 atoms, 2 ranks (the machine's 43 steps/s in the docs)",
         f"{md_speed:.1f} steps/s"),
    ]  # fmt: skip
    lines = [
        "# Benchmarks: softness configurations",
        "",
        f"Measured with `python benchmarks/bench_configurations.py --write` on {platform.machine()}, "
        f"{os.cpu_count()} cores ({time.strftime('%Y-%m-%d')}). See the module docstring for what is timed.",
        "",
        "| step | wall time |",
        "|---|---|",
        *[f"| {a} | {b} |" for a, b in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        DOC.write_text(text)


if __name__ == "__main__":
    main()
