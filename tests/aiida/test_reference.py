"""The packaged reference softness model: rebuilt deterministically with provenance, and usable by name."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_aloxide.analysis.softness import train_softness_model
from aiida_aloxide.cli import cli
from aiida_aloxide.data.softness_model import SoftnessModelData
from aiida_aloxide.functions.reference import reference_model
from aiida_aloxide.reference import load_reference, reference_names


@pytest.fixture(scope="module")
def reference(aiida_profile):
    return reference_model("fast-inherent")


def test_reference_files_describe_themselves():
    ref = load_reference("fast-inherent")
    meta = ref["meta"]
    assert meta["configuration"] == "inherent" and meta["events"]["rearranging_frame"] == "precursor"
    n = sum(int(a["label"].size) for a in ref["samples"].values())
    assert n >= 200  # enough events to mean something
    for arrays in ref["samples"].values():
        assert arrays["features"].shape == (arrays["label"].size, len(meta["feature_names"]))
        assert set(np.unique(arrays["label"])) == {0, 1}
    with pytest.raises(ValueError, match="unknown reference model"):
        load_reference("nope")
    assert reference_names() == ["fast-inherent"]


def test_reference_model_rebuilt_with_provenance(reference):
    assert isinstance(reference, SoftnessModelData) and reference.is_stored
    attrs = reference.base.attributes
    assert attrs.get("source") == "reference:fast-inherent" and reference.configuration == "inherent"
    assert 0.5 < attrs.get("cv_balanced_accuracy") <= 1.0 and attrs.get("cv_balanced_accuracy_std") > 0
    # A glass it never saw: leave-one-sample-out over the packaged samples, on the node and as the packaged
    # files say it measured (scripts/make_reference.py computes it with the same pipeline).
    ref_meta = load_reference("fast-inherent")["meta"]
    assert attrs.get("n_samples") == len(ref_meta["samples"]) >= 2
    assert 0.5 < attrs.get("loso_balanced_accuracy") <= 1.0
    measured = ref_meta.get("measured", {})
    if measured.get("loso_balanced_accuracy") is not None:
        assert attrs.get("loso_balanced_accuracy") == pytest.approx(measured["loso_balanced_accuracy"], abs=1e-12)
    # Bounded softness whatever the configuration (constant columns dropped, features clipped): < 50.
    assert attrs.get("z_clip") == 5.0 and attrs.get("max_abs_softness") < 50.0
    # What is dropped is what no Al has: an Al or O neighbour closer than 1.2 Å; the first Al–O shell stays.
    dropped = set(attrs.get("dropped_features"))
    assert {"G_Al_0.6", "G_Al_1", "G_O_0.6", "G_O_1"} <= dropped and "G_O_1.8" not in dropped
    # Provenance: the model was made by train_softness from the stored reference features.
    creator = reference.creator
    assert creator.process_label == "train_softness"
    inputs = {link.link_label: link.node for link in creator.base.links.get_incoming().all()}
    feats = [n for k, n in inputs.items() if k != "parameters"]
    assert feats and all(n.base.extras.get("aloxide_reference") == "fast-inherent" for n in feats)
    # Deterministic: asking again returns the same node; refitting the same arrays gives the same plane.
    assert reference_model("fast-inherent").uuid == reference.uuid
    ref = load_reference("fast-inherent")
    names = ref["meta"]["feature_names"]
    cols = [names.index(n) for n in reference.feature_names]
    x = np.vstack([a["features"].astype(np.float64)[:, cols] for _, a in sorted(ref["samples"].items())])
    y = np.concatenate([a["label"] for _, a in sorted(ref["samples"].items())])
    again = train_softness_model(x, y, reference.feature_names, C=reference.C)
    np.testing.assert_array_equal(again.w, reference.to_model().w)
    # Queryable by its accuracy.
    qb = orm.QueryBuilder().append(
        SoftnessModelData,
        filters={"attributes.source": "reference:fast-inherent", "attributes.cv_balanced_accuracy": {">": 0.5}},
    )
    assert qb.count() == 1


def test_reference_separates_its_classes(reference):
    """On its training features the rearranging examples are softer than the non-rearranging ones."""
    ref = load_reference("fast-inherent")
    names = ref["meta"]["feature_names"]
    cols = [names.index(n) for n in reference.feature_names]
    for arrays in ref["samples"].values():
        s = reference.softness(arrays["features"].astype(np.float64)[:, cols])
        y = arrays["label"]
        assert s[y == 1].mean() > s[y == 0].mean() + 0.3


def test_predict_reference_on_a_file(reference, aiida_profile, tmp_path):
    """`softness predict reference FILE` works on any structure file and refuses a declared thermal one."""
    import ase
    import ase.io

    from aiida_aloxide.packing import random_packing

    pos, types, box = random_packing(60, 3.2, 1.8, 2)
    atoms = ase.Atoms(symbols=["Al" if t == 1 else "O" for t in types], positions=pos, cell=box, pbc=True)
    path = tmp_path / "glass.extxyz"
    ase.io.write(path, atoms)
    out = tmp_path / "s.csv"
    res = CliRunner().invoke(
        cli, ["softness", "predict", "-p", aiida_profile.name, "reference", str(path), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "reference:fast-inherent" in res.output
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert table.shape == (120, 3) and set(np.unique(table[:, 2])) <= {0.0, 1.0}
    res = CliRunner().invoke(cli, ["softness", "predict", "-p", aiida_profile.name, "reference", str(path),
                                   "--configuration", "thermal"])  # fmt: skip
    assert res.exit_code != 0 and "add --minimize" in res.output
