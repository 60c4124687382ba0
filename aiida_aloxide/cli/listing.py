"""Listing commands, reading the database only: ``samples`` (quenched samples) and ``runs`` (tension runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from .common import with_profile
from .options import LOADING_OPTION, PROTOCOL_OPTION

__all__ = ["runs", "samples"]

F = TypeVar("F", bound=Callable[..., Any])


def _pressure_range(func: F) -> F:
    """``--min-pressure`` and ``--max-pressure``, the quench-pressure filter of both listings."""
    func = click.option("--max-pressure", type=float, default=None)(func)
    return click.option("--min-pressure", type=float, default=None)(func)


@click.command()
@with_profile
@PROTOCOL_OPTION(default=None, show_default=None, help="Only runs on samples of this protocol.")
@_pressure_range
@click.option("--min-fracture-strain", type=float, default=None, help="Only fractured runs beyond this strain.")
@click.option("--fractured/--not-fractured", default=None, help="Only runs that did (not) fracture.")
@LOADING_OPTION(default=None)
def runs(
    protocol: str | None,
    min_pressure: float | None,
    max_pressure: float | None,
    min_fracture_strain: float | None,
    fractured: bool | None,
    loading: str | None,
) -> None:
    """List finished tension runs with their sample's pressure, peak stress and fracture strain."""
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


@click.command()
@with_profile
@PROTOCOL_OPTION(default=None, show_default=None, help="Only samples of this protocol.")
@_pressure_range
def samples(protocol: str | None, min_pressure: float | None, max_pressure: float | None) -> None:
    """List quenched samples with pressure, density and Al coordination."""
    from ..query import find_samples

    rows = find_samples(protocol=protocol, min_pressure=min_pressure, max_pressure=max_pressure)
    if not rows:
        click.echo("no samples found")
        return
    from ..materials import DEFAULT_CATION, load_material

    # The coordination fractions of each sample's cation (al4... for alumina, si4... for silica).
    click.echo(f"{'PK':>6} {'protocol':>8} {'P/GPa':>6} {'rho':>6} {'cation':>6} {'CN4':>6} {'CN5':>6} {'CN6':>6}")
    for r in rows:
        cation = load_material(r["material"]).cation if r.get("material") else DEFAULT_CATION
        c = cation.lower()
        click.echo(
            f"{r['pk']:>6} {r['protocol']:>8} {r['pressure']:>6.2f} {r['density']:>6.3f} {cation:>6} "
            f"{r[f'{c}4']:>6.3f} {r[f'{c}5']:>6.3f} {r[f'{c}6']:>6.3f}"
        )


@click.command("materials")
def materials() -> None:
    """List the packaged materials (one data file each: species, force field, analysed cation, cut-offs)."""
    from ..materials import DEFAULT_MATERIAL, available_materials, load_material

    for name, description in available_materials().items():
        m = load_material(name)
        unit = "".join(f"{s}{n if n > 1 else ''}" for s, n in m.formula_unit.items())
        tag = " (default)" if name == DEFAULT_MATERIAL else ""
        click.echo(
            f"{name}{tag}: {unit}, {m.form}, cut-off {m.cutoff:g} Å, follows {m.analysis['cation']} — {description}"
        )
