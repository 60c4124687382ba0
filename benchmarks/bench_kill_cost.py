"""What a SIGKILL of LAMMPS costs, per kind of stage: measured at demo scale through the work chains.

Usage::

    python benchmarks/bench_kill_cost.py [--profile NAME] [--write]   # ≈ 10 min on 2 cores

Each case runs one work chain twice on the same input: once with an MPI launcher that SIGKILLs
the LAMMPS run of the stage in question once, half-way between two checkpoints, and once
undisturbed. Reported per stage: the MD steps the kill lost (the killed run's last step minus the
step the resumed run started from), the stage's wall time with and without the kill, and their
difference, which is the cost of the kill: the lost MD, the resubmission through AiiDA and the
second LAMMPS start-up (restart file, PPPM set-up). The stage lengths are the demo protocol's
sample size with shortened times, and checkpoint intervals chosen so that every stage has
checkpoints (the demo itself writes none); the lost MD scales with the interval, the overhead does not.

Cases: the NPT quench (from a shared liquid), the tension NPT equilibration, a plane-strain chunk
(no checkpoint inside a strain step: resumes from the last completed step, exit 311), a
plane-stress chunk, a recorded dynamics chunk. Needs a profile made by ``aiida-aloxide setup``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from _report import emit

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks-kill-cost.md"
#: Plane strain resets the step counter per strain step: kill once the second step's NVT has begun.
SECOND_STEP_STARTED = "[ \"$(grep -c 'ITEM: TIMESTEP' trajectory.dump 2>/dev/null)\" -ge 2 ] && sleep 0.5"


def _kill_wrapper(folder: Path, pattern: str, kill_at: int | str) -> Path:
    """The test suite's kill-once launcher (``tests/helpers.kill_at_step_wrapper``) for one case's folder."""
    sys.path.insert(0, str(ROOT))
    from tests.helpers import kill_at_step_wrapper

    return kill_at_step_wrapper(folder, pattern, kill_at)[0]


def _stage_costs(killed_chain, twin_chain, stage: str) -> dict[str, float | int | str]:
    """Steps lost and wall seconds of restart wrapper ``stage`` in the killed and the undisturbed chain."""
    wrapper = next(c for c in killed_chain.called if c.label == stage)
    twin = next(c for c in twin_chain.called if c.label == stage)
    runs = sorted((c for c in wrapper.called if c.process_type.endswith("aloxide.lammps")), key=lambda c: c.ctime)
    if len(runs) < 2:
        raise RuntimeError(f"stage {stage}: the kill did not happen ({len(runs)} run)")
    killed, resumed = runs[0], runs[1]
    last = int(killed.outputs.thermo.get_array("step")[-1]) if "thermo" in killed.outputs else 0
    params = resumed.inputs.parameters.get_dict()
    start: int | str = int(params.get("resume_step", 0) or 0)
    lost = max(last - int(start), 0)
    if "resume_step" not in params:  # a strain loop (exit 311): its step counter restarts every strain step
        done = int(params["segments"][0].get("first_index", 0))
        start, lost = f"the end of strain step {done}", last  # the MD of the step in progress is lost
    seconds = lambda n: (n.mtime - n.ctime).total_seconds()  # noqa: E731
    return {
        "exit": killed.exit_status,
        "lost_steps": lost,
        "killed_at": last,
        "resumed_from": start,
        "wall_killed": seconds(wrapper),
        "wall_twin": seconds(twin),
        "resumed_lammps": float(resumed.outputs.results.get("wall_time_s") or 0.0),
    }


def run_cases(code) -> list[tuple[str, dict]]:
    """Every case's (name, costs)."""
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_aloxide.workchains.dynamics import DynamicsWorkChain
    from aiida_aloxide.workchains.protocols import load_protocol
    from aiida_aloxide.workchains.quench import LiquidWorkChain, QuenchWorkChain
    from aiida_aloxide.workchains.tension import PlaneStrainWorkChain, PlaneStressWorkChain

    tmp = Path(tempfile.mkdtemp(prefix="kill-cost-"))
    results = []

    def pair(name, make, pattern, kill_at, stage):
        folder = tmp / name.replace(" ", "_")
        folder.mkdir()
        wrapper = _kill_wrapper(folder, pattern, kill_at)
        _, killed = run_get_node(make({"mpirun_extra_params": [str(wrapper)]}))
        _, twin = run_get_node(make(None))
        if not (killed.is_finished_ok and twin.is_finished_ok):
            raise RuntimeError(f"{name}: {killed.exit_message} / {twin.exit_message}")
        results.append((name, _stage_costs(killed, twin, stage)))
        print(name, results[-1][1], flush=True)
        return twin

    qparams = orm.Dict(load_protocol("quench", "demo", {"quench_ps": 6.0, "checkpoint_ps": 2.0}))
    _, liquid = run_get_node(LiquidWorkChain.get_builder_from_parameters(code, qparams, seed=3))
    liquid_in = {"structure": liquid.outputs.structure, "velocities": liquid.outputs.velocities}

    def quench(options):
        builder = QuenchWorkChain.get_builder_from_parameters(code, 0.0, qparams, seed=3, options=options)
        builder.liquid = liquid_in
        return builder

    sample = pair("quench: NPT quench (6 ps, checkpoints every 2 ps)", quench, "npt temp 3000 300", 3000, "quench")
    sample = sample.outputs.structure

    def tension(chain, overrides):
        return lambda options: chain.get_builder_from_protocol(
            code, sample, protocol="demo", overrides=overrides, seed=3, options=options
        )

    eq = {"equilibrate_ps": 3.0, "checkpoint_ps": 1.0, "max_strain": 0.02}
    pair("tension: NPT equilibration (3 ps, checkpoints every 1 ps)", tension(PlaneStrainWorkChain, eq),
         "npt", 1500, "equilibrate")  # fmt: skip
    strain = {"equilibrate_ps": 0.5, "max_strain": 0.04, "chunk_steps": 5}
    pair("plane strain: a 5-step chunk (0.4 ps NVT + minimisation per step)", tension(PlaneStrainWorkChain, strain),
         "fix aloxSS", SECOND_STEP_STARTED, "strain_000")  # fmt: skip
    stress = {"equilibrate_ps": 0.5, "plane_stress_strain": 0.1, "chunk_steps": 10, "checkpoint_ps": 0.2}
    pair("plane stress: a 10-frame chunk (1 ps, checkpoints every 0.2 ps)", tension(PlaneStressWorkChain, stress),
         "all deform 1 x vel", 500, "deform_000")  # fmt: skip

    def dynamics(options):
        over = {"equilibrate_ps": 0.5, "run_ps": 4.0, "chunk_ps": 4.0, "checkpoint_ps": 1.0}
        return DynamicsWorkChain.get_builder_from_protocol(
            code, sample, protocol="demo", overrides=over, seed=3, options=options
        )

    pair("dynamics: a recorded chunk (4 ps, checkpoints every 1 ps)", dynamics, "dump aloxTraj", 2500, "record_000")
    return results


def main() -> None:
    """Run the cases, print the table, and with ``--write`` record it in the docs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default=None, help="AiiDA profile [default profile].")
    ap.add_argument("--code", default=None, help="LAMMPS code label [the one aiida-aloxide setup made].")
    ap.add_argument("--write", action="store_true", help=f"Write {DOC.name} in docs/.")
    args = ap.parse_args()
    from aiida import load_profile, orm

    from aiida_aloxide.setup import DEFAULT_CODE_LABEL

    load_profile(args.profile, allow_switch=True)
    code = orm.load_code(args.code or DEFAULT_CODE_LABEL)
    from aiida.manage.caching import disable_caching

    t0 = time.perf_counter()
    with disable_caching():  # a cached twin would have no kill to measure, a cached stage no cost
        rows = run_cases(code)
    lines = [
        "# Benchmarks: what a kill costs",
        "",
        f"Measured with `python benchmarks/bench_kill_cost.py --write` on {platform.machine()}, {os.cpu_count()} "
        f"cores ({time.strftime('%Y-%m-%d')}, {time.perf_counter() - t0:.0f} s in all); demo sample size (600 atoms, "
        "1200 in tension), one MPI rank. See the module docstring for what is timed.",
        "",
        "| stage | killed at step | resumed from | MD steps lost | stage wall time undisturbed | with the kill | "
        "cost of the kill | resumed LAMMPS run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in rows:
        lines.append(
            f"| {name} | {c['killed_at']} | {c['resumed_from']} (exit {c['exit']}) | {c['lost_steps']} | "
            f"{c['wall_twin']:.1f} s | {c['wall_killed']:.1f} s | {c['wall_killed'] - c['wall_twin']:+.1f} s | "
            f"{c['resumed_lammps']:.1f} s |"
        )
    emit(lines, DOC, args.write)


if __name__ == "__main__":
    main()
