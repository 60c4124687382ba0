"""``aiida-aloxide study``: the whole study as one product (run, submit, list, show, report, frames, export); ``demo``.

The report, the frames and the archive are written by :mod:`aiida_aloxide.report` and
:mod:`aiida_aloxide.archive`; this module checks the arguments and prints.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..schema import MAX_REPLICAS
from .common import load_code, load_node, load_softness_model, with_profile
from .options import (
    CODE_OPTION,
    FORCE_OPTION,
    INTERVAL_OPTION,
    LABEL_OPTION,
    LOADING_OPTION,
    MATERIAL_OPTION,
    OUTPUT_DIR_OPTION,
    PRESSURES_OPTION,
    PROTOCOL_OPTION,
    SEED_OPTION,
)
from .progress import run_with_progress

if TYPE_CHECKING:
    from aiida import orm
    from aiida.engine import ProcessBuilder

__all__ = ["demo", "study", "study_builder"]

F = TypeVar("F", bound=Callable[..., Any])


@click.group()
def study() -> None:
    """The fracture study as one work chain: quench → tension → analysis (→ softness) → summary."""


#: The model applied to the tension frames when --softness-model is not given: the demo's and the
#: smoke test's samples are far too small for a model of their own (tens of events), so they use the
#: packaged reference model; fast and paper train and apply their own.
DEFAULT_SOFTNESS_MODEL = {"smoke": "reference", "demo": "reference"}


def study_builder(
    code_label: str | None,
    pressures: Sequence[float],
    protocol: str,
    seed: int,
    softness: bool,
    label: str | None,
    overrides: str | None,
    loading: Sequence[str] = (),
    softness_model: str | None = None,
    replicas: int = 1,
    material: str | None = None,
) -> ProcessBuilder:
    """A FractureStudyWorkChain builder, protocol errors as click errors."""
    from aiida import orm

    from ..materials import DEFAULT_MATERIAL, load_material
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
    if material is not None:
        try:
            load_material(material)  # an unknown name lists the known ones, before any code or process
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    other_glass = material not in (None, DEFAULT_MATERIAL)
    if other_glass and softness and softness_model not in (None, "trained"):
        raise click.ClickException(
            f"--softness-model {softness_model}: the packaged models are alumina's; a {material} study trains its "
            "own (--softness-model trained, the default for another material)"
        )
    code = load_code(code_label)
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
            replicas=replicas,
            material=material,
        )
    except (ProtocolError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    # The model applied to the frames, once every other input has been checked (another glass: its own).
    choice = softness_model or ("trained" if other_glass else DEFAULT_SOFTNESS_MODEL.get(protocol, "trained"))
    if softness and choice != "trained":
        builder.softness_model = load_softness_model(choice)
    return builder


def _study_options(func: F) -> F:
    """Options shared by ``run`` and ``submit`` (``-p/--profile`` comes from :func:`with_profile`)."""
    options = [
        PRESSURES_OPTION(),
        PROTOCOL_OPTION(),
        SEED_OPTION(),
        click.option(
            "--softness/--no-softness",
            default=True,
            show_default=True,
            help="Learn softness from the samples' thermal dynamics and apply it to the tension frames.",
        ),
        LOADING_OPTION(
            multiple=True,
            help="Loading condition; repeatable [both]. plane_strain is always run (the analyses use it).",
        ),
        click.option(
            "--softness-model",
            default=None,
            help="Model applied to the tension frames: 'trained' (this study's own), 'reference' (the packaged "
            "model) or a SoftnessModelData PK [reference for smoke/demo, trained for fast/paper].",
        ),
        click.option(
            "--replicas",
            type=click.IntRange(1, MAX_REPLICAS),
            default=1,
            show_default=True,
            help="Independent samples per pressure (own melt, seed derived from --seed); the summary then gives "
            "mean ± standard error of every scalar.",
        ),
        MATERIAL_OPTION(),
        LABEL_OPTION(help="Study label (group aloxide/study/<label>) [the PK]."),
        click.option("--overrides", default=None, help='JSON by section, e.g. \'{"tension": {"max_strain": 0.2}}\'.'),
        CODE_OPTION(),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _state(node: orm.ProcessNode) -> str:
    """``Finished [0]``, ``Waiting``, ``Excepted``, ... (:func:`.live.process_state`)."""
    from .live import process_state

    return process_state(node)


def _name(node: orm.ProcessNode) -> str:
    """Link label (call) or process label of a child."""
    from aiida.common.links import LinkType

    for link in node.base.links.get_incoming(link_type=(LinkType.CALL_CALC, LinkType.CALL_WORK)).all():
        if link.link_label != "CALL":  # the default label of an unnamed calcfunction call
            return link.link_label
    return node.process_label or node.label


@study.command("run")
@with_profile
@_study_options
@INTERVAL_OPTION(default=2.0, help="Seconds between progress checks.")
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="File for AiiDA's log of the run (every work chain's REPORT lines) [./study-<PK>.log].",
)
def run_cmd(pressures: tuple[float, ...], protocol: str, seed: int, softness: bool, loading: tuple[str, ...],
            softness_model: str | None, replicas: int, material: str | None, label: str | None,
            overrides: str | None, code_label: str | None, interval: float, log_path: str | None) -> None:  # fmt: skip
    """Run the study here and wait, printing a line per branch whenever one of its stages finishes."""
    from ..report.tables import summary_markdown

    builder = study_builder(
        code_label, pressures, protocol, seed, softness, label, overrides, loading, softness_model, replicas, material
    )
    node = run_with_progress(builder, interval, log=log_path)
    click.echo(summary_markdown(node.outputs.summary.get_dict()))
    click.echo(f"group: {node.base.extras.get('aloxide_study_group')}")


@study.command("submit")
@with_profile
@_study_options
def submit_cmd(pressures: tuple[float, ...], protocol: str, seed: int, softness: bool, loading: tuple[str, ...],
               softness_model: str | None, replicas: int, material: str | None, label: str | None,
               overrides: str | None, code_label: str | None) -> None:  # fmt: skip
    """Submit the study to the daemon (start it with `verdi daemon start`)."""
    from aiida.engine import submit

    builder = study_builder(
        code_label, pressures, protocol, seed, softness, label, overrides, loading, softness_model, replicas, material
    )
    node = submit(builder)
    click.echo(f"submitted study PK {node.pk}; follow it with `aiida-aloxide study show {node.pk}`")


def _is_study(node: orm.Node) -> bool:
    """Whether ``node`` is a FractureStudyWorkChain."""
    from aiida import orm

    from ..workchains.study import FractureStudyWorkChain

    return isinstance(node, orm.WorkflowNode) and node.process_class is FractureStudyWorkChain


def _load_study(ident: str) -> orm.WorkflowNode:
    """The FractureStudyWorkChain node ``ident`` (PK or UUID)."""
    node = load_node(ident)
    if not _is_study(node):
        raise click.ClickException(f"node {ident!r} is not a fracture study")
    return node


@study.command("list")
@with_profile
def list_cmd() -> None:
    """Studies with their state, protocol, pressures and group."""
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


def _tree(node: orm.ProcessNode, depth: int = 0) -> list[str]:
    """One line per process, children indented under their caller."""
    msg = f" {node.exit_message}" if node.exit_message else ""
    lines = [f"{'  ' * depth}{_name(node) if depth else node.process_label} (PK {node.pk}): {_state(node)}{msg}"]
    for child in sorted(node.called, key=lambda n: n.ctime):
        lines.extend(_tree(child, depth + 1))
    return lines


@study.command("show")
@with_profile
@click.argument("ident")
def show_cmd(ident: str) -> None:
    """Status tree of a study: every child process, its state and exit code / message."""
    node = _load_study(ident)
    click.echo("\n".join(_tree(node)))
    if "summary" in node.outputs and node.outputs.summary.get("replicas"):
        from ..report.tables import replica_table, table_markdown

        table = replica_table(node.outputs.summary.get_dict())
        if table is not None:
            click.echo(table_markdown(table))
    if not node.is_terminated:
        from .live import running_stages
        from .progress import branch_of

        stages = running_stages(node, branch_of)
        if stages:
            click.echo("running LAMMPS stages (from their logs):")
            for branch, progress in stages:
                click.echo(f"  {branch} · {progress.text()}")
    if node.is_finished_ok:
        from ..report.tables import summary_markdown

        click.echo(summary_markdown(node.outputs.summary.get_dict()))


@study.command("report")
@with_profile
@click.argument("ident")
@OUTPUT_DIR_OPTION(default="study-report")
def report_cmd(ident: str, output_dir: str) -> None:
    """Figures, summary.md, summary.csv and index.html of a finished study, from its stored nodes only."""
    node = _load_study(ident)
    if not node.is_finished_ok:
        raise click.ClickException(f"study {node.pk} is not finished ok ({_state(node)}); see `study show`")
    _write_report(node, Path(output_dir))


def _write_report(node: orm.WorkflowNode, out: Path) -> Path:
    """Write the report of the finished study ``node`` into ``out`` (:mod:`aiida_aloxide.report.study`), say what.

    Returns the path of summary.md.
    """
    from ..report.study import write_report

    report = write_report(node, out)
    click.echo(report.terminal)
    click.echo(f"report in {report.directory.resolve()}: " + ", ".join(f.name for f in report.files))
    return report.summary_md


@study.command("export")
@with_profile
@click.argument("ident")
@click.argument("filename", type=click.Path())
@FORCE_OPTION(help="Overwrite an existing file.")
@click.option("--slim", is_flag=True,
              help="Leave out the arrays of the thermal-dynamics trajectories (every node, link, event, feature, "
                   "model and result stays; the report still works).")  # fmt: skip
def export_cmd(ident: str, filename: str, force: bool, slim: bool) -> None:
    """AiiDA archive of the study's group (with the full provenance of its nodes)."""
    from aiida import orm

    from ..archive import export_study

    node = _load_study(ident)
    label = node.base.extras.get("aloxide_study_group", None)
    if label is None:
        raise click.ClickException(f"study {node.pk} has no group")
    if Path(filename).exists() and not force:
        raise click.ClickException(f"{filename} exists; pass --force to overwrite it")
    group = orm.load_group(label)
    path, stats = export_study(node, group, filename, overwrite=force, slim=slim)
    if stats is None:
        click.echo(f"exported group {label} ({group.count()} nodes) to {path}")
        return
    click.echo(
        f"exported group {label} ({group.count()} nodes) to {filename}, slim: the arrays of "
        f"{stats['nodes_emptied']} thermal-dynamics trajectories left out "
        f"({stats['bytes_full'] / 1e6:.1f} MB → {stats['bytes_slim'] / 1e6:.1f} MB)"
    )


@study.command("frames")
@with_profile
@click.argument("ident")
@OUTPUT_DIR_OPTION(
    required=True,
    show_default=None,
    type=click.Path(file_okay=False),
    help="Folder for the frame files and manifest.json (must not exist or be empty).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["extxyz", "lammps"]),
    default="extxyz",
    show_default=True,
    help="extxyz (ASE, OVITO) or lammps (custom dump: OVITO, LAMMPS read_dump).",
)
@FORCE_OPTION(help="Write into a folder that is not empty.")
def frames_cmd(ident: str, output_dir: str, fmt: str, force: bool) -> None:
    """Per-atom frames of a study (its samples and tension runs) or of one tension run, for OVITO and ASE.

    Columns: species, Al coordination, bond-switching class vs ε = 0, cumulative D, hydrostatic
    stress, Voronoi volume, softness with its out-of-domain flag and the high-softness cluster id.
    """
    from aiida import orm

    from ..report.atoms import export_run_frames, export_study_frames
    from ..workchains.tension import PlaneStrainWorkChain, PlaneStressWorkChain

    node = load_node(ident)
    out = Path(output_dir)
    try:
        if _is_study(node):
            if not node.is_finished_ok:
                raise click.ClickException(
                    f"study {node.pk} is {_state(node)}, not finished ok: it has no complete tension frames to export"
                )
            manifest = export_study_frames(node, out, fmt, force=force)
        elif isinstance(node, orm.WorkflowNode) and node.process_class in (PlaneStrainWorkChain, PlaneStressWorkChain):
            manifest = export_run_frames(node, out, fmt, force=force)
        else:
            raise click.ClickException(f"node {ident!r} is neither a fracture study nor a tension run")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    files = json.loads(manifest.read_text())["files"]
    for entry in files:
        click.echo(f"  {entry['file']}: {entry['frames']} frame(s), columns {', '.join(entry['columns'])}")
    click.echo(f"{len(files)} files in {out.resolve()}; column units and source UUIDs in {manifest.name}")


@click.command()
@with_profile
@PROTOCOL_OPTION(help="smoke (seconds, for tests) or demo.")
@PRESSURES_OPTION()
@OUTPUT_DIR_OPTION("--output", "output_dir", default="demo-output")
@LABEL_OPTION(help="Study label (group aloxide/study/<label>) [demo-<date>-<time>].")
@INTERVAL_OPTION(default=5.0, help="Seconds between checks.")
def demo(protocol: str, pressures: tuple[float, ...], output_dir: str, label: str | None, interval: float) -> None:
    """The whole study (SPEC.md) at the demo protocol for 0 and 4 GPa, then its report.

    Same as `study run --protocol demo -P 0 -P 4 --label demo-...` followed by `study report`:
    quench, plane-strain and plane-stress tension, SPEC §4 analyses, thermal dynamics, softness
    model and its application, summary; figures, tables (summary.md, summary.csv, index.html) and
    AiiDA's log of the run (study.log) in ``--output``.
    """
    t0 = time.monotonic()
    label = label or f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    builder = study_builder(None, pressures or (0.0, 4.0), protocol, 1, True, label, None)
    out = Path(output_dir)
    click.echo(f"[demo] the whole study at the {protocol!r} protocol; progress below, one line per branch change")
    node = run_with_progress(builder, interval, prefix="demo", log=out / "study.log")
    summary = _write_report(node, out)
    click.echo(
        f"[demo] done in {time.monotonic() - t0:.0f} s. Report: {summary.resolve()}\n"
        f"       (tables and figures: {(out / 'index.html').resolve()}; AiiDA log: {(out / 'study.log').resolve()})\n"
        f"       study PK {node.pk}, group {node.base.extras.get('aloxide_study_group')}; "
        f"`aiida-aloxide study show {node.pk}`, `aiida-aloxide study export {node.pk} study.aiida`"
    )
