"""Old and new study engine side by side: the README's demo command from two fresh clones, one after the other.

    python benchmarks/bench_demo_engines.py OLD_COMMIT [NEW_COMMIT] [--workdir DIR]

Each commit is cloned into ``DIR/<commit>``, gets its own ``.venv`` (``scripts/demo.sh`` installs it) and
its own ``AIIDA_PATH``; the whole ``demo.sh`` is timed, and the CPU time (user + sys) of every ``lmp``
process is summed by polling ``/proc`` every 0.1 s (a run's last < 0.1 s may be missed). Prints wall
time, LAMMPS CPU, the study's own summary line and the ratios new / old. Run it on an idle machine:
about 30 minutes on 2 cores. docs/validation.md records its figures.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import threading
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


class LammpsCpu(threading.Thread):
    """Sum utime + stime of every process named ``lmp`` seen while running (max per PID and start time)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[tuple[str, str], float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    text = Path(f"/proc/{pid}/stat").read_text()
                except OSError:
                    continue
                if text[text.index("(") + 1 : text.rindex(")")] != "lmp":
                    continue
                fields = text[text.rindex(")") + 2 :].split()
                key = (pid, fields[19])
                self.seen[key] = max(self.seen.get(key, 0.0), (int(fields[11]) + int(fields[12])) / TICKS)
            time.sleep(0.1)

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def run_demo(repo: Path, commit: str, workdir: Path) -> dict:
    """Clone ``commit``, run its ``scripts/demo.sh`` in a fresh AIIDA_PATH; wall, LAMMPS CPU and the study's lines."""
    clone = workdir / commit
    subprocess.run(["rm", "-rf", str(clone)], check=True)
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", commit], check=True)
    env = {**os.environ, "AIIDA_PATH": str(workdir / f"{commit}-aiida")}
    probe = LammpsCpu()
    probe.start()
    t0 = time.monotonic()
    out = subprocess.run(["bash", "scripts/demo.sh"], cwd=clone, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    probe.stop.set()
    probe.join()
    lines = [line for line in out.stdout.splitlines() if re.match(r"\[demo\] (PK \d+ \w+ in|LAMMPS ran)", line)]
    return {"commit": commit, "rc": out.returncode, "wall": wall, "lammps_cpu": probe.seconds, "lines": lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new", nargs="?", default="HEAD")
    parser.add_argument("--workdir", default="/tmp/aloxide-engines")
    args = parser.parse_args()
    repo = Path(__file__).resolve().parent.parent
    new = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", args.new], capture_output=True,
                         text=True, check=True).stdout.strip()  # fmt: skip
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    results = [run_demo(repo, c, workdir) for c in (args.old, new)]
    for r in results:
        print(f"{r['commit']}: rc {r['rc']}, wall {r['wall']:.0f} s, LAMMPS CPU {r['lammps_cpu']:.0f} s")
        for line in r["lines"]:
            print(f"    {line}")
    old, cur = results
    print(f"new / old: wall {cur['wall'] / old['wall']:.2f}, LAMMPS CPU {cur['lammps_cpu'] / old['lammps_cpu']:.2f}")


if __name__ == "__main__":
    main()
