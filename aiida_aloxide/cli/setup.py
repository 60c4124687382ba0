"""``aiida-aloxide setup``: the profile, the localhost computer and the LAMMPS code, created once and reused."""

from __future__ import annotations

import click

from ..setup import DEFAULT_PROFILE

__all__ = ["setup"]


@click.command()
# Not the shared -p/--profile: this names the profile to create (no -p, a default of its own) and loads none.
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
@click.option(
    "--slots",
    type=click.IntRange(min=1),
    default=None,
    help="LAMMPS ranks allowed to run at once on this machine; more jobs wait, most work first [all cores].",
)
@click.option("--oversubscribe", is_flag=True, help="Allow more --slots than cores.")
def setup(
    profile_name: str,
    postgres: bool,
    pg_host: str,
    pg_port: int,
    pg_user: str,
    pg_password: str,
    broker: str,
    rmq_host: str,
    rmq_port: int,
    mpiprocs: int | None,
    slots: int | None,
    oversubscribe: bool,
) -> None:
    """Create or reuse the profile, the localhost computer and the LAMMPS code (idempotent)."""
    from ..setup import SetupReport, ensure_code, ensure_computer, ensure_profile, slots_problem

    if slots is not None and (message := slots_problem(slots, oversubscribe)):  # before any profile is touched
        raise click.ClickException(message)
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
        computer = ensure_computer(mpiprocs=mpiprocs, slots=slots, oversubscribe=oversubscribe, report=report)
        ensure_code(computer, report=report)
    except (ValueError, FileNotFoundError, ConnectionError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.lines:
        click.echo(f"  {line}")
    click.echo(f"Ready. Use `verdi -p {profile_name} ...` or `aiida-aloxide -h`.")
