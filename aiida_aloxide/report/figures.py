"""Figures drawn from stored nodes only; each PNG records the UUIDs of the nodes it shows.

The labels are written for alumina's cation (Al4, "fraction of Al"); inside :func:`report_cation` (the report
of a silica study sets ``Si``) :func:`save_figure` names that cation in every text of the figure instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from aiida import orm  # noqa: E402

from ..materials import DEFAULT_CATION
from .tables import (  # noqa: E402
    atomic_stress_table,
    cation_key,
    deformation_record,
    relabel,
    switching_table,
    table_markdown,
    tension_record,
)
from .tables import tension_table as tension_runs_table  # noqa: E402

__all__ = [
    "d_distribution_figure",
    "deformation_figures",
    "deformation_table",
    "model_note",
    "pressure_figure",
    "replica_band_figure",
    "report_cation",
    "save_figure",
    "run_label",
    "softness_figures",
    "spatial_profile_figure",
    "species_breakdown_figure",
    "stress_distribution_figure",
    "stress_strain_figure",
    "switching_figure",
    "tension_table",
]


#: Panels per row of a one-panel-per-sample figure (a study with replicas has many samples).
PANEL_COLUMNS = 3

#: The cation the figures being drawn follow (:func:`report_cation`).
_CATION: ContextVar[str] = ContextVar("aloxide_report_cation", default=DEFAULT_CATION)


@contextmanager
def report_cation(cation: str) -> Iterator[None]:
    """Within the block, every saved figure names ``cation`` where its labels say Al (Al4 → Si4)."""
    token = _CATION.set(cation)
    try:
        yield
    finally:
        _CATION.reset(token)


def current_cation() -> str:
    """The cation of the figures being drawn (Al unless inside :func:`report_cation`)."""
    return _CATION.get()


def panel_grid(n: int, width: float, height: float, ylabel: str | None = None, **kwargs):
    """A figure of ``n`` panels of ``width`` × ``height`` inches, at most :data:`PANEL_COLUMNS` per row:
    (figure, the ``n`` axes in reading order); ``ylabel`` on the first panel of every row."""
    ncols = max(min(n, PANEL_COLUMNS), 1)
    nrows = -(-n // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kwargs)
    flat = list(grid.ravel())
    for ax in flat[n:]:
        ax.remove()
    if ylabel is not None:
        for row in grid:
            row[0].set_ylabel(ylabel)
    return fig, flat[:n]


def place_legend(ax, many: int = 4, **kwargs) -> None:
    """``ax``'s legend inside the axes when it has at most ``many`` entries, else right of the whole figure,
    where it hides no data (a study with replicas names every sample)."""
    handles, labels = ax.get_legend_handles_labels()
    if len(labels) <= many:
        ax.legend(**kwargs)
        return
    kwargs.pop("loc", None)
    ax.figure.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), **kwargs)


def save_figure(fig, path: str | Path, nodes: Sequence[orm.Node], title: str) -> Path:
    """Save ``fig`` as PNG with the source node UUIDs in its metadata (key ``aloxide:sources``); the saved
    area includes a legend placed outside the axes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if (cation := current_cation()) != DEFAULT_CATION:
        from matplotlib.text import Text

        for text in fig.findobj(Text):
            text.set_text(relabel(text.get_text(), cation))
        title = relabel(title, cation)
    sources = " ".join(n.uuid for n in nodes)
    meta = {"Title": title, "Description": f"aloxide:sources {sources}"}
    fig.savefig(path, dpi=150, metadata=meta, bbox_inches="tight")
    plt.close(fig)
    return path


def _sample_extras(tension: orm.WorkflowNode) -> dict:
    """Extras of the quench whose sample a tension work chain pulled (via provenance): ``aloxide_pressure`` and,
    in a study, ``aloxide_replica`` (0-based); empty when unknown."""
    qb = orm.QueryBuilder()
    qb.append(orm.WorkflowNode, filters={"id": tension.pk}, tag="t")
    # ChargedStructureData is a plugin subclass: StructureData queries do not match it, Data does.
    qb.append(orm.Data, with_outgoing="t", edge_filters={"label": "structure"}, tag="s")
    qb.append(
        orm.WorkflowNode,
        with_outgoing="s",
        filters={"extras": {"has_key": "aloxide_pressure"}},
        project=["extras"],
    )
    row = qb.first()
    return {} if row is None else dict(row[0])


def _pressure_of(tension: orm.WorkflowNode) -> float | None:
    """Quench pressure of the sample a tension work chain pulled (via provenance), if known."""
    return _sample_extras(tension).get("aloxide_pressure")


def stress_strain_figure(tensions: Sequence[orm.WorkflowNode], path: str | Path) -> Path:
    """σ_xx(ε) of finished tension work chains (Fig. 1A of the paper), labelled by quench pressure.

    Plane-strain runs are drawn with markers, plane-stress runs dashed in the same colour per pressure.
    """
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    colours: dict[float | None, str] = {}
    for wc in tensions:
        curve = wc.outputs.stress_strain
        extras = _sample_extras(wc)
        p = extras.get("aloxide_pressure")
        stress_loading = wc.process_label == "PlaneStressWorkChain"
        label = _label(wc, extras) + (" (plane stress)" if stress_loading else "")
        colour = colours.setdefault(p if p is not None else float(-wc.pk), f"C{len(colours) % 10}")
        e, s = curve.get_array("strain"), curve.get_array("stress_xx")
        err = curve.get_array("stress_xx_sem") if "stress_xx_sem" in curve.get_arraynames() else None
        style = {"ls": "--", "marker": None} if stress_loading else {"ls": "-", "marker": "o"}
        ax.errorbar(e, s, yerr=err, ms=3, lw=1.2, capsize=0, label=label, color=colour, **style)
    ax.set_xlabel("strain ε_xx")
    ax.set_ylabel("σ_xx (GPa)")
    ax.axhline(0, color="0.6", lw=0.6)
    place_legend(ax, title="quench pressure", frameon=False)
    fig.tight_layout()
    return save_figure(fig, path, [wc.outputs.stress_strain for wc in tensions], "stress-strain")


def tension_table(tensions: Sequence[orm.WorkflowNode]) -> str:
    """Markdown table of the tension summaries (peak, fracture strain, toughness, plastic energy), one row per run."""
    records = [tension_record(_pressure_of(wc), wc.outputs.summary.get_dict()) for wc in tensions]
    return table_markdown(tension_runs_table(records))


def run_label(wc: orm.WorkflowNode) -> str:
    """Legend label of a tension work chain: its sample's quench pressure (and replica), else its PK."""
    return _label(wc, _sample_extras(wc))


def _label(wc: orm.WorkflowNode, extras: dict) -> str:
    """:func:`run_label` from the sample's extras (already queried)."""
    p, r = extras.get("aloxide_pressure"), extras.get("aloxide_replica")
    if p is None:
        return f"PK {wc.pk}"
    return f"{p:g} GPa" + (f" r{int(r) + 1}" if r is not None and _has_replicas(wc) else "")


def _has_replicas(wc: orm.WorkflowNode) -> bool:
    """The tension belongs to a study of more than one replica per pressure."""
    caller = wc.caller
    return caller is not None and int(caller.base.extras.get("aloxide_replicas", 1)) > 1


def _mean_se_on_grid(curves: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard error of y(x) over curves sharing one x grid (rounded to 1e-6), where ≥ 2 have a value."""
    grid = sorted({round(float(v), 6) for x, _ in curves for v in x})
    table = np.full((len(curves), len(grid)), np.nan)
    index = {v: i for i, v in enumerate(grid)}
    for k, (x, y) in enumerate(curves):
        for xv, yv in zip(x, y, strict=True):
            table[k, index[round(float(xv), 6)]] = yv
    n = np.sum(np.isfinite(table), axis=0)
    keep = n >= 2
    mean = np.nanmean(table[:, keep], axis=0)
    se = np.nanstd(table[:, keep], axis=0, ddof=1) / np.sqrt(n[keep])
    return np.asarray(grid)[keep], mean, se


def replica_band_figure(groups: dict[float, list[tuple[orm.WorkflowNode, orm.ArrayData]]], path: str | Path) -> Path:
    """σ_xx(ε) and DC(ε) per quench pressure as mean ± standard error over replicas (plane strain)."""
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.6))
    nodes: list[orm.Node] = []
    for i, (pressure, pairs) in enumerate(sorted(groups.items())):
        colour = f"C{i % 10}"
        stress = [(wc.outputs.stress_strain.get_array("strain"), wc.outputs.stress_strain.get_array("stress_xx"))
                  for wc, _ in pairs]  # fmt: skip
        dc = [(c.get_array("strain"), c.get_array("fraction_dc")) for _, c in pairs]
        nodes += [wc.outputs.stress_strain for wc, _ in pairs] + [c for _, c in pairs]
        for ax, data in zip(axes, (stress, dc), strict=True):
            x, mean, se = _mean_se_on_grid(data)
            ax.plot(x, mean, color=colour, lw=1.4, label=f"{pressure:g} GPa (N = {len(pairs)})")
            ax.fill_between(x, mean - se, mean + se, color=colour, alpha=0.25, lw=0)
    axes[0].set_ylabel("σ_xx (GPa)")
    axes[0].axhline(0, color="0.6", lw=0.6)
    axes[1].set_ylabel("DC fraction of Al")
    for ax in axes:
        ax.set_xlabel("strain ε_xx")
    place_legend(axes[0], title="quench pressure (replicas)", frameon=False)
    axes[0].set_title("plane-strain stress: mean ± SE over replicas", fontsize=10)
    axes[1].set_title("decreased coordination: mean ± SE", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, nodes, "replicas: mean ± standard error")


def switching_figure(pairs: Sequence[tuple[orm.WorkflowNode, orm.ArrayData]], path: str | Path) -> Path:
    """DC / IC / SC fractions of Al vs strain for each sample (Fig. 2A–C of the paper)."""
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.2), sharex=True)
    for wc, curves in pairs:
        e = curves.get_array("strain")
        for ax, name in zip(axes, ("dc", "ic", "sc"), strict=True):
            ax.plot(e, curves.get_array(f"fraction_{name}"), marker="o", ms=2.5, lw=1.2, label=run_label(wc))
    for ax, name in zip(axes, ("DC (CN decreased)", "IC (CN increased)", "SC (same CN, new O)"), strict=True):
        ax.set_xlabel("strain ε_xx")
        ax.set_title(name, fontsize=10)
    axes[0].set_ylabel("fraction of Al")
    place_legend(axes[0], frameon=False)
    fig.tight_layout()
    return save_figure(fig, path, [c for _, c in pairs], "bond switching vs strain")


def d_distribution_figure(pairs: Sequence[tuple[orm.WorkflowNode, orm.ArrayData]], path: str | Path) -> Path:
    """Distribution of the cumulative non-affine displacement D of Al per sample (Fig. 1D)."""
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    for wc, curves in pairs:
        edges, counts = curves.get_array("d_edges"), curves.get_array("d_counts")
        width = np.diff(edges)
        density = counts / max(counts.sum(), 1) / width
        ax.step(edges[:-1], density, where="post", lw=1.4, label=run_label(wc))
    ax.set_xlabel("cumulative non-affine displacement D (Å)")
    ax.set_ylabel("probability density (1/Å)")
    place_legend(ax, frameon=False)
    fig.tight_layout()
    return save_figure(fig, path, [c for _, c in pairs], "D distribution")


def stress_distribution_figure(pairs: Sequence[tuple[orm.WorkflowNode, orm.ArrayData]], path: str | Path) -> Path:
    """Hydrostatic atomic stress of Al4 / Al5 / Al6 in the unstrained samples (Fig. 3C–E)."""
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.2), sharex=True)
    for wc, curves in pairs:
        if "stress_edges" not in curves.get_arraynames():
            continue
        edges = curves.get_array("stress_edges")
        dens = curves.get_array("stress_density_initial")
        for ax, row in zip(axes, dens, strict=True):
            ax.step(edges[:-1], row, where="post", lw=1.2, label=run_label(wc))
    for ax, name in zip(axes, ("Al4", "Al5", "Al6"), strict=True):
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("hydrostatic stress (GPa, + = tension)")
    axes[0].set_ylabel("probability density (1/GPa)")
    place_legend(axes[0], frameon=False)
    fig.tight_layout()
    return save_figure(fig, path, [c for _, c in pairs], "atomic stress distributions")


def deformation_table(rows: Sequence[tuple[orm.WorkflowNode, orm.Dict]]) -> str:
    """Markdown tables of bond switching at the final strain and D, and of atomic stress, one row per sample."""
    records = [deformation_record(_pressure_of(wc), s.get_dict()) for wc, s in rows]
    return table_markdown(switching_table(records)) + "\n" + table_markdown(atomic_stress_table(records))


#: Fewer training events than this make a softness model a smoke run (figures say so on themselves).
MIN_MODEL_EVENTS = 200


def model_note(applied: dict, labels: list[str]) -> tuple[str, bool]:
    """One line naming the model behind the softness values, and whether it is too small to mean much."""
    summary = next((applied[f"{k}_softness_summary"] for k in labels if f"{k}_softness_summary" in applied), None)
    if summary is None:
        return "", False
    n = summary.get("model_n_train_events")
    acc, std = summary.get("model_cv_balanced_accuracy"), summary.get("model_cv_balanced_accuracy_std")
    acc_txt = f", grouped-CV balanced accuracy {100 * acc:.0f} ± {100 * (std or 0):.0f} %" if acc is not None else ""
    loso, loso_std = summary.get("model_loso_balanced_accuracy"), summary.get("model_loso_balanced_accuracy_std")
    if loso is not None:
        n_s = summary.get("model_n_samples")
        acc_txt += f",\non a held-out glass {100 * loso:.0f} ± {100 * (loso_std or 0):.0f} %"
        acc_txt += f" (leave-one-sample-out, {n_s} samples)" if n_s else " (leave-one-sample-out)"
    note = f"model: {summary.get('model_source') or 'trained'}, {n} training events{acc_txt}"
    small = n is None or n < MIN_MODEL_EVENTS
    if small:
        note += f"\nSMOKE RUN: fewer than {MIN_MODEL_EVENTS} events, softness not meaningful"
    return note, small


def _annotate(fig, note: str, small: bool) -> None:
    if note:
        fig.text(0.01, 0.005, note, fontsize=6.0, color="firebrick" if small else "0.3", va="bottom", ha="left")


def softness_figures(applied: dict, tensions: dict, out_dir: str | Path) -> list[Path]:
    """⟨S⟩ vs strain beside σ_xx (Fig. 4B), P_R vs S of Al5 (Fig. 4C), cluster number and size (Fig. 5C–D),
    and the response figures (next-step AUC, Δ⟨S⟩ by feature group, S per Al species).

    ``applied``: the ``applied`` outputs of a softness work chain (label → node);
    ``tensions``: label → tension work chain (for the stress curve), may be empty. ⟨S⟩ is the mean
    over in-domain Al (solid) with the median (dashed); every figure names the model it shows
    and says so when that model was trained on too few events to mean anything.
    """
    out_dir = Path(out_dir)
    labels = sorted(k[: -len("_softness")] for k in applied if k.endswith("_softness"))
    note, small = model_note(applied, labels)
    # Legends name the sample (its quench pressure, as the other figures do), not the link label.
    names = {label: run_label(tensions[label]) if label in tensions else label for label in labels}
    paths = []
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    twin = ax.twinx() if tensions else None
    sources: list[orm.Node] = []
    for k, label in enumerate(labels):
        node = applied[f"{label}_softness"]
        color = f"C{k}"
        strain = node.get_array("strain")
        ax.plot(strain, node.get_array("mean"), color=color, marker="o", ms=2.5, label=f"{names[label]} mean")
        if "median" in node.get_arraynames():
            ax.plot(strain, node.get_array("median"), color=color, ls="--", lw=1, label=f"{names[label]} median")
        sources.append(node)
        if twin is not None and label in tensions:
            curve = tensions[label].outputs.stress_strain
            twin.plot(curve.get_array("strain"), curve.get_array("stress_xx"), color=color, ls=":", lw=1)
            sources.append(curve)
    ax.set_xlabel("strain ε_xx")
    ax.set_ylabel("softness S of in-domain Al (mean, median)")
    if twin is not None:
        twin.set_ylabel("σ_xx (GPa, dotted)")
    place_legend(ax, frameon=False, fontsize=7)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    _annotate(fig, note, small)
    paths.append(save_figure(fig, out_dir / "softness_vs_strain.png", sources, "mean softness vs strain"))

    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    sources = []
    for k, label in enumerate(labels):
        node = applied.get(f"{label}_probability")
        summary = applied.get(f"{label}_probability_summary")
        if node is None or "centers" not in node.get_arraynames():
            continue
        x, p = node.get_array("centers"), node.get_array("probability")
        ax.semilogy(x, np.where(p > 0, p, np.nan), "o", color=f"C{k}", label=names[label])
        # The number of Al5 atoms behind each point: a bin of a handful of atoms is not a probability.
        counts = node.get_array("counts") if "counts" in node.get_arraynames() else None
        if counts is not None:
            for xi, pi, ni in zip(x, p, counts, strict=True):
                if pi > 0 and np.isfinite(pi):
                    ax.annotate(f"{int(ni)}", (xi, pi), textcoords="offset points", xytext=(3, 3), fontsize=6,
                                color=f"C{k}")  # fmt: skip
        if summary is not None and summary["fit_a"] is not None:
            xx = np.linspace(np.nanmin(x), np.nanmax(x), 50)
            ax.semilogy(xx, np.exp(summary["fit_a"] * xx + summary["fit_b"]), color=f"C{k}", lw=1)
        sources.append(node)
    ax.set_xlabel("softness S of Al5 before loading")
    ax.set_ylabel("P_R (CN decreased by the final strain)\nnumbers: Al5 atoms per bin")
    place_legend(ax, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    _annotate(fig, note, small)
    paths.append(save_figure(fig, out_dir / "rearrangement_probability.png", sources, "P_R vs softness"))

    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4), sharex=True)
    sources = []
    for k, label in enumerate(labels):
        node = applied.get(f"{label}_clusters")
        summary = applied.get(f"{label}_cluster_summary")
        if node is None or summary is None:
            continue
        e = np.asarray(summary[summary["axis"]], dtype=float)
        axes[0].plot(e, summary["n_clusters"], marker="o", ms=2.5, color=f"C{k}", label=names[label])
        axes[1].plot(e, summary["largest"], marker="o", ms=2.5, color=f"C{k}", label=names[label])
        sources.append(node)
    axes[0].set_ylabel("number of high-softness clusters")
    axes[1].set_ylabel("largest cluster (Al atoms)")
    for ax in axes:
        ax.set_xlabel("strain ε_xx")
    place_legend(axes[0], frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    _annotate(fig, note, small)
    paths.append(save_figure(fig, out_dir / "softness_clusters.png", sources, "high-softness clusters"))
    from .softness_response import response_figures

    paths += response_figures(applied, labels, names, out_dir, lambda f: _annotate(f, note, small), save_figure)
    return paths


def pressure_figure(properties: Sequence[orm.Dict], path: str | Path) -> Path:
    """Density and Al4 / Al5 / Al6 fractions vs quench pressure (SPEC §6.1)."""
    rows = sorted((p.get_dict() for p in properties), key=lambda d: d["pressure"])
    pressures = sorted({d["pressure"] for d in rows})
    replicas = len(rows) > len(pressures)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    for ax, key, label, colour in (
        (ax1, "density", None, "C0"),
        *((ax2, cation_key(k, current_cation()), k.capitalize(), f"C{i}") for i, k in enumerate(("al4", "al5", "al6"))),
    ):
        groups = [np.array([d[key] for d in rows if d["pressure"] == p], dtype=float) for p in pressures]
        if replicas:  # every sample as a dot, the mean ± standard error over its replicas as the line
            for p, g in zip(pressures, groups, strict=True):
                ax.plot([p] * g.size, g, ".", color=colour, alpha=0.4, ms=5)
            se = [g.std(ddof=1) / np.sqrt(g.size) if g.size > 1 else 0.0 for g in groups]
            ax.errorbar(pressures, [g.mean() for g in groups], yerr=se, fmt="o-", color=colour, capsize=3,
                        label=label)  # fmt: skip
        else:
            ax.plot(pressures, [g.mean() for g in groups], "o-", color=colour, label=label)
    if replicas:
        ax1.set_title("dots: samples; line: mean ± SE over replicas", fontsize=9)
    ax1.set_xlabel("quench pressure (GPa)")
    ax1.set_ylabel("density (g/cm³)")
    ax2.set_xlabel("quench pressure (GPa)")
    ax2.set_ylabel("fraction of Al")
    place_legend(ax2, frameon=False)
    fig.tight_layout()
    return save_figure(fig, path, list(properties), "density and Al coordination vs pressure")


def species_breakdown_figure(pairs: Sequence[tuple[orm.WorkflowNode, orm.ArrayData]], path: str | Path) -> Path:
    """Switching class at the final strain by the Al species before loading (Fig. 3A), one panel per sample."""
    fig, axes = panel_grid(len(pairs), 4.2, 3.3)
    for ax, (wc, curves) in zip(axes, pairs, strict=True):
        table = curves.get_array("by_species_final")  # (Al4/Al5/Al6, UC/SC/DC/IC), fraction of all Al
        classes = curves.base.attributes.get("class_columns", ["UC", "SC", "DC", "IC"])
        species = curves.base.attributes.get("species_rows", ["Al4", "Al5", "Al6"])
        x = np.arange(len(species))
        bottom = np.zeros(len(species))
        for k, name in enumerate(classes):
            ax.bar(x, table[:, k], bottom=bottom, label=name, color=f"C{k}")
            bottom += table[:, k]
        ax.set_xticks(x, species)
        ax.set_title(run_label(wc), fontsize=10)
        ax.set_ylabel("fraction of all Al")
    place_legend(axes[0], frameon=False, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, [c for _, c in pairs], "switching by initial species")


def spatial_profile_figure(pairs: Sequence[tuple[orm.WorkflowNode, orm.ArrayData]], path: str | Path) -> Path:
    """DC / IC / SC counts of Al vs signed distance to the fracture plane along x (Fig. 3B)."""
    fig, axes = panel_grid(len(pairs), 4.2, 3.3, ylabel="number of Al")
    for ax, (wc, curves) in zip(axes, pairs, strict=True):
        edges = curves.get_array("profile_edges")
        counts = curves.get_array("profile_counts")
        classes = curves.base.attributes.get("class_columns", ["UC", "SC", "DC", "IC"])
        centers = 0.5 * (edges[1:] + edges[:-1])
        for k, name in enumerate(classes):
            if name != "UC":
                ax.plot(centers, counts[k], marker="o", ms=2.5, label=name, color=f"C{k}")
        ax.axvline(0.0, color="0.6", lw=0.6)
        ax.set_xlabel("distance to fracture plane along x (Å)")
        ax.set_title(run_label(wc), fontsize=10)
    place_legend(axes[0], frameon=False, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, [c for _, c in pairs], "switching vs distance to the fracture plane")


def deformation_figures(pairs: Sequence[tuple[orm.WorkflowNode, orm.ArrayData]], out_dir: str | Path) -> list[Path]:
    """The SPEC §4 panels from ``deformation_analysis`` curves: switching vs strain, D, atomic stress."""
    out_dir = Path(out_dir)
    return [
        switching_figure(pairs, out_dir / "bond_switching.png"),
        d_distribution_figure(pairs, out_dir / "d_distribution.png"),
        stress_distribution_figure(pairs, out_dir / "stress_distributions.png"),
    ]
