"""``aiida-aloxide study``: the whole study as one product (run, submit, list, show, report, export)."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import click

from . import PROFILE_OPTION, _code, _load

__all__ = ["study"]


@click.group()
def study():
    """The fracture study as one work chain: quench → tension → analysis (→ softness) → summary."""


#: The model applied to the tension frames when --softness-model is not given: the demo's and the
#: smoke test's samples are far too small for a model of their own (tens of events), so they use the
#: packaged reference model; fast and paper train and apply their own.
DEFAULT_SOFTNESS_MODEL = {"smoke": "reference", "demo": "reference"}


def _builder(code_label, pressures, protocol, seed, softness, label, overrides, loading=(), softness_model=None):
    """A FractureStudyWorkChain builder, protocol errors as click errors."""
    import json

    from aiida import orm

    from ..workchains.protocols import ProtocolError
    from ..workchains.study import LOADINGS, FractureStudyWorkChain, validate_pressures

    pressures = list(pressures) or [0.0, 4.0]
    msg = validate_pressures(orm.List([float(p) for p in pressures]), None)
    if msg:
        raise click.ClickException(msg)
    try:
        over = json.loads(overrides) if overrides else None
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"--overrides is not JSON: {exc}") from exc
    code = _code(code_label)
    try:
        builder = FractureStudyWorkChain.get_builder_from_protocol(
            code,
            pressures,
            protocol=protocol,
            overrides=over,
            seed=seed,
            softness=softness,
            label=label,
            # plane strain always runs (the analyses use it); named loadings add to it
            loading=tuple(dict.fromkeys(("plane_strain", *loading))) if loading else LOADINGS,
        )
    except (ProtocolError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    # The model applied to the frames, once every other input has been checked.
    choice = softness_model or DEFAULT_SOFTNESS_MODEL.get(protocol, "trained")
    if softness and choice != "trained":
        from . import load_softness_model

        builder.softness_model = load_softness_model(choice)
    return builder


def _study_options(func):
    """Options shared by ``run`` and ``submit``."""
    options = [
        PROFILE_OPTION,
        click.option("-P", "--pressure", "pressures", type=float, multiple=True, help="GPa; repeatable [0, 4]."),
        click.option("--protocol", default="demo", show_default=True, help="smoke, demo, fast or paper."),
        click.option("--seed", type=int, default=1, show_default=True),
        click.option(
            "--softness/--no-softness",
            default=True,
            show_default=True,
            help="Learn softness from the samples' thermal dynamics and apply it to the tension frames.",
        ),
        click.option(
            "--loading",
            "loading",
            type=click.Choice(["plane_strain", "plane_stress"]),
            multiple=True,
            help="Loading condition; repeatable [both]. plane_strain is always run (the analyses use it).",
        ),
        click.option(
            "--softness-model",
            default=None,
            help="Model applied to the tension frames: 'trained' (this study's own), 'reference' (the packaged "
            "model) or a SoftnessModelData PK [reference for smoke/demo, trained for fast/paper].",
        ),
        click.option("--label", default=None, help="Study label (group aloxide/study/<label>) [the PK]."),
        click.option("--overrides", default=None, help='JSON by section, e.g. \'{"tension": {"max_strain": 0.2}}\'.'),
        click.option("--code", "code_label", default=None, help="LAMMPS code label [lammps@localhost-aloxide]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _state(node) -> str:
    """``Finished [0]``, ``Waiting``, ``Excepted``, ..."""
    state = node.process_state.value.capitalize() if node.process_state else "Created"
    if node.exit_status is not None:
        state += f" [{node.exit_status}]"
    return state


def _name(node) -> str:
    """Link label (call) or process label of a child."""
    from aiida.common.links import LinkType

    for link in node.base.links.get_incoming(link_type=(LinkType.CALL_CALC, LinkType.CALL_WORK)).all():
        if link.link_label != "CALL":  # the default label of an unnamed calcfunction call
            return link.link_label
    return node.process_label or node.label


@study.command("run")
@_study_options
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds between progress checks.",
)
def run_cmd(profile, pressures, protocol, seed, softness, loading, softness_model, label, overrides, code_label,
            interval):  # fmt: skip
    """Run the study here and wait, printing a line whenever a step of it changes state."""
    _load(profile)

    builder = _builder(code_label, pressures, protocol, seed, softness, label, overrides, loading, softness_model)
    node = run_with_progress(builder, interval)
    click.echo(_summary_markdown(node.outputs.summary.get_dict()))
    click.echo(f"group: {node.base.extras.get('aloxide_study_group')}")


def run_with_progress(builder, interval: float = 2.0, prefix: str = "study"):
    """Run a study builder in this process, echoing each stage's state changes; exit 3 if it fails.

    Also echoes the study's wall time and the platform overhead ratio (wall time / LAMMPS time).
    """
    from aiida.engine.utils import loop_scope
    from aiida.manage import get_manager

    runner = get_manager().get_runner()
    t0 = time.monotonic()
    with loop_scope(runner.loop):
        process = runner.instantiate_process(builder)
        node = process.node
        click.echo(f"[{prefix}] PK {node.pk}: {builder.metadata.label}")  # type: ignore[attr-defined]
        seen: dict[int, str] = {}

        def tick():
            try:
                for child in sorted(node.called_descendants, key=lambda n: n.ctime):
                    if child.process_label in ("LammpsRestartWorkChain", "AloxideLammpsCalculation"):
                        continue  # the stage-level children are enough for a progress line
                    state = _state(child)
                    if seen.get(child.pk) != state:
                        seen[child.pk] = state
                        click.echo(f"[{prefix} {time.monotonic() - t0:6.0f} s] {_name(child)} (PK {child.pk}): {state}")
            finally:
                if not process.has_terminated():
                    runner.loop.call_later(interval, tick)

        runner.loop.call_later(interval, tick)
        process.execute()
    node = process.node
    wall = time.monotonic() - t0
    click.echo(f"[{prefix}] PK {node.pk} {_state(node)} in {wall:.0f} s")
    if not node.is_finished_ok:
        click.echo(f"  FAILED: {node.exit_message}; see `aiida-aloxide study show {node.pk}`", err=True)
        sys.exit(3)
    summed, busy = lammps_seconds(node)
    if busy > 0:
        click.echo(
            f"[{prefix}] LAMMPS ran {summed:.0f} s summed over runs, {busy:.0f} s of wall time with at least one "
            f"LAMMPS running; overhead ratio wall / LAMMPS = {wall / busy:.2f}"
        )
    return node


def lammps_seconds(node) -> tuple[float, float]:
    """LAMMPS time of a study: (summed over runs, wall time during which at least one LAMMPS ran).

    Each run's interval ends when its output was retrieved and lasts LAMMPS' own 'Total wall time';
    runs served from the cache are excluded. The second number is what the overhead ratio uses:
    wall time / busy time is 1 when LAMMPS never waits for the platform.
    """
    total = 0.0
    intervals = []
    start, stop = node.ctime.timestamp(), node.mtime.timestamp()
    # QueryBuilder's with_ancestors follows data provenance, not CALL links: walk the called processes.
    for calc in node.called_descendants:
        if calc.process_type != "aiida.calculations:aloxide.lammps":
            continue
        if calc.base.caching.get_cache_source() is not None:
            continue
        if "results" in calc.outputs and "retrieved" in calc.outputs:
            seconds = float(calc.outputs.results.get("wall_time_s") or 0.0)
            end = min(calc.outputs.retrieved.ctime.timestamp(), stop)
            total += seconds
            intervals.append((max(end - seconds, start), end))
    busy, reach = 0.0, -float("inf")
    for a, b in sorted(intervals):
        if b > reach:
            busy += b - max(a, reach)
            reach = b
    return total, busy


@study.command("submit")
@_study_options
def submit_cmd(profile, pressures, protocol, seed, softness, loading, softness_model, label, overrides, code_label):
    """Submit the study to the daemon (start it with `verdi daemon start`)."""
    _load(profile)
    from aiida.engine import submit

    node = submit(_builder(code_label, pressures, protocol, seed, softness, label, overrides, loading, softness_model))
    click.echo(f"submitted study PK {node.pk}; follow it with `aiida-aloxide study show {node.pk}`")


def _load_study(ident: str):
    """The FractureStudyWorkChain node ``ident`` (PK or UUID)."""
    from aiida import orm

    from ..workchains.study import FractureStudyWorkChain

    try:
        node = orm.load_node(ident)
    except Exception as exc:  # noqa: BLE001 - any lookup failure reads the same to the user
        raise click.ClickException(f"no node {ident!r}: {exc}") from exc
    if not isinstance(node, orm.WorkflowNode) or node.process_class is not FractureStudyWorkChain:
        raise click.ClickException(f"node {ident!r} is not a fracture study")
    return node


@study.command("list")
@PROFILE_OPTION
def list_cmd(profile):
    """Studies with their state, protocol, pressures and group."""
    _load(profile)
    from aiida import orm

    from ..workchains.study import FractureStudyWorkChain

    qb = orm.QueryBuilder()
    qb.append(FractureStudyWorkChain, tag="s", project=["*"])
    qb.order_by({"s": {"ctime": "asc"}})
    nodes = [row[0] for row in qb.all()]
    if not nodes:
        click.echo("no studies found")
        return
    click.echo(f"{'PK':>6}  {'state':<14} {'protocol':<8} {'pressures (GPa)':<18} group")
    for n in nodes:
        ex = n.base.extras
        pressures = ", ".join(f"{p:g}" for p in ex.get("aloxide_pressures", n.inputs.pressures.get_list()))
        click.echo(
            f"{n.pk:>6}  {_state(n):<14} {ex.get('aloxide_protocol', n.inputs.protocol.value):<8} "
            f"{pressures:<18} {ex.get('aloxide_study_group', '–')}"
        )


def _tree(node, depth: int = 0) -> list[str]:
    """One line per process, children indented under their caller."""
    msg = f" {node.exit_message}" if node.exit_message else ""
    lines = [f"{'  ' * depth}{_name(node) if depth else node.process_label} (PK {node.pk}): {_state(node)}{msg}"]
    for child in sorted(node.called, key=lambda n: n.ctime):
        lines.extend(_tree(child, depth + 1))
    return lines


@study.command("show")
@PROFILE_OPTION
@click.argument("ident")
def show_cmd(profile, ident):
    """Status tree of a study: every child process, its state and exit code / message."""
    _load(profile)
    node = _load_study(ident)
    click.echo("\n".join(_tree(node)))
    if node.is_finished_ok:
        click.echo(_summary_markdown(node.outputs.summary.get_dict()))


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _summary_markdown(summary: dict) -> str:
    """The summary Dict as a Markdown table, one row per pressure."""
    cols = summary["columns"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for label in summary["labels"]:
        row = summary["rows"][label]
        lines.append("| " + " | ".join(_fmt(row.get(c)) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def write_summary_csv(summary: dict, path: Path) -> Path:
    """The summary Dict as CSV (empty cells for missing values)."""
    cols = summary["columns"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", *cols])
        for label in summary["labels"]:
            row = summary["rows"][label]
            writer.writerow([label, *("" if row.get(c) is None else row.get(c) for c in cols)])
    return path


def _children_by_label(node) -> dict:
    """Called processes of the study keyed by call link label."""
    from aiida.common.links import LinkType

    out = {}
    for link in node.base.links.get_outgoing(link_type=(LinkType.CALL_WORK, LinkType.CALL_CALC)).all():
        out[link.link_label] = link.node
    return out


@study.command("report")
@PROFILE_OPTION
@click.argument("ident")
@click.option("-o", "--output", "output_dir", default="study-report", show_default=True, type=click.Path())
def report_cmd(profile, ident, output_dir):
    """Figures, summary.md and summary.csv of a finished study, from its stored nodes only."""
    _load(profile)
    node = _load_study(ident)
    if not node.is_finished_ok:
        raise click.ClickException(f"study {node.pk} is not finished ok ({_state(node)}); see `study show`")
    write_report(node, Path(output_dir))


def write_report(node, out: Path) -> Path:
    """Write summary.md, summary.csv and every figure of the finished study ``node`` into ``out``."""
    from ..report.figures import (
        deformation_figures,
        deformation_table,
        pressure_figure,
        softness_figures,
        spatial_profile_figure,
        species_breakdown_figure,
        stress_strain_figure,
        tension_table,
    )

    out.mkdir(parents=True, exist_ok=True)
    summary = node.outputs.summary.get_dict()
    children = _children_by_label(node)
    labels = summary["labels"]
    tensions = [children[f"tension_{k}"] for k in labels]
    stress_runs = [children[f"plane_stress_{k}"] for k in labels if f"plane_stress_{k}" in children]
    pairs = [(children[f"tension_{k}"], node.outputs.deformation_curves[k]) for k in labels]
    figs = [
        stress_strain_figure(tensions + stress_runs, out / "stress_strain.png"),
        *deformation_figures(pairs, out),
        species_breakdown_figure(pairs, out / "switching_by_species.png"),
        spatial_profile_figure(pairs, out / "switching_vs_fracture_plane.png"),
        pressure_figure([node.outputs.properties[k] for k in labels], out / "density_coordination.png"),
    ]
    md = [
        f"# Fracture study PK {node.pk} ({node.base.extras.get('aloxide_protocol', '')})\n",
        f"Group `{node.base.extras.get('aloxide_study_group', '')}`, study UUID {node.uuid}.\n",
        "## Summary\n",
        _summary_markdown(summary),
        "## Tension (SPEC §3)\n",
        tension_table(tensions + stress_runs),
        "## Bond switching, D, atomic stress (SPEC §4)\n",
        deformation_table([(children[f"tension_{k}"], node.outputs.deformation[k]) for k in labels]),
    ]
    if "softness" in children and "applied" in children["softness"].outputs:
        sw = children["softness"]
        figs += softness_figures(dict(sw.outputs.applied), {f"tension_{k}": children[f"tension_{k}"] for k in labels},
                                 out)  # fmt: skip
        report = sw.outputs.report.get_dict()
        applied = next((sw.outputs.applied[k].get_dict() for k in sorted(sw.outputs.applied)
                        if k.endswith("_softness_summary")), None)  # fmt: skip
        md += ["## Softness (SPEC §5)\n", f"This study's own model: {sw.outputs.model.uuid}.\n",
               softness_table(report, applied)]  # fmt: skip
    md += [f"\n![{f.stem}]({f.name})\n" for f in figs]
    (out / "summary.md").write_text("\n".join(md))
    write_summary_csv(summary, out / "summary.csv")
    click.echo(_summary_markdown(summary))
    click.echo(f"report in {out.resolve()}: summary.md, summary.csv, " + ", ".join(f.name for f in figs))
    return out / "summary.md"


def softness_table(report: dict, applied: dict | None = None) -> str:
    """Markdown: events and distinct atoms, repeated grouped CV, ablations next to the paper's,
    cross-pressure table; ``applied`` (a softness summary) names the model used on the frames."""

    def pct(v) -> str:
        return "–" if v is None else f"{100 * v:.0f} %"

    def cvtxt(d) -> str:
        if not d or d.get("balanced_accuracy") is None:
            return "–"
        return f"{pct(d['balanced_accuracy'])} ± {pct(d.get('balanced_accuracy_std'))}"

    abl = report.get("ablation") or {}
    cv = report.get("cross_validation") or {}
    rows = [
        ("labelled events (rearranging)", f"{report.get('n_events')} ({report.get('n_rearranging')})", "≈ 16,000"),
        ("distinct rearranging Al", str(report.get("n_rearranging_atoms", "–")), "–"),
        ("configuration the features describe", str(report.get("configuration", "–")), "not stated"),
        (f"balanced accuracy, {cv.get('repeats', '–')} × {cv.get('folds', '–')}-fold CV grouped by atom "
         "(features and C chosen inside the folds)", cvtxt(cv), "83 % (test)"),
        ("time split: last 20 % of the run, gap t_R", pct((report.get("time_split") or {}).get("test_accuracy")), "–"),
        ("radial G only (repeated CV)", cvtxt(abl.get("radial")), "79 %"),
        ("angular Ψ only (repeated CV)", cvtxt(abl.get("angular")), "–"),
        ("Voronoi volume only (repeated CV)", cvtxt(abl.get("voronoi")), "56 %"),
        ("all + Voronoi volume (repeated CV)", cvtxt(abl.get("all+voronoi")), "no better than G + Ψ"),
    ]  # fmt: skip
    lines = ["| quantity | this study's own model | Du et al. 2021 |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    cross = report.get("cross_pressure") or {}
    if cross.get("keys"):
        keys = cross["keys"]
        lines += ["", "Cross-pressure balanced accuracy (row: trained on, column: tested on; diagonal: repeated "
                  "grouped CV inside the sample):", "",
                  "| train \\ test | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]  # fmt: skip
        for k, row in zip(keys, cross["accuracy"], strict=True):
            lines.append(f"| {k} | " + " | ".join(pct(v) for v in row) + " |")
        lines.append(f"\nMean off-diagonal {pct(cross.get('mean_off_diagonal'))} (the paper's worst case: 69.3 %).")
    if report.get("warning"):
        lines.append(f"\n**This study's own model is a smoke run:** {report['warning']}")
    if applied:
        lines.append(
            f"\nSoftness on the tension frames comes from the model `{applied.get('model_source')}` "
            f"(node {applied.get('model_uuid')}, {applied.get('model_n_train_events')} training events, "
            f"balanced accuracy {pct(applied.get('model_cv_balanced_accuracy'))} ± "
            f"{pct(applied.get('model_cv_balanced_accuracy_std'))} in repeated grouped CV)."
        )
    return "\n".join(lines) + "\n"


@study.command("export")
@PROFILE_OPTION
@click.argument("ident")
@click.argument("filename", type=click.Path())
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing file.")
def export_cmd(profile, ident, filename, force):
    """AiiDA archive of the study's group (with the full provenance of its nodes)."""
    _load(profile)
    from aiida import orm
    from aiida.tools.archive import create_archive

    node = _load_study(ident)
    label = node.base.extras.get("aloxide_study_group", None)
    if label is None:
        raise click.ClickException(f"study {node.pk} has no group")
    group = orm.load_group(label)
    path = create_archive([group], filename=filename, overwrite=force)
    click.echo(f"exported group {label} ({group.count()} nodes) to {path}")
