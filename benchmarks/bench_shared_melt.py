"""What the study's shared liquid saves: LAMMPS seconds of melt / cool + liquid / compress per extra pressure.

Usage::

    python benchmarks/bench_shared_melt.py --study PK [--study PK ...]  # demo scale, from finished studies
    python benchmarks/bench_shared_melt.py --paper                      # paper scale, measured MD speed
    python benchmarks/bench_shared_melt.py --study PK --paper --write   # also write docs/benchmarks-shared-melt.md
    AIIDA_PATH=... python benchmarks/bench_shared_melt.py --study PK --append  # add a study of another profile

* Demo scale (``--study``, in the current AiiDA profile): LAMMPS' own wall time of every stage
  CalcJob of the study, grouped by stage. A study made before the liquid was shared ran melt,
  cool + liquid and compress once per pressure; one made after runs them once. The saving is one
  copy of them per pressure beyond the first.
* Paper scale (``--paper``): the paper protocol's stages of an 8100-atom sample, timed with the
  stage scripts the CalcJob runs (300 MD steps of each kind: NVT at the melt density, NVT at the
  compressed density, NPT quench) on 2 MPI ranks, times the stage lengths: a measured speed,
  extrapolated to the 145 ps of liquid MD each extra pressure no longer runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _report import emit

from aiida_aloxide.calculations.script import generate_script
from aiida_aloxide.lammps_io import write_data
from aiida_aloxide.materials import load_material
from aiida_aloxide.packing import random_packing
from aiida_aloxide.workchains.protocols import load_protocol
from aiida_aloxide.workchains.quench import LIQUID_STAGES, quench_stages

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks-shared-melt.md"
STEPS = 300  # MD steps timed per kind at paper scale


def study_stage_seconds(pk: int) -> dict[str, list[float]]:
    """LAMMPS seconds of each quench-side stage CalcJob of study ``pk``, by stage label (one entry per run)."""
    from aiida import orm

    study = orm.load_node(pk)
    seconds: dict[str, list[float]] = defaultdict(list)
    names = (*LIQUID_STAGES, "quench", "relax")
    for calc in study.called_descendants:
        if calc.process_type != "aiida.calculations:aloxide.lammps" or calc.label not in names:
            continue
        if calc.base.caching.get_cache_source() is None and "results" in calc.outputs:
            seconds[calc.label].append(float(calc.outputs.results.get("wall_time_s") or 0.0))
    return seconds


def demo_rows(pk: int) -> list[tuple[str, str]]:
    """Table rows of one study: liquid copies run, their LAMMPS seconds, the quench side's total."""
    from aiida import orm

    study = orm.load_node(pk)
    n_pressures = len(study.inputs.pressures.get_list())
    by_stage = study_stage_seconds(pk)
    copies = len(by_stage.get("melt", []))
    liquid = sum(sum(by_stage.get(name, [])) for name in LIQUID_STAGES)
    total = sum(sum(v) for v in by_stage.values())
    per_copy = liquid / copies if copies else float("nan")
    shared = "shared liquid" if copies == 1 and n_pressures > 1 else "liquid per pressure"
    return [
        (f"study PK {pk} ({study.inputs.protocol.value}, {n_pressures} pressures, {shared})", ""),
        ("  liquid runs (melt → cool + liquid → compress)", f"{copies}"),
        ("  LAMMPS s in the liquid stages, all copies / per copy", f"{liquid:.1f} / {per_copy:.1f}"),
        ("  LAMMPS s in all quench stages (liquid + NPT quench + relax)", f"{total:.1f}"),
        ("  saving of one shared liquid (per copy × extra pressures)", f"{per_copy * (n_pressures - 1):.1f} s"),
    ]


def _lammps(work: Path, script: str, ranks: int) -> str:
    """Run ``script`` with ``ranks`` MPI ranks in ``work``; LAMMPS' log."""
    (work / "in.lmp").write_text(script)
    exe = shutil.which("lmp") or str(Path(__import__("lammps").__file__).parent / "lmp")
    mpirun = shutil.which("mpirun")
    cmd = [mpirun, "-np", str(ranks), exe, "-in", "in.lmp"] if mpirun and ranks > 1 else [exe, "-in", "in.lmp"]
    subprocess.run(cmd, cwd=work, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return (work / "log.lammps").read_text()


def paper_speeds(ranks: int = 2) -> dict[str, float]:
    """Measured MD steps/s of an 8100-atom paper sample: NVT melt, NVT compressed, NPT quench."""
    params = load_protocol("quench", "paper")
    stages = dict(quench_stages(params, 0.0, 1))
    pos, types, box = random_packing(params["n_units"], params["initial_density"], params["min_distance"], 7)
    charges = np.where(types == 1, load_material().charges["Al"], load_material().charges["O"])
    common = {k: stages["melt"][k] for k in ("timestep", "tdamp", "pdamp", "cutoff", "kspace_accuracy", "seed")}
    tm, tl = params["melt_temperature"], params["liquid_temperature"]
    script = generate_script(
        {
            **common,
            "velocity_temperature": tm,
            "thermo_every": STEPS,
            "segments": [
                {"type": "nvt", "steps": STEPS, "temp": tm},
                {"type": "density", "value": params["compressed_density"]},
                {"type": "nvt", "steps": STEPS, "temp": tl},
                {"type": "npt", "steps": STEPS, "temp": [tl, tl], "press": 0.0, "couple": "iso"},
            ],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "structure.data").write_text(write_data(pos, types, charges, box))
        log = _lammps(work, script, ranks)
    perf = [float(x) for x in re.findall(r"Performance: .*?, ([0-9.]+) timesteps/s", log)]
    if len(perf) < 3:
        raise RuntimeError(f"expected 3 timed runs in the LAMMPS log, found {len(perf)}")
    return dict(zip(("nvt_initial", "nvt_compressed", "npt"), perf[:3], strict=True))


def paper_rows(speeds: dict[str, float]) -> list[tuple[str, str]]:
    """Paper-scale seconds per stage from measured speeds; the liquid's share of five quenches."""
    params = load_protocol("quench", "paper")
    dt = params["timestep"]
    steps = {
        "melt": params["melt_ps"] / dt,
        "cool_liquid": (params["cool_ps"] + params["liquid_ps"]) / dt,
        "compress": params["compressed_ps"] / dt,
        "quench": params["quench_ps"] / dt,
        "relax": (params["relax_nvt_ps"] + params["relax_npt_ps"]) / dt,
    }
    kind = {"melt": "nvt_initial", "cool_liquid": "nvt_initial", "compress": "nvt_compressed",
            "quench": "npt", "relax": "npt"}  # fmt: skip
    seconds = {name: n / speeds[kind[name]] for name, n in steps.items()}
    liquid = sum(seconds[name] for name in LIQUID_STAGES)
    quench = sum(seconds.values())
    five_before, five_after = 5 * quench, 5 * quench - 4 * liquid
    return [
        ("8100 atoms, 2 ranks: NVT at 2.75 g/cm³ / NVT at 3.175 g/cm³ / NPT (measured)",
         " / ".join(f"{speeds[k]:.1f}" for k in ("nvt_initial", "nvt_compressed", "npt")) + " steps/s"),
        ("one liquid: melt 45 + cool and liquid 55 + compress 45 ps", f"{liquid:.0f} s ({liquid / 3600:.2f} h)"),
        ("one whole quench (liquid + 650 ps NPT quench + 35 ps relax)", f"{quench:.0f} s ({quench / 3600:.2f} h)"),
        ("five pressures, liquid per pressure / shared",
         f"{five_before / 3600:.1f} h / {five_after / 3600:.1f} h"),
        ("saving of the shared liquid at five pressures", f"{(five_before - five_after) / 3600:.1f} h of LAMMPS "
         f"({100 * (five_before - five_after) / five_before:.0f} % of the five quenches)"),
    ]  # fmt: skip


def main() -> None:
    """Print (and with ``--write`` record) the demo- and paper-scale figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=int, action="append", default=[], help="PK of a finished study (repeatable).")
    ap.add_argument("--profile", default=None, help="AiiDA profile of the studies [default profile].")
    ap.add_argument("--paper", action="store_true", help="Time the paper-scale MD (about a minute on 2 cores).")
    ap.add_argument("--write", action="store_true", help=f"Write {DOC.name} in docs/.")
    ap.add_argument("--append", action="store_true", help=f"Add the rows to the table of {DOC.name} (another profile).")
    args = ap.parse_args()
    rows: list[tuple[str, str]] = []
    if args.study:
        from aiida import load_profile

        load_profile(args.profile, allow_switch=True)
        for pk in args.study:
            rows += demo_rows(pk)
    if args.paper:
        rows += paper_rows(paper_speeds())
    if not rows:
        ap.error("give --study PK and/or --paper")
    if args.append and DOC.exists():
        lines = [*DOC.read_text().splitlines(), *[f"| {a} | {b} |" for a, b in rows]]
        emit(lines, DOC, True)
        return
    lines = [
        "# Benchmarks: the shared liquid",
        "",
        f"Measured with `python benchmarks/bench_shared_melt.py` on {platform.machine()}, {os.cpu_count()} cores "
        f"({time.strftime('%Y-%m-%d')}). See the module docstring for what is timed.",
        "",
        "| what | figure |",
        "|---|---|",
        *[f"| {a} | {b} |" for a, b in rows],
    ]
    emit(lines, DOC, args.write)


if __name__ == "__main__":
    main()
