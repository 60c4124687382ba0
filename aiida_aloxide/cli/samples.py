"""Sample commands, one step of the study each: ``quench``, ``tension``, ``tension-report``, ``analyze``."""

from __future__ import annotations

import sys
import time

import click

from .common import finished_with, load_code, load_node, sample_material, with_profile
from .options import (
    CODE_OPTION,
    LOADING_OPTION,
    MATERIAL_OPTION,
    OUTPUT_DIR_OPTION,
    PRESSURES_OPTION,
    PROTOCOL_OPTION,
    SAMPLES_OPTION,
    SEED_OPTION,
    SUBMIT_OPTION,
)

__all__ = ["analyze", "quench", "tension", "tension_report"]


@click.command()
@with_profile
@PRESSURES_OPTION(required=True, help="GPa; repeatable.")
@PROTOCOL_OPTION()
@SEED_OPTION()
@CODE_OPTION()
@MATERIAL_OPTION()
@SUBMIT_OPTION()
def quench(
    pressures: tuple[float, ...], protocol: str, seed: int, code_label: str | None, material: str | None, submit: bool
) -> None:
    """Prepare samples quenched at the given pressures (SPEC §2); ``--material`` for another glass than alumina."""
    from aiida.engine import run_get_node
    from aiida.engine import submit as aiida_submit

    from ..materials import load_material
    from ..workchains.protocols import ProtocolError
    from ..workchains.quench import QuenchWorkChain

    if material is not None:
        try:
            load_material(material)  # an unknown name lists the known ones, before any code or process
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    code = load_code(code_label)
    builders = []
    for p in pressures:
        try:
            builders.append(
                QuenchWorkChain.get_builder_from_protocol(code, p, protocol=protocol, seed=seed, material=material)
            )
        except (ProtocolError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
    for p, builder in zip(pressures, builders, strict=True):
        if submit:
            node = aiida_submit(builder)
            click.echo(f"submitted quench at {p:g} GPa: PK {node.pk}")
        else:
            from .sqlite_guard import ensure_single_writer

            ensure_single_writer()
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
    from ..workchains.quench import coordination_summary

    p = node.outputs.properties.get_dict()
    took = f" in {seconds:.0f} s" if seconds is not None else ""
    click.echo(f"  PK {node.pk}: {p['pressure']:g} GPa -> {coordination_summary(p, digits=3)}{took}")


@click.command()
@with_profile
@SAMPLES_OPTION(help="Quench work chain or structure PK/UUID.")
@LOADING_OPTION(default="plane_strain", show_default=True)
@PROTOCOL_OPTION()
@SEED_OPTION()
@CODE_OPTION()
@MATERIAL_OPTION(help="Material file name [the samples' own: the packaged material of their elements].")
@SUBMIT_OPTION()
def tension(
    samples_: tuple[str, ...], loading: str, protocol: str, seed: int, code_label: str | None, material: str | None,
    submit: bool,
) -> None:  # fmt: skip
    """Pull quenched samples to fracture (SPEC §3) and print peak stress, fracture strain, toughness."""
    from aiida import orm
    from aiida.engine import run_get_node
    from aiida.engine import submit as aiida_submit

    from ..workchains.protocols import ProtocolError
    from ..workchains.tension import PlaneStrainWorkChain, PlaneStressWorkChain

    cls = PlaneStrainWorkChain if loading == "plane_strain" else PlaneStressWorkChain
    code = load_code(code_label)
    for ident in samples_:
        node = load_node(ident)
        if isinstance(node, orm.WorkflowNode):
            structure = node.outputs.structure if "structure" in node.outputs else None
        else:
            structure = node
        if not isinstance(structure, orm.StructureData):
            raise click.ClickException(f"node {ident!r} is neither a quench work chain nor a structure")
        try:
            builder = cls.get_builder_from_protocol(
                code, structure, protocol=protocol, seed=seed, material=sample_material(structure, material)
            )
        except (ProtocolError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        from .sqlite_guard import ensure_single_writer

        if not submit:
            ensure_single_writer()
        t0 = time.monotonic()
        try:  # the inputs are checked together when the process starts (e.g. a sample of another material)
            if submit:
                click.echo(f"submitted {loading} on {structure.uuid}: PK {aiida_submit(builder).pk}")
                continue
            _, wc = run_get_node(builder)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        if not wc.is_finished_ok:
            click.echo(f"  PK {wc.pk}: FAILED [{wc.exit_status}] {wc.exit_message}", err=True)
            sys.exit(3)
        s = wc.outputs.summary
        click.echo(
            f"  PK {wc.pk}: peak {s['peak_stress']:.2f} GPa at {s['strain_at_peak']:.2f}, fracture strain "
            f"{s['fracture_strain']}, toughness {s['toughness']:.3f} GJ/m3 ({time.monotonic() - t0:.0f} s)"
        )


@click.command("tension-report")
@with_profile
@click.argument("pks", nargs=-1, required=True)
@OUTPUT_DIR_OPTION(default="tension-report")
def tension_report(pks: tuple[str, ...], output_dir: str) -> None:
    """Stress–strain figure and summary table of finished tension work chains."""
    from ..report.runs import write_tension_report

    nodes = finished_with(pks, "stress_strain", "not finished tension work chains")
    table, fig = write_tension_report(nodes, output_dir)
    click.echo(table)
    click.echo(f"figure: {fig}")


@click.command()
@with_profile
@click.argument("pks", nargs=-1, required=True)
@OUTPUT_DIR_OPTION(default="analysis-report")
def analyze(pks: tuple[str, ...], output_dir: str) -> None:
    """Bond switching, non-affine D and atomic stress of finished plane-strain runs (SPEC §4), with figures."""
    from ..functions.analysis import deformation_analysis, rdf_analysis
    from ..report.figures import deformation_figures
    from ..report.runs import write_deformation_tables

    nodes = finished_with(pks, "frames", "not finished tension work chains with frames")
    results = []
    for wc in nodes:
        t0 = time.monotonic()
        res = deformation_analysis(wc.outputs.frames)
        click.echo(f"  PK {wc.pk}: analysed {wc.outputs.frames.get_shape('positions')[0]} frames in "
                   f"{time.monotonic() - t0:.1f} s -> summary PK {res['summary'].pk}")  # fmt: skip
        results.append((wc, res))
    figs = deformation_figures([(wc, r["curves"]) for wc, r in results], output_dir)
    rdfs = [(wc, rdf_analysis(wc.inputs.structure)) for wc in nodes]
    table = write_deformation_tables([(wc, r["summary"]) for wc, r in results], rdfs, output_dir)
    click.echo(table)
    click.echo("figures: " + ", ".join(str(f) for f in figs))
