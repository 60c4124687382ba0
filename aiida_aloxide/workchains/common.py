"""Pieces shared by the work chains: input validators, CalcJob options, launching a LAMMPS run."""

from __future__ import annotations

from typing import Any

from aiida import orm
from aiida.common import AttributeDict

from ..data.structure import validate_alumina
from ..potentials import MATSUI
from .restart import LammpsRestartWorkChain

__all__ = ["LammpsLauncher", "calcjob_options", "validate_sample", "validate_seed"]


def validate_sample(value: orm.StructureData, _ctx) -> str | None:
    """A charged, neutral, orthorhombic Al2O3 sample with Matsui charges."""
    return validate_alumina(value, MATSUI.charges)


def validate_seed(value: orm.Int, _ctx) -> str | None:
    """Seeds must be positive integers accepted by LAMMPS."""
    if not 1 <= value.value <= 900_000_000:
        return f"seed must be in [1, 900000000], got {value.value}"
    return None


def calcjob_options(inputs, mpiprocs: int | None) -> dict[str, Any]:
    """CalcJob options of every LAMMPS run: the ``options`` input, with resources defaulted.

    MPI ranks come from the options, else the protocol's ``mpiprocs``, else the computer's
    default (set by ``aiida-aloxide setup`` to the number of cores).
    """
    options = inputs.options.get_dict() if "options" in inputs else {}
    resources = dict(options.get("resources", {}))
    resources.setdefault("num_machines", 1)
    if "num_mpiprocs_per_machine" not in resources:
        procs = mpiprocs or inputs.code.computer.get_default_mpiprocs_per_machine()
        resources["num_mpiprocs_per_machine"] = int(procs or 1)
    options["resources"] = resources
    options.setdefault("withmpi", True)
    return options


class LammpsLauncher:
    """Mixin for work chains that run LAMMPS stages through :class:`LammpsRestartWorkChain`.

    Needs ``self.ctx.options`` and an exit code ``ERROR_RUN_FAILED`` with ``name``, ``status``
    and ``message`` placeholders.
    """

    def _launch(self, name: str, structure: orm.StructureData, stage: dict, velocities=None):
        """Submit one LAMMPS run (with restarts) from ``structure`` (and ``velocities``)."""
        inputs = AttributeDict(
            {
                "lammps": {
                    "code": self.inputs.code,
                    "structure": structure,
                    "parameters": orm.Dict(stage),
                    "metadata": {"options": self.ctx.options, "label": name},
                },
                "metadata": {"call_link_label": name, "label": name},
            }
        )
        if velocities is not None:
            inputs.lammps["velocities"] = velocities
        return self.submit(LammpsRestartWorkChain, **inputs)

    def _failed(self, name: str, node):
        """The named failure of a sub work chain."""
        return self.exit_codes.ERROR_RUN_FAILED.format(
            name=name, status=node.exit_status, message=node.exit_message or node.process_state.value
        )
