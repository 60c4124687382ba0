"""Softness variant table, threshold experiment and learning curve on the `fast` dynamics (docs/validation.md).

Needs a profile holding the shared `softness-fast` archive (`verdi archive import softness-fast.aiida`)
and the LAMMPS code; run from the repository:

    python scripts/softness_variants.py --profile aloxide --code lammps@localhost-aloxide --workdir variants

What it does, with the package's own functions only: p_hop of every Al of each sample; the structure
functions (+ Voronoi volume) of *every* Al on a grid of frames every 2 ps, for three configuration
kinds (thermal snapshot, past 3 ps time average, inherent structure from the `aloxide.lammps`
`minimize_frames` CalcJob, cached by AiiDA); then every labelling variant picks its examples on that
grid (example frames moved down onto it, as the protocol's `frame_spacing` does) and is scored by
10 x 5-fold stratified CV grouped by atom, balanced accuracy, with the feature subset and C chosen
inside each training fold. Features are cached in --workdir, so a rerun takes minutes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DYNAMICS = {  # the archive's thermal dynamics (aloxide.dynamics) and quenches
    "p0": "97b8c04c-69a3-4d97-88d0-090abfd729ac",
    "p4": "5697f893-0428-4818-8f8c-6f51e87553d2",
}
GRID = 8  # frames (2 ps at 0.25 ps per frame)


def grid_features(name, traj, kind, workdir, code):
    """All-Al features (G, Ψ, Voronoi) on the grid frames for one configuration kind (cached in workdir)."""
    from aiida_aloxide.analysis.configurations import past_window_average
    from aiida_aloxide.analysis.structure_functions import structure_functions
    from aiida_aloxide.analysis.voronoi import voronoi_volumes
    from aiida_aloxide.trajectory import cell_lengths

    path = workdir / f"features_{name}_{kind}.npy"
    pos = traj.get_array("positions")
    cells = cell_lengths(traj)
    types = traj.get_array("types").astype(np.int64)
    frames = np.arange(12, pos.shape[0] - 12, GRID)
    if path.exists():
        return np.load(path), frames
    if kind == "thermal":
        conf = pos[frames].astype(np.float64)
    elif kind == "time_averaged":
        conf = past_window_average(pos, frames, 12)  # 3 ps
    else:
        conf = inherent(traj, frames, code)
    al = np.nonzero(types == 1)[0]
    out = []
    for k, f in enumerate(frames):
        r = structure_functions(conf[k], cells[f], types, centers=al)
        v = voronoi_volumes(conf[k], cells[f])[al]
        out.append(np.column_stack([r.features, v]).astype(np.float32))
    (workdir / "names.json").write_text(json.dumps([*r.names, "voronoi_volume"]))
    arr = np.stack(out)
    np.save(path, arr)
    return arr, frames


def inherent(traj, frames, code):
    """Inherent structures of ``frames`` by the aloxide.lammps `minimize_frames` stage (AiiDA-cached)."""
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_aloxide.calculations.lammps import AloxideLammpsCalculation
    from aiida_aloxide.data.structure import structure_from_arrays
    from aiida_aloxide.materials import load_material
    from aiida_aloxide.trajectory import cell_lengths, frames_trajectory
    from aiida_aloxide.workchains.softness import INHERENT_MINIMIZATION

    pos = traj.get_array("positions")
    cells = cell_lengths(traj)
    types = traj.get_array("types").astype(np.int64)
    sel = frames_trajectory(pos[frames], cells[frames], types)
    structure = structure_from_arrays(
        np.mod(pos[0].astype(np.float64), cells[0]), types, cells[0], dict(load_material().charges)
    )
    stage = {"segments": [{"type": "minimize_frames", "n_frames": int(frames.size), **INHERENT_MINIMIZATION}],
             "thermo_every": 1000}  # fmt: skip
    _, calc = run_get_node(AloxideLammpsCalculation, code=code, structure=structure, parameters=orm.Dict(stage),
                           frames=sel, metadata={"options": {"resources": {"num_machines": 1,
                                                                          "num_mpiprocs_per_machine": 1}}})  # fmt: skip
    if not calc.is_finished_ok:
        raise RuntimeError(f"minimisation failed: {calc.exit_message}")
    return np.asarray(calc.outputs.minimized_frames.get_array("positions"), dtype=np.float64)


def examples(ph, positions, grid_frames, rule, seed=0):
    """(grid index, atom, label) of one labelling variant, snapped onto the feature grid."""
    from aiida_aloxide.analysis.hop_events import label_events

    lab = label_events(ph, seed=seed, positions=positions if rule.get("hops") else None, cage_frames=12,
                       min_frame=int(grid_frames[0]), **rule)  # fmt: skip
    # Each example frame moved down onto the feature grid (12 + 8k), as the protocol's frame_spacing does.
    g = (lab.frame - grid_frames[0]) // GRID
    ok = (g >= 0) & (g < grid_frames.size)
    return g[ok], lab.atom[ok], lab.label[ok]


def score(x, y, groups, names, repeats=10, select=True, subset=None):
    """Mean and std of the repeated grouped-CV balanced accuracy (subset chosen inside the folds, or fixed)."""
    from aiida_aloxide.analysis.softness_validation import candidate_subsets, repeated_grouped_cv

    subsets = candidate_subsets(names) if subset is None else {"fixed": subset}
    cv = repeated_grouped_cv(x, y, groups, names, folds=5, repeats=repeats, seed=0, subsets=subsets, select=select)
    return cv.mean, cv.std


def main():
    """Score every labelling rule and configuration kind on the stored fast dynamics."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="aloxide")
    ap.add_argument("--code", default="lammps@localhost-aloxide")
    ap.add_argument("--workdir", default="variants")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--draws", action="store_true", help="only the default over six draws of the calm examples")
    args = ap.parse_args()
    from aiida import load_profile, orm

    from aiida_aloxide.analysis.phop import phop
    from aiida_aloxide.analysis.softness_validation import default_ablation_subsets

    load_profile(args.profile)
    code = orm.load_code(args.code)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    data = {}
    for name, uuid in DYNAMICS.items():
        traj = orm.load_node(uuid).outputs.trajectory
        types = traj.get_array("types").astype(np.int64)
        al = np.nonzero(types == 1)[0]
        pos = traj.get_array("positions")[:, al]
        ph = phop(pos, traj.get_array("times"), 6.0)
        feats = {}
        for kind in ("thermal", "time_averaged", "inherent"):
            t0 = time.time()
            feats[kind], frames = grid_features(name, traj, kind, workdir, code)
            print(f"[variants] {name} {kind} features ready ({time.time() - t0:.0f} s)", flush=True)
        data[name] = (ph, pos, frames, feats)
    names = json.loads((workdir / "names.json").read_text())

    def build(kind, rule, n_max=None, seed=0):
        """Features, labels and groups of every sample's examples under ``rule`` and configuration ``kind``."""
        xs, ys, gs = [], [], []
        for k, (_name, (ph, pos, frames, feats)) in enumerate(sorted(data.items())):
            g, a, y = examples(ph, pos, frames, rule, seed=seed)
            xs.append(feats[kind][g, a].astype(np.float64))
            ys.append(y)
            gs.append(a + 10_000 * k)
        x, y, grp = np.vstack(xs), np.concatenate(ys), np.concatenate(gs)
        if n_max is not None and y.size > n_max:
            rng = np.random.default_rng(seed)
            keep = np.sort(np.concatenate([rng.choice(np.nonzero(y == c)[0], n_max // 2, replace=False)
                                           for c in (0, 1)]))  # fmt: skip
            x, y, grp = x[keep], y[keep], grp[keep]
        return x, y, grp

    # The protocol default: 3 ps (12 frames) before the excursion, quiet for ± 6 ps (24 frames).
    default = {"rearranging_frame": "precursor", "precursor_lag": 12, "non_rearranging": "quiet", "quiet_window": 24}
    variants = {
        "peak, instantaneous (the earlier labelling)": {
            "rearranging_frame": "peak",
            "non_rearranging": "instantaneous",
        },
        "peak, quiet ±6 ps": {"rearranging_frame": "peak", "non_rearranging": "quiet", "quiet_window": 24},
        "precursor 3 ps, instantaneous": {**default, "non_rearranging": "instantaneous"},
        "precursor 3 ps, quiet ±6 ps (default)": default,
        "precursor 1 ps, quiet ±6 ps": {**default, "precursor_lag": 4},
        "precursor 0 ps, quiet ±6 ps": {**default, "precursor_lag": 0},
        "precursor 3 ps, quiet ±25 ps": {**default, "quiet_window": 100},
        "+ hysteresis 0.1 Å², gap 2 ps": {**default, "release_threshold": 0.1, "min_gap": 8},
        "+ irreversible hops only": {**default, "hops": "irreversible"},
        "+ at most 3 events per atom": {**default, "max_per_atom": 3},
    }
    if args.draws:  # the default, inherent, all events, 10 x 5 CV, for six draws of the calm examples
        means = []
        for seed in range(6):
            x, y, g = build("inherent", default, seed=seed)
            means.append(score(x, y, g, names, 10)[0])
            print(f"| draw {seed} | {y.size} events | {100 * means[-1]:.1f} % |", flush=True)
        print(f"mean over draws {100 * np.mean(means):.1f} ± {100 * np.std(means):.1f} %")
        return
    sizes = {k: build("inherent", r)[1].size for k, r in variants.items()}
    n_fixed = 400  # every row with more events is subsampled to this; rows with fewer use all of theirs
    lines = [f"Fixed N = {n_fixed} labelled events (balanced) for every row that has that many; "
             f"{args.repeats} x 5-fold grouped CV, balanced accuracy, mean ± std over folds.", "",
             "| labelling | events (all) | thermal | time-averaged (past 3 ps) | inherent |",
             "|---|---|---|---|---|"]  # fmt: skip
    for key, rule in variants.items():
        row = [key, str(sizes[key])]
        for kind in ("thermal", "time_averaged", "inherent"):
            x, y, g = build(kind, rule, n_max=n_fixed)
            m, s = score(x, y, g, names, args.repeats)
            row.append(f"{100 * m:.1f} ± {100 * s:.1f} (N={y.size})")
        lines.append("| " + " | ".join(row) + " |")
        print(lines[-1], flush=True)
    # Ablations of the default, all its events.
    x, y, g = build("inherent", default)
    lines += ["", "| default, inherent: feature set | balanced accuracy | paper |", "|---|---|---|"]
    m, s = score(x, y, g, names, args.repeats)
    lines.append(f"| selected inside the folds | {100 * m:.1f} ± {100 * s:.1f} | 83 % (all functions) |")
    paper = {"radial": "79 %", "voronoi": "56 %", "angular": "–", "structure": "83 %", "all+voronoi": "≈ structure"}
    for sub, cols in default_ablation_subsets(names).items():
        idx = [names.index(c) for c in cols]
        m, s = score(x[:, idx], y, g, [names[i] for i in idx], args.repeats, select=False,
                     subset=[names[i] for i in idx])  # fmt: skip
        lines.append(f"| {sub} only (C = 1) | {100 * m:.1f} ± {100 * s:.1f} | {paper.get(sub, '–')} |")
        print(lines[-1], flush=True)
    # Threshold experiment at fixed N.
    per_thr = {t: build("inherent", {**default, "rearranging_threshold": t}) for t in (0.2, 0.3, 0.5)}
    n_thr = min(v[1].size for v in per_thr.values())
    lines += ["", f"Threshold experiment (inherent, default labelling, N = {n_thr} events each):", "",
              "| rearranging threshold (Å²) | events available | distinct rearranging Al | balanced accuracy |",
              "|---|---|---|---|"]  # fmt: skip
    for t, (_x, y, g) in per_thr.items():
        n_atoms = np.unique(g[y == 1]).size
        xs, ys, gs = build("inherent", {**default, "rearranging_threshold": t}, n_max=n_thr)
        m, s = score(xs, ys, gs, names, args.repeats)
        lines.append(f"| {t} | {y.size} | {n_atoms} | {100 * m:.1f} ± {100 * s:.1f} |")
        print(lines[-1], flush=True)
    # Learning curve.
    x, y, g = build("inherent", default)
    lines += ["", "Learning curve (inherent, default labelling; random balanced subsets):", "",
              "| events | balanced accuracy |", "|---|---|"]  # fmt: skip
    for n in (50, 100, 200, 300, y.size):
        if n > y.size:
            continue
        xs, ys, gs = build("inherent", default, n_max=n, seed=1)
        m, s = score(xs, ys, gs, names, args.repeats)
        lines.append(f"| {ys.size} | {100 * m:.1f} ± {100 * s:.1f} |")
        print(lines[-1], flush=True)
    (workdir / "variants.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
