"""Softness stays bounded: constant training columns carry no weight and standardised features are clipped.

The planted-contact test uses a real `fast` glass (data/fast-samples/p0.xyz, 2000 atoms) and the
packaged reference training features, so the columns that are constant in training (G_Al at
μ ≤ 1.4 Å) are the real ones; an Al moved to 2.2 Å of another Al is the configuration that gave
S ≈ −10⁶ before the guard.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aiida_aloxide.analysis.softness import (
    MIN_FEATURE_STD,
    SoftnessModel,
    softness,
    train_softness_model,
)
from aiida_aloxide.analysis.structure_functions import structure_functions

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "aiida_aloxide" / "reference"


def test_constant_columns_are_dropped_and_carry_no_weight():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 4))
    x[:, 1] = 1e-36 * rng.standard_normal(400)  # "always zero" column, as G_Al at μ = 0.6 Å
    y = (x[:, 0] + 0.5 * x[:, 2] > 0).astype(int)
    model = train_softness_model(x, y, ["a", "zero", "c", "d"])
    assert model.dropped == ("zero",)
    assert model.w[1] == 0.0 and model.scale[1] == 1.0 and model.mean[1] == 0.0
    assert np.all(model.w[[0, 2]] != 0.0)
    # A huge value in the dropped column changes nothing; in a kept column it is clipped at z_clip.
    probe = np.zeros((3, 4))
    probe[1, 1] = 1e30
    probe[2, 0] = 1e30
    s = softness(probe, model)
    assert s[0] == s[1]
    assert abs(s[2]) <= model.max_abs_softness() < np.inf
    # Without the guards (the old behaviour) the same column dominates S.
    raw = train_softness_model(x, y, min_std=0.0, z_clip=None)
    assert raw.dropped == () and raw.max_abs_softness() == np.inf
    # (StandardScaler blows the 1e-36 noise up to unit variance and the SVM gives it weight.)
    assert abs(softness(probe, raw)[1] - softness(probe, raw)[0]) > 1e6
    # Everything constant: nothing to learn from.
    with pytest.raises(ValueError, match="every feature column is constant"):
        train_softness_model(np.ones((10, 2)), np.arange(10) % 2)
    assert MIN_FEATURE_STD == pytest.approx(1e-3)


def test_dropped_and_clip_survive_a_dict_round_trip():
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.standard_normal(200), np.zeros(200), rng.standard_normal(200)])
    y = (x[:, 0] > 0).astype(int)
    model = train_softness_model(x, y, ["a", "b", "c"], z_clip=3.0)
    back = SoftnessModel.from_dict(model.to_dict())
    assert back.dropped == ("b",) and back.z_clip == 3.0
    assert np.array_equal(softness(x, back), softness(x, model))
    old = {k: v for k, v in model.to_dict().items() if k not in ("dropped", "z_clip")}
    assert SoftnessModel.from_dict(old).z_clip is None  # models stored before the guard: no clipping
    with pytest.raises(ValueError, match="dropped columns"):
        SoftnessModel(("a",), np.zeros(1), np.ones(1), np.ones(1), 0.0, 1.0, dropped=("zz",))


def _glass():
    ase_io = pytest.importorskip("ase.io")
    atoms = ase_io.read(ROOT / "data" / "fast-samples" / "p0.xyz")
    types = np.where(np.array(atoms.get_chemical_symbols()) == "Al", 1, 2)
    return atoms.get_positions(), np.diag(atoms.get_cell()).copy(), types


def test_planted_short_al_al_contact_keeps_softness_bounded():
    meta = json.loads((REFERENCE / "fast_inherent.json").read_text())
    data = np.load(REFERENCE / "fast_inherent.npz")
    names = meta["feature_names"]
    radial = [k for k, n in enumerate(names) if n.startswith("G_")]
    x = np.vstack([data[f"{s}/features"] for s in ("p0", "p4")])[:, radial].astype(np.float64)
    y = np.concatenate([data[f"{s}/label"] for s in ("p0", "p4")])
    guarded = train_softness_model(x, y, [names[k] for k in radial], C=0.1)
    unguarded = train_softness_model(x, y, [names[k] for k in radial], C=0.1, min_std=0.0, z_clip=None)
    # The reference's always-zero columns are found: G_Al at μ = 0.6 … 1.4 Å.
    assert {"G_Al_0.6", "G_Al_1"} <= set(guarded.dropped) and "G_O_1.8" not in guarded.dropped

    pos, box, types = _glass()
    al = np.nonzero(types == 1)[0]
    i, j = int(al[0]), int(al[1])
    pos = pos.copy()
    pos[i] = pos[j] + np.array([2.2, 0.0, 0.0])  # a short Al–Al contact
    sf = meta["structure_functions"]
    res = structure_functions(
        pos, box, types, centers=al, mus=np.asarray(sf["mus"]), width=sf["width"],
        radial_cutoff=sf["radial_cutoff"], angular=False,
    )  # fmt: skip
    s = softness(res.features, guarded)
    row = int(np.nonzero(al == i)[0][0])
    assert np.all(np.abs(s) < 50.0) and np.all(np.abs(s) <= guarded.max_abs_softness())
    # The same atoms without the guard: the contact explodes, as it did in the shipped model.
    assert abs(softness(res.features, unguarded)[row]) > 1e3
    # Away from the contact the guard changes little: most Al keep the sign of the unguarded model.
    s_raw = softness(res.features, unguarded)
    far = np.ones(al.size, bool)
    far[row] = False
    far[int(np.nonzero(al == j)[0][0])] = False
    assert np.mean(np.sign(s[far]) == np.sign(s_raw[far])) > 0.8
