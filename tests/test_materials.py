"""Materials as data (issue #21): the packaged alumina file holds SPEC §1's numbers, the silica file
loads; bad files are refused."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from click.testing import CliRunner

from aiida_aloxide.cli import cli
from aiida_aloxide.materials import DEFAULT_MATERIAL, available_materials, load_material, material_from_text

GOOD = """
name: test-oxide
formula_unit: {Al: 2, O: 3}
species: {Al: {mass: 26.98, charge: 1.5}, O: {mass: 16.0, charge: -1.0}}
force_field: {form: buckingham, pairs: {Al-O: {A: 1.0, rho: 0.1, C: 0.0}}, cutoff: 8.0, kspace_accuracy: 1.0e-5}
analysis: {cation: Al, anion: O, coordination_classes: [4, 5, 6], cation_anion_cutoff: 2.25, cation_cation_cutoff: 3.7}
"""


def test_alumina_file_is_spec_section_1():
    m = load_material(DEFAULT_MATERIAL)
    assert m.name == "alumina-matsui" and DEFAULT_MATERIAL in available_materials()
    assert m.types == {"Al": 1, "O": 2} and m.masses == {"Al": 26.9815385, "O": 15.999}
    assert m.charges == {"Al": 1.4175, "O": -0.945}
    table = {("Al", "Al"): (31570924.2, 0.068, 14.0510), ("Al", "O"): (28476.909, 0.172, 34.5779),
             ("O", "O"): (6462.6712, 0.276, 85.0925)}  # fmt: skip
    for pair, (a, rho, c) in table.items():
        assert (m.pairs[pair]["A"], m.pairs[pair]["rho"], m.pairs[pair]["C"]) == (a, rho, c)
    assert m.analysis["cation"] == "Al" and m.analysis["cation_anion_cutoff"] == 2.25 and m.cutoff == 10.0
    assert (m.cation, m.anion, m.cation_anion_cutoff, m.cation_cation_cutoff) == ("Al", "O", 2.25, 3.7)


def test_materials_command_lists_them():
    result = CliRunner().invoke(cli, ["materials"])
    assert result.exit_code == 0 and "alumina-matsui" in result.output and "Matsui" in result.output


SILICA_TEXT = resources.files("aiida_aloxide.materials").joinpath("silica-bks.yaml").read_text()


@pytest.mark.parametrize(
    ("base", "change", "message"),
    [
        ("GOOD", ("charge: 1.5", "charge: 1.4"), "net charge of -0.2 e"),
        ("GOOD", ("Al-O:", "Si-O:"), "pair Si-O names a species it does not declare"),
        ("GOOD", ("form: buckingham", "form: morse"), "force-field form 'morse' is not one of"),
        (
            "GOOD",
            (
                "form: buckingham, pairs: {Al-O: {A: 1.0, rho: 0.1, C: 0.0}}",
                "form: pedone, pairs: {Al-O: {D0: 1.0, alpha: 1.0}}",
            ),
            "pedone pair Al-O needs exactly",
        ),
        (
            "GOOD",
            (
                "form: buckingham, pairs: {Al-O: {A: 1.0, rho: 0.1, C: 0.0}}",
                "form: born, pairs: {Al-O: {A: 1.0, rho: -0.1, sigma: 2, C: 0, D: 0}}",
            ),
            "born pair Al-O: A and rho must be positive",
        ),
        ("GOOD", ("cation: Al", "cation: Si"), "analysis cation / anion must be declared species"),
        (
            "GOOD",
            (
                "species: {Al: {mass: 26.98, charge: 1.5}, O: {mass: 16.0, charge: -1.0}}",
                "species: {O: {mass: 16.0, charge: -1.0}, Al: {mass: 26.98, charge: 1.5}}",
            ),
            "list the analysed cation",
        ),  # fmt: skip
        ("GOOD", ("cation_anion_cutoff: 2.25", "cation_anion_cutoff: 25"), "cation_anion_cutoff must be a cut-off in"),
        ("GOOD", (", cation_cation_cutoff: 3.7", ""), "analysis misses ['cation_cation_cutoff']"),
        ("GOOD", ("coordination_classes: [4, 5, 6]", "coordination_classes: [four]"), "coordination_classes must be"),
        (
            "GOOD",
            ("formula_unit: {Al: 2, O: 3}", "formula_unit: {Al: 2}"),
            "formula unit ['Al'] and species ['Al', 'O'] differ",
        ),
        ("SILICA", ("O-O: {epsilon", "Al-O: {epsilon"), "pair Al-O names a species it does not declare"),
        ("SILICA", ("Si-O: {A: 18003.7572", "Si-Ge: {A: 18003.7572"), "pair Si-Ge names a species it does not declare"),
        ("SILICA", ("Si: {mass: 28.0855, charge: 2.4}", "Si: {mass: 28.0855, charge: 2.5}"), "net charge of 0.1 e"),
        ("SILICA", ("sigma: 1.313635, n: 30, m: 6}", "sigma: 1.313635, n: 30}"), "short-range pair Si-O needs"),
        ("SILICA", ("sigma: 1.779239,", "sigma: -1.779239,"), "short-range pair O-O: all terms must be positive"),
        ("SILICA", ("sigma: 1.779239, n: 30, m: 6", "sigma: 1.779239, n: 6, m: 30"), "exponent n must exceed m"),
        ("SILICA", ("form: mie", "form: zbl"), "short-range form 'zbl' is not one of"),
        ("SILICA", ("b: 4.87318, C: 133.5381", "C: 133.5381"), "pair Si-O needs exactly one of rho and b"),
        ("SILICA", ("b: 2.76000, C: 175.0000", "b: 2.76000"), "pair O-O misses Buckingham terms ['C']"),
    ],
)
def test_bad_material_files_are_refused(base, change, message):
    """A broken variant of a good file (a small test oxide, or the packaged silica) is refused, naming why."""
    text = {"GOOD": GOOD, "SILICA": SILICA_TEXT}[base]
    assert change[0] in text and material_from_text(text).name
    with pytest.raises(ValueError, match=re.escape(message)):
        material_from_text(text.replace(*change, 1))


def test_good_file_loads_and_unknown_names_are_refused():
    assert material_from_text(GOOD).charges == {"Al": 1.5, "O": -1.0}
    with pytest.raises(ValueError, match="unknown material 'silica'"):
        load_material("silica")


def test_silica_file_loads():
    m = load_material("silica-bks")
    assert "silica-bks" in available_materials() and m.types == {"Si": 1, "O": 2}
    assert m.pairs[("Si", "O")]["A"] == 18003.7572 and m.pairs[("Si", "O")]["rho"] == 1 / 4.87318
    assert m.short_range_form == "mie" and set(m.short_range) == {("Si", "O"), ("O", "O")}
    assert m.analysis["cation"] == "Si" and m.analysis["coordination_classes"] == [4, 5, 6]
    assert m.literature and all("source" in entry for entry in m.literature)
    alumina = load_material(DEFAULT_MATERIAL)  # the new keys default to the alumina behaviour
    assert (alumina.coulomb_cutoff, alumina.shift, alumina.short_range) == (None, False, {})


def test_material_of_absent_is_alumina_and_content_round_trips():
    """``material_of``: no input means alumina; a file's parsed content (what ``material_node`` stores) gives
    back the same checked material."""
    import yaml

    from aiida_aloxide.materials import material_of

    assert material_of(None) == load_material(DEFAULT_MATERIAL)
    for name in available_materials():
        text = resources.files("aiida_aloxide.materials").joinpath(f"{name}.yaml").read_text()
        assert material_of(yaml.safe_load(text)) == load_material(name)


def test_material_helpers_and_preparation():
    """Formula, atoms per unit, type map; silica brings its own quench densities, alumina none."""
    silica, alumina = load_material("silica-bks"), load_material(DEFAULT_MATERIAL)
    assert (alumina.formula, alumina.atoms_per_unit, silica.formula, silica.atoms_per_unit) == ("Al2O3", 5, "SiO2", 3)
    assert silica.type_species == {1: "Si", 2: "O"} and alumina.type_species == {1: "Al", 2: "O"}
    assert alumina.preparation == {} and not alumina.minimize_packing
    assert silica.preparation == {"initial_density": 2.2, "compressed_density": 2.3, "liquid_temperature": 4000.0}
    assert silica.minimize_packing


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("preparation: {melt_ps: 3}", "preparation may only set"),
        ("preparation: {initial_density: 9.0}", "initial_density must be a number in [1, 6]"),
        ("preparation: {liquid_temperature: 100}", "liquid_temperature must be a number in [300, 20000]"),
        ("preparation: {minimize_packing: 1}", "minimize_packing must be true or false"),
    ],
)
def test_bad_preparation_is_refused(block, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        material_from_text(SILICA_TEXT.replace("preparation:", "old_preparation:", 1) + block + "\n")


def test_quench_units_keep_the_protocol_atom_count():
    """The protocol's ``n_units`` (Al2O3) fixes the atoms; silica gets the formula units nearest to as many."""
    from aiida_aloxide.workchains.quench_parameters import formula_units

    assert formula_units(30) == 30 and formula_units(30, load_material(DEFAULT_MATERIAL)) == 30
    assert formula_units(30, load_material("silica-bks")) == 50
    assert formula_units(1620, load_material("silica-bks")) == 2700
