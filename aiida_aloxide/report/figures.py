"""Figures drawn from stored nodes only; each PNG records the UUIDs of the nodes it shows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from aiida import orm  # noqa: E402

__all__ = ["save_figure", "stress_strain_figure", "tension_table"]


def save_figure(fig, path: str | Path, nodes: Sequence[orm.Node], title: str) -> Path:
    """Save ``fig`` as PNG with the source node UUIDs in its metadata (key ``aloxide:sources``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sources = " ".join(n.uuid for n in nodes)
    fig.savefig(path, dpi=150, metadata={"Title": title, "Description": f"aloxide:sources {sources}"})
    plt.close(fig)
    return path


def _pressure_of(tension: orm.WorkflowNode) -> float | None:
    """Quench pressure of the sample a tension work chain pulled (via provenance), if known."""
    qb = orm.QueryBuilder()
    qb.append(orm.WorkflowNode, filters={"id": tension.pk}, tag="t")
    # ChargedStructureData is a plugin subclass: StructureData queries do not match it, Data does.
    qb.append(orm.Data, with_outgoing="t", edge_filters={"label": "structure"}, tag="s")
    qb.append(
        orm.WorkflowNode,
        with_outgoing="s",
        filters={"extras": {"has_key": "aloxide_pressure"}},
        project=["extras.aloxide_pressure"],
    )
    row = qb.first()
    return None if row is None else row[0]


def stress_strain_figure(tensions: Sequence[orm.WorkflowNode], path: str | Path) -> Path:
    """σ_xx(ε) of finished tension work chains (Fig. 1A of the paper), labelled by quench pressure."""
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    for wc in tensions:
        curve = wc.outputs.stress_strain
        p = _pressure_of(wc)
        label = f"{p:g} GPa" if p is not None else f"PK {wc.pk}"
        e, s = curve.get_array("strain"), curve.get_array("stress_xx")
        err = curve.get_array("stress_xx_sem") if "stress_xx_sem" in curve.get_arraynames() else None
        ax.errorbar(e, s, yerr=err, marker="o", ms=3, lw=1.2, capsize=0, label=label)
    ax.set_xlabel("strain ε_xx")
    ax.set_ylabel("σ_xx (GPa)")
    ax.axhline(0, color="0.6", lw=0.6)
    ax.legend(title="quench pressure", frameon=False)
    fig.tight_layout()
    return save_figure(fig, path, [wc.outputs.stress_strain for wc in tensions], "stress-strain")


def tension_table(tensions: Sequence[orm.WorkflowNode]) -> str:
    """Markdown table of the tension summaries (peak, fracture strain, toughness, plastic energy)."""
    lines = [
        "| P (GPa) | loading | peak σ_xx (GPa) | ε at peak | fracture strain | toughness (GJ/m³) "
        "| plastic energy (GJ/m³) |",
        "|---|---|---|---|---|---|---|",
    ]

    def fmt(v, spec=".3f"):
        return "–" if v is None else format(v, spec)

    for wc in tensions:
        s = wc.outputs.summary.get_dict()
        p = _pressure_of(wc)
        frac = fmt(s["fracture_strain"], ".2f") if s["fractured"] else f"> {s['max_strain']:.2f} (not fractured)"
        lines.append(
            f"| {fmt(p, 'g')} | {s['loading']} | {fmt(s['peak_stress'], '.2f')} | {fmt(s['strain_at_peak'], '.2f')} "
            f"| {frac} | {fmt(s['toughness'])} | {fmt(s['plastic_energy'])} |"
        )
    return "\n".join(lines) + "\n"
