"""Benchmark of the fracture simulations: wall time per strain step, platform overhead, storage per frame.

Usage (profile made by `aiida-aloxide setup`):

    .venv/bin/python benchmarks/bench_tension.py                 # runs a smoke quench + plane strain first
    .venv/bin/python benchmarks/bench_tension.py --protocol demo  # same at demo scale (~10 min)
    .venv/bin/python benchmarks/bench_tension.py PK [PK ...]      # measure finished tension work chains

Overhead ratio = work chain wall time / LAMMPS loop time (MD + minimisation loops as
LAMMPS reports them), i.e. everything the platform adds: job submission, data-file and
dump I/O, parsing, storage, PPPM set-up of each run.
"""

from __future__ import annotations

import argparse
import time

from aiida import load_profile, orm


def _lammps_calcs(wc: orm.WorkflowNode) -> list[orm.CalcJobNode]:
    """All aloxide.lammps CalcJobs below a work chain."""
    return [n for n in wc.called_descendants if isinstance(n, orm.CalcJobNode)]


def _repo_bytes(node: orm.Node) -> int:
    """Bytes of a node's repository files."""
    repo = node.base.repository
    return sum(len(repo.get_object_content(name, mode="rb")) for name in repo.list_object_names())


def measure(wc: orm.WorkflowNode) -> dict:
    """Figures of one finished tension work chain."""
    calcs = _lammps_calcs(wc)
    loop = sum(c.outputs.results.get("loop_time_s", 0.0) for c in calcs if "results" in c.outputs)
    total = (wc.mtime - wc.ctime).total_seconds()
    chunks = [n for n in wc.called if n.label.startswith(("strain_", "deform_"))]
    chunk_time = sum((n.mtime - n.ctime).total_seconds() for n in chunks)
    n_steps = wc.outputs.summary["n_steps"]
    frames = wc.outputs.frames
    n_frames, n_atoms = frames.get_shape("positions")[:2]
    return {
        "pk": wc.pk,
        "atoms": n_atoms,
        "steps": n_steps,
        "total_s": total,
        "lammps_loop_s": loop,
        "overhead_ratio": total / loop if loop else float("nan"),
        "s_per_strain_step": chunk_time / max(n_steps, 1),
        "bytes_per_atom_frame": _repo_bytes(frames) / (n_frames * n_atoms),
        "lammps_runs": len(calcs),
    }


def main() -> None:
    """Run or measure, then print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pks", nargs="*", type=int)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--protocol", default="smoke")
    args = parser.parse_args()
    load_profile(args.profile)
    nodes = [orm.load_node(pk) for pk in args.pks]
    if not nodes:
        from aiida.engine import run_get_node

        from aiida_aloxide.workchains.quench import QuenchWorkChain
        from aiida_aloxide.workchains.tension import PlaneStrainWorkChain

        code = orm.load_code("lammps@localhost-aloxide")
        t0 = time.monotonic()
        _, q = run_get_node(QuenchWorkChain.get_builder_from_protocol(code, 0.0, protocol=args.protocol))
        _, t = run_get_node(
            PlaneStrainWorkChain.get_builder_from_protocol(code, q.outputs.structure, protocol=args.protocol)
        )
        print(f"ran quench + plane strain ({args.protocol}) in {time.monotonic() - t0:.0f} s")
        nodes = [t]
    print(
        "| PK | atoms | strain steps | LAMMPS runs | total (s) | LAMMPS loops (s) | overhead ratio "
        "| s per strain step | bytes per atom per frame |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for wc in nodes:
        m = measure(wc)
        print(
            f"| {m['pk']} | {m['atoms']} | {m['steps']} | {m['lammps_runs']} | {m['total_s']:.0f} "
            f"| {m['lammps_loop_s']:.0f} | {m['overhead_ratio']:.2f} | {m['s_per_strain_step']:.1f} "
            f"| {m['bytes_per_atom_frame']:.1f} |"
        )


if __name__ == "__main__":
    main()
