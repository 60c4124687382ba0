"""Leave-one-sample-out validation on planted samples: a shared rule generalises, sample-specific ones do not."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from aiida_aloxide.analysis.softness_loso import SampleSet, _auc, leave_one_sample_out, select_by_samples
from aiida_aloxide.analysis.softness_training import Sample, stack_samples, train_and_validate

NAMES = ["G_O_1", "G_O_2", "G_O_7", "Psi_a", "Psi_b"]
SUBSETS = {"structure": NAMES, "radial_short": ["G_O_1", "G_O_2"]}


def _set(seed: int, w: np.ndarray, n_atoms: int = 120, shift: float = 0.0) -> SampleSet:
    """Two events per atom, labels from the hyperplane ``w`` (5 % of atoms flipped), features shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_atoms, len(NAMES)))
    y = (base @ w > 0).astype(np.int64)
    flip = rng.random(n_atoms) < 0.05
    y[flip] = 1 - y[flip]
    atoms = np.repeat(np.arange(n_atoms), 2)
    x = base[atoms] + 0.05 * rng.standard_normal((atoms.size, len(NAMES))) + shift
    return SampleSet(x, y[atoms], atoms)


def test_auc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.standard_normal(300) + labels, 1)  # many ties
    assert _auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert np.isnan(_auc(np.ones(5), np.arange(5.0)))


def test_shared_rule_generalises_to_every_held_out_sample():
    w = np.array([1.0, -0.8, 0.0, 0.0, 0.0])
    sets = {f"p{k}": _set(k, w, shift=0.1 * k) for k in range(4)}
    res = leave_one_sample_out(sets, NAMES, SUBSETS, [0.1, 1.0])
    d = res.to_dict()
    assert d["n_samples"] == 4 and d["keys"] == ["p0", "p1", "p2", "p3"]
    assert 0.85 < res.mean <= 1.0 and res.std < 0.08 and d["auc"] > 0.9
    for row in d["per_sample"].values():
        assert row["n_events"] == 240 and row["subset"] in SUBSETS and 0.8 < row["tpr"] and 0.8 < row["tnr"]


def test_sample_specific_rules_are_caught_by_loso_but_not_by_grouped_cv():
    """Each glass follows its own rule: grouped CV inside the pooled data looks fine, a new glass is chance."""
    rules = [np.eye(5)[k] for k in range(4)]
    samples = {f"p{k}": _set(10 + k, rules[k], n_atoms=150) for k in range(4)}
    res = leave_one_sample_out(samples, NAMES, {"structure": NAMES}, [1.0], select=False)
    assert 0.3 < res.mean < 0.68
    data = stack_samples({k: Sample(s.features, s.labels, s.atoms, np.zeros(s.labels.size), 0.0, 1.0)
                          for k, s in samples.items()})  # fmt: skip
    params = {"C": 1.0, "Cs": [1.0], "test_size": 0.2, "seed": 0, "train_fraction": 0.8, "time_gap": 0.0,
              "model_features": "structure", "cv_folds": 5, "cv_repeats": 1, "inner_folds": 3,
              "ablation_repeats": 1, "selection": "samples", "loso": "auto", "source": "planted"}  # fmt: skip
    r = train_and_validate(data, NAMES, params).report
    assert r["cv_balanced_accuracy"] > r["loso_balanced_accuracy"] + 0.05
    assert r["loso"]["n_samples"] == 4 and r["loso_balanced_accuracy"] == pytest.approx(res.mean)
    assert r["selection"] == "samples"


def test_selection_by_samples_prefers_the_shared_columns():
    w = np.array([1.0, -0.8, 0.0, 0.0, 0.0])
    sets = [_set(20 + k, w) for k in range(3)]
    # Noise columns 2..4 made sample-specific: only the first two generalise.
    for k, s in enumerate(sets):
        s.features[:, 2 + k] += 3.0 * (2 * s.labels - 1)
    choice = select_by_samples(sets, NAMES, SUBSETS, [1.0])
    assert choice.subset == "radial_short" and choice.score > 0.85


def test_loso_needs_two_samples_with_both_classes():
    w = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="at least two samples, got 1"):
        leave_one_sample_out({"p0": _set(0, w)}, NAMES, SUBSETS, [1.0])
    one = _set(1, w)
    one = SampleSet(one.features, np.zeros_like(one.labels), one.atoms)
    with pytest.raises(ValueError, match="sample 'p1' lacks"):
        leave_one_sample_out({"p0": _set(0, w), "p1": one}, NAMES, SUBSETS, [1.0])
    data = stack_samples({"p0": Sample(*_set(0, w).__dict__.values(), np.zeros(240), 0.0, 1.0)})
    params = {"C": 1.0, "Cs": [1.0], "test_size": 0.2, "seed": 0, "train_fraction": 0.8, "time_gap": 0.0,
              "model_features": "structure", "cv_folds": 3, "cv_repeats": 1, "inner_folds": 3,
              "ablation_repeats": 1, "selection": "samples", "loso": "always", "source": "planted"}  # fmt: skip
    with pytest.raises(ValueError, match="leave-one-sample-out needs at least two samples"):
        train_and_validate(data, NAMES, params)
