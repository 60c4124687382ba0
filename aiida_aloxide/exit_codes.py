"""Every exit code the package's processes declare, in one table, so that a number means one thing in all of them.

Ranges (docs/workchains.md#exit-codes):

* 3xx: a LAMMPS run failed. 310-316 the ``aloxide.lammps`` CalcJob and its parser (309 is aiida-lammps'
  ``ERROR_PARSER_DETECTED_LAMMPS_RUN_ERROR``, also set by the parser); 320 the restart wrapper gave up.
* 4xx: the inputs cannot give a result, found while running (the validators refuse the rest at launch).
* 5xx: a sub-process of a work chain failed: 501-503 one of its LAMMPS runs, 511-516 a child work chain
  or calcfunction.

The restart wrapper also has aiida-core's ``BaseRestartWorkChain`` codes 301, 302, 401 and 402; no other
process uses those numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["EXIT_CODES", "ExitCodeRow", "add_exit_codes", "exit_code_rows", "exit_code_table", "process_classes"]


@dataclass(frozen=True)
class ExitCodeRow:
    """One exit code: its status, name, message (with ``{placeholders}``) and whether it invalidates the cache."""

    status: int
    name: str
    message: str
    invalidates_cache: bool = False


_INCOMPLETE = "The LAMMPS run stopped before the end (killed or out of wall time): {detail}"
_CALCJOB = (
    ExitCodeRow(310, "ERROR_LOG_MISSING", "LAMMPS wrote no log file.", invalidates_cache=True),
    ExitCodeRow(311, "ERROR_RUN_INCOMPLETE", _INCOMPLETE, invalidates_cache=True),
    ExitCodeRow(312, "ERROR_LOST_ATOMS", "LAMMPS lost atoms: {error}"),
    ExitCodeRow(313, "ERROR_NON_FINITE_ENERGY", "Energies or pressures became NaN/inf: {detail}"),
    ExitCodeRow(314, "ERROR_DUMP_CORRUPT", "A dump file is corrupted or truncated: {detail}"),
    ExitCodeRow(315, "ERROR_FINAL_STRUCTURE_MISSING", "The final configuration was not written."),
    ExitCodeRow(
        316,
        "ERROR_RUN_INCOMPLETE_CHECKPOINT",
        f"{_INCOMPLETE}; its checkpoint at step {{checkpoint}} is the `restart_file` output",
        invalidates_cache=True,
    ),
)
_UNRECOVERABLE = ExitCodeRow(
    320, "ERROR_UNRECOVERABLE", "The LAMMPS stage failed and could not be recovered: {message}"
)
_NO_EVENTS = ExitCodeRow(410, "ERROR_NO_EVENTS", "Sample {label} has no rearranging events: {detail}")
_RUN_FAILED = ExitCodeRow(501, "ERROR_RUN_FAILED", "LAMMPS run {name} failed with exit status {status}: {message}")
_STAGE_FAILED = ExitCodeRow(502, "ERROR_STAGE_FAILED", "Stage {stage} failed with exit status {status}: {message}")
_NO_FRAMES = ExitCodeRow(503, "ERROR_NO_FRAMES", "LAMMPS run {name} finished without a trajectory.")

#: The exit codes each process (family) declares; the key is what its ``define`` passes to :func:`add_exit_codes`.
EXIT_CODES: dict[str, tuple[ExitCodeRow, ...]] = {
    "aloxide.lammps": _CALCJOB,
    "aloxide.lammps.restart": (_UNRECOVERABLE,),
    "aloxide.quench": (_STAGE_FAILED,),  # and aloxide.quench.liquid
    "aloxide.tension": (  # plane strain and plane stress
        _RUN_FAILED,
        ExitCodeRow(514, "ERROR_ANALYSIS_FAILED", "Deformation analysis of the frames failed: {message}"),
    ),
    "aloxide.dynamics": (_RUN_FAILED, _NO_FRAMES),
    "aloxide.softness": (
        _RUN_FAILED,
        _NO_EVENTS,
        ExitCodeRow(515, "ERROR_DYNAMICS_FAILED", "Dynamics of sample {label} failed: {message}"),
    ),
    "aloxide.study": (
        ExitCodeRow(511, "ERROR_LIQUID_FAILED", "The shared liquid failed [{status}]: {message}"),
        ExitCodeRow(512, "ERROR_QUENCH_FAILED", "Quench at {pressure} GPa failed [{status}]: {message}"),
        ExitCodeRow(513, "ERROR_TENSION_FAILED", "Tension at {pressure} GPa failed [{status}]: {message}"),
        ExitCodeRow(514, "ERROR_ANALYSIS_FAILED", "Deformation analysis at {pressure} GPa failed: {message}"),
        ExitCodeRow(516, "ERROR_SOFTNESS_FAILED", "Softness failed [{status}]: {message}"),
    ),
}


def add_exit_codes(spec: Any, process: str) -> None:
    """Declare the exit codes of ``process`` (a key of :data:`EXIT_CODES`) on a process ``spec``."""
    for row in EXIT_CODES[process]:
        spec.exit_code(row.status, row.name, message=row.message, invalidates_cache=row.invalidates_cache)


def process_classes() -> dict[str, type]:
    """Every process class of the package, by entry point (``aloxide.*``): the calculations, then the work chains."""
    from aiida.plugins import CalculationFactory, WorkflowFactory
    from aiida.plugins.entry_point import get_entry_point_names

    found: dict[str, type] = {}
    for group, factory in (("aiida.calculations", CalculationFactory), ("aiida.workflows", WorkflowFactory)):
        for name in sorted(get_entry_point_names(group)):
            if name.startswith("aloxide."):
                found[name] = factory(name)
    return found


_PACKAGES = {"aiida": "aiida-core", "aiida_lammps": "aiida-lammps", "aiida_aloxide": "aiida-aloxide"}


def _declared_by(cls: type, name: str) -> str:
    """The package whose process class first declares exit code ``name`` in ``cls``'s hierarchy."""
    from aiida.engine import Process

    for base in reversed(cls.__mro__):
        if issubclass(base, Process) and not base.__module__.startswith("aiida_aloxide"):
            if name in base.spec().exit_codes:
                return _PACKAGES.get(base.__module__.split(".")[0], base.__module__)
    return _PACKAGES["aiida_aloxide"]


def exit_code_rows() -> list[tuple[int, str, str, list[str], str]]:
    """(status, name, message, processes, declared by) of every exit code of every process, read from their specs."""
    rows: dict[tuple[int, str, str], list[str]] = {}
    origin: dict[tuple[int, str, str], str] = {}
    for entry_point, cls in process_classes().items():
        for name, code in cls.spec().exit_codes.items():
            key = (code.status, name, code.message)
            rows.setdefault(key, []).append(entry_point)
            origin.setdefault(key, _declared_by(cls, name))
    return [(*key, processes, origin[key]) for key, processes in sorted(rows.items())]


def exit_code_table() -> str:
    """The Markdown table of :func:`exit_code_rows` (docs/conf.py renders it into docs/workchains.md)."""
    every = set(process_classes())
    lines = ["| status | name | message | processes | declared by |", "|---|---|---|---|---|"]
    for status, name, message, processes, origin in exit_code_rows():
        where = "every process" if set(processes) == every else ", ".join(f"`{p}`" for p in processes)
        lines.append(f"| {status} | `{name}` | {message} | {where} | {origin} |")
    return "\n".join(lines)
