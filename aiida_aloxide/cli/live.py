"""Live progress of the LAMMPS stages a study is running: steps done / total, simulated ps, speed and ETA.

Read from each running CalcJob's own ``log.lammps`` in its working directory (local or mounted
scratch), so it needs no state of the command that started the study: ``study run`` prints it while
it waits and ``study show`` prints it for a submitted study. Stages whose directory cannot be read
(a remote cluster) show their state only.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StageProgress", "process_state", "running_stages", "stage_progress", "total_steps"]

_THERMO = re.compile(r"^\s*(\d+)\s+(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s")


def process_state(node) -> str:
    """``Finished [0]``, ``Waiting``, ``Excepted``, ... (the one state text of every command)."""
    state = node.process_state.value.capitalize() if node.process_state else "Created"
    if node.exit_status is not None:
        state += f" [{node.exit_status}]"
    return state


def total_steps(stage: dict) -> tuple[int | None, str]:
    """MD steps a stage plans and its unit: (steps, "steps") for MD segments, (strains, "strain steps") for a
    plane-strain loop, (frames, "frames") for inherent structures; None when it cannot tell."""
    segments = stage.get("segments") or []
    if any(s.get("type") == "strain_steps" for s in segments):
        return sum(len(s.get("strains", [])) for s in segments), "strain steps"
    if any(s.get("type") == "minimize_frames" for s in segments):
        return sum(int(s.get("n_frames", 0)) for s in segments), "frames"
    steps = [s.get("steps") for s in segments]
    if steps and all(isinstance(n, int) for n in steps):
        return int(sum(steps)), "steps"
    return None, ""


@dataclass(frozen=True)
class StageProgress:
    """Where one running LAMMPS stage is."""

    pk: int
    label: str
    done: int | None
    total: int | None
    unit: str
    ps: float | None
    rate: float | None  # units per second
    seconds: float

    def text(self) -> str:
        """``quench: 40000/100000 steps (40.0 ps), 61 steps/s, ETA 16 min``."""
        if self.done is None:
            return f"{self.label}: running ({self.seconds:.0f} s, log not readable here)"
        total = "?" if self.total is None else str(self.total)
        ps = f" ({self.ps:.1f} ps)" if self.ps is not None and self.unit == "steps" else ""
        out = f"{self.label}: {self.done}/{total} {self.unit}{ps}"
        if self.rate:
            out += f", {self.rate:.3g} {(self.unit.split() or ['steps'])[-1]}/s"
            if self.total is not None and self.total > self.done:
                eta = (self.total - self.done) / self.rate
                out += f", ETA {eta / 60:.0f} min" if eta >= 90 else f", ETA {eta:.0f} s"
        return out


def _workdir(calc) -> Path | None:
    try:
        path = Path(calc.get_remote_workdir() or "")
    except Exception:  # noqa: BLE001 - no workdir yet
        return None
    return path if path.is_dir() else None


def stage_progress(calc, now: float | None = None) -> StageProgress:
    """The :class:`StageProgress` of one running ``aloxide.lammps`` CalcJob."""
    from ..calculations.script import LOG_FILENAME, STEPS_FILE

    now = time.time() if now is None else now
    stage = calc.inputs.parameters.get_dict()
    total, unit = total_steps(stage)
    seconds = now - calc.ctime.timestamp()
    label = calc.label or calc.process_label
    folder = _workdir(calc)
    if folder is None:
        return StageProgress(calc.pk, label, None, total, unit, None, None, seconds)
    log = folder / LOG_FILENAME
    script = folder / calc.get_option("input_filename")
    started = script.stat().st_mtime if script.exists() else calc.ctime.timestamp()  # written at upload
    elapsed = max(now - started, 1e-6)
    done, ps = 0, None
    if unit == "strain steps":
        steps = folder / STEPS_FILE
        done = sum(1 for line in steps.read_text().splitlines() if line.strip()) if steps.exists() else 0
    elif unit == "frames":
        dump = folder / "minimized.dump"
        done = dump.read_text().count("ITEM: TIMESTEP") if dump.exists() else 0
    elif log.exists():
        with open(log, "rb") as handle:  # the last thermo row: step and simulated time
            handle.seek(max(0, log.stat().st_size - 20_000))
            tail = handle.read().decode(errors="replace").splitlines()
        first = int(stage.get("resume_step") or 0)
        for line in reversed(tail):
            m = _THERMO.match(line)
            if m:
                done = int(m.group(1)) - first
                ps = float(m.group(2))
                break
    rate = done / elapsed if done else None
    return StageProgress(calc.pk, label, done, total, unit, ps, rate, seconds)


def running_stages(node, names=None) -> list[tuple[str, StageProgress]]:
    """(branch, progress) of every LAMMPS CalcJob under ``node`` that is running now.

    ``names(link_label)`` names a direct child from its call link label (the study's ``branch_of``:
    ``p0 quench``); deeper levels add nothing, the stage label says where in the branch it is.
    """
    from aiida.common.links import LinkType

    out = []
    top = {
        link.node.pk: (names(link.link_label) if names else None) or link.node.label or link.node.process_label
        for link in node.base.links.get_outgoing(link_type=(LinkType.CALL_WORK, LinkType.CALL_CALC)).all()
    }
    stack = [(node, "")]
    while stack:
        parent, path = stack.pop()
        for child in sorted(parent.called, key=lambda n: n.ctime):
            if child.is_terminated:
                continue
            name = path or top.get(child.pk) or child.label or child.process_label
            if child.process_type and child.process_type.endswith("aloxide.lammps"):
                out.append((name, stage_progress(child)))
            elif hasattr(child, "called"):
                stack.append((child, name))
    return out
