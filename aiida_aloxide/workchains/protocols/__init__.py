"""Named protocols (``smoke``, ``demo``, ``fast``, ``paper``) stored as YAML, with checked overrides.

A protocol file has ``default_protocol``, ``default_inputs`` (every key, with the value most
protocols share) and ``protocols: {name: {description, the keys that differ}}``. A protocol
resolves to the defaults updated by its own keys, then by the caller's overrides; neither may add
a key. Work chains use them through :class:`ProtocolMixin` (one file each) or
:class:`ProtocolBuilderMixin` (the study, whose protocols are its sub-workflows').
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from importlib import resources
from importlib.resources.abc import Traversable
from numbers import Real
from typing import TYPE_CHECKING, Any, ClassVar

import yaml

from ...schema import Interval, Optional, Parameter, Section, section

if TYPE_CHECKING:
    from aiida.engine import ProcessBuilder

__all__ = [
    "ProtocolBuilderMixin",
    "ProtocolError",
    "ProtocolMixin",
    "available_protocols",
    "load_protocol",
    "protocol_filepath",
    "protocol_declarations",
    "run_parameters",
]


class ProtocolError(ValueError):
    """Unknown protocol name or override key."""


def protocol_filepath(workflow: str) -> Traversable:
    """The packaged YAML file of a workflow's protocols."""
    return resources.files(__package__).joinpath(f"{workflow}.yaml")


def _read(workflow: str) -> dict[str, Any]:
    """The parsed YAML file of a workflow's protocols."""
    return yaml.safe_load(protocol_filepath(workflow).read_text())


def available_protocols(workflow: str) -> list[str]:
    """Names of the protocols a workflow defines."""
    return list(_read(workflow)["protocols"])


def run_parameters(max_wallclock_seconds: int) -> Section:
    """The keys every LAMMPS work chain's protocol ends with: the force-field cut-offs (their defaults are the
    material's; the LAMMPS stages check them), checkpoints, resources, the protocol name.

    Resources are checked by ``workchains.common.validate_resources`` (their keys: ``RESOURCE_KEYS``).
    """
    return section(
        Parameter("cutoff", None, Optional(Interval(Real, 2.0, 30.0)), "Å",
                  "real-space (Coulomb) cut-off; None: the material's"),
        Parameter("kspace_accuracy", None, Optional(Interval(Real, 1e-10, 1e-2)), "",
                  "PPPM relative accuracy; None: the material's"),
        Parameter("checkpoint_ps", 10.0, Interval(Real, 0, None), "ps",
                  "LAMMPS restart files within longer MD runs (0: none)", optional=True),
        Parameter("mpiprocs", 1, None, "", "MPI ranks per LAMMPS run (null: the computer's default)", optional=True),
        Parameter("omp_threads", 1, None, "", "OpenMP threads per rank", optional=True),
        Parameter("accelerator", None, None, "", "LAMMPS accelerator package: omp, gpu, kk or null", optional=True),
        Parameter("gpus", None, None, "", "GPUs per node for gpu / kk", optional=True),
        Parameter("max_wallclock_seconds", max_wallclock_seconds, None, "s", "wall time of one LAMMPS run",
                  optional=True),
        Parameter("protocol", None, None, "", "name of the resolved protocol (set by load_protocol)",
                  optional=True, in_yaml=False),
    )  # fmt: skip


def protocol_declarations() -> dict[tuple[str, str | None], Section]:
    """The declared parameters of every protocol file: ``(workflow, section or None) -> Section``.

    The YAML ``default_inputs`` hold exactly these keys with these defaults (tests/aiida/test_protocol_declarations.py).
    """
    from ...functions.analysis import DEFORMATION_PARAMETERS
    from ...functions.softness_parameters import SECTIONS
    from ..dynamics import DYNAMICS_PARAMETERS
    from ..quench_parameters import QUENCH_PARAMETERS
    from ..tension import TENSION_PARAMETERS

    return {
        ("quench", None): QUENCH_PARAMETERS,
        ("tension", None): TENSION_PARAMETERS,
        ("tension", "deformation"): DEFORMATION_PARAMETERS,
        ("dynamics", "dynamics"): DYNAMICS_PARAMETERS,
        **{("dynamics", name): params for name, params in SECTIONS.items()},
    }


def load_protocol(workflow: str, protocol: str | None = None, overrides: dict[str, Any] | None = None) -> dict:
    """Parameters of ``protocol`` for ``workflow``: defaults, the protocol's own values, then ``overrides``."""
    data = _read(workflow)
    name = protocol or data["default_protocol"]
    if name not in data["protocols"]:
        raise ProtocolError(f"unknown protocol {name!r} for {workflow}; choose from {sorted(data['protocols'])}")
    params = copy.deepcopy(data["default_inputs"])
    own = {key: value for key, value in data["protocols"][name].items() if key != "description"}
    _merge(params, own, workflow, f"{workflow}.yaml: protocol {name!r} sets a key default_inputs lacks:")
    _merge(params, overrides or {}, workflow)
    params["protocol"] = name
    return params


def _merge(base: dict, overrides: dict, path: str, unknown: str = "unknown override key") -> None:
    """Recursively apply overrides in place, refusing keys the protocol does not have."""
    if not isinstance(overrides, dict):
        raise ProtocolError(f"overrides for {path} must be a dictionary")
    for key, value in overrides.items():
        if key not in base:
            raise ProtocolError(f"{unknown} {path}.{key}; known keys: {sorted(base)}")
        if isinstance(base[key], dict) and isinstance(value, dict):
            _merge(base[key], value, f"{path}.{key}", unknown)
        else:
            base[key] = copy.deepcopy(value)


def _protocol_signature(builder: Callable[..., Any]) -> inspect.Signature:
    """The signature of ``builder`` with ``protocol`` and ``overrides`` in the place of its ``parameters``."""
    signature = inspect.signature(builder)
    params = list(signature.parameters.values())
    k = [p.name for p in params].index("parameters")
    extra = [inspect.Parameter(name, params[k].kind, default=None) for name in ("protocol", "overrides")]
    return signature.replace(parameters=[*params[:k], *extra, *params[k + 1 :]])


class ProtocolBuilderMixin:
    """``get_builder_from_protocol`` for any process with protocols: resolve them, then build from the result.

    A class provides ``get_default_protocol``, ``get_available_protocols``, ``get_protocol_inputs`` and
    ``get_builder_from_parameters(<its own arguments>, parameters, <keyword arguments>)``, the builder from
    resolved parameters that reads no protocol file (the one a running study uses).
    """

    @classmethod
    def get_default_protocol(cls) -> str:
        """The protocol used when none is named."""
        raise NotImplementedError

    @classmethod
    def get_available_protocols(cls) -> dict[str, str]:
        """Name -> description of every protocol."""
        raise NotImplementedError

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: dict[str, Any] | None = None) -> dict:
        """The resolved parameters of ``protocol`` with ``overrides``; :class:`ProtocolError` for unknown names."""
        raise NotImplementedError

    @classmethod
    def get_builder_from_protocol(cls, *args: Any, **kwargs: Any) -> ProcessBuilder:
        """A builder: ``get_builder_from_parameters``'s arguments, ``protocol`` + ``overrides`` for ``parameters``."""
        from aiida import orm

        arguments = dict(_protocol_signature(cls.get_builder_from_parameters).bind(*args, **kwargs).arguments)
        protocol, overrides = arguments.pop("protocol", None), arguments.pop("overrides", None)
        parameters = orm.Dict(cls.get_protocol_inputs(protocol, overrides))
        return cls.get_builder_from_parameters(**arguments, parameters=parameters)  # type: ignore[attr-defined]


class ProtocolMixin(ProtocolBuilderMixin):
    """Protocols of one YAML file of this package: the class names it in ``_protocol_file`` (e.g. ``"quench"``)."""

    _protocol_file: ClassVar[str]

    @classmethod
    def get_protocol_filepath(cls) -> Traversable:
        """The class's protocol file."""
        return protocol_filepath(cls._protocol_file)

    @classmethod
    def get_default_protocol(cls) -> str:
        """The file's ``default_protocol``."""
        return _read(cls._protocol_file)["default_protocol"]

    @classmethod
    def get_available_protocols(cls) -> dict[str, str]:
        """Name -> description of every protocol of the file."""
        return {name: entry.get("description", "") for name, entry in _read(cls._protocol_file)["protocols"].items()}

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: dict[str, Any] | None = None) -> dict:
        """The file's ``default_inputs`` updated by ``protocol``'s values, then by ``overrides`` (known keys only)."""
        return load_protocol(cls._protocol_file, protocol, overrides)
