"""Reports of single runs, written by the per-run commands: ``tension-report``, ``analyze``, ``softness predict``.

Each writes its files into the folder or file it is given and returns what the command prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from aiida import orm

from .figures import deformation_table, stress_strain_figure, tension_table

__all__ = ["rdf_table", "write_deformation_tables", "write_softness_csv", "write_tension_report"]


def write_tension_report(tensions: Sequence[orm.WorkflowNode], out: str | Path) -> tuple[str, Path]:
    """The stress–strain figure and tension.md of finished tension work chains in ``out``; (table, figure path)."""
    out = Path(out)
    figure = stress_strain_figure(tensions, out / "stress_strain.png")
    table = tension_table(tensions)
    (out / "tension.md").write_text(table)
    return table, figure


def rdf_table(rows: Sequence[tuple[orm.WorkflowNode, orm.Node]]) -> str:
    """Markdown table of the partial RDFs' first peak and minimum, one row per (tension run, ``rdf_analysis`` node)."""
    lines = ["| sample (tension PK) | g_AlO peak / first minimum (Å) | g_AlAl peak / first minimum (Å) "
             "| cut-offs used (Å) |", "|---|---|---|---|"]  # fmt: skip
    for wc, rdf in rows:
        g = rdf.base.attributes.all
        lines.append(
            f"| {wc.pk} | {g['al_o_first_peak']:.2f} / {g['al_o_first_minimum']:.2f} "
            f"| {g['al_al_first_peak']:.2f} / {g['al_al_first_minimum']:.2f} "
            f"| Al–O {g['al_o_cutoff']}, Al–Al {g['al_al_cutoff']} |"
        )
    return "\n".join(lines)


def write_deformation_tables(
    summaries: Sequence[tuple[orm.WorkflowNode, orm.Dict]],
    rdfs: Sequence[tuple[orm.WorkflowNode, orm.Node]],
    out: str | Path,
) -> str:
    """deformation.md in ``out``: the switching, D and atomic-stress tables, then the RDF table; returns its text."""
    table = deformation_table(summaries) + "\n" + rdf_table(rdfs) + "\n"
    (Path(out) / "deformation.md").write_text(table)
    return table


def write_softness_csv(path: str | Path, al_index: np.ndarray, softness: np.ndarray, out_of_domain: np.ndarray) -> Path:
    """CSV of a prediction, one row per Al: atom index, softness, out-of-domain flag (0/1)."""
    np.savetxt(path, np.column_stack([al_index, softness, out_of_domain.astype(int)]), fmt=["%d", "%.6f", "%d"],
               delimiter=",", header="atom_index,softness,out_of_domain", comments="")  # fmt: skip
    return Path(path)
