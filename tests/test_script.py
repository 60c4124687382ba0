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


RAMP = {
    "checkpoint_every": 100,
    "thermo_every": 10,
    "segments": [
        {"type": "nvt", "steps": 150, "temp": [3000, 2000]},
        {"type": "density", "value": 3.1},
        {"type": "npt", "steps": 300, "temp": [3000, 300], "press": 2.0},
    ],
}


def _body(script: str) -> str:
    """The script after the thermo settings: checkpoints and segments."""
    return script.split("thermo 10\n", 1)[1]


def test_checkpoints_only_add_the_restart_line():
    plain = generate_script({**RAMP, "checkpoint_every": 0})
    with_restart = generate_script(RAMP)
    assert with_restart.replace("restart 100 checkpoint.a.restart checkpoint.b.restart\n", "") == plain
    # A stage no longer than the interval writes no restart file, so its script is unchanged.
    short = {**RAMP, "checkpoint_every": 450}
    assert generate_script(short) == plain


def test_resume_inside_a_ramp_continues_it_from_the_checkpoint():
    script = generate_script({**RAMP, "resume_step": 200})
    assert "read_restart checkpoint.in.restart\n" in script and "read_data" not in script
    assert "velocity" not in script
    # The force field is set again after read_restart.
    assert script.index("read_restart") < script.index("pair_style buck/coul/long 10") < script.index("kspace_style")
    assert _body(script) == (
        "restart 100 checkpoint.a.restart checkpoint.b.restart\n"
        "fix aloxInt2 all npt temp 3000 300 0.1 iso 20000 20000 1\n"
        "run 450 upto start 150 stop 450\n"
        "unfix aloxInt2\n"
        "run 0 post no\n"
        "write_dump all custom final.dump id type x y z xu yu zu vx vy vz q modify sort id\n"
    )


def test_resume_in_the_first_segment_runs_the_later_ones_whole():
    body = _body(generate_script({**RAMP, "resume_step": 100, "velocity_temperature": 3000}))
    assert body.startswith(
        "restart 100 checkpoint.a.restart checkpoint.b.restart\n"
        "fix aloxInt1 all nvt temp 3000 2000 0.1\n"
        "run 150 upto start 0 stop 150\n"
        "unfix aloxInt1\n"
        "variable aloxMass equal mass(all)\n"
    )
    assert "fix aloxInt2 all npt temp 3000 300 0.1 iso 20000 20000 1\nrun 300\nunfix aloxInt2\n" in body


def test_resume_at_a_segment_end_starts_the_next_segments():
    stage = {**RAMP, "checkpoint_every": 150, "resume_step": 150}
    body = _body(generate_script(stage))
    # The density rescale after the first segment had not run when the checkpoint was written.
    assert body.startswith("restart 150 checkpoint.a.restart checkpoint.b.restart\nvariable aloxMass")
    assert "aloxInt1" not in body and "run 300\n" in body


def test_resume_a_deform_chunk_at_constant_velocity():
    stage = {
        "checkpoint_every": 50,
        "dump_every": 25,
        "segments": [{"type": "deform", "velocity": 0.01, "steps": 200, "temp": 300}],
    }
    body = _body(generate_script({**stage, "thermo_every": 10, "resume_step": 100}))
    assert "fix aloxDef1 all deform 1 x vel 0.01 remap x\nfix aloxInt1 all npt temp 300 300" in body
    assert "run 200 upto\nunfix aloxInt1\nunfix aloxDef1\n" in body


@pytest.mark.parametrize(
    ("stage", "match"),
    [
        ({**RAMP, "checkpoint_every": -1}, "checkpoint_every"),
        ({**RAMP, "resume_step": 150}, "multiple of checkpoint_every"),
        ({**RAMP, "resume_step": 500}, "within the stage"),
        ({**RAMP, "checkpoint_every": 0, "resume_step": 100}, "needs checkpoint_every"),
        ({**RAMP, "dump_every": 30}, "multiple of dump_every"),
        ({"checkpoint_every": 10, "segments": [{"type": "minimize"}, *RAMP["segments"]]}, "MD stages only"),
    ],
)
def test_bad_checkpoint_settings_are_refused(stage, match):
    with pytest.raises(StageError, match=match):
        validate_stage(stage)


def _restart_bytes(step: int, complete: bool = True) -> bytes:
    """A minimal file laid out as LAMMPS writes a restart header (magic, endianness, revision, header)."""
    import struct

    magic = b"LammpS RestartT\x00"
    version = b"22 Jul 2025\x00"
    head = magic + struct.pack("<ii", 1, 1) + struct.pack("<ii", 0, len(version)) + version
    head += struct.pack("<ii", 1, 4) + struct.pack("<ii", 48, 4) + struct.pack("<ii", 2, 4) + struct.pack("<ii", 3, 8)
    head += struct.pack("<ii", 4, 6) + b"metal\x00" + struct.pack("<iq", 5, step)
    return head + b"\x00" * 64 + (magic if complete else b"")


def test_restart_timestep_needs_a_complete_file():
    from aiida_aloxide.calculations.script import restart_timestep

    assert restart_timestep(_restart_bytes(1200)) == 1200
    assert restart_timestep(_restart_bytes(1200, complete=False)) is None
    assert restart_timestep(b"not a restart file at all, not at all") is None
    assert restart_timestep(b"") is None


# ------------------------------------------------------------------------------------------------
# The material as an input (issue #21): alumina's script unchanged byte for byte, silica's force field
# ------------------------------------------------------------------------------------------------

MATERIAL_STAGES = [
    pytest.param({"segments": [{"type": "nvt", "steps": 10, "temp": 5000}], "velocity_temperature": 5000}, id="melt"),
    pytest.param(
        {
            "segments": [
                {"type": "density", "value": 3.175},
                {"type": "npt", "steps": 20, "temp": [3000, 300], "press": 2.0, "couple": "iso"},
                {"type": "minimize"},
            ],
            "cutoff": 8.0,
            "kspace_accuracy": 1e-4,
            "dump_every": 5,
            "dump_fields": ["xu", "yu", "zu", "stress"],
        },
        id="quench-dump-cutoff",
    ),
    pytest.param(
        {"segments": [{"type": "strain_steps", "strains": [0.0, 0.01], "reference_length": 20.0, "sample_steps": 10}]},
        id="strain-steps",
    ),
]


@pytest.mark.parametrize("stage", MATERIAL_STAGES)
def test_alumina_material_gives_the_same_script(stage):
    """Passing the alumina material changes nothing: old runs and new ones are the same LAMMPS input."""
    from aiida_aloxide.materials import load_material

    script = generate_script(stage)
    assert generate_script(stage, material=load_material("alumina-matsui")) == script
    # ... and it is the Matsui force field of SPEC §1, with the stage's cut-off and accuracy.
    for line in (
        "pair_coeff 1 1 31570924.2 0.068 14.051",
        "pair_coeff 1 2 28476.909 0.172 34.5779",
        "pair_coeff 2 2 6462.6712 0.276 85.0925",
        "# generated by aiida-aloxide: alumina-matsui stage",
    ):
        assert line in script
    assert f"pair_style buck/coul/long {stage.get('cutoff', 10.0):g}\n" in script


def test_alumina_material_gives_the_same_data_file():
    """The data file's types and masses from the alumina material are the ones of before, byte for byte."""
    import numpy as np

    from aiida_aloxide.lammps_io import write_data
    from aiida_aloxide.materials import load_material

    pos, types, q, box = np.random.default_rng(1).random((5, 3)), np.array([1, 1, 2, 2, 2]), np.zeros(5), np.ones(3)
    assert write_data(pos, types, q, box, material=load_material("alumina-matsui")) == write_data(pos, types, q, box)


def test_silica_script_has_its_force_field():
    """BKS silica: Buckingham + Coulomb overlaid with the 30-6 core, short range at 5.5 Å; the stage's
    cut-off moves only the real-space Coulomb one (the 5.5 Å truncation is part of the potential)."""
    from aiida_aloxide.materials import load_material

    silica = load_material("silica-bks")
    script = generate_script({**GOOD, "cutoff": 9.0}, material=silica)
    assert "pair_style hybrid/overlay buck/coul/long 5.5 9 mie/cut 5.5" in script
    assert "mie/cut" in script and "pair_modify shift yes" in script
    assert script.startswith("# generated by aiida-aloxide: silica-bks stage\n")
    assert "Matsui" not in script


def test_packing_of_a_material_has_its_formula_and_density():
    """A silica packing: Si first then O in a 1:2 ratio, the cube sized from the material's masses."""
    import numpy as np

    from aiida_aloxide.lammps_io import mass_density
    from aiida_aloxide.materials import load_material
    from aiida_aloxide.packing import random_packing

    silica = load_material("silica-bks")
    pos, types, box = random_packing(50, 2.2, 1.8, 3, material=silica)
    assert pos.shape == (150, 3) and np.count_nonzero(types == 1) == 50 and np.count_nonzero(types == 2) == 100
    assert mass_density({"Si": 50, "O": 100}, silica.masses, float(np.prod(box))) == pytest.approx(2.2)
    # Alumina through the material gives the packing of before.
    old = random_packing(30, 2.75, 1.8, 3)
    new = random_packing(30, 2.75, 1.8, 3, material=load_material("alumina-matsui"))
    for a, b in zip(old, new, strict=True):
        np.testing.assert_array_equal(a, b)
