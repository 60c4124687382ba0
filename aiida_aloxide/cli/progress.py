"""Compact progress of a study run in this process, with AiiDA's log lines sent to a file meanwhile.

One line per branch of the study (per pressure: quench, plane strain, plane stress, analysis;
then softness) whenever one of its stages finishes: stages done / planned and the branch's own
elapsed time. A stage is one LAMMPS run (with its restarts); the analysis branch is one
calcfunction. No terminal control codes: it reads the same in a terminal, a log file and CI.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

__all__ = [
    "BranchState",
    "StudyProgress",
    "aiida_log_to_file",
    "branch_of",
    "lammps_seconds",
    "planned_stages",
    "run_with_progress",
]

#: Branch names of the study's children, by call link label prefix (the pressure label follows it).
BRANCH_PREFIXES = (("quench_", "quench"), ("equilibrate_", "equilibration"), ("dynamics_", "dynamics"),
                   ("tension_", "plane strain"), ("plane_stress_", "plane stress"),
                   ("deformation_", "analysis"))  # fmt: skip


def branch_of(link_label: str) -> str | None:
    """Display name of the branch a study child is (``p0 quench``, ``softness``), ``None`` for others."""
    if link_label in ("softness", "liquid"):
        return link_label
    if link_label.startswith("liquid_"):  # one melt per replica: ``liquid_r2``
        return f"liquid {link_label[len('liquid_') :]}"
    for prefix, name in BRANCH_PREFIXES:
        if link_label.startswith(prefix):
            return f"{link_label[len(prefix) :]} {name}"
    return None


def _is_stage(node) -> bool:
    """A LAMMPS run of a branch: its restart wrapper, or a CalcJob launched without one."""
    return node.process_label == "LammpsRestartWorkChain" or node.process_type == "aiida.calculations:aloxide.lammps"


def planned_stages(node) -> int | None:
    """LAMMPS runs a branch plans from its inputs (1 for a calcfunction); ``None`` when it cannot tell.

    Mirrors the work chains' plans: quench stages; tension equilibration + strain chunks (plane
    strain stops early at fracture); softness: per sample the dynamics runs and the inherent structures.
    """
    from aiida import orm

    if not isinstance(node, orm.WorkflowNode):
        return 1
    try:
        p = node.inputs.parameters.get_dict()
        label = node.process_label
        if label in ("QuenchWorkChain", "LiquidWorkChain"):
            from ..workchains.quench import quench_stages

            links = {link.link_label for link in node.base.links.get_incoming().all()}
            part = "liquid" if label == "LiquidWorkChain" else "all"
            if "liquid__structure" in links:  # a quench of a shared liquid: its pressure stages only
                part = "pressure"
            pressure = node.inputs.pressure.value if "pressure" in links else 0.0
            return len(quench_stages(p, pressure, node.inputs.seed.value, part=part))
        own = int("equilibrated__structure" not in {link.link_label for link in node.base.links.get_incoming().all()})
        if label == "TensionEquilibrationWorkChain":
            return 1
        if label == "PlaneStrainWorkChain":
            steps = math.floor(p["max_strain"] / p["strain_step"] + 1e-9) + 1
            return own + math.ceil(steps / int(p["chunk_steps"]))
        if label == "PlaneStressWorkChain":
            frames = math.floor(p["plane_stress_strain"] / p["frame_strain"] + 1e-9)
            return own + math.ceil(frames / int(p["chunk_steps"]))
        if label == "DynamicsWorkChain":
            from ..workchains.dynamics import chunk_durations

            return int(round(p["equilibrate_ps"] / p["timestep"]) > 0) + len(chunk_durations(p))
        if label == "SoftnessWorkChain":
            from ..functions.softness import check_parameters
            from ..workchains.dynamics import chunk_durations

            dyn = p["dynamics"]
            runs = int(round(dyn["equilibrate_ps"] / dyn["timestep"]) > 0) + len(chunk_durations(dyn))
            given = set(node.inputs.trajectories) if "trajectories" in node.inputs else set()
            inherent = int(check_parameters("features", p.get("features"))["configuration"] == "inherent")
            return sum((0 if key in given else runs) + inherent for key in node.inputs.samples)
    except Exception:  # noqa: BLE001 - a plan that cannot be read shows as "?", never stops the run
        return None
    return None


@dataclass(frozen=True)
class BranchState:
    """Where a branch is: stages done, planned (``None``: unknown), outcome, seconds since it started."""

    done: int
    total: int | None
    outcome: str | None  # None while running; "finished" or "FAILED [status]: message"
    seconds: float

    def text(self) -> str:
        """``3/5 done (45 s)``, ``5/5 finished in 82 s``, ``1/12 FAILED [501]: ... after 20 s``."""
        if self.outcome == "finished":
            return f"{self.done}/{self.done} finished in {self.seconds:.0f} s"
        total = "?" if self.total is None else str(max(self.total, self.done))
        if self.outcome is not None:
            return f"{self.done}/{total} {self.outcome} after {self.seconds:.0f} s"
        return f"{self.done}/{total} done ({self.seconds:.0f} s)"


def branch_state(node) -> BranchState:
    """The :class:`BranchState` of a study child (a work chain, or the analysis calcfunction)."""
    from aiida import orm
    from aiida.common import timezone

    done = 0
    if isinstance(node, orm.WorkflowNode):
        stack = [node]
        while stack:  # stages may sit in sub work chains (the softness chain's dynamics)
            for child in stack.pop().called:
                if _is_stage(child):
                    done += int(child.is_finished_ok)
                elif isinstance(child, orm.WorkflowNode):
                    stack.append(child)
    elif node.is_finished_ok:
        done = 1
    outcome = None
    if node.is_terminated:
        outcome = "finished" if node.is_finished_ok else _failure(node)
        seconds = (node.mtime - node.ctime).total_seconds()
    else:
        seconds = (timezone.now() - node.ctime).total_seconds()
    return BranchState(done, planned_stages(node), outcome, seconds)


def _failure(node) -> str:
    """``FAILED [501]: message`` (``FAILED [excepted]`` without exit status or message)."""
    status = node.exit_status if node.exit_status is not None else node.process_state.value
    return f"FAILED [{status}]" + (f": {node.exit_message}" if node.exit_message else "")


class StudyProgress:
    """Branch states of a running study; :meth:`lines` gives one line per branch whose count or outcome changed."""

    def __init__(self, node, prefix: str = "study", t0: float | None = None):
        """Follow the study ``node``; lines start with ``[prefix <seconds since t0> s]``."""
        self.node = node
        self.prefix = prefix
        self.t0 = time.monotonic() if t0 is None else t0
        self._last: dict[int, tuple] = {}
        self._closed: set[int] = set()
        self._last_stage = -1e9

    def stages(self, every: float = 30.0) -> list[str]:
        """``branch · stage: done/total …`` per running LAMMPS stage, at most every ``every`` s (else [])."""
        from .live import running_stages

        now = time.monotonic()
        if now - self._last_stage < every:
            return []
        self._last_stage = now
        try:
            return [f"{branch} · {p.text()}" for branch, p in running_stages(self.node, branch_of)]
        except Exception:  # noqa: BLE001 - a log that cannot be read now is read at the next tick
            return []

    def stage_lines(self, every: float = 30.0) -> list[str]:
        """:meth:`stages` as plain progress lines, stamped like the branch lines."""
        stamp = f"[{self.prefix} {time.monotonic() - self.t0:6.0f} s]"
        return [f"{stamp}   {text}" for text in self.stages(every)]

    def lines(self) -> list[str]:
        """New progress lines since the last call (branches in launch order)."""
        from aiida.common.links import LinkType

        links = self.node.base.links.get_outgoing(link_type=(LinkType.CALL_WORK, LinkType.CALL_CALC)).all()
        out = []
        for link in sorted(links, key=lambda link: link.node.ctime):
            name, child = branch_of(link.link_label), link.node
            if name is None or child.pk in self._closed:
                continue
            state = branch_state(child)
            key = (state.done, state.total, state.outcome)
            if self._last.get(child.pk) != key:
                self._last[child.pk] = key
                out.append(f"[{self.prefix} {time.monotonic() - self.t0:6.0f} s] {name:<16} {state.text()}")
            if state.outcome is not None:
                self._closed.add(child.pk)
        return out


@contextlib.contextmanager
def aiida_log_to_file(path: str | Path, terminal_level: int = logging.WARNING) -> Iterator[Path]:
    """Send what AiiDA's loggers print (REPORT lines of every process, INFO, ...) to ``path`` meanwhile.

    The console handlers of AiiDA's loggers keep only ``terminal_level`` and above (warnings and
    errors stay visible); a file handler with their format and level gets everything they would
    have printed. Handlers and levels are restored on exit; the database log (``verdi process
    report``) is not touched.
    """
    from aiida.common.log import get_logging_config

    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    lowered: list[tuple[logging.Handler, int]] = []
    loggers: list[logging.Logger] = []
    for name in get_logging_config()["loggers"]:
        logger = logging.getLogger(name)
        consoles = [h for h in logger.handlers if _is_console(h)]
        if not consoles:
            continue
        if handler.formatter is None:
            handler.setFormatter(consoles[0].formatter)
            handler.setLevel(min(h.level for h in consoles))
        logger.addHandler(handler)
        loggers.append(logger)
        for h in consoles:
            lowered.append((h, h.level))
            h.setLevel(max(h.level, terminal_level))
    # Whatever the logging set-up (a host application or a test harness may have replaced AiiDA's
    # console handlers), the REPORT lines of the processes reach the file.
    from aiida.common.log import LOG_LEVEL_REPORT

    top = logging.getLogger("aiida")
    if top not in loggers:
        if handler.formatter is None:
            handler.setFormatter(logging.Formatter("%(asctime)s <%(process)d> %(name)s: [%(levelname)s] %(message)s"))
            handler.setLevel(LOG_LEVEL_REPORT)
        top.addHandler(handler)
        loggers.append(top)
    top_level = top.level
    if top.getEffectiveLevel() > LOG_LEVEL_REPORT:
        top.setLevel(LOG_LEVEL_REPORT)
    try:
        yield path
    finally:
        top.setLevel(top_level)
        for h, level in lowered:
            h.setLevel(level)
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()


def _is_console(handler: logging.Handler) -> bool:
    """A handler that writes to the terminal (AiiDA's ``console`` stream handler or verdi's ``cli`` one)."""
    if isinstance(handler, logging.FileHandler):
        return False
    return isinstance(handler, logging.StreamHandler) or type(handler).__name__ == "CliHandler"


def run_with_progress(builder, interval: float = 2.0, prefix: str = "study", log: str | Path | None = None):
    """Run a study builder in this process with compact progress lines; AiiDA's log to ``log``; exit 3 if it fails.

    ``log`` defaults to ``./study-<PK>.log``. Also echoes the study's wall time and the platform
    overhead ratio (wall time / LAMMPS time).
    """
    from aiida.engine.utils import loop_scope
    from aiida.manage import get_manager

    from .live import process_state as _state
    from .sqlite_guard import ensure_single_writer

    ensure_single_writer()
    runner = get_manager().get_runner()
    t0 = time.monotonic()
    with loop_scope(runner.loop):
        process = runner.instantiate_process(builder)
        node = process.node
        log_path = Path(log) if log is not None else Path(f"study-{node.pk}.log")
        with aiida_log_to_file(log_path) as log_path:
            click.echo(f"[{prefix}] PK {node.pk}: {builder.metadata.label}")  # type: ignore[attr-defined]
            click.echo(f"[{prefix}] AiiDA log of the run (every work chain's REPORT lines): {log_path}")
            click.echo(f"[{prefix}] per branch: stages done / planned (a stage is a LAMMPS run)")
            progress = StudyProgress(node, prefix, t0)

            tty = sys.stdout.isatty()
            status = {"shown": False}

            def tick():
                try:
                    lines = progress.lines()
                    if status["shown"] and (lines or not tty):
                        click.echo("\r\033[K", nl=False)  # clear the in-place status line
                        status["shown"] = False
                    for line in lines:
                        click.echo(line)
                    if tty:  # one status line, rewritten in place
                        live = progress.stages(every=0.0)
                        if live:
                            width = shutil.get_terminal_size((120, 20)).columns - 1
                            text = f"[{prefix} {time.monotonic() - t0:6.0f} s] " + " | ".join(live)
                            click.echo("\r\033[K" + text[:width], nl=False)
                            status["shown"] = True
                    else:  # plain lines (CI, a log file): every 30 s
                        for line in progress.stage_lines(every=30.0):
                            click.echo(line)
                finally:
                    if not process.has_terminated():
                        runner.loop.call_later(interval, tick)

            runner.loop.call_later(interval, tick)
            process.execute()
            if status["shown"]:
                click.echo("\r\033[K", nl=False)
            for line in progress.lines():
                click.echo(line)
    node = process.node
    wall = time.monotonic() - t0
    click.echo(f"[{prefix}] PK {node.pk} {_state(node)} in {wall:.0f} s")
    if not node.is_finished_ok:
        click.echo(
            f"  FAILED: {node.exit_message or _state(node)}\n  see `aiida-aloxide study show {node.pk}`, "
            f"`verdi process report {node.pk}` and the log {log_path}",
            err=True,
        )
        raise SystemExit(3)
    summed, busy = lammps_seconds(node)
    if busy > 0:
        fraction = cores_busy(node)
        busy_txt = f"; cores busy {100 * fraction:.0f} % of the study's wall time" if fraction is not None else ""
        click.echo(
            f"[{prefix}] LAMMPS ran {summed:.0f} s summed over runs, {busy:.0f} s of wall time with at least one "
            f"LAMMPS running; overhead ratio wall / LAMMPS = {wall / busy:.2f}{busy_txt}"
        )
    return node


def cores_busy(node, cores: int | None = None) -> float | None:
    """Fraction of the machine's core-seconds over the study's wall time that LAMMPS ranks occupied.

    Σ (run wall time × MPI ranks × threads) / (study wall time × ``cores``); runs served from the cache
    count nothing. A value near 1 means no core waited; above 1 the cores were oversubscribed.
    """
    import os

    cores = cores or os.cpu_count() or 1
    wall = (node.mtime - node.ctime).total_seconds()
    if wall <= 0:
        return None
    used = 0.0
    for calc in node.called_descendants:
        if calc.process_type != "aiida.calculations:aloxide.lammps" or calc.base.caching.get_cache_source():
            continue
        if "results" in calc.outputs:
            res = calc.get_option("resources") or {}
            ranks = int(
                res.get("tot_num_mpiprocs") or res.get("num_machines", 1) * res.get("num_mpiprocs_per_machine", 1)
            )
            threads = int(res.get("num_cores_per_mpiproc") or 1)
            used += float(calc.outputs.results.get("wall_time_s") or 0.0) * ranks * threads
    return used / (wall * cores)


def lammps_seconds(node) -> tuple[float, float]:
    """LAMMPS time of a study: (summed over runs, wall time during which at least one LAMMPS ran).

    Each run's interval ends when its output was retrieved and lasts LAMMPS' own 'Total wall time';
    runs served from the cache are excluded. The second number is what the overhead ratio uses:
    wall time / busy time is 1 when LAMMPS never waits for the platform.
    """
    total = 0.0
    intervals = []
    start, stop = node.ctime.timestamp(), node.mtime.timestamp()
    # QueryBuilder's with_ancestors follows data provenance, not CALL links: walk the called processes.
    for calc in node.called_descendants:
        if calc.process_type != "aiida.calculations:aloxide.lammps":
            continue
        if calc.base.caching.get_cache_source() is not None:
            continue
        if "results" in calc.outputs and "retrieved" in calc.outputs:
            seconds = float(calc.outputs.results.get("wall_time_s") or 0.0)
            end = min(calc.outputs.retrieved.ctime.timestamp(), stop)
            total += seconds
            intervals.append((max(end - seconds, start), end))
    busy, reach = 0.0, -float("inf")
    for a, b in sorted(intervals):
        if b > reach:
            busy += b - max(a, reach)
            reach = b
    return total, busy
