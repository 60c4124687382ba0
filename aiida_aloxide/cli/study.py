"""``aiida-aloxide study``: the whole study as one product (run, submit, list, show, report, frames, export)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import PROFILE_OPTION, _code, _load
from .progress import run_with_progress

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
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="File for AiiDA's log of the run (every work chain's REPORT lines) [./study-<PK>.log].",
)
def run_cmd(profile, pressures, protocol, seed, softness, loading, softness_model, label, overrides, code_label,
            interval, log_path):  # fmt: skip
    """Run the study here and wait, printing a line per branch whenever one of its stages finishes."""
    _load(profile)
    from ..report.tables import summary_markdown

    builder = _builder(code_label, pressures, protocol, seed, softness, label, overrides, loading, softness_model)
    node = run_with_progress(builder, interval, log=log_path)
    click.echo(summary_markdown(node.outputs.summary.get_dict()))
    click.echo(f"group: {node.base.extras.get('aloxide_study_group')}")


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
        from ..report.tables import summary_markdown

        click.echo(summary_markdown(node.outputs.summary.get_dict()))


@study.command("report")
@PROFILE_OPTION
@click.argument("ident")
@click.option("-o", "--output", "output_dir", default="study-report", show_default=True, type=click.Path())
def report_cmd(profile, ident, output_dir):
    """Figures, summary.md, summary.csv and index.html of a finished study, from its stored nodes only."""
    _load(profile)
    node = _load_study(ident)
    if not node.is_finished_ok:
        raise click.ClickException(f"study {node.pk} is not finished ok ({_state(node)}); see `study show`")
    write_report(node, Path(output_dir))


def write_report(node, out: Path) -> Path:
    """Write the report of the finished study ``node`` into ``out`` (:mod:`aiida_aloxide.report.study`), say what.

    Returns the path of summary.md.
    """
    from ..report.study import write_report as write_study_report

    report = write_study_report(node, Path(out))
    click.echo(report.terminal)
    click.echo(f"report in {report.directory.resolve()}: " + ", ".join(f.name for f in report.files))
    return report.summary_md


@study.command("export")
@PROFILE_OPTION
@click.argument("ident")
@click.argument("filename", type=click.Path())
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--slim", is_flag=True,
              help="Leave out the arrays of the thermal-dynamics trajectories (every node, link, event, feature, "
                   "model and result stays; the report still works).")  # fmt: skip
def export_cmd(profile, ident, filename, force, slim):
    """AiiDA archive of the study's group (with the full provenance of its nodes)."""
    _load(profile)
    import tempfile

    from aiida import orm
    from aiida.tools.archive import create_archive

    node = _load_study(ident)
    label = node.base.extras.get("aloxide_study_group", None)
    if label is None:
        raise click.ClickException(f"study {node.pk} has no group")
    if Path(filename).exists() and not force:
        raise click.ClickException(f"{filename} exists; pass --force to overwrite it")
    group = orm.load_group(label)
    if not slim:
        path = create_archive([group], filename=filename, overwrite=force)
        click.echo(f"exported group {label} ({group.count()} nodes) to {path}")
        return
    from ..archive import dynamics_trajectories, slim_archive

    drop = [n.uuid for n in dynamics_trajectories(node)]
    with tempfile.TemporaryDirectory() as tmp:
        full = create_archive([group], filename=Path(tmp) / "full.aiida")
        stats = slim_archive(full, filename, drop)
    click.echo(
        f"exported group {label} ({group.count()} nodes) to {filename}, slim: the arrays of "
        f"{stats['nodes_emptied']} thermal-dynamics trajectories left out "
        f"({stats['bytes_full'] / 1e6:.1f} MB → {stats['bytes_slim'] / 1e6:.1f} MB)"
    )


@study.command("frames")
@PROFILE_OPTION
@click.argument("ident")
@click.option(
    "-o",
    "--output",
    "output_dir",
    required=True,
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
@click.option("-f", "--force", is_flag=True, help="Write into a folder that is not empty.")
def frames_cmd(profile, ident, output_dir, fmt, force):
    """Per-atom frames of a study (its samples and tension runs) or of one tension run, for OVITO and ASE.

    Columns: species, Al coordination, bond-switching class vs ε = 0, cumulative D, hydrostatic
    stress, Voronoi volume, softness with its out-of-domain flag and the high-softness cluster id.
    """
    _load(profile)
    from aiida import orm

    from ..report.atoms import export_run_frames, export_study_frames
    from ..workchains.study import FractureStudyWorkChain
    from ..workchains.tension import PlaneStrainWorkChain, PlaneStressWorkChain

    try:
        node = orm.load_node(ident)
    except Exception as exc:  # noqa: BLE001 - any lookup failure reads the same to the user
        raise click.ClickException(f"no node {ident!r}: {exc}") from exc
    out = Path(output_dir)
    try:
        if isinstance(node, orm.WorkflowNode) and node.process_class is FractureStudyWorkChain:
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
