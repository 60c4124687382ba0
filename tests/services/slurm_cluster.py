"""A throw-away single-node SLURM (Debian ``slurm-wlm`` 22.05): slurmctld + slurmd on loopback, in a temp dir.

No systemd, no munge: ``auth/none`` + ``cred/none`` (still shipped by SLURM 22.05; real clusters use
munge). Completed jobs are recorded by ``jobcomp/filetxt``, which needs no slurmdbd, so a test can
check which jobs SLURM ran, where, and with which limits.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["DAEMONS", "SlurmCluster", "missing_binaries"]

DAEMONS = ("slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "sinfo", "scontrol")


def _sbin(name: str) -> str | None:
    """A SLURM binary on PATH or in /usr/sbin (not on a non-root PATH)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def missing_binaries() -> list[str]:
    """SLURM daemons and client commands that are not installed."""
    return [name for name in (*DAEMONS, *CLIENTS) if _sbin(name) is None]


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on loopback."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class SlurmCluster:
    """slurmctld + slurmd for node ``localhost`` (``cpus`` CPUs) with one partition ``partition``.

    The partition is not the default one, so a job only runs when its script names it.
    """

    def __init__(self, partition: str = "aloxide", cpus: int = 2, max_time_minutes: int = 60):
        self.partition = partition
        self.cpus = cpus
        self.max_time_minutes = max_time_minutes
        # Short path (slurmstepd puts UNIX sockets in the spool dir, 108-character limit).
        self.root = Path(tempfile.mkdtemp(prefix="aloxide-slurm-"))
        self.conf = self.root / "slurm.conf"
        self.jobcomp = self.root / "jobcomp.txt"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._procs: dict[str, subprocess.Popen] = {}

    def write_config(self) -> None:
        """slurm.conf with free ports, every state and log file in the temp dir, no cgroups, no accounting."""
        ctld_port, slurmd_port = _free_ports(2)
        user = getpass.getuser()
        for sub in ("state", "spool"):
            (self.root / sub).mkdir()
        r = self.root
        self.conf.write_text(
            f"""ClusterName=aloxidetest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/none
CredType=cred/none
MailProg=/bin/true
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/slurmctld.log
SlurmdLogFile={r}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN
PartitionName={self.partition} Nodes=localhost Default=NO MaxTime={self.max_time_minutes} State=UP
"""
        )

    def start(self, timeout: float = 60.0) -> None:
        """Start both daemons in the foreground (``-D``) as children and wait until the node is idle."""
        self.write_config()
        commands = {
            "slurmctld": [_sbin("slurmctld"), "-D", "-f", str(self.conf)],
            "slurmd": [_sbin("slurmd"), "-D", "-N", "localhost", "-f", str(self.conf)],
        }
        for name, cmd in commands.items():
            out = open(self.root / f"{name}.out", "w")  # noqa: SIM115 - closed by the child's exit
            self._procs[name] = subprocess.Popen(
                cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            out.close()
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.logs()}")
            state = self.run("sinfo", "-h", "-p", self.partition, "-o", "%T", check=False).stdout.strip()
            if state == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError(f"SLURM node not idle after {timeout:g} s (state {state!r}):\n{self.logs()}")

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """A SLURM client command against this cluster."""
        return subprocess.run(
            [_sbin(args[0]), *args[1:]], env=self.env, capture_output=True, text=True, check=check, timeout=60
        )

    def job_ids(self) -> list[str]:
        """Ids of the jobs slurmctld still lists as pending or running."""
        out = self.run("squeue", "-h", "-o", "%i", check=False).stdout
        return out.split()

    def completed_jobs(self) -> dict[str, dict[str, str]]:
        """Records of ``jobcomp/filetxt`` by job id: ``JobState``, ``Partition``, ``TimeLimit`` (min), ``ProcCnt``."""
        if not self.jobcomp.exists():
            return {}
        jobs = {}
        for line in self.jobcomp.read_text().splitlines():
            fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
            if "JobId" in fields:
                jobs[fields["JobId"]] = fields
        return jobs

    def logs(self, tail: int = 3000) -> str:
        """The end of every daemon log, for failure messages."""
        parts = []
        for path in sorted(self.root.glob("*.log")) + sorted(self.root.glob("*.out")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Cancel any job left, stop both daemons (SIGTERM, then SIGKILL) and remove the temp dir."""
        if self._procs.get("slurmctld") and self._procs["slurmctld"].poll() is None:
            ids = self.job_ids()
            if ids:
                self.run("scancel", *ids, check=False)
                deadline = time.monotonic() + 20
                while self.job_ids() and time.monotonic() < deadline:
                    time.sleep(0.5)
        for name in reversed(DAEMONS):
            proc = self._procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> SlurmCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
