"""Throw-away services for the production-path tests, and a sandboxed AiiDA set-up driven like a user would.

- :func:`postgres_cluster`: a PostgreSQL cluster from Debian's server binaries (``initdb`` into a temp dir,
  free loopback port), fixture ``pg_cluster``.
- :func:`rabbitmq_node`: a RabbitMQ node run as a plain process (own epmd, AMQP and distribution ports on
  loopback, mnesia/log/config in a temp dir, ``consumer_timeout`` disabled as AiiDA asks), fixture
  ``rabbitmq``.
- :class:`AiidaSandbox`: a temporary ``AIIDA_PATH`` used only through subprocesses (``aiida-aloxide``,
  ``verdi``, a small probe script), so a daemon, its broker and its workers never touch the test
  session's own profile; :meth:`AiidaSandbox.close` stops everything it started, even after a failure.

No systemd: every service is started by the test as a child process and stopped at the end. When a
service binary is missing, :func:`tests.helpers.service_missing` skips locally and fails in CI.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import service_missing

BIN = Path(sys.executable).parent
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
RABBITMQ_SBIN = Path("/usr/lib/rabbitmq/bin")


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _cmdline(pid: int) -> str:
    """The command line of ``pid`` ('' when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited; True if it did within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


# ------------------------------------------------------------------------------------------------
# PostgreSQL
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresCluster:
    """Where a throw-away cluster listens and its superuser."""

    port: int
    user: str
    password: str
    host: str = "127.0.0.1"


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A temporary PostgreSQL cluster on a free loopback port, stopped and deleted on exit."""
    if not PG_BIN:
        service_missing("PostgreSQL server binaries not installed (Debian package `postgresql`)")
    bindir = Path(PG_BIN[-1])
    # Not below pytest's tmp folder: the `postgres` user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="aloxide-pg-"))
    data = root / "data"
    password = "aloxide-test"
    pwfile = root / "pw"
    pwfile.write_text(password)
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            service_missing("running as root without runuser")
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    try:
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile),
             "--auth", "scram-sha-256"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "start",
             "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        yield PostgresCluster(port=port, user="postgres", password=password)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_cluster():
    """A throw-away PostgreSQL cluster (see :func:`postgres_cluster`)."""
    with postgres_cluster() as cluster:
        yield cluster


# ------------------------------------------------------------------------------------------------
# RabbitMQ
# ------------------------------------------------------------------------------------------------

#: The RabbitMQ set-up AiiDA asks for: no consumer timeout, since a daemon worker holds (does not
#: acknowledge) a process task for as long as the process runs, which is often longer than the
#: server's default 30 minutes (aiida-core wiki "RabbitMQ version to use", RabbitMQ ≥ 3.8.15).
RABBITMQ_ADVANCED_CONFIG = "[{rabbit, [{consumer_timeout, undefined}]}].\n"


@dataclass(frozen=True)
class RabbitNode:
    """A running throw-away RabbitMQ node."""

    port: int
    env: dict[str, str]
    root: Path
    host: str = "127.0.0.1"

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """``rabbitmqctl ARGS`` against this node."""
        return subprocess.run([str(RABBITMQ_SBIN / "rabbitmqctl"), *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout)  # fmt: skip


@contextlib.contextmanager
def rabbitmq_node(startup_timeout: float = 120) -> Iterator[RabbitNode]:
    """A RabbitMQ node as a plain child process on free loopback ports, stopped and deleted on exit.

    Its epmd runs as our own child on a free port (``ERL_EPMD_PORT``), so neither epmd nor the
    node's distribution port collide with any other Erlang node on the machine.
    """
    server = RABBITMQ_SBIN / "rabbitmq-server"
    if not server.exists() or shutil.which("epmd") is None:
        service_missing("RabbitMQ not installed (Debian package `rabbitmq-server`)")
    root = Path(tempfile.mkdtemp(prefix="aloxide-rmq-"))
    for sub in ("home", "mnesia", "log"):
        (root / sub).mkdir()
    (root / "advanced.config").write_text(RABBITMQ_ADVANCED_CONFIG)
    (root / "rabbitmq.conf").write_text("")
    (root / "rabbitmq-env.conf").write_text("")
    (root / "enabled_plugins").write_text("[].\n")
    port, dist_port, epmd_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "HOME": str(root / "home"),  # the Erlang cookie goes here, shared by the server and rabbitmqctl
        "ERL_EPMD_PORT": str(epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODENAME": f"aloxide-{os.getpid()}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
        "RABBITMQ_LOG_BASE": str(root / "log"),
        "RABBITMQ_CONF_ENV_FILE": str(root / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(root / "advanced.config"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
        "RABBITMQ_PLUGINS_EXPAND_DIR": str(root / "mnesia" / "plugins-expand"),
    }
    node = RabbitNode(port=port, env=env, root=root)
    procs: list[subprocess.Popen] = []
    try:
        with open(root / "epmd.out", "w") as out:
            procs.append(subprocess.Popen(["epmd", "-port", str(epmd_port), "-address", "127.0.0.1"], env=env,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip
        with open(root / "server.out", "w") as out:
            procs.append(subprocess.Popen([str(server)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True))  # fmt: skip
        deadline = time.monotonic() + startup_timeout
        while node.ctl("-q", "await_startup", "--timeout", "5", timeout=30).returncode != 0:
            if procs[1].poll() is not None or time.monotonic() > deadline:
                log = (root / "server.out").read_text()[-3000:]
                raise RuntimeError(f"RabbitMQ did not start (exit {procs[1].poll()}):\n{log}")
            time.sleep(1)
        yield node
    finally:
        if procs and len(procs) > 1 and procs[1].poll() is None:
            node.ctl("stop", timeout=60)
        for proc in reversed(procs):  # the server (its whole session: beam, erl_child_setup, ...), then epmd
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def rabbitmq():
    """A throw-away RabbitMQ node (see :func:`rabbitmq_node`)."""
    with rabbitmq_node() as node:
        yield node


# ------------------------------------------------------------------------------------------------
# A sandboxed AiiDA set-up, driven through subprocesses
# ------------------------------------------------------------------------------------------------

#: Run as ``python -c PROBE PROFILE COMMAND ARGS...`` in a sandbox; prints one JSON document.
PROBE = r'''
import json, os, sys, time
from aiida import load_profile, orm
from aiida.common.links import LinkType

profile = load_profile(sys.argv[1])
cmd, args = sys.argv[2], sys.argv[3:]
DONE = ("finished", "excepted", "killed")


def state(pk):
    qb = orm.QueryBuilder().append(orm.ProcessNode, filters={"id": pk}, project=["attributes.process_state"])
    return qb.first()[0]


def tree(node, prefix=""):
    """Every called process, depth first: path (call link labels), pk, kind, state, exit status, cached."""
    rows = []
    links = node.base.links.get_outgoing(link_type=(LinkType.CALL_CALC, LinkType.CALL_WORK)).all()
    for link in sorted(links, key=lambda l: l.node.ctime):
        child = link.node
        path = prefix + (link.link_label if link.link_label != "CALL" else child.process_label)
        rows.append({
            "path": path,
            "pk": child.pk,
            "kind": type(child).__name__,
            "state": child.process_state.value if child.process_state else None,
            "exit_status": child.exit_status,
            "cached": child.base.caching.get_cache_source() is not None,
            "job_id": child.get_job_id() if isinstance(child, orm.CalcJobNode) else None,
        })
        rows.extend(tree(child, path + "/"))
    return rows


if cmd == "workers":
    from aiida.engine.daemon.client import DaemonClient

    info = DaemonClient(profile).get_worker_info().get("info", {})
    print(json.dumps(sorted(int(pid) for pid in info)))
elif cmd == "wait-job":
    # wait-job STUDY LABEL TIMEOUT: a LAMMPS CalcJob labelled LABEL under STUDY has a job running
    # (QueryBuilder's with_ancestors follows data provenance, not CALL links: walk called_descendants.)
    study, label, timeout = int(args[0]), args[1], float(args[2])
    deadline = time.monotonic() + timeout
    while True:
        calcs = [n for n in orm.load_node(study).called_descendants
                 if isinstance(n, orm.CalcJobNode) and n.label == label and not n.is_terminated and n.get_job_id()]
        if calcs and os.path.exists(f"/proc/{calcs[0].get_job_id()}"):
            print(json.dumps({"calc": calcs[0].pk, "job_id": int(calcs[0].get_job_id())}))
            break
        if state(study) in DONE or time.monotonic() > deadline:
            print(json.dumps({"error": f"no running {label} job; study {state(study)}"}))
            break
        time.sleep(0.3)
elif cmd == "wait":
    # wait TIMEOUT PK...: all processes terminated; their states and ctime/mtime (epoch seconds)
    timeout, pks = float(args[0]), [int(a) for a in args[1:]]
    deadline = time.monotonic() + timeout
    while any(state(pk) not in DONE for pk in pks) and time.monotonic() < deadline:
        time.sleep(1)
    nodes = [orm.load_node(pk) for pk in pks]
    print(json.dumps({n.pk: {"state": state(n.pk), "exit_status": n.exit_status, "ctime": n.ctime.timestamp(),
                             "mtime": n.mtime.timestamp()} for n in nodes}))
elif cmd == "describe":
    # describe PK...: each study's outcome, summary, process tree and group, and what the storage holds
    unfinished = orm.QueryBuilder().append(
        orm.ProcessNode, filters={"attributes.process_state": {"!in": ["finished"]}}, project=["id"]).all()
    code = orm.load_code("lammps@localhost-aloxide")
    answer = {}
    for pk in args:
        node = orm.load_node(int(pk))
        group = orm.load_group(node.base.extras.get("aloxide_study_group"))
        members = {n.uuid for n in group.nodes}
        outputs = node.base.links.get_outgoing(link_type=(LinkType.CREATE, LinkType.RETURN)).all()
        answer[pk] = {
            "exit_status": node.exit_status,
            "summary": node.outputs.summary.get_dict() if "summary" in node.outputs else None,
            "tree": tree(node),
            "outputs": sorted(link.link_label for link in outputs),
            "group": group.label,
            "group_pks": sorted(n.pk for n in group.nodes),
            "study_in_group": node.uuid in members,
            "descendants_in_group": all(n.uuid in members for n in node.called_descendants),
            "outputs_in_group": all(link.node.uuid in members for link in outputs),
            "unfinished_processes": [row[0] for row in unfinished],
            "storage_backend": profile.storage_backend,
            "broker_backend": profile.process_control_backend,
            "lmp": str(code.filepath_executable),
            "mpirun": code.computer.get_mpirun_command(),
        }
    print(json.dumps(answer))
else:
    raise SystemExit(f"unknown probe command {cmd!r}")
'''


class AiidaSandbox:
    """A temporary ``AIIDA_PATH`` with one profile, used only through subprocesses with the venv first on PATH.

    Everything the sandbox starts (the daemon with its workers, an embedded ZeroMQ broker) belongs to
    its profile and is stopped by :meth:`close`, by PID.
    """

    def __init__(self, root: Path, profile: str):
        self.root = Path(root)
        self.profile = profile
        self.root.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "AIIDA_PATH": str(self.root), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        self.env.pop("AIIDA_PROFILE", None)

    @property
    def config_dir(self) -> Path:
        """The ``.aiida`` folder of the sandbox."""
        return self.root / ".aiida"

    def run(self, *cmd: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``cmd`` in the sandbox environment; fail with its output when ``check`` and it fails."""
        proc = subprocess.run([str(c) for c in cmd], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            shown = " ".join(str(c) if len(str(c)) < 200 else "<script>" for c in cmd)
            pytest.fail(f"{shown} -> {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def aloxide(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """``aiida-aloxide ARGS`` (subcommands take ``-p PROFILE`` themselves)."""
        return self.run(str(BIN / "aiida-aloxide"), *args, **kwargs)

    def verdi(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """``verdi -p PROFILE ARGS``."""
        return self.run(str(BIN / "verdi"), "-p", self.profile, *args, **kwargs)

    def probe(self, *args: str, timeout: float = 900) -> object:
        """Run the :data:`PROBE` script with ``args``; its JSON answer."""
        proc = self.run(sys.executable, "-c", PROBE, self.profile, *args, timeout=timeout)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def submit_study(self, *args: str) -> int:
        """``aiida-aloxide study submit -p PROFILE ARGS``; the study's PK."""
        out = self.aloxide("study", "submit", "-p", self.profile, *args).stdout
        return int(out.split("PK ", 1)[1].split(";", 1)[0])

    def daemon_log(self) -> str:
        """The daemon's log ('' before it ever ran)."""
        path = self.config_dir / "daemon" / "log" / f"aiida-{self.profile}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _circus_pid(self) -> int | None:
        """The PID in this profile's circus PID file (None without one)."""
        path = self.config_dir / "daemon" / f"circus-{self.profile}.pid"
        with contextlib.suppress(OSError, ValueError):
            return int(path.read_text().split()[0])
        return None

    def _broker_pids(self) -> list[int]:
        """PIDs of embedded ZeroMQ broker services of this profile that are still alive."""
        pids = []
        for path in self.config_dir.glob(f"broker/*-{self.profile}/broker.pid"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int(path.read_text().split()[-1])
                if pid_alive(pid) and "daemon broker" in _cmdline(pid):
                    pids.append(pid)
        return pids

    def close(self) -> None:
        """Stop the daemon (workers and circus) and the embedded broker of this profile, by PID if need be."""
        circus = self._circus_pid()
        if circus and pid_alive(circus) and "start-circus" in _cmdline(circus):
            workers = _children(circus)
            self.verdi("daemon", "stop", timeout=120, check=False)
            if not wait_gone(circus, 30):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(circus, signal.SIGKILL)
            for pid in workers:  # workers of our own daemon left behind by a failed stop
                if pid_alive(pid) and f"-p {self.profile} daemon" in _cmdline(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        for pid in self._broker_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not wait_gone(pid, 20):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    """PIDs of the direct children of ``pid`` (from /proc)."""
    out: list[int] = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(OSError, ValueError):
            out += [int(c) for c in Path(task).read_text().split()]
    return out
