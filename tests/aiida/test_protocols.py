"""Protocol files (defaults + what each protocol changes) and the one protocol builder every work chain shares."""

from __future__ import annotations

import re
from typing import Any

import pytest

from aiida_aloxide.data.structure import structure_from_arrays
from aiida_aloxide.materials import load_material
from aiida_aloxide.packing import random_packing
from aiida_aloxide.workchains import protocols
from aiida_aloxide.workchains.dynamics import DynamicsWorkChain
from aiida_aloxide.workchains.protocols import ProtocolError, _protocol_signature, available_protocols, load_protocol
from aiida_aloxide.workchains.quench import LiquidWorkChain, QuenchWorkChain
from aiida_aloxide.workchains.softness import SoftnessWorkChain
from aiida_aloxide.workchains.study import FractureStudyWorkChain
from aiida_aloxide.workchains.tension import PlaneStrainWorkChain, PlaneStressWorkChain

FILES = ("quench", "tension", "dynamics")
NAMES = {"smoke", "demo", "fast", "paper"}


def _leaves(tree: dict[str, Any], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every non-dictionary value of a nested dictionary, by key path."""
    out: dict[tuple[str, ...], Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_leaves(value, (*path, key)))
        else:
            out[(*path, key)] = value
    return out


@pytest.mark.parametrize("workflow", FILES)
def test_each_protocol_lists_only_what_differs_from_the_defaults(workflow):
    data = protocols._read(workflow)
    defaults = _leaves(data["default_inputs"])
    assert set(data["protocols"]) == NAMES and data["default_protocol"] == "demo"
    for name, entry in data["protocols"].items():
        own = _leaves({key: value for key, value in entry.items() if key != "description"})
        assert entry.get("description"), name
        assert set(own) <= set(defaults), f"{name} sets keys default_inputs lacks: {set(own) - set(defaults)}"
        repeated = [key for key, value in own.items() if value == defaults[key] and type(value) is type(defaults[key])]
        assert not repeated, f"{name} repeats default values {repeated}"
        assert set(_leaves(load_protocol(workflow, name))) == set(defaults) | {("protocol",)}


def test_protocol_keys_and_override_keys_are_strict(monkeypatch):
    with pytest.raises(ProtocolError, match=r"unknown override key quench\.quench_time; known keys"):
        load_protocol("quench", "smoke", {"quench_time": 5})
    with pytest.raises(ProtocolError, match=r"unknown override key dynamics\.training\.kernel"):
        load_protocol("dynamics", "smoke", {"training": {"kernel": 1}})
    with pytest.raises(ProtocolError, match="unknown protocol 'huge' for tension"):
        load_protocol("tension", "huge")
    data = protocols._read("quench")
    data["protocols"]["smoke"]["quench_time"] = 1.0
    monkeypatch.setattr(protocols, "_read", lambda workflow: data)
    with pytest.raises(ProtocolError, match="protocol 'smoke' sets a key default_inputs lacks: quench.quench_time"):
        load_protocol("quench", "smoke")


@pytest.mark.parametrize(
    ("cls", "workflow"),
    [
        (QuenchWorkChain, "quench"),
        (LiquidWorkChain, "quench"),
        (PlaneStrainWorkChain, "tension"),
        (PlaneStressWorkChain, "tension"),
        (SoftnessWorkChain, "dynamics"),
    ],
)
def test_protocol_mixin_resolves_the_class_file(cls, workflow):
    assert cls.get_protocol_filepath().name == f"{workflow}.yaml"
    assert cls.get_default_protocol() == "demo"
    assert list(cls.get_available_protocols()) == available_protocols(workflow)
    assert all(cls.get_available_protocols().values())
    for name in NAMES:
        assert cls.get_protocol_inputs(name) == load_protocol(workflow, name)
    assert cls.get_protocol_inputs() == load_protocol(workflow, "demo")


def test_dynamics_protocol_is_the_dynamics_section():
    full = load_protocol("dynamics", "paper", {"dynamics": {"run_ps": 100.0}})
    section = DynamicsWorkChain.get_protocol_inputs("paper", {"run_ps": 100.0})
    assert section == {**full["dynamics"], "protocol": "paper"}
    with pytest.raises(ProtocolError, match=r"unknown override key dynamics\.dynamics\.thermostat"):
        DynamicsWorkChain.get_protocol_inputs("smoke", {"thermostat": "nose"})


#: The arguments of every get_builder_from_protocol before the refactoring, in order (later additions last:
#: the keyword-only ``material`` of every builder, the study's ``replicas``).
SIGNATURES = {
    QuenchWorkChain: ["code", "pressure", "protocol", "overrides", "seed", "options", "material"],
    LiquidWorkChain: ["code", "protocol", "overrides", "seed", "options", "material"],
    PlaneStrainWorkChain: ["code", "structure", "protocol", "overrides", "seed", "options", "material"],
    PlaneStressWorkChain: ["code", "structure", "protocol", "overrides", "seed", "options", "material"],
    DynamicsWorkChain: ["code", "structure", "protocol", "overrides", "seed", "options", "material"],
    SoftnessWorkChain: ["code", "samples", "protocol", "overrides", "seed", "options", "frames", "apply_model",
                        "trajectories", "material"],
    FractureStudyWorkChain: [
        "code", "pressures", "protocol", "overrides", "seed", "softness", "options", "label", "loading",
        "softness_model", "replicas", "material",
    ],
}  # fmt: skip


@pytest.mark.parametrize(("cls", "names"), SIGNATURES.items(), ids=[cls.__name__ for cls in SIGNATURES])
def test_get_builder_from_protocol_keeps_the_call_signatures(cls, names):
    signature = _protocol_signature(cls.get_builder_from_parameters)
    assert list(signature.parameters) == names
    assert signature.parameters["protocol"].default is None and signature.parameters["overrides"].default is None
    assert signature.parameters["seed"].default == 1


def test_builder_arguments_by_position_and_by_name(lammps_code):
    pos, types, box = random_packing(30, 2.75, 1.8, 1)
    sample = structure_from_arrays(pos, types, box, dict(load_material().charges))
    by_position = PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, sample, "smoke", {"max_strain": 0.2}, 3)
    by_name = PlaneStrainWorkChain.get_builder_from_protocol(
        code=lammps_code, structure=sample, seed=3, overrides={"max_strain": 0.2}, protocol="smoke"
    )
    for builder in (by_position, by_name):
        assert builder.parameters.get_dict() == load_protocol("tension", "smoke", {"max_strain": 0.2})
        assert builder.seed.value == 3 and builder.structure.uuid == sample.uuid
    quench = QuenchWorkChain.get_builder_from_protocol(lammps_code, pressure=4.0, protocol="smoke", seed=7)
    assert quench.pressure.value == 4.0 and quench.metadata.label == "quench smoke 4 GPa"
    dynamics = DynamicsWorkChain.get_builder_from_protocol(lammps_code, sample, "smoke", {"run_ps": 4.0})
    assert dynamics.parameters["run_ps"] == 4.0 and dynamics.metadata.label == "dynamics smoke"
    with pytest.raises(TypeError, match="multiple values"):
        QuenchWorkChain.get_builder_from_protocol(lammps_code, 1.0, "smoke", protocol="demo")
    with pytest.raises(TypeError):
        QuenchWorkChain.get_builder_from_protocol(lammps_code, 1.0, "smoke", None, 1, None, "extra")


def test_study_resolves_every_section_through_its_work_chain(aiida_profile):
    overrides = {"tension": {"max_strain": 0.2}, "dynamics": {"events": {"t_r": 0.3}}}
    resolved = FractureStudyWorkChain.get_protocol_inputs("smoke", overrides)
    assert resolved == {
        "protocol": "smoke",
        "overrides": overrides,
        "quench": QuenchWorkChain.get_protocol_inputs("smoke"),
        "tension": PlaneStrainWorkChain.get_protocol_inputs("smoke", overrides["tension"]),
        "dynamics": SoftnessWorkChain.get_protocol_inputs("smoke", overrides["dynamics"]),
    }
    assert set(FractureStudyWorkChain.get_available_protocols()) == NAMES
    assert FractureStudyWorkChain.get_protocol_inputs()["protocol"] == FractureStudyWorkChain.get_default_protocol()
    for protocol, bad, phrase in [
        ("huge", None, "unknown protocol 'huge'; choose from"),
        ("smoke", [1], "overrides must be a dictionary by section, got list"),
        ("smoke", {"softness": {}}, "unknown override sections ['softness']"),
        ("smoke", {"quench": {"x": 1}}, "overrides.quench: unknown override key quench.x"),
        ("smoke", {"tension": {"timestep": 0.5}}, "overrides.tension: invalid tension parameters"),
    ]:
        with pytest.raises(ProtocolError, match=re.escape(phrase)):
            FractureStudyWorkChain.get_protocol_inputs(protocol, bad)
