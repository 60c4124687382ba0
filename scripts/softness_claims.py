"""The paper's softness findings tested claim by claim at the `fast` scale (docs/validation.md, issue #19).

    python scripts/softness_claims.py --model MODEL_PK --tension p0=PLANE_STRAIN_UUID --tension p4=UUID \\
        [--softness SOFTNESS_PK] [--deformation p0=UUID ...] [--out claims.md] [--profile aloxide]

Applies the model to every plane-strain run's frames with the package's calcfunctions
(`apply_softness`: softness, clusters, P_R(S), next-step AUC — stored nodes, reused when they exist),
optionally takes the unstrained ⟨S⟩ of every sample of a softness work chain from its stored inherent
structures, and prints one table: each claim with the measured numbers under the project's
orientation (positive = the rearranging side) and with S reversed, and whether it holds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def _applied(model, frames):
    """Softness, clusters, P_R(S) and the response of ``model`` on ``frames`` (calcfunctions: stored nodes)."""
    from aiida_aloxide.workchains.softness import apply_softness

    return apply_softness(model, frames)


def _slope(e: np.ndarray, s: np.ndarray, k: int) -> float:
    """Least-squares slope of ⟨S⟩(ε) from ε = 0 to frame ``k`` (nan with fewer than 3 points)."""
    ok = np.isfinite(s[: k + 1])
    return float(np.polyfit(e[: k + 1][ok], s[: k + 1][ok], 1)[0]) if ok.sum() >= 3 else float("nan")


def _drop_frame(stress: np.ndarray) -> int:
    """First frame after the peak where σ_xx falls by more than 10 % of the peak in one step (crack onset)."""
    k = int(np.nanargmax(stress))
    for f in range(k, stress.size - 1):
        if stress[f] - stress[f + 1] > 0.1 * stress[k]:
            return f
    return k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tension", action="append", default=[], help="LABEL=plane-strain work chain UUID/PK")
    ap.add_argument("--softness", default=None, help="softness work chain whose inherent structures give ⟨S⟩ vs P")
    ap.add_argument("--profile", default="aloxide")
    ap.add_argument("--out", default=None)
    ap.add_argument("--figures", default=None, help="directory for the report's softness figures of these runs")
    args = ap.parse_args()
    from aiida import load_profile, orm

    load_profile(args.profile)
    from aiida_aloxide.analysis.softness_frames import frame_statistics, frames_softness
    from aiida_aloxide.functions.softness_parameters import structure_function_kwargs
    from aiida_aloxide.trajectory import cell_lengths

    model = orm.load_node(args.model)
    rows: list[tuple[str, str, str, str, str]] = []
    per: dict[str, dict] = {}
    applied_all: dict = {}
    tensions: dict = {}
    for item in args.tension:
        label, ident = item.split("=", 1)
        wc = orm.load_node(ident)
        out = _applied(model, wc.outputs.frames)
        applied_all.update({f"{label}_{key}": node for key, node in out.items()})
        tensions[label] = wc
        ss = wc.outputs.stress_strain
        e, sxx = ss.get_array("strain"), ss.get_array("stress_xx")
        soft = out["softness"]
        mean = soft.get_array("mean")
        resp = out["response_summary"].get_dict()
        clus = out["cluster_summary"].get_dict()
        prob = out["probability_summary"].get_dict()
        s_raw = soft.get_array("softness").astype(float)
        ood = soft.get_array("out_of_domain")
        rev_mean = frame_statistics(-s_raw, ood)["mean"]
        per[label] = {
            "pressure": wc.outputs.summary.get_dict().get("pressure", label), "e": e, "sxx": sxx, "mean": mean,
            "rev": rev_mean, "resp": resp, "clus": clus, "prob": prob, "nodes": [soft.uuid, ss.uuid],
            "n_al": s_raw.shape[1],
        }  # fmt: skip
        print(f"{label}: applied, softness node {soft.uuid}", flush=True)

    def fmt(v, spec=".2f"):
        return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)

    labels = sorted(per)
    # 1. unstrained <S> vs P
    unstrained = {k: (float(per[k]["mean"][0]), float(per[k]["rev"][0])) for k in labels}
    extra = ""
    if args.softness:
        sw = orm.load_node(args.softness)
        sf = structure_function_kwargs(model.structure_function_parameters)
        m = model.to_model()
        for key in sorted(sw.outputs.trajectories):
            calls = sw.base.links.get_outgoing(link_label_filter=f"inherent_{key}").all()
            node = calls[0].node if calls else None
            if node is None or "minimized_frames" not in node.outputs:
                continue
            fr = node.outputs.minimized_frames
            pos = fr.get_array("positions")[::5]
            types = sw.outputs.trajectories[key].get_array("types").astype(np.int64)
            al = np.nonzero(types == 1)[0]
            s, ood = frames_softness(pos, cell_lengths(fr)[::5], types, al, m, sf, None, model.domain())
            st = frame_statistics(s, ood)["mean"]
            unstrained[f"{key} (thermal-dynamics inherent structures)"] = (float(np.nanmean(st)), float("nan"))
        extra = " (+ the mean over inherent structures of each sample's thermal dynamics)"
    text_fwd = ", ".join(f"{k} {fmt(v[0])}" for k, v in unstrained.items())
    text_rev = ", ".join(f"{k} {fmt(-v[0])}" for k, v in unstrained.items())
    p_sorted = sorted(labels, key=lambda k: per[k]["pressure"])
    falls = unstrained[p_sorted[0]][0] > unstrained[p_sorted[-1]][0]
    rows.append(("unstrained ⟨S⟩ falls with quench pressure" + extra, text_fwd, text_rev,
                 "yes" if falls else "no", "no" if falls else "yes"))  # fmt: skip
    # 2/3. <S> peak vs stress drop; slope
    for k in labels:
        d = per[k]
        drop = _drop_frame(d["sxx"])
        kf, kr = int(np.nanargmax(d["mean"])), int(np.nanargmax(d["rev"]))
        near = lambda f: abs(d["e"][f] - d["e"][drop]) <= 0.03 + 1e-9  # noqa: E731
        rows.append((f"{k}: ⟨S⟩(ε) peaks where σ_xx starts to drop (ε = {d['e'][drop]:.2f})",
                     f"max at ε = {d['e'][kf]:.2f}", f"max at ε = {d['e'][kr]:.2f}",
                     "yes" if near(kf) and kf > 0 else "no", "yes" if near(kr) and kr > 0 else "no"))  # fmt: skip
        sf_, sr_ = _slope(d["e"], d["mean"], drop), _slope(d["e"], d["rev"], drop)
        rows.append((f"{k}: slope of ⟨S⟩(ε) up to the drop, paper 18–26", fmt(sf_, ".1f"), fmt(sr_, ".1f"),
                     "yes" if 18 <= sf_ <= 26 else "no", "yes" if 18 <= sr_ <= 26 else "no"))  # fmt: skip
        c = d["clus"]
        n_sel = c["n_selected"][0] if c["n_selected"] else 0
        ratio = c["unstrained_n_clusters"] / n_sel if n_sel else float("nan")
        rows.append((f"{k}: clusters per high-S Al at ε = 0 (paper 120 / 648 = 0.19)",
                     f"{c['unstrained_n_clusters']} / {n_sel} = {fmt(ratio)}", "(top 10 % of −S: not computed)",
                     "yes" if 0.1 <= ratio <= 0.3 else "no", "–"))  # fmt: skip
        lg = np.asarray(c["largest"], dtype=float)
        jump = int(np.argmax(np.diff(lg))) + 1 if lg.size > 1 else 0
        rows.append((f"{k}: largest high-S cluster jumps at crack propagation", f"largest jump at ε = "
                     f"{d['e'][jump]:.2f} (+{int(np.diff(lg).max()) if lg.size > 1 else 0} Al), max "
                     f"{int(lg.max())} Al at ε = {d['e'][int(np.argmax(lg))]:.2f}", "–",
                     "yes" if abs(d["e"][jump] - d["e"][drop]) <= 0.05 else "no", "–"))  # fmt: skip
        pr = d["prob"]
        rows.append((f"{k}: P_R(S) of Al5 roughly exponential in S", f"fit exp(a S + b): a = {fmt(pr.get('fit_a'))}, "
                     f"R² = {fmt(pr.get('fit_r2'))}", f"a = {fmt(-pr['fit_a']) if pr.get('fit_a') else '–'}",
                     "yes" if (pr.get("fit_a") or 0) > 0 and (pr.get("fit_r2") or 0) > 0.5 else "no",
                     "yes" if (pr.get("fit_a") or 0) < 0 and (pr.get("fit_r2") or 0) > 0.5 else "no"))  # fmt: skip
        r = d["resp"]
        rows.append((f"{k}: S at step s picks the Al with the top 10 % D²_min to s+1 (AUC; 0.5 chance)",
                     f"before ⟨S⟩ peak {fmt(r.get('mean_auc_before_peak'))}, after {fmt(r.get('mean_auc_after_peak'))}",
                     f"{fmt(1 - r['mean_auc']) if r.get('mean_auc') else '–'} (1 − AUC)",
                     "yes" if (r.get("mean_auc") or 0) > 0.6 else "no",
                     "yes" if r.get("mean_auc") and 1 - r["mean_auc"] > 0.6 else "no"))  # fmt: skip
        rows.append((f"{k}: S vs Voronoi volume / CN at ε = 0 (Spearman)", f"ρ(S, V) {fmt(r.get('unstrained_spearman_voronoi'))}, "
                     f"ρ(S, CN) {fmt(r.get('unstrained_spearman_cn'))}", "signs reversed", "–", "–"))  # fmt: skip
    # Ceiling: how much of the next step's rearrangement the static structure holds at all — a linear SVM
    # trained on the strain-step rearrangements (top 10 % D²_min, steps 0–19) of one sample, tested on another.
    if len(labels) == 2:
        from aiida_aloxide.analysis.nonaffine import d2min
        from aiida_aloxide.analysis.softness import softness as soft_of, train_softness_model
        from aiida_aloxide.analysis.softness_loso import _auc
        from aiida_aloxide.analysis.structure_functions import structure_functions

        sfk = structure_function_kwargs(model.structure_function_parameters)
        cols_used = list(model.feature_names)
        sfk["angular"] = any(n.startswith("Psi_") for n in cols_used)  # the model's own columns only
        data = {}
        for k in labels:
            fr = orm.load_node(dict(a.split("=", 1) for a in args.tension)[k]).outputs.frames
            pos, cells = fr.get_array("positions"), cell_lengths(fr)
            types = fr.get_array("types").astype(np.int64)
            al = np.nonzero(types == 1)[0]
            xs, ys = [], []
            for f in range(min(20, pos.shape[0] - 1)):
                res = structure_functions(pos[f], cells[f], types, centers=al, **sfk)
                d2 = d2min(pos[f], pos[f + 1], cells[f], cells[f + 1], centers=al)
                ok = np.isfinite(d2)
                xs.append(res.features[:, [res.names.index(n) for n in cols_used if n in res.names]][ok])
                ys.append((d2[ok] > np.quantile(d2[ok], 0.9)).astype(int))
            data[k] = (np.vstack(xs), np.concatenate(ys))
        aucs = []
        rng = np.random.default_rng(0)
        for a, b in ((labels[0], labels[1]), (labels[1], labels[0])):
            xa, ya = data[a]  # balanced training set: every top-10 % atom and as many others, drawn at random
            keep = np.concatenate([np.nonzero(ya == 1)[0],
                                   rng.choice(np.nonzero(ya == 0)[0], int((ya == 1).sum()), replace=False)])  # fmt: skip
            m_ab = train_softness_model(xa[keep], ya[keep], C=0.1)
            aucs.append(_auc(data[b][1], soft_of(data[b][0], m_ab)))
        rows.append(("ceiling: SVM (the model's columns) on strain-step rearrangements (steps 0–19) of one sample, "
                     "AUC on the other",
                     f"{labels[0]}→{labels[1]} {aucs[0]:.2f}, {labels[1]}→{labels[0]} {aucs[1]:.2f}", "–", "–", "–"))  # fmt: skip
    lines = [
        f"Model {model.uuid} ({model.base.attributes.get('source')}; LOSO balanced accuracy "
        f"{fmt(model.base.attributes.get('loso_balanced_accuracy'))}).", "",
        "| claim (Du et al. 2021) | measured, S as trained (positive = rearranging side) | with S reversed | "
        "holds? | holds reversed? |",
        "|---|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows),
        "",
        "Source nodes: " + "; ".join(f"{k}: {', '.join(per[k]['nodes'])}" for k in labels),
    ]  # fmt: skip
    if args.figures:
        from aiida_aloxide.report.figures import softness_figures

        for path in softness_figures(applied_all, tensions, args.figures):
            print("figure", path)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
