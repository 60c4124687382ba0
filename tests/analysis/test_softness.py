"""Linear-SVM softness: recovery of a planted hyperplane, exact serialisation, splits and cross-validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from aiida_aloxide.analysis.softness import (
    SoftnessModel,
    accuracy,
    balanced_accuracy,
    domain_bounds,
    out_of_domain,
    predict,
    softness,
    train_softness_model,
)
from aiida_aloxide.analysis.softness_validation import (
    default_ablation_subsets,
    repeated_grouped_cv,
    train_test_grouped,
    train_test_time_split,
)

N_FEAT = 6
MEAN = np.array([5.0, -2.0, 100.0, 0.0, 3.0, 0.5])
SCALE = np.array([0.1, 2.0, 30.0, 1.0, 0.01, 5.0])


def _planted(n, w_true, b_true=0.3, flip=0.0, margin=0.0, seed=0):
    """Raw features with very different means/scales; labels from a hyperplane in standardised space."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((4 * n, w_true.size))
    dist = (z @ w_true + b_true) / np.linalg.norm(w_true)
    keep = np.abs(dist) >= margin
    z, dist = z[keep][:n], dist[keep][:n]
    y = (dist > 0).astype(np.int64)
    noisy = rng.random(n) < flip
    y[noisy] = 1 - y[noisy]
    x = MEAN[: w_true.size] + SCALE[: w_true.size] * z
    return x, y


def _cosine(a, b):
    """Cosine of the angle between two vectors."""
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_recovers_planted_hyperplane_separable():
    w_true = np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
    x, y = _planted(2000, w_true, margin=0.05, seed=0)
    model = train_softness_model(x, y)
    # The learned normal lives in the space standardised with the sample mean/std, which is
    # (almost) the planted one: the directions must agree.
    assert _cosine(model.w, w_true) > 0.99
    assert accuracy(x, y, model) > 0.99
    xt, yt = _planted(2000, w_true, margin=0.0, seed=1)
    assert accuracy(xt, yt, model) > 0.97
    # Softness is positive on the rearranging side and grows with the planted distance.
    s = softness(xt, model)
    zt = (xt - MEAN) / SCALE
    d_true = (zt @ w_true + 0.3) / np.linalg.norm(w_true)
    assert np.corrcoef(s, d_true)[0, 1] > 0.99
    assert np.mean(s[yt == 1] > 0) > 0.97 and np.mean(s[yt == 0] < 0) > 0.97


def test_label_noise_accuracy_as_expected():
    # 10 % of labels flipped: the best possible accuracy is ~0.90 and the normal is still found.
    w_true = np.array([2.0, 1.0, -1.0, 0.5])
    x, y = _planted(3000, w_true, flip=0.1, seed=3)
    model = train_softness_model(x, y, C=1.0)
    assert _cosine(model.w, w_true) > 0.99
    xt, yt = _planted(3000, w_true, flip=0.1, seed=4)
    assert 0.86 < accuracy(xt, yt, model) < 0.94


def test_softness_matches_libsvm_decision_function():
    w_true = np.array([1.0, 1.0, -1.0])
    x, y = _planted(500, w_true, flip=0.05, seed=5)
    model = train_softness_model(x, y, ["a", "b", "c"], C=0.5)
    scaler = StandardScaler().fit(x)
    svc = SVC(kernel="linear", C=0.5).fit(scaler.transform(x), y)
    ref = svc.decision_function(scaler.transform(x)) / np.linalg.norm(svc.coef_)
    assert np.allclose(softness(x, model), ref, rtol=1e-9, atol=1e-9)
    assert np.array_equal(predict(x, model), svc.predict(scaler.transform(x)))
    assert model.C == 0.5 and model.feature_names == ("a", "b", "c")


def test_dict_round_trip_is_exact():
    w_true = np.array([1.0, -0.5, 2.0, 0.0, 0.3, 1.0])
    x, y = _planted(600, w_true, flip=0.05, seed=6)
    names = [f"G_Al_{k}" for k in range(N_FEAT)]
    model = train_softness_model(x, y, names)
    s = softness(x, model)
    d = model.to_dict()
    assert set(d) == {"feature_names", "mean", "scale", "w", "b", "C", "dropped", "z_clip"}
    assert isinstance(d["mean"], np.ndarray) and isinstance(d["b"], float)
    back = SoftnessModel.from_dict(d)
    assert np.array_equal(softness(x, back), s)
    assert np.array_equal(softness(x, d), s)  # a plain dict is accepted directly
    # Through JSON (arrays as lists): Python floats round-trip exactly.
    text = json.dumps({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()})
    again = SoftnessModel.from_dict(json.loads(text))
    assert np.array_equal(softness(x, again), s)
    assert again.feature_names == tuple(names)
    with pytest.raises(ValueError):
        softness(x[:, :3], model)


def test_grouped_split_keeps_atoms_apart():
    w_true = np.array([1.0, 2.0, -1.0, 0.5, 0.0, 1.0])
    x, y = _planted(1500, w_true, seed=7)
    groups = np.random.default_rng(0).integers(0, 200, size=len(y))  # atom ids, ~7 events each
    res = train_test_grouped(x, y, groups, test_size=0.25, seed=3)
    assert set(groups[res.train_index]).isdisjoint(groups[res.test_index])
    assert res.n_train + res.n_test == len(y)
    assert 0.15 < res.n_test / len(y) < 0.35
    assert res.train_accuracy > 0.97 and res.test_accuracy > 0.95
    same = train_test_grouped(x, y, groups, test_size=0.25, seed=3)
    assert np.array_equal(same.test_index, res.test_index)


def test_time_split():
    w_true = np.array([1.0, -1.0, 0.5])
    x, y = _planted(1000, w_true, seed=8)
    times = np.random.default_rng(1).uniform(3.0, 197.0, size=len(y))
    res = train_test_time_split(x, y, times, t_start=0.0, t_end=200.0)
    assert np.all(times[res.train_index] < 160.0) and np.all(times[res.test_index] >= 160.0)
    assert res.n_train + res.n_test == len(y)
    assert res.test_accuracy > 0.95


def test_ablation_subsets():
    # Signal only in the radial columns; the angular and "Voronoi" columns are pure noise.
    rng = np.random.default_rng(9)
    w_true = np.array([1.0, -1.0, 2.0])
    xs, y = _planted(1200, w_true, seed=10)
    x = np.column_stack([xs, rng.standard_normal((len(y), 2)), rng.standard_normal(len(y))])
    names = ["G_Al_1", "G_Al_2", "G_O_1", "Psi_AlO_a", "Psi_AlO_b", "voronoi_volume"]
    subsets = default_ablation_subsets(names)
    assert set(subsets) == {"radial", "angular", "structure", "voronoi", "all+voronoi"}
    assert subsets["radial"] == names[:3] and subsets["angular"] == names[3:5]
    assert subsets["structure"] == names[:5] and subsets["voronoi"] == ["voronoi_volume"]
    assert subsets["all+voronoi"] == names
    assert "voronoi" not in default_ablation_subsets(names[:5])
    groups = np.arange(len(y)) // 3
    cv = {
        key: repeated_grouped_cv(x, y, groups, names, subsets={key: cols}, select=False, repeats=1, folds=4).mean
        for key, cols in subsets.items()
    }
    assert cv["radial"] > 0.95 and cv["structure"] > 0.93 and cv["all+voronoi"] > 0.93
    assert abs(cv["voronoi"] - 0.5) < 0.08 and abs(cv["angular"] - 0.5) < 0.08


def test_bad_labels_rejected():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError):
        train_softness_model(x, [0, 1, 2, 1])
    with pytest.raises(ValueError):
        train_softness_model(x, [1, 1, 1, 1])


def test_cross_validation_matches_label_noise():
    """Planted hyperplane with 15 % of labels flipped: every grouped fold scores ≈ 0.85; pure noise ≈ 0.5."""
    w_true = np.array([1.0, -2.0, 0.5])
    x, y = _planted(1500, w_true, flip=0.15, seed=5)
    groups = np.arange(y.size) // 3  # three events per atom; an atom's events stay in one fold
    names = ["G_a", "G_b", "G_c"]
    cv = repeated_grouped_cv(x, y, groups, names, folds=5, repeats=2, seed=1, subsets={"radial": names}, select=False)
    assert cv.folds == 5 and cv.scores.size == 10 and 0.80 < cv.mean < 0.90 and cv.std < 0.05
    assert set(cv.choices) == {("radial", 0.1)}  # without selection: the first subset and the first C
    rng = np.random.default_rng(6)
    noise = repeated_grouped_cv(x, rng.integers(0, 2, y.size), groups, names, folds=5, repeats=1, seed=1,
                                subsets={"radial": names}, select=False)  # fmt: skip
    assert abs(noise.mean - 0.5) < 0.06
    with pytest.raises(ValueError, match="two atoms"):
        repeated_grouped_cv(x[:3], y[:3], np.zeros(3), names, folds=5, subsets={"radial": names}, select=False)


def test_time_split_gap_leaves_a_hole():
    w_true = np.array([1.0, -1.0, 0.5])
    x, y = _planted(1000, w_true, seed=8)
    times = np.random.default_rng(1).uniform(3.0, 197.0, size=len(y))
    res = train_test_time_split(x, y, times, t_start=0.0, t_end=200.0, gap=6.0)
    assert np.all(times[res.train_index] < 154.0) and np.all(times[res.test_index] >= 160.0)
    hole = np.count_nonzero((times >= 154.0) & (times < 160.0))
    assert hole > 0 and res.n_train + res.n_test + hole == len(y)
    with pytest.raises(ValueError, match="gap"):
        train_test_time_split(x, y, times, gap=-1.0)


def test_balanced_accuracy_known_values():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    # recall of 1: 3/4, recall of 0: 6/8 -> 0.75; plain accuracy would be 9/12 as well, but
    # predicting the majority class everywhere gives accuracy 8/12 and balanced accuracy 0.5.
    assert balanced_accuracy(y, p) == pytest.approx(0.75)
    assert balanced_accuracy(y, np.zeros_like(y)) == pytest.approx(0.5)
    assert np.isnan(balanced_accuracy(np.zeros(4), np.zeros(4)))


def _grouped_planted(seed=0, n_atoms=300, per_atom=3, flip=0.1):
    """Each atom's events share its (noisy) features; label from a hyperplane on columns 0-1 only,
    columns 2-5 pure noise. Returns x, y, groups, names."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_atoms, 6))
    y_atom = (base[:, 0] - 0.8 * base[:, 1] > 0).astype(np.int64)
    flip_mask = rng.random(n_atoms) < flip
    y_atom[flip_mask] = 1 - y_atom[flip_mask]
    groups = np.repeat(np.arange(n_atoms), per_atom)
    x = base[groups] + 0.05 * rng.standard_normal((groups.size, 6))
    names = ["G_O_1", "G_O_2", "Psi_a", "Psi_b", "Psi_c", "Psi_d"]
    return x, y_atom[groups], groups, names


def test_repeated_grouped_cv_planted_and_selection_inside_folds():
    x, y, groups, names = _grouped_planted()
    subsets = {"structure": names, "radial": names[:2], "angular": names[2:]}
    cv = repeated_grouped_cv(x, y, groups, names, folds=5, repeats=3, seed=2, subsets=subsets, Cs=(0.1, 1.0))
    # 10 % of the atoms carry flipped labels: the best a model can do is 0.9 balanced accuracy.
    assert cv.scores.size == 15 and 0.83 < cv.mean < 0.95 and cv.std < 0.06
    # The informative subset wins in (nearly) every outer fold; the noise subset never does.
    chosen = [s for s, _ in cv.choices]
    assert chosen.count("angular") == 0 and chosen.count("radial") >= 10
    noise = repeated_grouped_cv(x[:, 2:], y, groups, names[2:], folds=5, repeats=2, seed=2,
                                subsets={"angular": names[2:]}, select=False)  # fmt: skip
    assert abs(noise.mean - 0.5) < 0.08
    d = cv.to_dict()
    assert d["repeats"] == 3 and d["folds"] == 5 and sum(d["choices"].values()) == 15


def test_repeated_grouped_cv_never_splits_an_atom():
    """An atom memorised in training would score in test if the folds leaked it: labels are random per
    atom and features identify the atom exactly, so grouped CV must stay at chance."""
    rng = np.random.default_rng(4)
    n_atoms, per = 200, 5
    groups = np.repeat(np.arange(n_atoms), per)
    ident = rng.standard_normal((n_atoms, 8))[groups]
    y = rng.integers(0, 2, n_atoms)[groups]
    names = [f"G_O_{k}" for k in range(8)]
    cv = repeated_grouped_cv(ident, y, groups, names, folds=5, repeats=2, subsets={"radial": names}, select=False)
    assert abs(cv.mean - 0.5) < 0.08


def test_out_of_domain_known_answer():
    train = np.array([[0.0, 10.0], [1.0, 20.0], [0.5, 15.0]])
    b = domain_bounds(train)
    np.testing.assert_array_equal(b["lower"], [0.0, 10.0])
    np.testing.assert_array_equal(b["upper"], [1.0, 20.0])
    # margin 0.25 of the range: column 0 allowed in [-0.25, 1.25], column 1 in [7.5, 22.5]
    new = np.array([[0.5, 15.0], [1.2, 22.0], [1.3, 15.0], [0.5, 7.0], [-0.2, 8.0]])
    np.testing.assert_array_equal(out_of_domain(new, b["lower"], b["upper"]), [False, False, True, True, False])
    with pytest.raises(ValueError, match="one entry per feature"):
        out_of_domain(new, b["lower"][:1], b["upper"])


def test_past_window_average_and_grid():
    from aiida_aloxide.analysis.configurations import past_window_average, snap_to_grid

    t = np.arange(20, dtype=np.float64)
    pos = np.zeros((20, 2, 3))
    pos[:, 0, 0] = t  # moves 1 Å per frame along x
    pos[:, 1, 2] = np.where(t % 2 == 0, 1.0, -1.0)  # rattles +-1 Å along z
    avg = past_window_average(pos, [5, 10, 19], 3)
    # mean over frames f-3..f: x = f - 1.5; the rattle averages to zero over 4 frames
    np.testing.assert_allclose(avg[:, 0, 0], [3.5, 8.5, 17.5])
    np.testing.assert_allclose(avg[:, 1, 2], 0.0, atol=1e-12)
    np.testing.assert_allclose(past_window_average(pos, [7], 0)[0], pos[7])
    with pytest.raises(ValueError, match="earlier frames"):
        past_window_average(pos, [2], 3)
    np.testing.assert_array_equal(snap_to_grid([0, 3, 4, 7, 8], 4), [0, 0, 4, 4, 8])


def test_unwrap_near_picks_the_nearest_image():
    from aiida_aloxide.analysis.configurations import unwrap_near

    box = np.array([10.0, 12.0, 14.0])
    ref = np.array([[[9.9, 0.1, 25.0]]])  # unwrapped: z is two boxes up
    wrapped = np.array([[[0.05, 11.95, 11.2]]])  # the minimised atom, wrapped back into the box
    out = unwrap_near(ref, wrapped, box[None, :])
    np.testing.assert_allclose(out, [[[10.05, -0.05, 25.2]]])
