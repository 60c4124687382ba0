"""The report of a finished fracture study, from its stored nodes only: figures, summary.md, summary.csv, index.html."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiida import orm

from ..materials import DEFAULT_CATION
from .tables import (
    Table,
    deformation_record,
    own_model_tables,
    relabel,
    relabel_table,
    study_tables,
    summary_cation,
    summary_markdown,
    table_html,
    table_markdown,
    write_summary_csv,
)

__all__ = ["FIGURE_CAPTIONS", "StudyReport", "figure_caption", "index_html", "study_details", "write_report"]

#: Captions of the report's figures by file stem; a figure without one is captioned by the title
#: :func:`~aiida_aloxide.report.figures.save_figure` wrote into its PNG metadata.
FIGURE_CAPTIONS = {
    "replica_bands": "Plane-strain σ_xx and DC fraction vs strain per quench pressure: mean (line) ± standard "
    "error (band) over the independent replicas, where at least two replicas reach that strain.",
    "stress_strain": "σ_xx vs strain of every tension run (Fig. 1A of the paper): plane strain with markers, "
    "plane stress dashed, one colour per quench pressure.",
    "bond_switching": "Fractions of Al whose coordination decreased (DC), increased (IC) or kept its number "
    "with a new O neighbour (SC) vs strain (Fig. 2A–C).",
    "d_distribution": "Distribution of the cumulative non-affine displacement D of Al (Fig. 1D).",
    "stress_distributions": "Hydrostatic atomic stress of Al4 / Al5 / Al6 in the unstrained samples (Fig. 3C–E).",
    "switching_by_species": "Switching class at the final strain by the Al species before loading (Fig. 3A).",
    "switching_vs_fracture_plane": "DC / IC / SC Al vs signed distance to the fracture plane along x (Fig. 3B).",
    "density_coordination": "Density and Al4 / Al5 / Al6 fractions vs quench pressure (SPEC §6.1).",
    "softness_vs_strain": "Mean (solid) and median (dashed) softness of in-domain Al vs strain, with σ_xx dotted "
    "(Fig. 4B).",
    "rearrangement_probability": "Probability P_R that an Al5 loses coordination by the final strain vs its "
    "softness before loading; numbers: Al5 atoms per bin (Fig. 4C).",
    "softness_clusters": "Number and size of high-softness clusters vs strain (Fig. 5C–D).",
    "snapshot_fracture": "Atoms of a 6 Å slab through the middle of each plane-strain sample at ε ≈ 0.35, projected "
    "on x–y (x: loading axis); Al grey, O red (Fig. 1B).",
    "snapshot_switching": "Al of the same slab at ε ≈ 0.35 coloured by bond-switching class relative to ε = 0, "
    "with the class shares of all Al in each title (Fig. 2D).",
    "snapshot_softness": "Al of the slab coloured by softness before loading, at the stress peak and at fracture "
    "(or the last frame); open grey circles: outside the model's training domain (Fig. 5A–B).",
}

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05rem; margin-top: 1.5rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #bbb; padding: 0.25rem 0.6rem; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
p.note { font-size: 0.85rem; color: #555; max-width: 60rem; }
p.warning { font-weight: bold; color: #a00; max-width: 60rem; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9rem; color: #444; max-width: 60rem; }
""".strip()


@dataclass
class StudyReport:
    """What :func:`write_report` wrote: the folder, its files and the figures in report order."""

    directory: Path
    summary_md: Path
    summary_csv: Path
    index_html: Path
    figures: list[Path] = field(default_factory=list)
    terminal: str = ""  # the per-topic tables for the terminal (summary Dict only)

    @property
    def files(self) -> list[Path]:
        """Every file written, tables first."""
        return [self.summary_md, self.summary_csv, self.index_html, *self.figures]


def _children_by_label(node: orm.WorkflowNode) -> dict[str, orm.ProcessNode]:
    """Called processes of the study keyed by call link label."""
    from aiida.common.links import LinkType

    return {
        link.link_label: link.node
        for link in node.base.links.get_outgoing(link_type=(LinkType.CALL_WORK, LinkType.CALL_CALC)).all()
    }


def _output(node: orm.WorkflowNode, namespace: str, label: str) -> dict[str, Any] | None:
    """The Dict ``namespace.label`` of the study as a dict, ``None`` when it was not produced."""
    if namespace not in node.outputs or label not in node.outputs[namespace]:
        return None
    return node.outputs[namespace][label].get_dict()


def study_details(node: orm.WorkflowNode, applied: Mapping[str, orm.Node] | None = None) -> dict[str, dict[str, Any]]:
    """Per pressure label, the values the summary Dict does not hold, from the study's other outputs.

    Mean Al coordination; plastic energy and maximum strain of each loading, plane stress's fracture;
    DC by initial species, median D, atomic stress before loading; the applied softness model's node
    and CV spread (``applied``: the softness work chain's ``applied`` outputs).
    """
    details: dict[str, dict[str, Any]] = {}
    cation = summary_cation(node.outputs.summary.get_dict())
    for label in node.outputs.summary["labels"]:
        d: dict[str, Any] = {}
        props = _output(node, "properties", label) or {}
        c = cation.lower()
        d[f"mean_cn_{c}"] = props.get(f"mean_cn_{c}")
        ten = _output(node, "tension", label) or {}
        d["plastic_energy"], d["max_strain"] = ten.get("plastic_energy"), ten.get("max_strain")
        pst = _output(node, "plane_stress", label)
        if pst is not None:
            for key in ("fractured", "fracture_strain", "plastic_energy", "max_strain"):
                d[f"ps_{key}"] = pst.get(key)
        dfm = _output(node, "deformation", label)
        if dfm is not None:
            rec = deformation_record(None, dfm)
            d.update({k: rec[k] for k in rec if k.startswith(("dc_from_", "hydrostatic_")) or k == "d_median"})
        key = f"tension_{label}_softness_summary"
        if applied is not None and key in applied:
            s = applied[key].get_dict()
            d["softness_model_uuid"] = s.get("model_uuid")
            d["softness_cv_balanced_accuracy_std"] = s.get("model_cv_balanced_accuracy_std")
        details[label] = d
    return details


def figure_caption(path: Path, cation: str = DEFAULT_CATION) -> tuple[str, str]:
    """(alt text, caption) of a report figure: its PNG title and the caption of its stem (else the title),
    naming ``cation`` where the captions say Al."""
    title = path.stem.replace("_", " ")
    try:
        from PIL import Image

        with Image.open(path) as image:
            title = str(image.info.get("Title") or title)
    except (OSError, ImportError):
        pass
    return title, relabel(FIGURE_CAPTIONS.get(path.stem, title[:1].upper() + title[1:] + "."), cation)


def index_html(
    title: str,
    intro: Sequence[str],
    tables: Sequence[Table],
    figures: Sequence[Path],
    links: Sequence[Path] = (),
    cation: str = DEFAULT_CATION,
) -> str:
    """A self-contained HTML page: ``tables`` then every PNG of ``figures`` (relative img tags, inline CSS)."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(title)}</h1>",
        *(f"<p>{esc(line)}</p>" for line in intro),
    ]
    if links:
        parts.append("<p>Files: " + ", ".join(f'<a href="{esc(p.name)}">{esc(p.name)}</a>' for p in links) + "</p>")
    parts += [table_html(t) for t in tables]
    parts.append("<h2>Figures</h2>")
    for path in figures:
        alt, caption = figure_caption(path, cation)
        parts.append(
            f'<figure id="{esc(path.stem)}"><img src="{esc(path.name)}" alt="{esc(alt)}">'
            f"<figcaption>{esc(caption)} <small>({esc(path.name)})</small></figcaption></figure>"
        )
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_report(node: orm.WorkflowNode, out: str | Path) -> StudyReport:
    """Write every figure, summary.md, summary.csv and index.html of the finished study ``node`` into ``out``
    (figures, tables and captions name the study's cation)."""
    from .figures import report_cation

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = node.outputs.summary.get_dict()
    with report_cation(summary_cation(summary)):
        return _write_report(node, out, summary)


def _write_report(node: orm.WorkflowNode, out: Path, summary: dict[str, Any]) -> StudyReport:
    """:func:`write_report` with the figures' cation set."""
    from .figures import (
        deformation_figures,
        model_note,
        pressure_figure,
        softness_figures,
        spatial_profile_figure,
        species_breakdown_figure,
        stress_strain_figure,
    )
    from .snapshots import snapshot_figures

    cation = summary_cation(summary)
    children = _children_by_label(node)
    labels = summary["labels"]
    tensions = [children[f"tension_{k}"] for k in labels]
    stress_runs = [children[f"plane_stress_{k}"] for k in labels if f"plane_stress_{k}" in children]
    pairs = [(children[f"tension_{k}"], node.outputs.deformation_curves[k]) for k in labels]
    # Every PNG of the report, in report order: summary.md and index.html show exactly this list.
    figs = [
        stress_strain_figure(tensions + stress_runs, out / "stress_strain.png"),
        *deformation_figures(pairs, out),
        species_breakdown_figure(pairs, out / "switching_by_species.png"),
        spatial_profile_figure(pairs, out / "switching_vs_fracture_plane.png"),
        pressure_figure([node.outputs.properties[k] for k in labels], out / "density_coordination.png"),
    ]
    if summary.get("replicas"):
        from .figures import replica_band_figure

        groups: dict[float, list] = {}
        for k, pair in zip(labels, pairs, strict=True):
            groups.setdefault(float(summary["rows"][k]["pressure"]), []).append(pair)
        figs.insert(0, replica_band_figure(groups, out / "replica_bands.png"))
    applied = None
    extra: list[Table] = []
    if "softness" in children and "applied" in children["softness"].outputs:
        sw = children["softness"]
        applied = dict(sw.outputs.applied)
        figs += softness_figures(applied, {f"tension_{k}": children[f"tension_{k}"] for k in labels}, out)
        extra = own_model_tables(sw.outputs.report.get_dict())
        extra[0].notes.insert(0, f"Trained on this study's samples: model node {sw.outputs.model.uuid}.")
        extra = [relabel_table(t, cation) for t in extra]
    # The paper's atom snapshots (Fig. 1B, 2D, 5A–B) from the plane-strain frames.
    runs = {f"tension_{k}": children[f"tension_{k}"] for k in labels if "frames" in children[f"tension_{k}"].outputs}
    if runs:
        note = model_note(applied, list(runs)) if applied else ("", False)
        figs += snapshot_figures(runs, out, applied, note)
    tables = study_tables(summary, study_details(node, applied))
    tables += extra

    protocol = node.base.extras.get("aloxide_protocol", "")
    material = summary.get("material")
    glass = f"{material}, " if material else ""
    title = f"Fracture study PK {node.pk} ({glass}{protocol} protocol)"
    intro = [
        f"Group {node.base.extras.get('aloxide_study_group', '')}, study UUID {node.uuid}, "
        f"created {node.ctime:%Y-%m-%d %H:%M}.",
        "Every number and figure is read from the study's stored nodes. summary.csv holds the "
        "per-sample values at full precision, one row per sample (with replicas: then the mean and standard "
        "error of each pressure).",
    ]
    report = StudyReport(
        out, out / "summary.md", out / "summary.csv", out / "index.html", figs, summary_markdown(summary)
    )
    md = [f"# {title}\n", *(f"{line}\n" for line in intro), *(table_markdown(t) for t in tables), "## Figures\n"]
    for fig in figs:
        alt, caption = figure_caption(fig, cation)
        md.append(f"![{alt}]({fig.name})\n\n*{caption}*\n")
    report.summary_md.write_text("\n".join(md), encoding="utf-8")
    write_summary_csv(summary, report.summary_csv)
    links = [report.summary_md, report.summary_csv]
    report.index_html.write_text(index_html(title, intro, tables, figs, links, cation), encoding="utf-8")
    return report
