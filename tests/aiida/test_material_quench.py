"""A material other than alumina through the LAMMPS layer and the quench (issue #21), with real LAMMPS.

The silica smoke quench (150 atoms, ~1.3 ps of MD in all) is run with ``aiida-aloxide quench --material
silica-bks``: every CalcJob gets the material, the scripts carry the BKS force field, the sample has Si
and O with BKS charges. Its Si coordination is checked loosely: a smoke quench cools 3000 K -> 300 K in
0.5 ps, far too fast for a relaxed network, but BKS silica's tetrahedra form in the liquid already, so
more than half of the Si being 4-fold is a safe sign that the force field is the right one (an alumina
force field or wrong charges would not give it). Its density is only checked to be finite and sane.
"""

from __future__ import annotations

import math
import re

import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_aloxide.cli import cli
from aiida_aloxide.materials import load_material
from aiida_aloxide.workchains.quench import QuenchWorkChain

pytestmark = pytest.mark.lammps


@pytest.fixture(scope="module")
def silica_quench(aiida_profile, lammps_code):
    """The smoke quench of silica-bks at 0 GPa, run from the command line."""
    args = ["quench", "-p", aiida_profile.name, "-P", "0", "--protocol", "smoke", "--seed", "5"]
    res = CliRunner().invoke(cli, [*args, "--code", lammps_code.full_label, "--material", "silica-bks"])
    assert res.exit_code == 0, res.output
    match = re.search(r"PK (\d+): 0 GPa -> density [0-9.]+ g/cm3, Si4 [0-9.]+, Si5 [0-9.]+, Si6 [0-9.]+", res.output)
    assert match, res.output
    return orm.load_node(int(match.group(1)))


def test_silica_smoke_quench(silica_quench):
    node = silica_quench
    assert node.is_finished_ok, node.exit_message
    props = node.outputs.properties.get_dict()
    print("silica smoke quench properties:", props)  # the numbers the report quotes (pytest -s)
    assert props["material"] == "silica-bks" and props["n_atoms"] == 150 and props["n_si"] == 50
    assert math.isfinite(props["density"]) and 1.5 < props["density"] < 3.5
    assert props["si_o_cutoff"] == load_material("silica-bks").analysis["cation_anion_cutoff"]
    assert props["si4"] + props["si5"] + props["si6"] + props["si_other"] == pytest.approx(1.0)
    assert props["si4"] > 0.5, props
    assert not {"al4", "n_al"} & set(props)
    structure = node.outputs.structure
    assert {k.symbols[0] for k in structure.kinds} == {"Si", "O"}
    assert structure.base.attributes.get("charges") == {"Si": 2.4, "O": -1.2}
    calcs = [c for c in node.called_descendants if c.process_type.endswith("aloxide.lammps")]
    print("runs:", [(c.label, c.exit_status) for c in sorted(calcs, key=lambda c: c.pk)])
    # Each stage ends with a finished run. The melt from the random packing may lose atoms at 1 fs (the
    # packing's energy release drives ions into the steep r^-30 core); the restart wrapper then reruns it
    # once with half the timestep (exit 312 -> retry), which is what it is for.
    last = {c.label: c for c in sorted(calcs, key=lambda c: c.pk)}
    assert set(last) == {"melt", "cool_liquid", "compress", "quench", "relax"}
    assert all(c.is_finished_ok for c in last.values())
    assert all(c.is_finished_ok or (c.label == "melt" and c.exit_status == 312) for c in calcs)
    assert all(c.inputs.material["name"] == "silica-bks" for c in calcs)
    for calc in calcs:
        script = calc.base.repository.get_object_content("aloxide.in")
        assert "pair_style hybrid/overlay buck/coul/long 5.5 10 mie/cut 5.5" in script
        assert "pair_coeff 1 2 mie/cut" in script and "Matsui" not in script
        data = calc.base.repository.get_object_content("structure.data")
        assert "1 28.0855\n2 15.9994\n" in data  # Si and O masses of the material file
    # The packing: the material's formula units (150 atoms as the protocol's 30 Al2O3), its densities.
    packing = next(c for c in node.called_descendants if c.process_label == "random_alumina")
    assert packing.inputs.n_units.value == 50 and packing.inputs.material["name"] == "silica-bks"
    assert packing.inputs.density.value == load_material("silica-bks").preparation["initial_density"]


def test_alumina_builders_carry_no_material(lammps_code):
    """Alumina, named or not, adds no ``material`` input: its runs keep their inputs and cache hashes."""
    for material in (None, "alumina-matsui"):
        builder = QuenchWorkChain.get_builder_from_protocol(lammps_code, 0.0, protocol="smoke", material=material)
        assert "material" not in builder
        assert builder.parameters["initial_density"] == 2.75
    silica = QuenchWorkChain.get_builder_from_protocol(
        lammps_code, 0.0, protocol="smoke", material="silica-bks", overrides={"compressed_density": 2.4}
    )
    assert silica.material["name"] == "silica-bks"
    assert (silica.parameters["initial_density"], silica.parameters["compressed_density"]) == (2.2, 2.4)


def test_silica_liquid_is_checked_against_the_material(lammps_code, silica_quench):
    """A silica configuration is a valid ``liquid`` of a silica quench (150 atoms = 50 SiO2 for the smoke
    protocol's n_units 30) and is refused by an alumina one: the check sees the material."""
    relax = next(c for c in silica_quench.called_descendants if c.label == "relax" and c.is_finished_ok)
    liquid = {"structure": silica_quench.outputs.structure, "velocities": relax.outputs.velocities}
    spec = QuenchWorkChain.spec().inputs

    def problem(material):
        builder = QuenchWorkChain.get_builder_from_protocol(lammps_code, 0.0, protocol="smoke", material=material)
        builder.liquid = liquid
        return spec.validate(spec.pre_process(builder._inputs(prune=True)))

    assert problem("silica-bks") is None
    assert "structure contains elements other than Al and O: ['Si']" in str(problem(None))
