"""The softness training pipeline on planted data: stacking, subset choice inside the folds, validations."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.analysis.softness_training import (
    MIN_MEANINGFUL_EVENTS,
    Sample,
    feature_columns,
    stack_samples,
    train_and_validate,
)

NAMES = ["G_O_1", "G_O_2", "G_O_7", "Psi_a", "Psi_b", "voronoi_volume"]
#: Training parameters as check_parameters("training") gives them (short CV for the tests).
PARAMS = {
    "C": 1.0,
    "Cs": [0.1, 1.0],
    "test_size": 0.2,
    "seed": 0,
    "train_fraction": 0.8,
    "time_gap": 6.0,
    "model_features": "select",
    "cv_folds": 5,
    "cv_repeats": 2,
    "inner_folds": 3,
    "ablation_repeats": 1,
    "source": "planted",
}


def _sample(seed: int, w: np.ndarray, n_atoms: int = 150, per_atom: int = 2, flip: float = 0.1) -> Sample:
    """Per-atom features (six columns, ``w`` on them), label from the hyperplane ``w`` with ``flip`` of the atoms
    flipped; ``per_atom`` events each, at times spread over a 200 ps run starting at 10 ps."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_atoms, len(NAMES)))
    y_atom = (base @ w > 0).astype(np.int64)
    flipped = rng.random(n_atoms) < flip
    y_atom[flipped] = 1 - y_atom[flipped]
    atoms = np.repeat(np.arange(n_atoms), per_atom)
    x = base[atoms] + 0.05 * rng.standard_normal((atoms.size, len(NAMES)))
    times = 10.0 + rng.uniform(0.0, 200.0, atoms.size)
    return Sample(features=x, labels=y_atom[atoms], atoms=atoms, times=times, t_start=10.0, t_end=210.0)


#: The planted rule uses the first-shell radial columns only.
W_SHORT = np.array([1.0, -0.8, 0.0, 0.0, 0.0, 0.0])


def test_stack_samples_keeps_atoms_of_different_samples_apart():
    a, b = _sample(1, W_SHORT, n_atoms=10), _sample(2, W_SHORT, n_atoms=12, per_atom=3)
    data = stack_samples({"p4": b, "p0": a})
    assert data.keys == ["p0", "p4"]
    np.testing.assert_array_equal(data.x, np.vstack([a.features, b.features]))
    np.testing.assert_array_equal(data.y, np.concatenate([a.labels, b.labels]))
    # Atom ids run 0..9 and 0..11: the stride is 12, so sample p4's atom k is group 12 + k.
    np.testing.assert_array_equal(data.groups, np.concatenate([a.atoms, 12 + b.atoms]))
    np.testing.assert_allclose(data.times, (np.concatenate([a.times, b.times]) - 10.0) / 200.0)
    assert data.spans == [200.0, 200.0]
    assert data.per["p0"] == {
        "n_events": 20,
        "n_rearranging": int(a.labels.sum()),
        "n_rearranging_atoms": int(np.unique(a.atoms[a.labels == 1]).size),
        "n_non_rearranging_atoms": int(np.unique(a.atoms[a.labels == 0]).size),
    }


def test_feature_columns():
    assert feature_columns(NAMES, "structure") == [0, 1, 2, 3, 4]
    assert feature_columns(NAMES, "radial") == [0, 1, 2]
    assert feature_columns(NAMES, "radial_short") == [0, 1]  # μ ≤ 5 Å
    assert feature_columns(NAMES, "all") == [0, 1, 2, 3, 4, 5]
    assert feature_columns(NAMES, "voronoi") == [5]
    with pytest.raises(ValueError, match="unknown feature subset 'shells'"):
        feature_columns(NAMES, "shells")


def test_planted_first_shell_rule_is_found_and_validated():
    data = stack_samples({"p0": _sample(3, W_SHORT), "p4": _sample(4, W_SHORT)})
    out = train_and_validate(data, NAMES, PARAMS)
    r = out.report
    # The rule lives in G_O_1, G_O_2: the model selection keeps radial columns, never the angular noise.
    assert r["selected_features"] in ("radial", "radial_short")
    assert out.model.feature_names[:2] == ("G_O_1", "G_O_2") and not any("Psi" in n for n in out.model.feature_names)
    cols = feature_columns(NAMES, r["selected_features"])
    np.testing.assert_array_equal(out.domain["lower"], data.x[:, cols].min(axis=0))
    assert r["errors"] == [] and r["source"] == "planted"
    # 10 % of the atoms carry flipped labels: about 0.9 is the best any model can do.
    assert 0.82 < r["cv_balanced_accuracy"] < 0.96 and r["cv_balanced_accuracy_std"] < 0.08
    assert r["cross_validation"]["n_scores"] == 10 and r["cross_validation"]["repeats"] == 2
    assert 0.8 < r["test_accuracy"] < 1.0 and 0.8 < r["full_train_accuracy"] < 1.0
    assert r["time_split"]["gap_ps"] == 6.0 and 0.8 < r["time_split"]["test_accuracy"] < 1.0
    # Ablations: the noise columns alone are at chance, everything with the radial ones is not.
    assert abs(r["ablation"]["angular"]["balanced_accuracy"] - 0.5) < 0.1
    assert abs(r["ablation"]["voronoi"]["balanced_accuracy"] - 0.5) < 0.1
    assert r["ablation"]["radial"]["balanced_accuracy"] > 0.8 and r["ablation"]["voronoi"]["n_features"] == 1
    # Same rule at both pressures: every entry of the cross-pressure table is far above chance.
    acc = np.array(r["cross_pressure"]["accuracy"])
    assert acc.shape == (2, 2) and np.all(acc > 0.8)
    assert r["n_events"] == 600 and r["datasets"]["p0"]["n_events"] == 300
    assert r["warning"] is None and r["n_events"] >= MIN_MEANINGFUL_EVENTS


def test_cross_pressure_of_orthogonal_rules_is_at_chance():
    """Rules on different columns at the two pressures: the diagonal is learnable, the off-diagonal is not."""
    w_a = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0])
    w_b = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    data = stack_samples({"0GPa": _sample(11, w_a, flip=0.0), "4GPa": _sample(12, w_b, flip=0.0)})
    r = train_and_validate(data, NAMES, {**PARAMS, "model_features": "structure"}).report
    cross = r["cross_pressure"]
    acc = np.array(cross["accuracy"])
    assert cross["keys"] == ["0GPa", "4GPa"] and acc[0, 0] > 0.9 and acc[1, 1] > 0.9
    assert 0.35 < acc[0, 1] < 0.65 and 0.35 < acc[1, 0] < 0.65
    assert cross["worst_train"] != cross["worst_test"] and cross["worst"] == acc.min()
    assert cross["mean_off_diagonal"] == pytest.approx((acc[0, 1] + acc[1, 0]) / 2)
    assert r["selected_features"] == "structure" and r["C"] == 1.0


def test_small_or_one_class_data():
    few = stack_samples({"p0": _sample(5, W_SHORT, n_atoms=30)})
    r = train_and_validate(few, NAMES, {**PARAMS, "model_features": "radial"}).report
    assert r["cross_pressure"] is None and r["warning"].startswith("only 60 labelled events")
    one = _sample(6, W_SHORT, n_atoms=20)
    one = Sample(one.features, np.zeros_like(one.labels), one.atoms, one.times, one.t_start, one.t_end)
    with pytest.raises(ValueError, match="rearranging and non-rearranging"):
        train_and_validate(stack_samples({"p0": one}), NAMES, PARAMS)
