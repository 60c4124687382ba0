"""Stage validation and script generation: every bad field refused, nothing injectable."""

from __future__ import annotations

import pytest

from aiida_aloxide.calculations.script import StageError, generate_script, validate_stage

GOOD = {"segments": [{"type": "nvt", "steps": 10, "temp": 300}]}


def test_defaults_filled_and_script_has_force_field():
    st = validate_stage(GOOD)
    assert st["timestep"] == 0.001 and st["dump_every"] == 0
    script = generate_script(GOOD)
    assert "pair_style buck/coul/long 10" in script
    assert "kspace_style pppm 1e-05" in script
    assert "fix aloxInt1 all nvt temp 300 300 0.1" in script
    assert script.count("run 10") == 1


def test_npt_ramp_in_bar_and_yz_barostat():
    seg = {"type": "npt", "steps": 5, "temp": [3000, 300], "press": [4, 4], "couple": "yz"}
    script = generate_script({"segments": [seg]})
    assert "fix aloxInt1 all npt temp 3000 300 0.1 y 40000 40000 1 z 40000 40000 1 couple none" in script


@pytest.mark.parametrize(
    ("stage", "match"),
    [
        ({}, "segments"),
        ({"segments": []}, "segments"),
        ({"segments": [{"type": "bogus"}]}, "type"),
        ({"segments": [{"type": "nvt", "steps": -1, "temp": 300}]}, "steps"),
        ({"segments": [{"type": "nvt", "steps": 10, "temp": 0}]}, "temp"),
        ({"segments": [{"type": "nvt", "steps": 10, "temp": float("nan")}]}, "finite"),
        ({"segments": [{"type": "nvt", "steps": 10, "temp": 300, "extra": 1}]}, "unknown keys"),
        ({"timestep": 0.5, **GOOD}, "timestep"),
        ({"unknown": 1, **GOOD}, "unknown stage keys"),
        ({"dump_fields": ["xu", "id\nrun 1000000"], **GOOD}, "dump_fields"),
        (
            {"segments": [{"type": "npt", "steps": 1, "temp": 300, "press": 0, "couple": "iso\nshell rm -rf /"}]},
            "couple",
        ),
        ({"segments": [{"type": "nvt", "steps": 10, "temp": "300\nshell ls"}]}, "number"),
        ({"segments": [{"type": "strain", "axis": "x y", "value": 0.01}]}, "axis"),
        ({"seed": 0, **GOOD}, "seed"),
        ({"segments": [{"type": "density", "value": 0}]}, "value"),
    ],
)
def test_bad_stages_are_refused(stage, match):
    with pytest.raises(StageError, match=match):
        validate_stage(stage)
