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
    """Load the requested, the default, or the 'aloxide' profile; explain how to create one."""
    from aiida.common.exceptions import MissingConfigurationError, ProfileConfigurationError
    from aiida.manage.configuration import get_config, load_profile

    try:
        config = get_config(create=False)
        name = profile or config.default_profile_name or DEFAULT_PROFILE
        return load_profile(name, allow_switch=True)
    except (MissingConfigurationError, ProfileConfigurationError) as exc:
        raise click.ClickException(f"{exc}\nRun `aiida-aloxide setup` first.") from exc


def _code(label: str | None):
    """Load the LAMMPS code (default label from setup) with a helpful error."""
    from aiida import orm
    from aiida.common.exceptions import MultipleObjectsError, NotExistent

    label = label or f"{DEFAULT_CODE_LABEL}@{DEFAULT_COMPUTER_LABEL}"
    try:
        return orm.load_code(label)
    except (NotExistent, MultipleObjectsError, ValueError) as exc:
        raise click.ClickException(f"code {label!r} not found ({exc}); run `aiida-aloxide setup`.") from exc


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
@click.option("--omp-threads", type=click.IntRange(min=1), default=1, show_default=True)
def setup(profile_name, postgres, pg_host, pg_port, pg_user, pg_password, broker, rmq_host, rmq_port, mpiprocs,
          omp_threads):  # fmt: skip
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
        ensure_code(computer, omp_threads=omp_threads, report=report)
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
        try:
            node = orm.load_node(ident)
        except Exception as exc:  # noqa: BLE001 - report any lookup failure the same way
            raise click.ClickException(f"no node {ident!r}: {exc}") from exc
        structure = node.outputs.structure if isinstance(node, orm.WorkflowNode) else node
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
    from aiida import orm

    from ..report.figures import stress_strain_figure, tension_table

    nodes = [orm.load_node(pk) for pk in pks]
    bad = [n.pk for n in nodes if not (n.is_finished_ok and "stress_strain" in n.outputs)]
    if bad:
        raise click.ClickException(f"not finished tension work chains: {bad}")
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
    from aiida import orm

    from ..functions.analysis import deformation_analysis, rdf_analysis
    from ..report.figures import deformation_figures, deformation_table

    nodes = [orm.load_node(pk) for pk in pks]
    bad = [n.pk for n in nodes if not (n.is_finished_ok and "frames" in n.outputs)]
    if bad:
        raise click.ClickException(f"not finished tension work chains with frames: {bad}")
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
        node = orm.load_node(ident)
        samples[_label_of(node)] = node.outputs.structure
    frames = {}
    tension_nodes = {}
    for ident in tensions:
        wc = orm.load_node(ident)
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

    click.echo(f"softness work chain PK {wc.pk} ({time.monotonic() - t0:.0f} s): {r['n_events']} labelled events")
    if r.get("warning"):
        click.echo(f"  WARNING: {r['warning']}", err=True)
    click.echo(f"  grouped split: train {pct(r['train_accuracy'])}, test {pct(r['test_accuracy'])}")
    if r.get("time_split"):
        ts = r["time_split"]
        click.echo(f"  time split:    train {pct(ts['train_accuracy'])}, test {pct(ts['test_accuracy'])}")
    for name, res in (r.get("ablation") or {}).items():
        if res:
            click.echo(f"  ablation {name:>14}: test {pct(res.get('test_accuracy'))}")
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


@softness.command("predict")
@PROFILE_OPTION
@click.argument("model_id")
@click.argument("structure")
@click.option("-o", "--output", type=click.Path(), default=None, help="CSV file: atom index, softness.")
def softness_predict(profile, model_id, structure, output):
    """Softness of every Al in STRUCTURE (a node PK/UUID or a structure file) with a stored model."""
    from pathlib import Path

    _load(profile)
    from aiida import orm

    from ..data.softness_model import SoftnessModelData
    from ..functions.softness import softness_of_frames
    from ..functions.structure import structure_as_frame, structure_from_file

    try:
        model = orm.load_node(model_id)
    except Exception as exc:  # noqa: BLE001 - any lookup failure reads the same to the user
        raise click.ClickException(f"no model {model_id!r}: {exc}") from exc
    if not isinstance(model, SoftnessModelData):
        raise click.ClickException(f"node {model_id!r} is a {type(model).__name__}, not a SoftnessModelData")
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
    result = softness_of_frames(model, structure_as_frame(node))
    values = result["softness"].get_array("softness")[0]
    idx = result["softness"].get_array("al_index")
    click.echo(
        f"{len(values)} Al: <S> = {values.mean():.3f}, std {values.std():.3f}, "
        f"{(values > 0).mean():.1%} with S > 0 (softness node PK {result['softness'].pk})"
    )
    if output:
        import numpy as np

        np.savetxt(output, np.column_stack([idx, values]), fmt=["%d", "%.6f"], delimiter=",",
                   header="atom_index,softness", comments="")  # fmt: skip
        click.echo(f"written {output}")


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
@click.option("--protocol", default="demo", show_default=True)
@click.option("--output", "output_dir", default="demo-output", show_default=True, type=click.Path())
@click.option("--no-tension", is_flag=True, help="Only prepare the samples.")
def demo(profile, protocol, output_dir, no_tension):
    """The demo study: quench at 0 and 4 GPa, pull both to fracture, analyse; write figures and tables."""
    from pathlib import Path

    _load(profile)
    from aiida.engine import run_get_node

    from ..functions.analysis import deformation_analysis
    from ..report.figures import deformation_figures, deformation_table, stress_strain_figure, tension_table
    from ..workchains.quench import QuenchWorkChain
    from ..workchains.tension import PlaneStrainWorkChain

    code = _code(None)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.monotonic()
    pressures = (0.0, 4.0)
    total = len(pressures) * (1 if no_tension else 2)
    done = 0
    quenches = []
    for p in pressures:
        done += 1
        click.echo(f"[demo {done}/{total}] quench at {p:g} GPa ({protocol}) ...")
        t0 = time.monotonic()
        _, node = run_get_node(QuenchWorkChain.get_builder_from_protocol(code, p, protocol=protocol))
        _echo_quench(node, time.monotonic() - t0)
        if not node.is_finished_ok:
            raise click.ClickException(f"quench at {p:g} GPa failed; inspect with `verdi process report {node.pk}`")
        quenches.append(node)
    lines = [
        "| P (GPa) | density (g/cm³) | Al4 | Al5 | Al6 | mean CN | quench work chain |",
        "|---|---|---|---|---|---|---|",
    ]
    for node in quenches:
        p = node.outputs.properties.get_dict()
        lines.append(
            f"| {p['pressure']:g} | {p['density']:.3f} | {p['al4']:.3f} | {p['al5']:.3f} | {p['al6']:.3f} "
            f"| {p['mean_cn_al']:.3f} | {node.uuid} |"
        )
    samples_table = "\n".join(lines) + "\n"
    report = [f"# aiida-aloxide demo ({protocol})\n", "## Samples (SPEC §2)\n", samples_table]
    click.echo(samples_table)
    if not no_tension:
        tensions = []
        for node in quenches:
            done += 1
            p = node.outputs.properties["pressure"]
            click.echo(f"[demo {done}/{total}] plane-strain tension of the {p:g} GPa sample ...")
            t0 = time.monotonic()
            builder = PlaneStrainWorkChain.get_builder_from_protocol(code, node.outputs.structure, protocol=protocol)
            _, wc = run_get_node(builder)
            if not wc.is_finished_ok:
                raise click.ClickException(f"tension failed; inspect with `verdi process report {wc.pk}`")
            s = wc.outputs.summary
            click.echo(
                f"  PK {wc.pk}: peak {s['peak_stress']:.2f} GPa at ε={s['strain_at_peak']:.2f} "
                f"({time.monotonic() - t0:.0f} s)"
            )
            tensions.append(wc)
        fig = stress_strain_figure(tensions, out / "stress_strain.png")
        table = tension_table(tensions)
        click.echo(table)
        report += ["## Plane-strain tension (SPEC §3)\n", table, f"\n![stress-strain]({fig.name})\n"]
        click.echo("[demo] bond switching, non-affine displacement and atomic stress (SPEC §4) ...")
        results = [(wc, deformation_analysis(wc.outputs.frames)) for wc in tensions]
        figs = deformation_figures([(wc, r["curves"]) for wc, r in results], out)
        table = deformation_table([(wc, r["summary"]) for wc, r in results])
        click.echo(table)
        report += ["## Bond switching, D, atomic stress (SPEC §4)\n", table]
        report += [f"\n![{f.stem}]({f.name})\n" for f in figs]
    (out / "summary.md").write_text("\n".join(report))
    click.echo(f"[demo] done in {time.monotonic() - t_all:.0f} s; report in {out.resolve() / 'summary.md'}")


from .study import study  # noqa: E402  (needs PROFILE_OPTION, _load and _code defined above)

cli.add_command(study)
