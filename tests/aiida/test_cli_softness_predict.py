"""`aiida-aloxide softness predict` on a structure node and on a structure file, with a hand-set model."""

from __future__ import annotations

import ase
import ase.io
import numpy as np
from click.testing import CliRunner

from aiida_aloxide.analysis.softness import SoftnessModel
from aiida_aloxide.analysis.structure_functions import radial_feature_names
from aiida_aloxide.cli import cli
from aiida_aloxide.data.softness_model import SoftnessModelData
from aiida_aloxide.data.structure import structure_from_arrays
from aiida_aloxide.functions.softness import structure_function_parameters
from aiida_aloxide.materials import load_material


def _pairs_structure(d: np.ndarray):
    """Four isolated Al–O pairs (bond lengths d) plus two far O to make Al2O3 stoichiometry, 40 Å box."""
    centres = np.array([[5.0, 5.0, 5.0], [25.0, 5.0, 5.0], [5.0, 25.0, 5.0], [25.0, 25.0, 25.0]])
    pos = np.vstack([centres, centres + d[:, None] * np.array([1.0, 0.0, 0.0]), [[15, 15, 35], [35, 15, 15]]])
    types = np.array([1] * 4 + [2] * 6)
    return pos, types


def test_predict_matches_hand_hyperplane_for_node_and_file(aiida_profile, tmp_path):
    # w = 1 on G_O(1.8 Å) only, b = -0.5: every Al sees one O at d and nothing else within 10.6 Å,
    # so S = exp(-((d - 1.8)/0.2)^2) - 0.5 exactly.
    d = np.array([1.8, 1.9, 2.0, 1.7])
    pos, types = _pairs_structure(d)
    names = radial_feature_names()
    w = np.zeros(len(names))
    w[names.index("G_O_1.8")] = 1.0
    model = SoftnessModel(tuple(names), np.zeros(len(names)), np.ones(len(names)), w, -0.5, 1.0)
    sf = structure_function_parameters({"angular": False, "voronoi": False})
    node = SoftnessModelData(model=model, structure_functions=sf).store()
    structure = structure_from_arrays(pos, types, [40.0, 40.0, 40.0], dict(load_material().charges)).store()
    expected = np.exp(-(((d - 1.8) / 0.2) ** 2)) - 0.5

    out = tmp_path / "s.csv"
    res = CliRunner().invoke(cli, ["softness", "predict", "-p", aiida_profile.name, str(node.pk), str(structure.pk),
                                   "--configuration", "thermal", "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    np.testing.assert_array_equal(table[:, 0], [0, 1, 2, 3])
    np.testing.assert_allclose(table[:, 1], expected, atol=1e-5)

    atoms = ase.Atoms(symbols=["Al" if t == 1 else "O" for t in types], positions=pos, cell=[40, 40, 40], pbc=True)
    path = tmp_path / "sample.extxyz"
    ase.io.write(path, atoms)
    res = CliRunner().invoke(cli, ["softness", "predict", "-p", aiida_profile.name, node.uuid, str(path),
                                   "--configuration", "thermal"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"<S> = {expected.mean():.3f}" in res.output
    # The model was trained on thermal configurations: an inherent structure is refused.
    res = CliRunner().invoke(cli, ["softness", "predict", "-p", aiida_profile.name, node.uuid, str(path)])
    assert res.exit_code != 0 and "trained on thermal configurations, the structure is inherent" in res.output


def test_predict_refuses_a_non_model(aiida_profile):
    structure = structure_from_arrays(
        *_pairs_structure(np.full(4, 1.8)), [40.0] * 3, dict(load_material().charges)
    ).store()
    res = CliRunner().invoke(cli, ["softness", "predict", "-p", aiida_profile.name, str(structure.pk), "x.xyz"])
    assert res.exit_code != 0 and "not a SoftnessModelData" in res.output
