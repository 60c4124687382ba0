"""Figures of :func:`~aiida_aloxide.functions.softness_application.softness_response` (issue #19).

Three figures, each naming the model behind it: whether S at a strain step picks out the Al with the
largest D²_min to the next step (AUC; 0.5 = chance), which feature groups move ⟨S⟩ under strain, and
S per Al species with its rank correlation to the Voronoi volume (the paper's Figs. S9–S11).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from aiida import orm  # noqa: E402

from .figures import PANEL_COLUMNS, current_cation, panel_grid, place_legend  # noqa: E402
from .tables import cation_key  # noqa: E402

__all__ = ["response_figures"]


def _axis(node: orm.ArrayData, summary: dict) -> np.ndarray:
    return np.asarray(node.get_array(summary["axis"] if summary["axis"] != "index" else "frame"), dtype=float)


def _panels(applied: dict, have: list[str]):
    """One panel per sample (rows of three): (fig, axes, [(ax, label, node, summary, strain)], sources)."""
    fig, axes = panel_grid(len(have), 4.6, 3.8, sharey=True)
    rows = []
    for ax, label in zip(axes, have, strict=True):
        node, summary = applied[f"{label}_response"], applied[f"{label}_response_summary"].get_dict()
        rows.append((ax, label, node, summary, _axis(node, summary)))
    return fig, axes, rows, [row[2] for row in rows]


def response_figures(applied: dict, labels: list[str], names: dict, out_dir: Path, annotate, save) -> list[Path]:
    """Next-step AUC, Δ⟨S⟩ by feature group and S per Al species vs strain (one line / panel per sample).

    ``annotate(fig)`` writes the model note; ``save(fig, path, sources, title)`` stores the PNG with
    the UUIDs of the nodes it shows. Samples without a ``<label>_response`` output are skipped.
    """
    have = [k for k in labels if f"{k}_response" in applied and f"{k}_response_summary" in applied]
    if not have:
        return []
    paths = []

    def finish(fig, name: str, sources: list, title: str) -> None:
        fig.tight_layout(rect=(0, 0.09, 1, 1))
        annotate(fig)
        paths.append(save(fig, out_dir / name, sources, title))

    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    sources = []
    for k, label in enumerate(have):
        node, summary = applied[f"{label}_response"], applied[f"{label}_response_summary"].get_dict()
        e = _axis(node, summary)
        auc = node.get_array("auc")
        mean_auc = summary.get("mean_auc")
        tag = f" (mean {mean_auc:.2f})" if mean_auc is not None else ""
        ax.plot(e[: auc.size], auc, marker="o", ms=2.5, color=f"C{k}", label=f"{names[label]}{tag}")
        sources.append(node)
    ax.axhline(0.5, color="0.5", lw=0.8, ls="--")
    ax.text(ax.get_xlim()[0], 0.505, " chance", fontsize=7, color="0.4", va="bottom")
    ax.set_xlabel("strain ε_xx at step s")
    ax.set_ylabel("AUC of S(s) for the top 10 % of\nD²_min between steps s and s+1")
    place_legend(ax, frameon=False, fontsize=7)
    finish(fig, "next_step_auc.png", sources, "per-atom prediction of the next step")

    fig, axes, panels, sources = _panels(applied, have)
    for ax, label, node, summary, e in panels:
        groups = summary.get("groups") or []
        if not groups:
            continue
        curves = [node.get_array(f"contribution_{k}") for k in range(len(groups))]
        total = np.sum(curves, axis=0)
        order = np.argsort([-np.nanmax(np.abs(c)) for c in curves])
        for rank, k in enumerate(order[:6]):  # the six groups that move ⟨S⟩ most
            ax.plot(e, curves[k], lw=1.2, color=f"C{rank}", label=groups[k])
        ax.plot(e, total, color="k", lw=1.8, label="sum = Δ⟨S⟩")
        ax.axhline(0.0, color="0.6", lw=0.6)
        ax.set_title(names[label], fontsize=9)
        ax.set_xlabel("strain ε_xx")
        ax.legend(frameon=False, fontsize=6)  # each panel its own groups: the legend stays in the panel
    for ax in axes[::PANEL_COLUMNS]:  # the first panel of every row
        ax.set_ylabel("contribution to ⟨S⟩(ε) − ⟨S⟩(0)")
    finish(fig, "softness_by_feature_group.png", sources, "Δ⟨S⟩ by feature group")

    fig, axes, panels, sources = _panels(applied, have)
    for ax, label, node, summary, e in panels:
        for k, cn in enumerate((4, 5, 6)):
            key = cation_key(f"mean_s_al{cn}", current_cation())
            ax.plot(e, node.get_array(key), marker="o", ms=2, color=f"C{k}", label=f"Al{cn}")
        rho_v, rho_cn = summary.get("unstrained_spearman_voronoi"), summary.get("unstrained_spearman_cn")
        bits = [f"ρ(S, CN) = {rho_cn:.2f}" if rho_cn is not None else ""]
        if rho_v is not None:
            bits.append(f"ρ(S, V_Voronoi) = {rho_v:.2f}")
        ax.set_title(f"{names[label]}\nat ε = 0: {', '.join(b for b in bits if b)} (Spearman)", fontsize=8)
        ax.set_xlabel("strain ε_xx")
        ax.legend(frameon=False, fontsize=7)
    for ax in axes[::PANEL_COLUMNS]:
        ax.set_ylabel("mean softness S of in-domain Al")
    finish(fig, "softness_by_species.png", sources, "softness per Al species")
    return paths
