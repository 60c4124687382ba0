"""A SLURM cluster as an AiiDA computer: transport, MPI launcher, default ranks, partition and account.

The same helper registers a real cluster (``core.ssh`` to its login node) and the single-node
SLURM of the test suite (``core.local``). Partition, account and QOS are stored on the computer
(property :data:`COMPUTER_OPTIONS_PROPERTY`) and fill the CalcJob
options of every LAMMPS run that does not set them itself, so a study needs no per-run options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .setup import SetupReport

__all__ = ["COMPUTER_OPTIONS_PROPERTY", "COMPUTER_OPTION_KEYS", "ensure_slurm_computer", "slurm_defaults"]

#: Computer property (``computer.set_property``) holding default scheduler options of every LAMMPS run.
COMPUTER_OPTIONS_PROPERTY = "aloxide_default_options"
#: The options a computer may default; a run's own ``options`` always win.
COMPUTER_OPTION_KEYS = frozenset({"queue_name", "account", "qos", "custom_scheduler_commands"})

#: Transports that can reach a SLURM submission host.
TRANSPORTS = ("core.local", "core.ssh", "core.ssh_async")


def slurm_defaults(partition: str | None = None, account: str | None = None, qos: str | None = None) -> dict[str, str]:
    """Default scheduler options (AiiDA option names) from SLURM's partition / account / QOS."""
    values = {"queue_name": partition, "account": account, "qos": qos}
    return {key: value for key, value in values.items() if value}


def ensure_slurm_computer(
    label: str,
    *,
    workdir: str | Path,
    hostname: str = "localhost",
    transport: str = "core.local",
    mpirun_command: Sequence[str] = ("srun", "-n", "{tot_num_mpiprocs}"),
    mpiprocs: int | None = None,
    partition: str | None = None,
    account: str | None = None,
    qos: str | None = None,
    prepend_text: str | None = None,
    poll_interval: float = 10.0,
    safe_interval: float | None = None,
    auth: Mapping[str, Any] | None = None,
    report: SetupReport | None = None,
):
    """A ``core.slurm`` computer ``label``, created or reused (explicit settings update a reused one).

    ``mpiprocs``: default MPI ranks per node (the cores of a node); ``partition`` / ``account`` / ``qos``:
    defaults for every LAMMPS run; ``poll_interval``: seconds between ``squeue`` polls; ``safe_interval``:
    seconds between transport connections; ``auth``: further ``verdi computer configure`` parameters
    (``username``, ``key_filename``, ``port``, ... for ``core.ssh``).
    """
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    report = report or SetupReport()
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {TRANSPORTS}, got {transport!r}")
    if mpiprocs is not None and int(mpiprocs) < 1:
        raise ValueError(f"mpiprocs must be >= 1, got {mpiprocs}")
    defaults = slurm_defaults(partition, account, qos)
    try:
        computer = orm.load_computer(label)
    except NotExistent:
        computer = None
    if computer is not None:
        if computer.scheduler_type != "core.slurm":
            raise ValueError(f"computer {label!r} exists with scheduler {computer.scheduler_type!r}, not core.slurm")
        if mpiprocs:
            computer.set_default_mpiprocs_per_machine(int(mpiprocs))
        if defaults:
            current = computer.get_property(COMPUTER_OPTIONS_PROPERTY, None) or {}
            computer.set_property(COMPUTER_OPTIONS_PROPERTY, {**current, **defaults})
        report.add(f"computer {label!r}: exists, reused (core.slurm over {computer.transport_type})")
        return computer

    computer = orm.Computer(
        label=label,
        hostname=hostname,
        description=f"SLURM at {hostname} for aiida-aloxide",
        transport_type=transport,
        scheduler_type="core.slurm",
        workdir=str(workdir),
    )
    computer.set_mpirun_command(list(mpirun_command))
    if mpiprocs:
        computer.set_default_mpiprocs_per_machine(int(mpiprocs))
    if prepend_text:
        computer.set_prepend_text(prepend_text)
    if defaults:
        computer.set_property(COMPUTER_OPTIONS_PROPERTY, defaults)
    computer.store()
    params = dict(auth or {})
    if safe_interval is not None:
        params["safe_interval"] = float(safe_interval)
    computer.configure(**params)
    computer.set_minimum_job_poll_interval(float(poll_interval))
    where = ", ".join(f"{k}={v}" for k, v in defaults.items()) or "scheduler defaults"
    report.add(f"computer {label!r}: created (core.slurm over {transport} to {hostname}; {where})")
    return computer
