"""What a reader sees of a study's numbers: display names with units, one table per topic, CSV.

Pure (no AiiDA): the keys of the stored summary ``Dict`` are queryable API and do not change; their
display names, units and number formats are mapped here, in one place (:data:`COLUMNS`), and every
table of ``summary.md``, ``index.html``, ``summary.csv`` and the terminal is built from that mapping.

:data:`COLUMNS` is written for alumina's cation, Al; a study of another glass names its cation in its keys
(``si4``, ``dc_from_si5``, ``mean_cn_si``) and its summary (``cation``), and every table, header and note
then names it (``Si4 fraction``): :func:`column`, :func:`relabel`.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..materials import DEFAULT_CATION

__all__ = [
    "COLUMNS",
    "Column",
    "Table",
    "atomic_stress_table",
    "cation_key",
    "column",
    "csv_header",
    "deformation_record",
    "fmt_value",
    "own_model_tables",
    "relabel",
    "relabel_table",
    "replica_table",
    "role_key",
    "samples_table",
    "softness_table",
    "study_tables",
    "summary_cation",
    "summary_markdown",
    "switching_table",
    "table_html",
    "table_markdown",
    "tension_record",
    "tension_records",
    "tension_table",
    "write_summary_csv",
]


@dataclass(frozen=True)
class Column:
    """One displayed quantity: the record key it reads, its header (Markdown / HTML) and its CSV header."""

    key: str
    header: str  # with the unit, Unicode allowed: what summary.md and index.html show
    csv: str  # with the unit, ASCII only: what a scientist types in pandas
    fmt: str = ".3f"  # format spec of a float; "%" shows a fraction as a percentage


#: Every displayed quantity, keyed by the summary Dict column (or, for values the summary Dict does
#: not hold, by the key the report collects them under from the study's other outputs).
COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        # samples (SPEC §2)
        Column("sample", "sample", "sample", "s"),  # shown only for a study with replicas (p4_r2, ...)
        Column("pressure", "quench pressure (GPa)", "quench pressure (GPa)", "g"),
        Column("density", "density (g/cm³)", "density (g/cm3)"),
        Column("mean_cn_al", "mean Al coordination", "mean Al coordination"),
        Column("al4", "Al4 fraction", "Al4 fraction"),
        Column("al5", "Al5 fraction", "Al5 fraction"),
        Column("al6", "Al6 fraction", "Al6 fraction"),
        # tension (SPEC §3): plane strain unprefixed, plane stress ps_*
        Column("loading", "loading", "loading", "s"),
        Column("peak_stress", "peak σ_xx (GPa)", "plane strain peak stress (GPa)", ".2f"),
        Column("strain_at_peak", "strain at peak", "plane strain peak strain", ".2f"),
        Column("fractured", "fractured", "plane strain fractured", "s"),
        Column("fracture_strain", "fracture strain", "plane strain fracture strain", ".2f"),
        Column("toughness", "toughness (GJ/m³)", "plane strain toughness (GJ/m3)"),
        Column("plastic_energy", "plastic energy (GJ/m³)", "plane strain plastic energy (GJ/m3)"),
        Column("ps_peak_stress", "peak σ_xx (GPa)", "plane stress peak stress (GPa)", ".2f"),
        Column("ps_strain_at_peak", "strain at peak", "plane stress peak strain", ".2f"),
        Column("ps_toughness", "toughness (GJ/m³)", "plane stress toughness (GJ/m3)"),
        # bond switching and D (SPEC §4), on the plane-strain frames
        Column("final_strain", "final strain", "final strain of the analysis", ".2f"),
        Column("dc", "DC", "DC fraction of Al at final strain"),
        Column("ic", "IC", "IC fraction of Al at final strain"),
        Column("sc", "SC", "SC fraction of Al at final strain"),
        Column("uc", "UC", "UC fraction of Al at final strain"),
        Column("dc_from_al4", "DC from Al4", "DC fraction of Al from Al4"),
        Column("dc_from_al5", "DC from Al5", "DC fraction of Al from Al5"),
        Column("dc_from_al6", "DC from Al6", "DC fraction of Al from Al6"),
        Column("d_mean", "⟨D⟩ (Å)", "mean non-affine displacement D (Angstrom)", ".2f"),
        Column("d_median", "median D (Å)", "median non-affine displacement D (Angstrom)", ".2f"),
        # atomic stress (SPEC §4), before loading
        Column("hydrostatic_al4", "⟨σ_h⟩ of Al4 (GPa)", "mean hydrostatic stress of Al4 at zero strain (GPa)", ".2f"),
        Column("hydrostatic_al5", "⟨σ_h⟩ of Al5 (GPa)", "mean hydrostatic stress of Al5 at zero strain (GPa)", ".2f"),
        Column("hydrostatic_al6", "⟨σ_h⟩ of Al6 (GPa)", "mean hydrostatic stress of Al6 at zero strain (GPa)", ".2f"),
        # softness on the tension frames (SPEC §5)
        Column("softness_model", "model", "softness model", "s"),
        Column("softness_model_events", "training events", "softness model training events", "d"),
        Column("softness_cv_balanced_accuracy", "CV balanced accuracy", "softness model CV balanced accuracy", "%"),
        Column(
            "softness_loso_balanced_accuracy",
            "held-out glass balanced accuracy",
            "softness model leave-one-sample-out balanced accuracy",
            "%",
        ),  # fmt: skip
        Column(
            "softness_next_step_auc", "next-step AUC", "mean AUC of S for the next strain step's top 10 % D2min", ".2f"
        ),  # fmt: skip
        Column("unstrained_mean_softness", "⟨S⟩ at zero strain", "mean softness at zero strain"),
        Column("unstrained_median_softness", "median S at zero strain", "median softness at zero strain"),
    )
}


def relabel(text: str, cation: str = DEFAULT_CATION) -> str:
    """``text`` written for alumina (Al4, AlN, "of all Al") with ``cation`` in the place of Al."""
    return text if cation == DEFAULT_CATION else re.sub(rf"\b{DEFAULT_CATION}(?=\d|N\b|\b)", cation, text)


def role_key(key: str, cation: str = DEFAULT_CATION) -> str:
    """The alumina key a cation-named key stands for: ``si4`` -> ``al4``, ``dc_from_si5`` -> ``dc_from_al5``."""
    c = cation.lower()
    return key if c == "al" else re.sub(rf"(?<![a-z]){c}(?=\d|_|$)", "al", key)


def cation_key(key: str, cation: str = DEFAULT_CATION) -> str:
    """The key of ``cation``'s study for an alumina key: ``al4`` -> ``si4`` (the inverse of :func:`role_key`)."""
    c = cation.lower()
    return key if c == "al" else re.sub(r"(?<![a-z])al(?=\d|_|$)", c, key)


def column(key: str, cation: str = DEFAULT_CATION) -> Column:
    """The display of ``key`` in a study of ``cation`` (a cation-named key is shown as its alumina column,
    relabelled); a key added to the summary Dict but not mapped yet shows as itself."""
    col = COLUMNS.get(key) or COLUMNS.get(role_key(key, cation))
    if col is None:
        return Column(key, key, key, ".4g")
    return Column(key, relabel(col.header, cation), relabel(col.csv, cation), col.fmt)


def relabel_table(table: Table, cation: str = DEFAULT_CATION) -> Table:
    """``table`` (written for alumina) naming ``cation`` in its title, headers, cells, notes and warnings."""
    if cation == DEFAULT_CATION:
        return table
    return Table(
        relabel(table.title, cation),
        [relabel(h, cation) for h in table.headers],
        [[relabel(c, cation) for c in row] for row in table.rows],
        [relabel(n, cation) for n in table.notes],
        [relabel(w, cation) for w in table.warnings],
        table.level,
    )


def _column(key: str, cation: str = DEFAULT_CATION) -> Column:
    """:func:`column` (the name the tables use)."""
    return column(key, cation)


def fmt_value(value: Any, spec: str = ".3f") -> str:
    """A table cell: ``–`` for missing, yes/no, a percentage for ``%``, else ``format(value, spec)``."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if value != value:  # NaN
            return "–"
        if spec == "%":
            return f"{100 * value:.1f} %"
        if spec == "d":
            return str(int(value))
        if spec == "s":
            return str(value)
        return format(value, spec)
    return str(value)


@dataclass
class Table:
    """A titled table of formatted cells with notes under it; rendered as Markdown or HTML."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # shown emphasised
    level: int = 2  # heading level


def _table(
    title: str,
    keys: Sequence[str],
    records: Iterable[Mapping[str, Any]],
    optional: Iterable[str] = (),
    notes: Iterable[str] = (),
    cation: str = DEFAULT_CATION,
) -> Table:
    """A table of ``records`` over the columns ``keys`` (alumina keys, read as ``cation``'s); ``optional``
    columns are dropped when empty."""
    records = list(records)
    keys = [cation_key(k, cation) for k in keys]
    optional = {cation_key(k, cation) for k in optional}
    keys = [k for k in keys if k not in optional or any(r.get(k) is not None for r in records)]
    if "sample" not in keys and any(r.get("sample") is not None for r in records):  # replicas: name each one
        keys = ["sample", *keys]
    cols = [_column(k, cation) for k in keys]
    rows = [[fmt_value(r.get(c.key), c.fmt) for c in cols] for r in records]
    return Table(relabel(title, cation), [c.header for c in cols], rows, [relabel(n, cation) for n in notes])


def table_markdown(table: Table) -> str:
    """A :class:`Table` as a Markdown heading, pipe table and notes."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [f"{'#' * table.level} {table.title}", ""]
    lines.append("| " + " | ".join(cell(h) for h in table.headers) + " |")
    lines.append("|" + "---|" * len(table.headers))
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.rows]
    lines += [f"\n{note}" for note in table.notes]
    lines += [f"\n**{warning}**" for warning in table.warnings]
    return "\n".join(lines) + "\n"


def table_html(table: Table) -> str:
    """A :class:`Table` as an HTML heading, ``<table>`` and notes (escaped; no scripts, no links out)."""
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in table.headers)
    body = "\n".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in table.rows)
    parts = [
        f"<h{table.level}>{esc(table.title)}</h{table.level}>",
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>",
    ]
    parts += [f'<p class="note">{esc(note)}</p>' for note in table.notes]
    parts += [f'<p class="warning">{esc(warning)}</p>' for warning in table.warnings]
    return "\n".join(parts) + "\n"


# -- records: one dict per table row -----------------------------------------------------------------


def _rows(summary: Mapping[str, Any], details: Mapping[str, Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """One record per pressure: the summary Dict's row (which wins), with the report's extra values of that label."""
    details = details or {}
    named = bool(summary.get("replicas"))
    return [
        {**details.get(label, {}), **summary["rows"][label], "sample": label if named else None}
        for label in summary["labels"]
    ]


#: Keys of a tension run's summary shown in the tension table (plane stress's are ``ps_<key>`` in a study row).
TENSION_KEYS = ("peak_stress", "strain_at_peak", "fractured", "fracture_strain", "toughness", "plastic_energy",
                "max_strain")  # fmt: skip


def tension_record(pressure: float | None, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The tension-table record of one run from its ``summary`` Dict (as a dict), at quench ``pressure``."""
    return {"pressure": pressure, "loading": summary.get("loading"), **{k: summary.get(k) for k in TENSION_KEYS}}


def tension_records(summary: Mapping[str, Any], details: Mapping[str, Mapping[str, Any]] | None = None) -> list[dict]:
    """Per-run records of a study summary: plane strain, then plane stress (when run), per pressure."""
    out = []
    for row in _rows(summary, details):
        ident = {"sample": row.get("sample"), "pressure": row.get("pressure")}
        out.append({**ident, "loading": "plane_strain", **{k: row.get(k) for k in TENSION_KEYS}})
        ps = {k: row.get(f"ps_{k}") for k in TENSION_KEYS}
        if ps["peak_stress"] is not None or ps["toughness"] is not None:
            out.append({**ident, "loading": "plane_stress", **ps})
    return out


def tension_table(records: Iterable[Mapping[str, Any]], title: str = "Tension (SPEC §3)") -> Table:
    """Peak σ_xx, strain at peak, fracture strain, toughness and plastic energy, one row per run."""
    rows = []
    for r in records:
        r = dict(r)
        r["loading"] = (r.get("loading") or "–").replace("_", " ")
        if r.get("fractured") is False:
            cap = r.get("max_strain")
            r["fracture_strain"] = f"> {cap:.2f} (not fractured)" if cap is not None else "not fractured"
        rows.append(r)
    keys = ("pressure", "loading", "peak_stress", "strain_at_peak", "fracture_strain", "toughness", "plastic_energy")
    note = "σ_xx: tensile stress along the pulling axis x. Toughness: ∫σ_xx dε up to fracture (or the last strain)"
    if any(r.get("plastic_energy") is not None for r in rows):
        note += "; plastic energy: toughness − σ_peak² / 2E, the work not stored elastically"
    return _table(title, keys, rows, optional=("plastic_energy",), notes=[note + "."])


def samples_table(records: Iterable[Mapping[str, Any]], cation: str = DEFAULT_CATION) -> Table:
    """Density and cation coordination of the quenched samples, one row per pressure."""
    return _table(
        "Samples (SPEC §2)",
        ("pressure", "density", "mean_cn_al", "al4", "al5", "al6"),
        records,
        optional=("mean_cn_al",),
        notes=["AlN fraction: Al with N oxygen neighbours, of all Al."],
        cation=cation,
    )


def deformation_record(pressure: float | None, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The switching / D / atomic-stress record of one ``deformation_analysis`` summary (as a dict; keys named
    by its cation: ``dc_from_si5`` in a silica study)."""
    c = str(summary.get("cation") or DEFAULT_CATION).lower()
    rec: dict[str, Any] = {"pressure": pressure, "final_strain": summary.get("final_strain")}
    for name in ("dc", "ic", "sc", "uc"):
        rec[name] = summary.get(f"{name}_fraction_final")
    for s in (4, 5, 6):
        rec[f"dc_from_{c}{s}"] = summary.get(f"dc_fraction_final_from_{c}{s}")
        rec[f"hydrostatic_{c}{s}"] = summary.get(f"hydrostatic_mean_{c}{s}_initial")
    rec["d_mean"], rec["d_median"] = summary.get("d_mean"), summary.get("d_median")
    return rec


def switching_table(records: Iterable[Mapping[str, Any]], cation: str = DEFAULT_CATION) -> Table:
    """Bond-switching classes at the final strain and the non-affine displacement D, one row per sample."""
    records = list(records)
    keys = ("pressure", "final_strain", "dc", "ic", "sc", "uc", "dc_from_al4", "dc_from_al5", "dc_from_al6",
            "d_mean", "d_median")  # fmt: skip
    note = ("Fractions of all Al at the final strain of the plane-strain run: DC coordination number decreased, "
            "IC increased, SC same number but a new O neighbour, UC unchanged")  # fmt: skip
    if any(r.get(cation_key("dc_from_al4", cation)) is not None for r in records):
        note += "; DC from AlN: the Al that were AlN before loading and are DC, of all Al"
    note += ". D: cumulative non-affine displacement of Al."
    optional = ("dc_from_al4", "dc_from_al5", "dc_from_al6", "d_median")
    return _table("Bond switching and non-affine displacement D (SPEC §4)", keys, records, optional, [note], cation)


def atomic_stress_table(records: Iterable[Mapping[str, Any]], cation: str = DEFAULT_CATION) -> Table:
    """Mean hydrostatic atomic stress of the cation species (Al4 / Al5 / Al6) before loading, one row per sample."""
    return _table(
        "Atomic stress before loading (SPEC §4)",
        ("pressure", "hydrostatic_al4", "hydrostatic_al5", "hydrostatic_al6"),
        records,
        notes=["σ_h: hydrostatic stress per atom (Voronoi volume), positive in tension."],
        cation=cation,
    )


def softness_table(records: Iterable[Mapping[str, Any]], model_note: str = "", cation: str = DEFAULT_CATION) -> Table:
    """The model applied to the tension frames (name, training events, CV accuracy) and ⟨S⟩ before loading."""
    keys = (
        "pressure",
        "softness_model",
        "softness_model_events",
        "softness_cv_balanced_accuracy",
        "softness_loso_balanced_accuracy",
        "unstrained_mean_softness",
        "unstrained_median_softness",
        "softness_next_step_auc",
    )
    notes = [
        "S of the in-domain Al in the unstrained plane-strain frame. CV balanced accuracy: the model's "
        "repeated cross-validation grouped by atom; held-out glass: leave-one-sample-out (train on the other "
        "samples, predict a whole glass). Next-step AUC: how well S at a strain step ranks the Al with the "
        "top 10 % D²_min to the next step, averaged over the steps (0.5 = chance)."
    ]
    if model_note:
        notes.append(model_note)
    return _table("Softness on the tension frames (SPEC §5)", keys, records, notes=notes, cation=cation)


def study_tables(summary: Mapping[str, Any], details: Mapping[str, Mapping[str, Any]] | None = None) -> list[Table]:
    """The per-topic tables of a study: samples, tension, bond switching and D, atomic stress, softness.

    ``summary``: the stored summary Dict (as a dict); ``details``: per pressure label, values it does
    not hold (mean CN, plastic energy, plane-stress fracture, DC by species, median D, atomic stress,
    the model's node). Without ``details`` (the terminal) their columns and tables are left out.
    """
    rows = _rows(summary, details)
    cation = summary_cation(summary)
    tables = [
        samples_table(rows, cation),
        tension_table(tension_records(summary, details)),
        switching_table(rows, cation),
    ]
    if (replicas := replica_table(summary)) is not None:
        tables.insert(0, replicas)
    if any(r.get(cation_key(f"hydrostatic_al{s}", cation)) is not None for r in rows for s in (4, 5, 6)):
        tables.append(atomic_stress_table(rows, cation))
    if any(r.get("softness_model") is not None or r.get("unstrained_mean_softness") is not None for r in rows):
        first = next((r for r in rows if r.get("softness_model_uuid")), None)
        note = ""
        if first is not None:
            std = first.get("softness_cv_balanced_accuracy_std")
            note = f"Model node {first['softness_model_uuid']}" + (
                f"; CV balanced accuracy ± {100 * std:.1f} % (standard deviation over the repeats)."
                if std is not None
                else "."
            )
        tables.append(softness_table(rows, note, cation))
    return tables


def summary_cation(summary: Mapping[str, Any]) -> str:
    """The cation a study summary follows: its ``cation`` (another glass than alumina), else Al."""
    return str(summary.get("cation") or DEFAULT_CATION)


#: Columns of the replica table (mean ± standard error over the replicas of each pressure).
REPLICA_COLUMNS = ("density", "al4", "al5", "al6", "peak_stress", "strain_at_peak", "fracture_strain", "toughness",
                   "ps_peak_stress", "dc", "ic", "sc", "d_mean", "unstrained_mean_softness")  # fmt: skip


def replica_table(summary: Mapping[str, Any]) -> Table | None:
    """Mean ± standard error over the replicas of each pressure (``None`` for a one-replica study)."""
    stats = summary.get("replicas")
    if not stats:
        return None
    groups = sorted(stats.values(), key=lambda g: g["pressure"])
    cation = summary_cation(summary)
    wanted = [cation_key(c, cation) for c in REPLICA_COLUMNS]
    keys = [c for c in wanted if any(g["mean"].get(c) is not None for g in groups)]
    rows = []
    for g in groups:
        cells = [f"{g['pressure']:g}", str(g["n"])]
        for key in keys:
            spec = _column(key, cation).fmt
            mean, se = g["mean"].get(key), g["se"].get(key)
            cells.append("–" if mean is None else f"{fmt_value(mean, spec)} ± {fmt_value(se, spec)}")
        rows.append(cells)
    return Table(
        "Replicas: mean ± standard error",
        # the CSV headers: unambiguous (plane-strain and plane-stress peak stress differ by name)
        ["P (GPa)", "N", *(_column(k, cation).csv for k in keys)],
        rows,
        notes=[
            "Each replica is an independent melt (seed derived from the study seed) quenched, pulled and analysed "
            "alone; standard error = sample standard deviation / √N. Every replica's value is in summary.csv."
        ],
    )


def summary_markdown(summary: Mapping[str, Any], details: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The per-topic tables of a study summary as Markdown (the terminal and the top of summary.md)."""
    return "\n".join(table_markdown(t) for t in study_tables(summary, details))


def own_model_tables(report: Mapping[str, Any]) -> list[Table]:
    """The study's own softness model beside the paper: events, repeated grouped CV, ablations, cross-pressure."""

    def pct(v) -> str:
        return "–" if v is None else f"{100 * v:.0f} %"

    def cvtxt(d) -> str:
        if not d or d.get("balanced_accuracy") is None:
            return "–"
        return f"{pct(d['balanced_accuracy'])} ± {pct(d.get('balanced_accuracy_std'))}"

    abl = report.get("ablation") or {}
    cv = report.get("cross_validation") or {}
    rows = [
        ["labelled events (rearranging)", f"{report.get('n_events')} ({report.get('n_rearranging')})", "≈ 16,000"],
        ["distinct rearranging Al", str(report.get("n_rearranging_atoms", "–")), "–"],
        ["configuration the features describe", str(report.get("configuration", "–")), "not stated"],
        [
            f"balanced accuracy, {cv.get('repeats', '–')} × {cv.get('folds', '–')}-fold CV grouped by atom "
            "(features and C chosen inside the folds)",
            cvtxt(cv),
            "83 % (test)",
        ],
        ["time split: last 20 % of the run, gap t_R", pct((report.get("time_split") or {}).get("test_accuracy")), "–"],
        ["radial G only (repeated CV)", cvtxt(abl.get("radial")), "79 %"],
        ["angular Ψ only (repeated CV)", cvtxt(abl.get("angular")), "–"],
        ["Voronoi volume only (repeated CV)", cvtxt(abl.get("voronoi")), "56 %"],
        ["all + Voronoi volume (repeated CV)", cvtxt(abl.get("all+voronoi")), "no better than G + Ψ"],
    ]
    own = Table(
        "This study's own softness model (SPEC §5)",
        ["quantity", "this study's own model", "Du et al. 2021"],
        rows,
        level=3,
    )
    if report.get("warning"):
        own.warnings.append(f"This study's own model is a smoke run: {report['warning']}")
    tables = [own]
    loso = report.get("loso") or {}
    if loso.get("keys"):
        rows = []
        for k in loso["keys"]:
            r = loso["per_sample"][k]
            rows.append([k, str(r.get("n_events")), str(r.get("n_rearranging_atoms")), pct(r.get("balanced_accuracy")),
                         pct(r.get("tpr")), pct(r.get("tnr")), f"{r['auc']:.2f}" if r.get("auc") is not None else "–",
                         f"{r.get('subset')}, C = {r.get('C'):g}"])  # fmt: skip
        mean_txt = f"{pct(loso.get('balanced_accuracy'))} ± {pct(loso.get('balanced_accuracy_std'))}"
        rows.append(["mean ± std", "", "", mean_txt, "", "", f"{loso.get('auc', float('nan')):.2f}", ""])
        tables.append(
            Table(
                "Leave-one-sample-out: the model predicting a glass it never saw",
                [
                    "held-out sample",
                    "events",
                    "rearranging Al",
                    "balanced accuracy",
                    "TPR",
                    "TNR",
                    "AUC",
                    "chosen on the other samples",
                ],  # fmt: skip
                rows,
                level=3,
                notes=[
                    "Each sample is held out in turn; feature subset and C are chosen on the other samples only. "
                    "This, not grouped CV inside the training glasses, is what to expect on a new glass "
                    "(the paper's worst cross-pressure case: 69.3 %)."
                ],
            )
        )
    cross = report.get("cross_pressure") or {}
    if cross.get("keys"):
        keys = cross["keys"]
        rows = [[k, *(pct(v) for v in row)] for k, row in zip(keys, cross["accuracy"], strict=True)]
        tables.append(
            Table(
                "Cross-pressure balanced accuracy of the study's own model",
                ["train \\ test", *keys],
                rows,
                level=3,
                notes=[
                    "Row: trained on, column: tested on; diagonal: repeated grouped CV inside the sample. Mean "
                    f"off-diagonal {pct(cross.get('mean_off_diagonal'))} (the paper's worst case: 69.3 %)."
                ],
            )
        )
    return tables


# -- CSV -------------------------------------------------------------------------------------------------


def csv_header(summary: Mapping[str, Any]) -> list[str]:
    """Readable CSV headers with units: ``sample`` (the pressure label), then one per summary column."""
    return ["sample", *(_column(c, summary_cation(summary)).csv for c in summary["columns"])]


def write_summary_csv(summary: Mapping[str, Any], path: str | Path) -> Path:
    """The summary Dict as CSV, one row per sample, the stored values at full precision (empty: missing).

    With replicas, each pressure's rows are followed by a ``mean`` and a ``standard error`` row
    (sample column ``p4 mean``, ``p4 standard error``).
    """
    path = Path(path)
    cols = summary["columns"]
    stats = summary.get("replicas") or {}
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_header(summary))
        for label in summary["labels"]:
            row = summary["rows"][label]
            writer.writerow([label, *("" if row.get(c) is None else row.get(c) for c in cols)])
            group = next((k for k, g in stats.items() if g["labels"][-1] == label), None)
            if group is not None:
                g = stats[group]
                for name, values in (("mean", g["mean"]), ("standard error", g["se"])):
                    cells = [g["pressure"] if c == "pressure" else values.get(c) for c in cols]
                    writer.writerow([f"{group} {name}", *("" if v is None else v for v in cells)])
    return path
