"""One declaration per parameter (issue #21): the protocol files' defaults are the declared ones, key for key."""

from __future__ import annotations

from numbers import Real
from typing import Any

import pytest

from aiida_aloxide.schema import (
    UNDECLARED,
    Interval,
    Parameter,
    section,
    section_defaults,
    section_keys,
    section_optional,
    section_parameter,
    section_schema,
)
from aiida_aloxide.workchains import protocols
from aiida_aloxide.workchains.protocols import protocol_declarations, run_parameters

DECLARATIONS = protocol_declarations()


def _name(workflow: str, part: str | None) -> str:
    """The section's name in test ids: the workflow for a one-section file, else the section."""
    return part or workflow


def _yaml_defaults(workflow: str, part: str | None) -> dict[str, Any]:
    """``default_inputs`` of the workflow's protocol file (its ``part`` section)."""
    defaults = protocols._read(workflow)["default_inputs"]
    return defaults if part is None else defaults[part]


PARAMETERS = [
    pytest.param(workflow, part, p, id=f"{_name(workflow, part)}.{p.key}")
    for (workflow, part), params in DECLARATIONS.items()
    for p in params
    if p.in_yaml
]


@pytest.mark.parametrize(("workflow", "part", "parameter"), PARAMETERS)
def test_yaml_default_equals_the_declared_default(workflow: str, part: str | None, parameter: Parameter):
    name = f"{_name(workflow, part)}.{parameter.key}"
    assert parameter.default is not UNDECLARED, f"{name} has no declared default"
    value = _yaml_defaults(workflow, part)[parameter.key]
    assert value == parameter.default and type(value) is type(parameter.default), (
        f"{name}: YAML {value!r}, declared {parameter.default!r}"
    )
    if parameter.constraint is not None:
        parameter.constraint.validate(value, name)


@pytest.mark.parametrize(("workflow", "part"), DECLARATIONS, ids=[_name(*k) for k in DECLARATIONS])
def test_every_yaml_key_is_declared_and_every_declared_key_is_in_the_yaml(workflow: str, part: str | None):
    declared = DECLARATIONS[workflow, part]
    in_yaml = {p.key for p in declared if p.in_yaml}
    # a flat file's nested sections (tension's ``deformation``) are declared, and checked, on their own
    nested = {k for w, k in DECLARATIONS if w == workflow and k is not None}
    yaml_keys = set(_yaml_defaults(workflow, part)) - (nested if part is None else set())
    assert not yaml_keys - in_yaml, f"undeclared YAML keys {sorted(yaml_keys - in_yaml)}"
    assert not in_yaml - yaml_keys, f"declared keys missing from the YAML {sorted(in_yaml - yaml_keys)}"
    if part is not None and (workflow, None) not in DECLARATIONS:
        assert set(protocols._read(workflow)["default_inputs"]) == {k for w, k in DECLARATIONS if w == workflow}
    assert not [p.key for p in declared if p.default is UNDECLARED], "every default is declared"


def test_derived_names_are_the_declarations():
    from aiida_aloxide.functions import softness_parameters as sp
    from aiida_aloxide.workchains import dynamics, quench_parameters, tension
    from aiida_aloxide.workchains.common import RESOURCE_KEYS

    for params, keys, optional, schema in [
        (quench_parameters.QUENCH_PARAMETERS, quench_parameters.PROTOCOL_KEYS, quench_parameters.OPTIONAL_KEYS,
         quench_parameters.QUENCH_SCHEMA),
        (tension.TENSION_PARAMETERS, tension.TENSION_KEYS, tension.OPTIONAL_KEYS, tension.TENSION_SCHEMA),
        (dynamics.DYNAMICS_PARAMETERS, dynamics.DYNAMICS_KEYS, dynamics._OPTIONAL, dynamics.DYNAMICS_SCHEMA),
    ]:  # fmt: skip
        assert keys == section_keys(params) and "protocol" in keys and RESOURCE_KEYS <= keys
        assert optional == {"protocol", "checkpoint_ps", *RESOURCE_KEYS} == section_optional(params)
        assert schema == section_schema(params)
    run_keys = section_keys(run_parameters(1))
    assert run_keys - {"protocol", "checkpoint_ps", "cutoff", "kspace_accuracy"} == RESOURCE_KEYS, (
        "workchains.common.RESOURCE_KEYS drifted"
    )
    defaults = {"events": sp.EVENT_DEFAULTS, "features": sp.FEATURE_DEFAULTS, "training": sp.TRAINING_DEFAULTS,
                "clusters": sp.CLUSTER_DEFAULTS, "rearrangement": sp.REARRANGEMENT_DEFAULTS}  # fmt: skip
    for name, params in sp.SECTIONS.items():
        assert defaults[name] == section_defaults(params) and sp.SCHEMAS[name] == section_schema(params)
    assert sp.EVENT_DEFAULTS["frame_spacing"] == 2.0  # the YAML's value, used by every study


def test_minimisation_is_declared_once():
    """Tension's ``min_ftol`` / ``min_maxiter``, the inherent structures and the LAMMPS segments share one
    declaration; the protocols resolve to the same numbers as before (smoke: 1e-4 / 200 for speed)."""
    from aiida_aloxide.schema.stage import MINIMIZATION, SEGMENT_SCHEMAS
    from aiida_aloxide.workchains.softness import INHERENT_MINIMIZATION
    from aiida_aloxide.workchains.tension import TENSION_PARAMETERS

    declared = section_defaults(MINIMIZATION)
    assert declared == INHERENT_MINIMIZATION == {"etol": 0.0, "ftol": 1.0e-6, "maxiter": 1000, "maxeval": 10000}
    for key in ("ftol", "maxiter"):
        own = section_parameter(TENSION_PARAMETERS, f"min_{key}")
        assert (own.default, own.constraint) == (declared[key], section_parameter(MINIMIZATION, key).constraint)
    for segment in ("strain_steps", "minimize_frames"):
        assert {k: SEGMENT_SCHEMAS[segment][k][1] for k in declared} == declared
    for name in ("demo", "fast", "paper"):
        resolved = protocols.load_protocol("tension", name)
        assert (resolved["min_ftol"], resolved["min_maxiter"]) == (declared["ftol"], declared["maxiter"])
    smoke = protocols.load_protocol("tension", "smoke")
    assert (smoke["min_ftol"], smoke["min_maxiter"]) == (1.0e-4, 200)


def test_section_helpers():
    positive = Interval(Real, 0, None)
    params = section(Parameter("a", [1, 2], None, "ps"), Parameter("b", UNDECLARED, positive, optional=True))
    defaults = section_defaults(params)
    defaults["a"].append(3)
    assert section_defaults(params) == {"a": [1, 2]}  # a copy, the undeclared default left out
    assert section_keys(params) == {"a", "b"} and section_optional(params) == {"b"}
    assert section_schema(params) == {"b": positive}  # parameters without a constraint are checked elsewhere
    assert section_parameter(params, "b").default is UNDECLARED and repr(UNDECLARED) == "UNDECLARED"
    with pytest.raises(KeyError):
        section_parameter(params, "c")
    with pytest.raises(TypeError, match=r"declared twice: \['a'\]"):
        section(Parameter("a", 1), Parameter("a", 2))
