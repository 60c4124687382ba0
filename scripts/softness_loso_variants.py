"""Leave-one-sample-out variant table of a finished `aloxide.softness` work chain (docs/validation.md, issue #19).

    python scripts/softness_loso_variants.py [--reference fast-inherent] [--out table.md]

Reads the packaged reference model's event features (every sample's arrays, as
``scripts/make_reference.py`` wrote them from stored nodes); every row holds a
whole sample out at a time (train on the others, predict it) and reports mean ± std of the
balanced accuracy over the held-out samples and the mean AUC, beside 2 × 5 grouped-by-atom CV of
the same rule. Rows: fixed feature subsets × C; the protocol default (subset and C chosen by
leave-one-sample-out inside each outer fold); stricter rearranging examples (excursion peak
≥ 0.3 / 0.5 Å²); at most k events per atom; and the model without the constant-column / clipping
guard. No AiiDA profile is needed (no LAMMPS, no new nodes).
"""

from __future__ import annotations

import argparse

import numpy as np


def _subsample_calm(labels: np.ndarray, keep_pos: np.ndarray, seed: int) -> np.ndarray:
    """Rows to keep: the rearranging rows in ``keep_pos`` and as many non-rearranging ones, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    pos = np.nonzero(keep_pos)[0]
    neg = np.nonzero(labels == 0)[0]
    neg = np.sort(rng.choice(neg, size=min(pos.size, neg.size), replace=False))
    return np.sort(np.concatenate([pos, neg]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default="fast-inherent")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    from aiida_aloxide.analysis import softness as sm
    from aiida_aloxide.analysis.softness_loso import SampleSet, leave_one_sample_out
    from aiida_aloxide.analysis.softness_validation import candidate_subsets, repeated_grouped_cv
    from aiida_aloxide.reference import load_reference

    ref = load_reference(args.reference)
    names = list(ref["meta"]["feature_names"])
    base: dict[str, dict[str, np.ndarray]] = {k: dict(v) for k, v in sorted(ref["samples"].items())}
    for d in base.values():
        if "peak_phop" in d:
            d["peak"] = np.asarray(d["peak_phop"], dtype=np.float64)
    subsets = candidate_subsets(names)
    lines = [
        f"Leave-one-sample-out over {len(base)} samples ({', '.join(base)}) of the packaged reference "
        f"'{args.reference}' ({ref['sha256'][:12]}).",
        "",
        "| variant | events | distinct rearranging Al | LOSO balanced accuracy | LOSO AUC | per held-out sample | "
        "2 × 5 grouped CV |",
        "|---|---|---|---|---|---|---|",
    ]

    def row(label: str, sets: dict, subs: dict, Cs: list, select: bool, grouped: bool = True) -> None:
        res = leave_one_sample_out(sets, names, subs, Cs, select=select)
        d = res.to_dict()
        per = ", ".join(f"{k} {100 * v['balanced_accuracy']:.0f}" for k, v in d["per_sample"].items())
        n = sum(s.labels.size for s in sets.values())
        n_atoms = sum(np.unique(s.atoms[s.labels == 1]).size for s in sets.values())
        cv = "–"
        if grouped:
            x = np.vstack([s.features for s in sets.values()])
            y = np.concatenate([s.labels for s in sets.values()])
            g = np.concatenate([s.atoms + 100_000 * k for k, s in enumerate(sets.values())])
            r = repeated_grouped_cv(x, y, g, names, folds=5, repeats=2, subsets=subs, Cs=Cs, select=select)
            cv = f"{100 * r.mean:.1f} ± {100 * r.std:.1f}"
        lines.append(f"| {label} | {n} | {n_atoms} | {100 * d['balanced_accuracy']:.1f} ± "
                     f"{100 * d['balanced_accuracy_std']:.1f} | {d['auc']:.2f} | {per} | {cv} |")  # fmt: skip
        print(lines[-1], flush=True)

    def sets_of(pick=None) -> dict:
        out = {}
        for k, d in base.items():
            keep = np.ones(d["label"].size, bool) if pick is None else pick(k, d)
            out[k] = SampleSet(np.asarray(d["features"][keep], np.float64), d["label"][keep].astype(np.int64),
                               d["atom"][keep].astype(np.int64))  # fmt: skip
        return out

    cs = [0.01, 0.03, 0.1, 1.0]
    row("default: subset and C chosen by LOSO inside each fold", sets_of(), subsets, cs, True)
    for sub in subsets:
        for C in cs:
            row(f"{sub} ({len(subsets[sub])} columns), C = {C:g}", sets_of(), {sub: subsets[sub]}, [C], False, False)
    for thr in (0.3, 0.5):
        if all("peak" in d for d in base.values()):
            pick = lambda k, d, t=thr: _subsample_calm(d["label"], (d["label"] == 1) & (d["peak"] >= t), 1)  # noqa: E731
            row(f"rearranging examples with an excursion peak ≥ {thr} Å²", sets_of(pick), subsets, cs, True)
    for k_max in (1, 3):
        def pick(k, d, m=k_max):
            order = np.lexsort((d["time"], d["atom"]))
            first = np.zeros(d["label"].size, bool)
            seen: dict[int, int] = {}
            for i in order:
                if d["label"][i] == 1:
                    a = int(d["atom"][i])
                    seen[a] = seen.get(a, 0) + 1
                    first[i] = seen[a] <= m
            return _subsample_calm(d["label"], first, 2)

        row(f"at most {k_max} rearranging example(s) per atom", sets_of(pick), subsets, cs, True)
    # Without the guard: constant columns standardised, no clipping.
    original = sm.train_softness_model

    def unguarded(*a, **kw):
        return original(*a, **{**kw, "min_std": 0.0, "z_clip": None})

    import aiida_aloxide.analysis.softness_loso as loso_mod

    loso_mod.train_softness_model = unguarded
    try:
        row("default without the constant-column / clipping guard", sets_of(), subsets, cs, True, False)
    finally:
        loso_mod.train_softness_model = original
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
