"""Materials as data (issue #21): the packaged alumina file holds SPEC §1's numbers; bad files are refused."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from aiida_aloxide.cli import cli
from aiida_aloxide.materials import DEFAULT_MATERIAL, available_materials, load_material, material_from_text
from aiida_aloxide.potentials import MASSES, MATSUI, SPECIES_TYPES

GOOD = """
name: test-oxide
formula_unit: {Al: 2, O: 3}
species: {Al: {mass: 26.98, charge: 1.5}, O: {mass: 16.0, charge: -1.0}}
force_field: {form: buckingham, pairs: {Al-O: {A: 1.0, rho: 0.1, C: 0.0}}, cutoff: 8.0, kspace_accuracy: 1.0e-5}
analysis: {cation: Al, anion: O, coordination_classes: [4, 5, 6], cation_anion_cutoff: 2.25}
"""


def test_alumina_file_is_spec_section_1():
    m = load_material(DEFAULT_MATERIAL)
    assert m.name == "alumina-matsui" and DEFAULT_MATERIAL in available_materials()
    assert m.types == {"Al": 1, "O": 2} == SPECIES_TYPES and m.masses == MASSES
    assert m.charges == {"Al": 1.4175, "O": -0.945} == MATSUI.charges
    table = {("Al", "Al"): (31570924.2, 0.068, 14.0510), ("Al", "O"): (28476.909, 0.172, 34.5779),
             ("O", "O"): (6462.6712, 0.276, 85.0925)}  # fmt: skip
    for pair, (a, rho, c) in table.items():
        assert (m.pairs[pair]["A"], m.pairs[pair]["rho"], m.pairs[pair]["C"]) == (a, rho, c)
        p = MATSUI.pair(*pair)
        assert (p.A, p.rho, p.C) == (a, rho, c)
    assert m.analysis["cation"] == "Al" and m.analysis["cation_anion_cutoff"] == 2.25 and m.cutoff == MATSUI.cutoff


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("charge: 1.5", "charge: 1.4"), "net charge of -0.2 e"),
        (("Al-O:", "Si-O:"), "pair Si-O names a species it does not declare"),
        (("form: buckingham", "form: morse"), "force-field form 'morse' is not one of"),
        (("cation: Al", "cation: Si"), "analysis cation / anion must be declared species"),
        (
            ("formula_unit: {Al: 2, O: 3}", "formula_unit: {Al: 2}"),
            "formula unit ['Al'] and species ['Al', 'O'] differ",
        ),
    ],
)
def test_bad_material_files_are_refused(change, message):
    assert material_from_text(GOOD).charges == {"Al": 1.5, "O": -1.0}
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        material_from_text(GOOD.replace(*change))
    with pytest.raises(ValueError, match="unknown material 'silica'"):
        load_material("silica")


def test_materials_command_lists_them():
    result = CliRunner().invoke(cli, ["materials"])
    assert result.exit_code == 0 and "alumina-matsui" in result.output and "Matsui" in result.output
