"""Pieces shared by the work chains: input validators, CalcJob options, launching a LAMMPS run."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from aiida import orm
from aiida.common import AttributeDict

from ..calculations.lammps import define_material_input
from ..data.structure import validate_sample as sample_check
from ..materials import DEFAULT_MATERIAL, Material, material_for_species, material_node, material_of
from ..scheduler import COMPUTER_OPTION_KEYS, COMPUTER_OPTIONS_PROPERTY
from ..schema import LAMMPS_SEED, problem, section_problem
from ..schema.stage import StageError, stage_work, validate_stage
from ..slots import POOL_PROPERTY
from .restart import LammpsRestartWorkChain

__all__ = [
    "RESOURCE_KEYS",
    "LammpsLauncher",
    "MaterialInput",
    "calcjob_options",
    "material_input",
    "material_inputs_problem",
    "parameters_problem",
    "resolve_options",
    "stage_problem",
    "validate_resources",
    "validate_sample",
    "validate_seed",
]


def validate_sample(value: orm.StructureData, _ctx) -> str | None:
    """A charged, neutral, orthorhombic sample of the packaged material its species make (Al+O: alumina).

    Whether it is a sample of the chain's own ``material`` input is checked with all inputs together
    (:func:`material_inputs_problem`), since a port validator sees one port only.
    """
    symbols = {kind.symbols[0] for kind in value.kinds}
    material = material_for_species(symbols)
    if material is None:
        return f"no packaged material has the species {sorted(symbols)} (see `aiida-aloxide materials`)"
    return sample_check(value, material)


def material_input(material: str | orm.Dict | None) -> orm.Dict | None:
    """The ``material`` input for a material name or node: ``None`` for alumina-matsui, the default, so
    that an alumina run keeps the inputs (and cache hashes) it had before materials were inputs."""
    if material is None or isinstance(material, orm.Dict):
        return material
    if material == DEFAULT_MATERIAL:
        return None
    return material_node(material)


def material_inputs_problem(value: Mapping[str, Any], _ctx=None, ports: tuple[str, ...] = ("structure",)) -> str | None:
    """Why a structure input (``ports``) is not a sample of the chain's ``material`` (absent: alumina), or None."""
    from ..calculations.lammps import sample_problem

    for port in ports:
        structure = value.get(port)
        if structure is not None and (msg := sample_problem(structure, value.get("material"))) is not None:
            return f"{port}: {msg}"
    return None


def validate_seed(value: orm.Int, _ctx) -> str | None:
    """Seeds must be positive integers accepted by LAMMPS (the one limit: ``schema.LAMMPS_SEED``)."""
    return problem(value.value, LAMMPS_SEED, "seed")


#: Protocol keys that size every LAMMPS run of a work chain (null: fall back to the computer / 1 / none).
RESOURCE_KEYS = frozenset({"mpiprocs", "omp_threads", "max_wallclock_seconds", "accelerator", "gpus"})


def validate_resources(params: Mapping[str, Any]) -> str | None:
    """Resource keys of a protocol must be positive integers or null (``accelerator``: a LAMMPS package name
    or null): caught before anything runs."""
    from ..calculations.lammps import ACCELERATORS

    acc = params.get("accelerator")
    if acc is not None and acc not in ACCELERATORS:
        return f"accelerator must be one of {sorted(ACCELERATORS)} or null, got {acc!r}"
    for key in sorted(RESOURCE_KEYS - {"accelerator"}):
        value = params.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            return f"{key} must be a positive integer or null, got {value!r}"
    return None


def parameters_problem(
    p: Mapping[str, Any], known: set[str], optional: set[str], schema: Mapping[str, Any], what: str
) -> str | None:
    """The first thing wrong with a work chain's resolved ``p``: unknown or missing keys, resources, the schema."""
    unknown = set(p) - set(known)
    if unknown:
        return f"unknown {what} parameters {sorted(unknown)}"
    missing = set(known) - set(p) - set(optional)
    if missing:
        return f"missing {what} parameters {sorted(missing)}"
    if (error := validate_resources(p)) is not None:
        return error
    return section_problem(p, schema)


def stage_problem(stages, what: str) -> str | None:
    """Why a LAMMPS stage a work chain's parameters lead to is invalid (``invalid <what> parameters: ...``)."""
    from ..calculations.script import validate_stage

    try:
        for stage in stages:
            validate_stage(stage)
    except (ValueError, TypeError, KeyError) as exc:
        return f"invalid {what} parameters: {exc}"
    return None


def resolve_options(
    options: Mapping[str, Any] | None,
    params: Mapping[str, Any] | None,
    default_mpiprocs: int | None = None,
    computer_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """CalcJob options from, in decreasing priority: ``options``, the protocol ``params``, the computer.

    MPI ranks: ``resources`` of ``options`` > ``mpiprocs`` > the computer's default > 1. OpenMP threads
    per rank (``resources.num_cores_per_mpiproc``, SLURM's ``--cpus-per-task``): ``options`` >
    ``omp_threads``; set only above 1. Wall time: ``options`` > ``max_wallclock_seconds`` > none.
    Partition, account, ...: ``options`` > ``computer_options``.
    """
    params = params or {}
    out = copy.deepcopy(dict(options or {}))
    resources = dict(out.get("resources") or {})
    if "tot_num_mpiprocs" not in resources:
        resources.setdefault("num_machines", 1)
        if "num_mpiprocs_per_machine" not in resources:
            resources["num_mpiprocs_per_machine"] = int(params.get("mpiprocs") or default_mpiprocs or 1)
    threads = int(params.get("omp_threads") or 1)
    if threads > 1 and not {"num_cores_per_mpiproc", "num_cores_per_machine"} & set(resources):
        resources["num_cores_per_mpiproc"] = threads
    out["resources"] = resources
    for key in ("accelerator", "gpus"):
        if out.get(key) is None and params.get(key) is not None:
            out[key] = params[key]
    if out.get("max_wallclock_seconds") is None and params.get("max_wallclock_seconds"):
        out["max_wallclock_seconds"] = int(params["max_wallclock_seconds"])
    for key, value in (computer_options or {}).items():
        if key in COMPUTER_OPTION_KEYS and out.get(key) is None and value is not None:
            out[key] = value
    out.setdefault("withmpi", True)
    return out


def calcjob_options(inputs, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """CalcJob options of every LAMMPS run of a work chain: its ``options`` input over its protocol ``params``.

    See :func:`resolve_options`; the computer of ``inputs.code`` gives the default rank count
    (``aiida-aloxide setup``: all cores) and default scheduler options (partition, account).
    """
    computer = inputs.code.computer
    return resolve_options(
        inputs.options.get_dict() if "options" in inputs else None,
        params,
        computer.get_default_mpiprocs_per_machine(),
        computer.get_property(COMPUTER_OPTIONS_PROPERTY, None),
    )


class MaterialInput:
    """Mixin of the processes with an optional ``material`` input (the study and every LAMMPS work chain)."""

    def _material(self) -> Material:
        """The chain's material, checked (absent input: alumina-matsui)."""
        return material_of(self.inputs.get("material"))

    def _material_kwargs(self) -> dict[str, orm.Dict]:
        """``material=`` for a sub-process or calcfunction when the chain has one; nothing for alumina."""
        return {"material": self.inputs.material} if "material" in self.inputs else {}


class LammpsLauncher(MaterialInput):
    """Mixin for work chains that run LAMMPS stages through :class:`LammpsRestartWorkChain`.

    Needs ``self.ctx.options`` and an exit code ``ERROR_RUN_FAILED`` with ``name``, ``status``
    and ``message`` placeholders.
    """

    @staticmethod
    def define_lammps_inputs(spec, parameters_validator, parameters_help: str = "Resolved protocol.") -> None:
        """The inputs every LAMMPS-running work chain takes: code, resolved ``parameters``, seed, CalcJob options."""
        spec.input("code", valid_type=orm.AbstractCode, help="The LAMMPS code (aiida-aloxide setup registers it).")
        spec.input("parameters", valid_type=orm.Dict, validator=parameters_validator, help=parameters_help)
        spec.input("seed", valid_type=orm.Int, default=lambda: orm.Int(1), validator=validate_seed)
        spec.input(
            "options",
            valid_type=orm.Dict,
            required=False,
            help="CalcJob metadata options (resources, max_wallclock_seconds, ...) for every LAMMPS run.",
        )
        define_material_input(spec, "passed to every LAMMPS run and calcfunction of the chain")
        spec.inputs.validator = material_inputs_problem

    @classmethod
    def get_builder_from_parameters(
        cls,
        code: orm.AbstractCode,
        structure: orm.StructureData,
        parameters: orm.Dict,
        seed: int = 1,
        options: dict[str, Any] | None = None,
        *,
        material: str | orm.Dict | None = None,
    ):
        """A ready builder of a chain that runs one sample (``structure``) from resolved protocol ``parameters``;
        reads no protocol file (a running study's way). ``material``: a material name or node (absent or
        alumina-matsui: no ``material`` input). Chains with other inputs define their own."""
        label = cls.builder_label(parameters)
        return cls.lammps_builder(code, parameters, seed, options, label, material, structure=structure)

    @classmethod
    def builder_label(cls, parameters: orm.Dict) -> str | None:
        """The process label :meth:`get_builder_from_parameters` gives (none: the class name)."""
        return None

    @classmethod
    def lammps_builder(cls, code, parameters, seed: int, options, label: str | None, material=None, **inputs):
        """A builder with the common inputs (code, resolved parameters, seed, options, material), ``inputs``
        and a label; ``material`` (a name or node) is set only when it is not the default alumina."""
        builder = cls.get_builder()
        builder.code = code
        if (node := material_input(material)) is not None:
            builder.material = node
        for key, value in inputs.items():
            setattr(builder, key, value)
        builder.parameters = parameters
        builder.seed = orm.Int(seed)
        if options is not None:
            builder.options = orm.Dict(options)
        if label is not None:
            builder.metadata.label = label
        return builder

    def _runs_left(self) -> int:
        """LAMMPS runs this chain still has to launch, this one included (the slot pool's priority); 1 unless known."""
        return 1

    def _stage_keys(self, *keys: str) -> dict[str, Any]:
        """The stage keys every LAMMPS run of the chain shares: ``keys`` of its parameters and its seed."""
        return {**{key: self.ctx.params[key] for key in keys}, "seed": self.inputs.seed.value}

    def _launch(self, name: str, structure: orm.StructureData, stage: dict, velocities=None, frames=None):
        """Submit one LAMMPS run (with restarts) from ``structure`` (and ``velocities``; ``frames``
        for a ``minimize_frames`` stage). On a computer with a slot pool its priority (aiida's ``priority``
        option: not in the cache hash, ignored by the direct scheduler) is its own work × the chain's runs left."""
        options = dict(self.ctx.options)
        if self.inputs.code.computer.get_property(POOL_PROPERTY, None) and options.get("priority") is None:
            try:
                work = stage_work(validate_stage(stage), len(structure.sites)) * max(self._runs_left(), 1)
                options["priority"] = f"{work:.6g}"
            except (StageError, KeyError, TypeError, ValueError):
                pass  # the CalcJob's validator names the problem
        inputs = AttributeDict(
            {
                "lammps": {
                    "code": self.inputs.code,
                    "structure": structure,
                    "parameters": orm.Dict(stage),
                    "metadata": {"options": options, "label": name},
                },
                "metadata": {"call_link_label": name, "label": name},
            }
        )
        inputs.lammps.update(self._material_kwargs())
        if velocities is not None:
            inputs.lammps["velocities"] = velocities
        if frames is not None:
            inputs.lammps["frames"] = frames
        return self.submit(LammpsRestartWorkChain, **inputs)

    def _failed(self, name: str, node):
        """The named failure of a sub work chain."""
        return self.exit_codes.ERROR_RUN_FAILED.format(
            name=name, status=node.exit_status, message=node.exit_message or node.process_state.value
        )
