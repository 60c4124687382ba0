"""The inputs of ``aloxide.study``: its protocols (those of its sub-workflows), their resolution and the validators.

A study's protocol and overrides are resolved in one place, :func:`study_protocol_inputs`: every
section by the work chain it feeds (its ``get_protocol_inputs``, which refuses unknown keys), then
checked by that work chain's ``parameters`` validator. The builder, the ``overrides`` port and the
launch-time check of the whole namespace all go through it.
"""

from __future__ import annotations

import math
from typing import Any

from aiida import orm

from ..calculations.lammps import define_material_input
from ..data.softness_model import SoftnessModelData
from ..functions.study import pressure_label
from ..schema import MAX_REPLICAS
from .common import validate_seed
from .protocols import ProtocolError, ProtocolMixin
from .quench import MAX_PRESSURE_GPA, QuenchWorkChain
from .softness import SoftnessWorkChain
from .tension import PlaneStrainWorkChain

__all__ = [
    "DEFAULT_PROTOCOL",
    "LOADINGS",
    "MAX_REPLICAS",
    "SECTIONS",
    "define_inputs",
    "replica_seed",
    "sample_label",
    "study_protocol_inputs",
    "study_protocols",
    "validate_loading",
    "validate_overrides",
    "validate_pressures",
    "validate_protocol",
    "validate_replicas",
    "validate_study_inputs",
]

DEFAULT_PROTOCOL = "demo"
#: Override sections (and ``parameters`` inputs) and the work chain whose protocol each one is.
SECTIONS: dict[str, type[ProtocolMixin]] = {
    "quench": QuenchWorkChain,
    "tension": PlaneStrainWorkChain,
    "dynamics": SoftnessWorkChain,
}
#: Loading conditions of SPEC §3; plane strain is the one every analysis uses, so it is required.
LOADINGS = ("plane_strain", "plane_stress")


def section_validator(section: str):
    """The validator of the ``parameters`` input of the work chain ``section`` feeds."""
    return SECTIONS[section].spec().inputs["parameters"].validator


def study_protocols() -> dict[str, str]:
    """Name -> description of the protocols every sub-workflow defines (the quench's descriptions)."""
    names = set.intersection(*(set(chain.get_available_protocols()) for chain in SECTIONS.values()))
    return {name: text for name, text in QuenchWorkChain.get_available_protocols().items() if name in names}


def _sections(protocol: str | None, overrides: Any) -> dict[str, dict[str, Any]]:
    """Every section resolved by its work chain's ``get_protocol_inputs``: known sections and keys only."""
    if overrides is not None and not isinstance(overrides, dict):
        raise ProtocolError(f"overrides must be a dictionary by section, got {type(overrides).__name__}")
    unknown = set(overrides or {}) - set(SECTIONS)
    if unknown:
        raise ProtocolError(f"unknown override sections {sorted(unknown)}; known: {sorted(SECTIONS)}")
    resolved = {}
    for section, chain in SECTIONS.items():
        try:
            resolved[section] = chain.get_protocol_inputs(protocol, (overrides or {}).get(section))
        except ProtocolError as exc:
            raise ProtocolError(f"overrides.{section}: {exc}") from exc
    return resolved


def study_protocol_inputs(protocol: str | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """``protocol``, ``overrides`` and every resolved section, values checked: :class:`ProtocolError` otherwise."""
    name = protocol or DEFAULT_PROTOCOL
    if (message := validate_protocol(orm.Str(name), None)) is not None:
        raise ProtocolError(message)
    sections = _sections(name, overrides)
    for section, params in sections.items():
        if message := section_validator(section)(orm.Dict(params), None):
            raise ProtocolError(f"overrides.{section}: {message}")
    return {"protocol": name, "overrides": overrides or {}, **sections}


def define_inputs(spec) -> None:
    """The study's input ports, each with its validator, and the check of them together."""
    spec.input("code", valid_type=orm.AbstractCode, help="The LAMMPS code.")
    spec.input(
        "pressures",
        valid_type=orm.List,
        default=lambda: orm.List([0.0, 4.0]),
        validator=validate_pressures,
        help="Quench pressures (GPa), unique, 0-50.",
    )
    spec.input(
        "protocol",
        valid_type=orm.Str,
        default=lambda: orm.Str(DEFAULT_PROTOCOL),
        validator=validate_protocol,
        help="smoke, demo, fast or paper.",
    )
    spec.input(
        "overrides",
        valid_type=orm.Dict,
        required=False,
        validator=validate_overrides,
        help="Protocol overrides by section: quench, tension, dynamics.",
    )
    spec.input(
        "loading",
        valid_type=orm.List,
        default=lambda: orm.List(list(LOADINGS)),
        validator=validate_loading,
        help="Loading conditions: plane_strain (required, analysed) and optionally plane_stress.",
    )
    spec.input("seed", valid_type=orm.Int, default=lambda: orm.Int(1), validator=validate_seed)
    spec.input(
        "replicas",
        valid_type=orm.Int,
        default=lambda: orm.Int(1),
        validator=validate_replicas,
        help=f"Independent samples per pressure (own melt, seed derived from `seed`), 1-{MAX_REPLICAS}; "
        "with more than one the summary gives every scalar as mean ± standard error.",
    )
    spec.input("options", valid_type=orm.Dict, required=False, help="CalcJob options for every LAMMPS run.")
    spec.input(
        "softness",
        valid_type=orm.Bool,
        default=lambda: orm.Bool(True),
        help="Learn softness from the samples' thermal dynamics and apply it to the tension frames.",
    )
    spec.input(
        "softness_model",
        valid_type=SoftnessModelData,
        required=False,
        help="Model applied to the tension frames instead of the one trained on this study's samples "
        "(e.g. the packaged reference model; the demo's samples are too small for a meaningful one).",
    )
    spec.input("label", valid_type=orm.Str, required=False, help="Study label (group aloxide/study/<label>).")
    define_material_input(spec, "the glass (e.g. silica-bks), passed to every sub-workflow and analysis")
    spec.input_namespace(
        "parameters",
        help="The resolved parameters (protocol + overrides) of every sub-workflow, fixed at submission: "
        "the sub-workflows are built from these, never from the protocol files.",
    )
    for section in SECTIONS:
        spec.input(
            f"parameters.{section}",
            valid_type=orm.Dict,
            validator=section_validator(section),
            help=f"Resolved {section} protocol, as `{section}` work chains take it.",
        )
    spec.inputs.validator = validate_study_inputs


def model_material_problem(model: SoftnessModelData, value) -> str | None:
    """Why a softness model cannot be applied to the frames of the study's material (its columns name other
    elements: the packaged alumina model on silica), or None."""
    from ..materials import material_of

    try:
        material = material_of(value.get("material"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # reported by the material port
    sf = model.structure_function_parameters or {}
    labels = sf.get("labels")
    elements = set(labels.values()) if labels else set(material_of(None).type_species.values())
    if elements != set(material.masses):
        return (
            f"softness_model was trained on {'/'.join(sorted(elements))} frames, but the study's material "
            f"{material.name} is {'/'.join(material.masses)}: train the study's own model (--softness-model trained)"
        )
    return None


def validate_replicas(value: orm.Int, _ctx) -> str | None:
    """1 … :data:`MAX_REPLICAS` replicas per pressure."""
    n = value.value
    if isinstance(n, bool) or not 1 <= n <= MAX_REPLICAS:
        return f"replicas must be between 1 and {MAX_REPLICAS} (each is a full melt, quench and tension), got {n}"
    return None


def replica_seed(seed: int, replica: int) -> int:
    """Seed of replica ``replica`` (0-based) of a study seeded ``seed``: replica 0 keeps ``seed`` (a one-replica
    study is the study it always was), the others are spread deterministically over the LAMMPS seed range."""
    from ..schema import MAX_LAMMPS_SEED

    if replica == 0:
        return int(seed)
    return int((int(seed) * 7919 + replica * 104_729) % (MAX_LAMMPS_SEED - 1)) + 1


def sample_label(pressure: float, replica: int, replicas: int) -> str:
    """Link label of one sample: ``p4`` for a single replica, ``p4_r1`` … ``p4_rN`` otherwise."""
    base = pressure_label(pressure)
    return base if replicas == 1 else f"{base}_r{replica + 1}"


def validate_loading(value: orm.List, _ctx) -> str | None:
    """Unique names from :data:`LOADINGS`, always including ``plane_strain``."""
    values = value.get_list()
    bad = [v for v in values if v not in LOADINGS]
    if bad:
        return f"unknown loading {bad!r}; choose from {list(LOADINGS)}"
    if len(set(values)) != len(values):
        return f"loading conditions must be unique, got {values}"
    if "plane_strain" not in values:
        return "loading must include 'plane_strain' (the analyses and softness use its frames)"
    return None


def validate_pressures(value: orm.List, _ctx) -> str | None:
    """Non-empty, unique, finite, 0–50 GPa."""
    values = value.get_list()
    if not values:
        return "give at least one pressure"
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return f"pressures must be finite numbers, got {v!r}"
        if not 0.0 <= v <= MAX_PRESSURE_GPA:
            return f"pressure must be between 0 and {MAX_PRESSURE_GPA} GPa, got {v}"
    labels = [pressure_label(float(v)) for v in values]
    if len(set(labels)) != len(labels):
        return f"pressures must be unique, got {values}"
    return None


def validate_protocol(value: orm.Str, _ctx) -> str | None:
    """One of the named protocols every sub-workflow defines."""
    known = study_protocols()
    if value.value not in known:
        return f"unknown protocol {value.value!r}; choose from {sorted(known)}"
    return None


def validate_overrides(value: orm.Dict | None, _ctx) -> str | None:
    """Only the sections quench / tension / dynamics, each with keys its protocol has (values: the namespace's)."""
    if value is None:
        return None
    try:
        _sections(None, value.get_dict())
    except ProtocolError as exc:
        return str(exc)
    return None


def validate_study_inputs(value, _ctx) -> str | None:
    """Override values checked for the chosen protocol; the frozen parameters are what they give; the model fits."""
    protocol = value["protocol"].value if "protocol" in value else DEFAULT_PROTOCOL
    overrides = value["overrides"].get_dict() if "overrides" in value else None
    try:
        resolved = study_protocol_inputs(protocol, overrides)
    except ProtocolError as exc:
        return str(exc)
    # The frozen parameters are what runs; they must be what protocol and overrides say (the record).
    given = value.get("parameters", {})
    for section in SECTIONS:
        if section in given and given[section].get_dict() != resolved[section]:
            return (
                f"parameters.{section} differ from protocol {protocol!r} with its overrides (the protocol file "
                "changed since the builder was made?); build the study with get_builder_from_protocol"
            )
    if "softness" in value and not value["softness"].value:
        return None
    if "softness_model" in value and (message := model_material_problem(value["softness_model"], value)):
        return message
    # The model that meets the plane-strain frames (energy-minimised) must know that kind.
    if "softness_model" in value:
        kind, origin = value["softness_model"].configuration, "`softness_model` was trained on"
    else:
        from ..functions.softness import check_parameters

        features = resolved["dynamics"].get("features")
        kind, origin = check_parameters("features", features)["configuration"], "features.configuration is"
    if kind != "inherent":
        return (
            f"softness is applied to the energy-minimised (inherent) plane-strain frames, but {origin} {kind}; "
            "use an inherent model or set dynamics.features.configuration to 'inherent'"
        )
    return None
