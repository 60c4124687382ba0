"""``aiida-aloxide`` command line: set-up, quench samples, list them, run the demo."""

from __future__ import annotations

import sys
import time

import click

from ..setup import DEFAULT_CODE_LABEL, DEFAULT_COMPUTER_LABEL, DEFAULT_PROFILE

__all__ = ["cli"]

PROFILE_OPTION = click.option(
    "-p",
    "--profile",
    default=None,
    help="AiiDA profile to use (default: the configured default profile, else 'aloxide').",
)


def _load(profile: str | None):
    """Load the requested, the default, or the 'aloxide' profile (explain how to create one); start its broker."""
    from aiida.common.exceptions import MissingConfigurationError, ProfileConfigurationError
    from aiida.manage.configuration import get_config, load_profile

    from ..setup import ensure_broker

    try:
        config = get_config(create=False)
        name = profile or config.default_profile_name or DEFAULT_PROFILE
        loaded = load_profile(name, allow_switch=True)
    except (MissingConfigurationError, ProfileConfigurationError) as exc:
        raise click.ClickException(f"{exc}\nRun `aiida-aloxide setup` first.") from exc
    try:
        note = ensure_broker(loaded)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    if note:
        click.echo(note, err=True)
    return loaded


def _code(label: str | None):
    """Load the LAMMPS code (default label from setup) with a helpful error."""
    from aiida import orm
    from aiida.common.exceptions import MultipleObjectsError, NotExistent

    label = label or f"{DEFAULT_CODE_LABEL}@{DEFAULT_COMPUTER_LABEL}"
    try:
        return orm.load_code(label)
    except (NotExistent, MultipleObjectsError, ValueError) as exc:
        raise click.ClickException(f"code {label!r} not found ({exc}); run `aiida-aloxide setup`.") from exc


def _node(ident: str):
    """The node ``ident`` (PK or UUID), or a click error saying it does not exist."""
    from aiida import orm

    try:
        return orm.load_node(ident)
    except Exception as exc:  # noqa: BLE001 - report any lookup failure the same way
        raise click.ClickException(f"no node {ident!r}: {exc}") from exc


def _finished_with(idents, output: str, what: str) -> list:
    """Nodes ``idents`` that are finished work chains with the output ``output``, else a click error."""
    from aiida import orm

    nodes = [_node(ident) for ident in idents]
    bad = [n.pk for n in nodes if not (isinstance(n, orm.WorkflowNode) and n.is_finished_ok and output in n.outputs)]
    if bad:
        raise click.ClickException(f"{what}: {bad}")
    return nodes


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aiida-aloxide")
def cli():
    """aiida-aloxide: the amorphous-alumina fracture + softness study with full AiiDA provenance."""


@cli.command()
@click.option("--profile", "profile_name", default=DEFAULT_PROFILE, show_default=True, help="Profile to create/reuse.")
@click.option("--postgres", is_flag=True, help="Use PostgreSQL storage instead of the embedded SQLite.")
@click.option("--pg-host", default="localhost", show_default=True)
@click.option("--pg-port", default=5432, show_default=True, type=int)
@click.option("--pg-user", default="postgres", show_default=True)
@click.option("--pg-password", default="", show_default=False)
@click.option(
    "--broker",
    type=click.Choice(["zeromq", "rabbitmq"]),
    default="zeromq",
    show_default=True,
    help="zeromq needs no server; rabbitmq for production.",
)
@click.option("--rmq-host", default="127.0.0.1", show_default=True)
@click.option("--rmq-port", default=5672, show_default=True, type=int)
@click.option("--mpiprocs", type=click.IntRange(min=1), default=None, help="MPI ranks per LAMMPS run [all cores].")
def setup(profile_name, postgres, pg_host, pg_port, pg_user, pg_password, broker, rmq_host, rmq_port, mpiprocs):
    """Create or reuse the profile, the localhost computer and the LAMMPS code (idempotent)."""
    from ..setup import SetupReport, ensure_code, ensure_computer, ensure_profile

    report = SetupReport()
    pg = {"host": pg_host, "port": pg_port, "user": pg_user, "password": pg_password} if postgres else None
    try:
        ensure_profile(
            profile_name,
            postgres=pg,
            broker=broker,
            rabbitmq={"broker_host": rmq_host, "broker_port": rmq_port},
            report=report,
        )
        computer = ensure_computer(mpiprocs=mpiprocs, report=report)
        ensure_code(computer, report=report)
    except (ValueError, FileNotFoundError, ConnectionError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.lines:
        click.echo(f"  {line}")
    click.echo(f"Ready. Use `verdi -p {profile_name} ...` or `aiida-aloxide -h`.")


@cli.command()
@PROFILE_OPTION
@click.option("-P", "--pressure", "pressures", type=float, multiple=True, required=True, help="GPa; repeatable.")
@click.option("--protocol", default="demo", show_default=True, help="smoke, demo, fast or paper.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--code", "code_label", default=None, help="LAMMPS code label [lammps@localhost-aloxide].")
@click.option("--submit/--run", default=False, help="Submit to the daemon, or run here and wait (default).")
def quench(profile, pressures, protocol, seed, code_label, submit):
    """Prepare samples quenched at the given pressures (SPEC §2)."""
    _load(profile)
    from aiida.engine import run_get_node
    from aiida.engine import submit as aiida_submit

    from ..workchains.protocols import ProtocolError
    from ..workchains.quench import QuenchWorkChain

    code = _code(code_label)
    builders = []
    for p in pressures:
        try:
            builders.append(QuenchWorkChain.get_builder_from_protocol(code, p, protocol=protocol, seed=seed))
        except (ProtocolError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
    for p, builder in zip(pressures, builders, strict=True):
        if submit:
            node = aiida_submit(builder)
            click.echo(f"submitted quench at {p:g} GPa: PK {node.pk}")
        else:
            click.echo(f"running quench at {p:g} GPa ({protocol}) ...")
            t0 = time.monotonic()
            _, node = run_get_node(builder)
            _echo_quench(node, time.monotonic() - t0)
            if not node.is_finished_ok:
                sys.exit(3)


def _echo_quench(node, seconds: float | None = None) -> None:
    """One summary line for a finished quench work chain."""
    if not node.is_finished_ok:
        click.echo(f"  PK {node.pk}: FAILED [{node.exit_status}] {node.exit_message}", err=True)
        return
    p = node.outputs.properties
    took = f" in {seconds:.0f} s" if seconds is not None else ""
    click.echo(
        f"  PK {node.pk}: {p['pressure']:g} GPa -> density {p['density']:.3f} g/cm3, "
        f"Al4 {p['al4']:.3f}, Al5 {p['al5']:.3f}, Al6 {p['al6']:.3f}{took}"
    )


@cli.command()
@PROFILE_OPTION
@click.option(
    "-s", "--sample", "samples_", multiple=True, required=True, help="Quench work chain or structure PK/UUID."
)
@click.option(
    "--loading", type=click.Choice(["plane_strain", "plane_stress"]), default="plane_strain", show_default=True
)
@click.option("--protocol", default="demo", show_default=True, help="smoke, demo, fast or paper.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--code", "code_label", default=None, help="LAMMPS code label [lammps@localhost-aloxide].")
@click.option("--submit/--run", default=False, help="Submit to the daemon, or run here and wait (default).")
def tension(profile, samples_, loading, protocol, seed, code_label, submit):
    """Pull quenched samples to fracture (SPEC §3) and print peak stress, fracture strain, toughness."""
    _load(profile)
    from aiida import orm
    from aiida.engine import run_get_node
    from aiida.engine import submit as aiida_submit

    from ..workchains.protocols import ProtocolError
    from ..workchains.tension import PlaneStrainWorkChain, PlaneStressWorkChain

    cls = PlaneStrainWorkChain if loading == "plane_strain" else PlaneStressWorkChain
    code = _code(code_label)
    for ident in samples_:
        node = _node(ident)
        if isinstance(node, orm.WorkflowNode):
            structure = node.outputs.structure if "structure" in node.outputs else None
        else:
            structure = node
        if not isinstance(structure, orm.StructureData):
            raise click.ClickException(f"node {ident!r} is neither a quench work chain nor a structure")
        try:
            builder = cls.get_builder_from_protocol(code, structure, protocol=protocol, seed=seed)
        except (ProtocolError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        if submit:
            click.echo(f"submitted {loading} on {structure.uuid}: PK {aiida_submit(builder).pk}")
            continue
        t0 = time.monotonic()
        _, wc = run_get_node(builder)
        if not wc.is_finished_ok:
            click.echo(f"  PK {wc.pk}: FAILED [{wc.exit_status}] {wc.exit_message}", err=True)
            sys.exit(3)
        s = wc.outputs.summary
        click.echo(
            f"  PK {wc.pk}: peak {s['peak_stress']:.2f} GPa at {s['strain_at_peak']:.2f}, fracture strain "
            f"{s['fracture_strain']}, toughness {s['toughness']:.3f} GJ/m3 ({time.monotonic() - t0:.0f} s)"
        )


@cli.command("tension-report")
@PROFILE_OPTION
@click.argument("pks", nargs=-1, required=True)
@click.option("-o", "--output", "output_dir", default="tension-report", show_default=True, type=click.Path())
def tension_report(profile, pks, output_dir):
    """Stress–strain figure and summary table of finished tension work chains."""
    from pathlib import Path

    _load(profile)
    from ..report.figures import stress_strain_figure, tension_table

    nodes = _finished_with(pks, "stress_strain", "not finished tension work chains")
    out = Path(output_dir)
    fig = stress_strain_figure(nodes, out / "stress_strain.png")
    table = tension_table(nodes)
    (out / "tension.md").write_text(table)
    click.echo(table)
    click.echo(f"figure: {fig}")


@cli.command()
@PROFILE_OPTION
@click.argument("pks", nargs=-1, required=True)
@click.option("-o", "--output", "output_dir", default="analysis-report", show_default=True, type=click.Path())
def analyze(profile, pks, output_dir):
    """Bond switching, non-affine D and atomic stress of finished plane-strain runs (SPEC §4), with figures."""
    from pathlib import Path

    _load(profile)
    from ..functions.analysis import deformation_analysis, rdf_analysis
    from ..report.figures import deformation_figures, deformation_table

    nodes = _finished_with(pks, "frames", "not finished tension work chains with frames")
    results = []
    for wc in nodes:
        t0 = time.monotonic()
        res = deformation_analysis(wc.outputs.frames)
        click.echo(f"  PK {wc.pk}: analysed {wc.outputs.frames.get_shape('positions')[0]} frames in "
                   f"{time.monotonic() - t0:.1f} s -> summary PK {res['summary'].pk}")  # fmt: skip
        results.append((wc, res))
    out = Path(output_dir)
    figs = deformation_figures([(wc, r["curves"]) for wc, r in results], out)
    table = deformation_table([(wc, r["summary"]) for wc, r in results])
    rdf_lines = ["| sample (tension PK) | g_AlO peak / first minimum (Å) | g_AlAl peak / first minimum (Å) "
                 "| cut-offs used (Å) |", "|---|---|---|---|"]  # fmt: skip
    for wc in nodes:
        g = rdf_analysis(wc.inputs.structure).base.attributes.all
        rdf_lines.append(
            f"| {wc.pk} | {g['al_o_first_peak']:.2f} / {g['al_o_first_minimum']:.2f} "
            f"| {g['al_al_first_peak']:.2f} / {g['al_al_first_minimum']:.2f} "
            f"| Al–O {g['al_o_cutoff']}, Al–Al {g['al_al_cutoff']} |"
        )
    table += "\n" + "\n".join(rdf_lines) + "\n"
    (out / "deformation.md").write_text(table)
    click.echo(table)
    click.echo("figures: " + ", ".join(str(f) for f in figs))


def _label_of(node) -> str:
    """A link-label-safe name for a sample: p<pressure> from its quench, else pk<PK>."""
    from ..functions.study import pressure_label

    p = node.base.extras.get("aloxide_pressure", None)
    return pressure_label(p) if p is not None else f"pk{node.pk}"


@cli.group()
def softness():
    """Softness: learn it from thermal dynamics (train), apply a stored model (predict)."""


@softness.command("train")
@PROFILE_OPTION
@click.option("-s", "--sample", "samples_", multiple=True, required=True, help="Quench work chain PK/UUID.")
@click.option("-t", "--tension", "tensions", multiple=True, help="Plane-strain work chain whose frames get softness.")
@click.option("--protocol", default="demo", show_default=True, help="smoke, demo, fast or paper.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--code", "code_label", default=None, help="LAMMPS code label [lammps@localhost-aloxide].")
@click.option("-o", "--output", "output_dir", default="softness-report", show_default=True, type=click.Path())
def softness_train(profile, samples_, tensions, protocol, seed, code_label, output_dir):
    """Learn softness from the thermal dynamics of quenched samples (SPEC §5) and apply it to tension frames."""
    _load(profile)
    from aiida import orm
    from aiida.engine import run_get_node

    from ..workchains.protocols import ProtocolError
    from ..workchains.softness import SoftnessWorkChain

    code = _code(code_label)
    samples = {}
    for ident in samples_:
        node = _node(ident)
        if not isinstance(node, orm.WorkflowNode) or "structure" not in node.outputs:
            raise click.ClickException(f"node {ident!r} is not a quench work chain with a `structure` output")
        samples[_label_of(node)] = node.outputs.structure
    frames = {}
    tension_nodes = {}
    for wc in _finished_with(tensions, "frames", "not finished tension work chains with frames"):
        sample = wc.inputs.structure
        quench = next((n for n in sample.base.links.get_incoming().all_nodes() if n.base.extras.get(
            "aloxide_pressure", None) is not None), None)  # fmt: skip
        key = f"tension_{_label_of(quench) if quench else f'pk{wc.pk}'}"
        frames[key] = wc.outputs.frames
        tension_nodes[key] = wc
    try:
        builder = SoftnessWorkChain.get_builder_from_protocol(
            code, samples, protocol=protocol, seed=seed, frames=frames or None
        )
    except (ProtocolError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    t0 = time.monotonic()
    _, wc = run_get_node(builder)
    if not wc.is_finished_ok:
        raise click.ClickException(f"softness failed [{wc.exit_status}] {wc.exit_message}")
    r = wc.outputs.report.get_dict()

    def pct(v):
        return "–" if v is None else f"{100 * v:.1f} %"

    click.echo(
        f"softness work chain PK {wc.pk} ({time.monotonic() - t0:.0f} s): {r['n_events']} labelled events, "
        f"{r.get('n_rearranging_atoms')} distinct rearranging Al, {r.get('configuration')} configurations"
    )
    if r.get("warning"):
        click.echo(f"  WARNING: {r['warning']}", err=True)
    cv = r.get("cross_validation") or {}
    if cv:
        click.echo(
            f"  repeated grouped CV ({cv['repeats']} x {cv['folds']} folds, balanced accuracy): "
            f"{pct(cv['balanced_accuracy'])} ± {pct(cv['balanced_accuracy_std'])}; "
            f"model: {r.get('selected_features')}, C = {r.get('C')}"
        )
    if r.get("time_split"):
        ts = r["time_split"]
        click.echo(f"  time split (gap {ts.get('gap_ps')} ps): test {pct(ts['test_accuracy'])}")
    for name, res in (r.get("ablation") or {}).items():
        if res:
            click.echo(
                f"  ablation {name:>14}: {pct(res.get('balanced_accuracy'))} ± {pct(res.get('balanced_accuracy_std'))}"
            )
    if r.get("cross_pressure"):
        cp = r["cross_pressure"]
        click.echo(f"  cross-pressure: keys {cp['keys']}, accuracy {cp['accuracy']}, worst {pct(cp['worst'])}")
    applied = wc.outputs.applied if "applied" in wc.outputs else {}
    for key in sorted(k for k in applied if k.endswith("_softness_summary")):
        label = key[: -len("_softness_summary")]
        s = applied[key]
        c = applied.get(f"{label}_cluster_summary")
        pr = applied.get(f"{label}_probability_summary")
        click.echo(
            f"  {label}: <S> unstrained {s['unstrained_mean_softness']:.3f}, max <S> at strain "
            f"{s.get('strain_at_max_mean')}; clusters unstrained {c['unstrained_n_clusters'] if c else '–'}, "
            f"largest max {c['max_largest'] if c else '–'}; P_R fit a = {pr['fit_a'] if pr else '–'}"
        )
    if applied:
        from ..report.figures import softness_figures

        paths = softness_figures(dict(applied), tension_nodes, output_dir)
        click.echo("figures: " + ", ".join(str(p) for p in paths))


def load_softness_model(model_id: str):
    """A SoftnessModelData from a PK/UUID, or ``reference`` / ``reference:<name>`` (the packaged model)."""
    from aiida import orm

    from ..data.softness_model import SoftnessModelData

    if model_id == "reference" or model_id.startswith("reference:"):
        from ..functions.reference import reference_model
        from ..reference import reference_names

        name = model_id.partition(":")[2] or "fast-inherent"
        if name not in reference_names():
            raise click.ClickException(f"unknown reference model {name!r}; known: {', '.join(reference_names())}")
        return reference_model(name)
    try:
        model = orm.load_node(model_id)
    except Exception as exc:  # noqa: BLE001 - any lookup failure reads the same to the user
        raise click.ClickException(f"no model {model_id!r} (give a PK, a UUID or 'reference'): {exc}") from exc
    if not isinstance(model, SoftnessModelData):
        raise click.ClickException(f"node {model_id!r} is a {type(model).__name__}, not a SoftnessModelData")
    return model


@softness.command("predict")
@PROFILE_OPTION
@click.argument("model_id")
@click.argument("structure")
@click.option(
    "--configuration",
    type=click.Choice(["thermal", "time_averaged", "inherent"]),
    default="inherent",
    show_default=True,
    help="What STRUCTURE is: an energy-minimised (inherent) structure, a thermal snapshot or a time average.",
)
@click.option("--minimize", is_flag=True, help="Minimise STRUCTURE with LAMMPS first (it becomes inherent).")
@click.option("--code", "code_label", default=None, help="LAMMPS code for --minimize [lammps@localhost-aloxide].")
@click.option("-o", "--output", type=click.Path(), default=None, help="CSV file: atom index, softness, out of domain.")
def softness_predict(profile, model_id, structure, configuration, minimize, code_label, output):
    """Softness of every Al in STRUCTURE (a node PK/UUID or a structure file) with a stored model.

    MODEL_ID is a SoftnessModelData PK/UUID or ``reference`` (the packaged model trained on the fast
    samples). The model refuses a configuration kind it was not trained on.
    """
    from pathlib import Path

    import numpy as np

    _load(profile)
    from aiida import orm

    from ..functions.softness import softness_of_frames
    from ..functions.structure import structure_as_frame, structure_from_file

    model = load_softness_model(model_id)
    if Path(structure).exists():
        try:
            node = structure_from_file(structure)
        except Exception as exc:  # noqa: BLE001 - ASE raises many types for unreadable files
            raise click.ClickException(f"cannot read {structure}: {exc}") from exc
    else:
        try:
            node = orm.load_node(structure)
        except Exception as exc:  # noqa: BLE001
            raise click.ClickException(f"{structure!r} is neither a file nor a node: {exc}") from exc
        if isinstance(node, orm.WorkflowNode) and "structure" in node.outputs:
            node = node.outputs.structure
    if not isinstance(node, orm.StructureData):
        raise click.ClickException(f"{structure!r} is not a structure")
    if minimize:
        node, configuration = _minimized(node, code_label), "inherent"
    if configuration != model.configuration:
        hint = " (add --minimize to relax it into its inherent structure)" if model.configuration == "inherent" else ""
        raise click.ClickException(
            f"the model was trained on {model.configuration} configurations, the structure is {configuration}{hint}"
        )
    result = softness_of_frames(model, structure_as_frame(node, orm.Str(configuration)))
    values = result["softness"].get_array("softness")[0]
    ood = result["softness"].get_array("out_of_domain")[0]
    idx = result["softness"].get_array("al_index")
    inside = values[~ood]
    click.echo(
        f"{len(values)} Al: <S> = {inside.mean() if inside.size else float('nan'):.3f} over the "
        f"{inside.size} in-domain Al ({ood.mean():.1%} out of domain), median "
        f"{np.median(inside) if inside.size else float('nan'):.3f}, {(inside > 0).mean() if inside.size else 0:.1%} "
        f"with S > 0 (model {model.pk}, {model.base.attributes.get('source', 'trained')}; softness node PK "
        f"{result['softness'].pk})"
    )
    if output:
        np.savetxt(output, np.column_stack([idx, values, ood.astype(int)]), fmt=["%d", "%.6f", "%d"], delimiter=",",
                   header="atom_index,softness,out_of_domain", comments="")  # fmt: skip
        click.echo(f"written {output}")


def _minimized(structure, code_label):
    """The inherent structure of ``structure``: one ``minimize_frames`` LAMMPS run (the tension steps' settings)."""
    import numpy as np
    from aiida import orm
    from aiida.engine import run_get_node

    from ..calculations.lammps import AloxideLammpsCalculation
    from ..data.structure import structure_arrays, structure_from_arrays
    from ..potentials import MATSUI
    from ..trajectory import frames_trajectory
    from ..workchains.softness import INHERENT_MINIMIZATION

    positions, types, _, box = structure_arrays(structure)
    frames = frames_trajectory(positions[None], box[None], types)
    stage = {"segments": [{"type": "minimize_frames", "n_frames": 1, **INHERENT_MINIMIZATION}], "thermo_every": 1000}
    _, calc = run_get_node(
        AloxideLammpsCalculation, code=_code(code_label), structure=structure, parameters=orm.Dict(stage), frames=frames
    )
    if not calc.is_finished_ok:
        raise click.ClickException(f"minimisation failed [{calc.exit_status}] {calc.exit_message}")
    pos = np.asarray(calc.outputs.minimized_frames.get_array("positions")[0], dtype=np.float64)
    return structure_from_arrays(np.mod(pos, box), types, box, dict(MATSUI.charges))


@cli.command()
@PROFILE_OPTION
@click.option("--protocol", default=None, help="Only runs on samples of this protocol.")
@click.option("--min-pressure", type=float, default=None)
@click.option("--max-pressure", type=float, default=None)
@click.option("--min-fracture-strain", type=float, default=None, help="Only fractured runs beyond this strain.")
@click.option("--fractured/--not-fractured", default=None, help="Only runs that did (not) fracture.")
@click.option("--loading", type=click.Choice(["plane_strain", "plane_stress"]), default=None)
def runs(profile, protocol, min_pressure, max_pressure, min_fracture_strain, fractured, loading):
    """List finished tension runs with their sample's pressure, peak stress and fracture strain."""
    _load(profile)
    from ..query import find_tensions

    rows = find_tensions(
        protocol=protocol, min_pressure=min_pressure, max_pressure=max_pressure,
        min_fracture_strain=min_fracture_strain, fractured=fractured, loading=loading,
    )  # fmt: skip
    if not rows:
        click.echo("no runs found")
        return
    click.echo(f"{'PK':>6} {'P/GPa':>6} {'loading':>12} {'peak/GPa':>9} {'eps_peak':>8} {'fracture':>9} {'tough':>7}")
    for r in rows:
        frac = f"{r['fracture_strain']:.2f}" if r["fracture_strain"] is not None else "-"
        click.echo(
            f"{r['pk']:>6} {r['pressure']:>6.2f} {r['loading']:>12} {r['peak_stress']:>9.2f} "
            f"{r['strain_at_peak']:>8.2f} {frac:>9} {r['toughness']:>7.3f}"
        )


@cli.command()
@PROFILE_OPTION
@click.option("--protocol", default=None, help="Only samples of this protocol.")
@click.option("--min-pressure", type=float, default=None)
@click.option("--max-pressure", type=float, default=None)
def samples(profile, protocol, min_pressure, max_pressure):
    """List quenched samples with pressure, density and Al coordination."""
    _load(profile)
    from ..query import find_samples

    rows = find_samples(protocol=protocol, min_pressure=min_pressure, max_pressure=max_pressure)
    if not rows:
        click.echo("no samples found")
        return
    click.echo(f"{'PK':>6} {'protocol':>8} {'P/GPa':>6} {'rho':>6} {'Al4':>6} {'Al5':>6} {'Al6':>6}")
    for r in rows:
        click.echo(
            f"{r['pk']:>6} {r['protocol']:>8} {r['pressure']:>6.2f} {r['density']:>6.3f} "
            f"{r['al4']:>6.3f} {r['al5']:>6.3f} {r['al6']:>6.3f}"
        )


@cli.command()
@PROFILE_OPTION
@click.option("--protocol", default="demo", show_default=True, help="smoke (seconds, for tests) or demo.")
@click.option("-P", "--pressure", "pressures", type=float, multiple=True, help="GPa; repeatable [0, 4].")
@click.option("--output", "output_dir", default="demo-output", show_default=True, type=click.Path())
@click.option("--label", default=None, help="Study label (group aloxide/study/<label>) [demo-<date>-<time>].")
@click.option(
    "--interval", type=click.FloatRange(min=0.1), default=5.0, show_default=True, help="Seconds between checks."
)
def demo(profile, protocol, pressures, output_dir, label, interval):
    """The whole study (SPEC.md) at the demo protocol for 0 and 4 GPa, then its report.

    Same as `study run --protocol demo -P 0 -P 4 --label demo-...` followed by `study report`:
    quench, plane-strain and plane-stress tension, SPEC §4 analyses, thermal dynamics, softness
    model and its application, summary; figures, tables (summary.md, summary.csv, index.html) and
    AiiDA's log of the run (study.log) in ``--output``.
    """
    from pathlib import Path

    _load(profile)
    from .progress import run_with_progress
    from .study import _builder, write_report

    t0 = time.monotonic()
    label = label or f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    builder = _builder(None, pressures or (0.0, 4.0), protocol, 1, True, label, None)
    out = Path(output_dir)
    click.echo(f"[demo] the whole study at the {protocol!r} protocol; progress below, one line per branch change")
    node = run_with_progress(builder, interval, prefix="demo", log=out / "study.log")
    summary = write_report(node, out)
    click.echo(
        f"[demo] done in {time.monotonic() - t0:.0f} s. Report: {summary.resolve()}\n"
        f"       (tables and figures: {(out / 'index.html').resolve()}; AiiDA log: {(out / 'study.log').resolve()})\n"
        f"       study PK {node.pk}, group {node.base.extras.get('aloxide_study_group')}; "
        f"`aiida-aloxide study show {node.pk}`, `aiida-aloxide study export {node.pk} study.aiida`"
    )


from .study import study  # noqa: E402  (needs PROFILE_OPTION, _load and _code defined above)

cli.add_command(study)
