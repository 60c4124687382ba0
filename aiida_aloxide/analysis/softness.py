"""Softness: a linear SVM separating rearranging from non-rearranging Al atoms (SPEC §5).

Training follows Du et al. (2021) / Cubuk et al. (2015): features are standardised
(scikit-learn ``StandardScaler``) and a linear support-vector classifier with LIBSVM semantics
(``SVC(kernel="linear", C=1)``) is fitted to labels 1 = rearranging, 0 = non-rearranging.
Softness is the signed distance to the hyperplane in the standardised feature space,

    S(x) = (w · (x - mean) / scale + b) / ||w||,

positive on the rearranging side. The fitted model is kept as plain arrays
(:class:`SoftnessModel`, ``to_dict`` / ``from_dict``), so it can be stored (e.g. in AiiDA
``ArrayData`` + ``Dict``) and applied without scikit-learn; a round trip through the dict gives
bit-identical softness values because the same arithmetic runs on the same float64 numbers.

Validation helpers: a split grouped by atom (no atom in both train and test), a time split
(first 80 % of the run trains, the last 20 % tests), column-subset ablations and a
cross-pressure table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

__all__ = [
    "DOMAIN_MARGIN",
    "CrossValidation",
    "Selection",
    "balanced_accuracy",
    "candidate_subsets",
    "domain_bounds",
    "out_of_domain",
    "radial_short_columns",
    "repeated_grouped_cv",
    "select_model",
    "CrossPressureTable",
    "SoftnessModel",
    "TrainTestResult",
    "ablation",
    "accuracy",
    "cross_pressure_table",
    "cross_validated_accuracy",
    "default_ablation_subsets",
    "predict",
    "softness",
    "train_softness_model",
    "train_test_grouped",
    "train_test_time_split",
]


@dataclass(frozen=True)
class SoftnessModel:
    """Standardisation + hyperplane of a linear SVM, as plain float64 arrays.

    ``w`` and ``b`` act on standardised features ``(x - mean) / scale``; ``w · z + b > 0`` is
    the rearranging class. ``C`` is the SVM penalty the model was trained with.
    """

    feature_names: tuple[str, ...]
    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    w: NDArray[np.float64]
    b: float
    C: float

    def __post_init__(self) -> None:
        n = len(self.feature_names)
        for name in ("mean", "scale", "w"):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.shape != (n,):
                raise ValueError(f"{name} has shape {arr.shape}, expected ({n},) to match feature_names")
            object.__setattr__(self, name, arr)
        if not np.any(self.w):
            raise ValueError("hyperplane normal w is zero: softness is undefined")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict: names (list), ``mean``/``scale``/``w`` (float64 arrays), ``b``, ``C`` (floats)."""
        return {
            "feature_names": list(self.feature_names),
            "mean": self.mean.copy(),
            "scale": self.scale.copy(),
            "w": self.w.copy(),
            "b": float(self.b),
            "C": float(self.C),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SoftnessModel:
        """Inverse of :meth:`to_dict`; arrays may also be given as lists (e.g. after JSON)."""
        return cls(
            feature_names=tuple(str(s) for s in data["feature_names"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            w=np.asarray(data["w"], dtype=np.float64),
            b=float(data["b"]),
            C=float(data["C"]),
        )


def _as_model(model: SoftnessModel | Mapping[str, Any]) -> SoftnessModel:
    return model if isinstance(model, SoftnessModel) else SoftnessModel.from_dict(model)


def _as_xy(features: ArrayLike, labels: ArrayLike | None = None) -> tuple[NDArray, NDArray | None]:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be 2-d (samples, features), got shape {x.shape}")
    if labels is None:
        return x, None
    y = np.asarray(labels).astype(np.int64).ravel()
    if y.shape[0] != x.shape[0]:
        raise ValueError("features and labels disagree on the number of samples")
    if not np.all(np.isin(y, (0, 1))):
        raise ValueError("labels must be 0 (non-rearranging) or 1 (rearranging)")
    return x, y


def train_softness_model(
    features: ArrayLike,
    labels: ArrayLike,
    feature_names: Sequence[str] | None = None,
    *,
    C: float = 1.0,
    cache_size: float = 500.0,
) -> SoftnessModel:
    """Fit StandardScaler + ``SVC(kernel="linear", C=C)`` and return the plain-array model.

    ``labels``: 1 = rearranging, 0 = non-rearranging (both classes must be present).
    """
    x, y = _as_xy(features, labels)
    if np.unique(y).size != 2:
        raise ValueError("training needs both classes (0 and 1)")
    names = tuple(feature_names) if feature_names is not None else tuple(f"f{k}" for k in range(x.shape[1]))
    if len(names) != x.shape[1]:
        raise ValueError("feature_names must name every column")
    scaler = StandardScaler().fit(x)
    svc = SVC(kernel="linear", C=C, cache_size=cache_size).fit(scaler.transform(x), y)
    # For a binary SVC, decision_function > 0 predicts classes_[1]; classes_ == [0, 1] here.
    return SoftnessModel(
        feature_names=names,
        mean=scaler.mean_.astype(np.float64),
        scale=scaler.scale_.astype(np.float64),
        w=svc.coef_.ravel().astype(np.float64),
        b=float(svc.intercept_[0]),
        C=float(C),
    )


def softness(features: ArrayLike, model: SoftnessModel | Mapping[str, Any]) -> NDArray[np.float64]:
    """Signed distance to the hyperplane in standardised feature space (positive = rearranging side)."""
    m = _as_model(model)
    x, _ = _as_xy(features)
    if x.shape[1] != m.w.size:
        raise ValueError(f"model expects {m.w.size} features, got {x.shape[1]}")
    z = (x - m.mean) / m.scale
    return (z @ m.w + m.b) / np.sqrt(m.w @ m.w)


def predict(features: ArrayLike, model: SoftnessModel | Mapping[str, Any]) -> NDArray[np.int8]:
    """Predicted label: 1 (rearranging) where softness > 0, else 0."""
    return (softness(features, model) > 0).astype(np.int8)


def accuracy(features: ArrayLike, labels: ArrayLike, model: SoftnessModel | Mapping[str, Any]) -> float:
    """Fraction of correctly classified samples (nan for an empty set)."""
    x, y = _as_xy(features, labels)
    if y.size == 0:
        return float("nan")
    return float(np.mean(predict(x, model) == y))


@dataclass(frozen=True)
class TrainTestResult:
    """A model with its train / test accuracies and the row indices of both sets."""

    model: SoftnessModel
    train_accuracy: float
    test_accuracy: float
    train_index: NDArray[np.int64] = field(repr=False)
    test_index: NDArray[np.int64] = field(repr=False)

    @property
    def n_train(self) -> int:
        return int(self.train_index.size)

    @property
    def n_test(self) -> int:
        return int(self.test_index.size)


def _as_groups(groups: ArrayLike, n: int) -> NDArray:
    """Group (atom) ids as a flat array with one entry per sample."""
    groups = np.asarray(groups).ravel()
    if groups.shape[0] != n:
        raise ValueError("groups must have one entry per sample")
    return groups


def _fit_and_score(x, y, names, train, test, C) -> TrainTestResult:
    model = train_softness_model(x[train], y[train], names, C=C)
    return TrainTestResult(
        model=model,
        train_accuracy=accuracy(x[train], y[train], model),
        test_accuracy=accuracy(x[test], y[test], model),
        train_index=np.asarray(train, dtype=np.int64),
        test_index=np.asarray(test, dtype=np.int64),
    )


def train_test_grouped(
    features: ArrayLike,
    labels: ArrayLike,
    groups: ArrayLike,
    feature_names: Sequence[str] | None = None,
    *,
    test_size: float = 0.2,
    seed: int = 0,
    C: float = 1.0,
) -> TrainTestResult:
    """Random split grouped by atom (``groups`` = atom ids): no atom is in both train and test.

    Uses ``GroupShuffleSplit(n_splits=1, test_size, random_state=seed)``; ``test_size`` is the
    fraction of *groups* held out.
    """
    x, y = _as_xy(features, labels)
    groups = _as_groups(groups, x.shape[0])
    split = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(split.split(x, y, groups))
    return _fit_and_score(x, y, feature_names, train, test, C)


def cross_validated_accuracy(
    features: ArrayLike,
    labels: ArrayLike,
    groups: ArrayLike,
    *,
    folds: int = 5,
    seed: int = 0,
    C: float = 1.0,
) -> tuple[float, float, int]:
    """Mean and standard deviation of the test accuracy over ``folds`` grouped folds, and the fold count.

    Each atom (group) is in exactly one test fold, so every event is tested once; with a few
    hundred events this is far less noisy than one 80/20 split. Folds: ``GroupKFold`` on the
    groups in an order shuffled with ``seed``.
    """
    x, y = _as_xy(features, labels)
    groups = _as_groups(groups, x.shape[0])
    uniq, inverse = np.unique(groups, return_inverse=True)
    k = int(min(folds, uniq.size))
    if k < 2:
        raise ValueError("cross-validation needs at least two atoms")
    shuffled = np.random.default_rng(seed).permutation(uniq.size)[inverse]
    scores = []
    for train, test in GroupKFold(n_splits=k).split(x, y, shuffled):
        if np.unique(y[train]).size != 2:
            raise ValueError("a cross-validation fold has only one class in its training set")
        scores.append(_fit_and_score(x, y, None, train, test, C).test_accuracy)
    return float(np.mean(scores)), float(np.std(scores)), k


def train_test_time_split(
    features: ArrayLike,
    labels: ArrayLike,
    times: ArrayLike,
    feature_names: Sequence[str] | None = None,
    *,
    train_fraction: float = 0.8,
    t_start: float | None = None,
    t_end: float | None = None,
    C: float = 1.0,
    gap: float = 0.0,
) -> TrainTestResult:
    """Time split: events with ``time >= t_cut = t_start + train_fraction (t_end - t_start)`` test,
    those with ``time < t_cut - gap`` train (the gap keeps examples whose p_hop windows overlap
    out of opposite sets; Du et al.: 0–160 ps train, 160–200 ps test).

    ``times`` are the event times; ``t_start`` / ``t_end`` delimit the run (default: the
    smallest / largest event time); ``gap`` is in the unit of ``times``.
    """
    x, y = _as_xy(features, labels)
    t = np.asarray(times, dtype=np.float64).ravel()
    if t.shape[0] != x.shape[0]:
        raise ValueError("times must have one entry per sample")
    t0 = float(t.min()) if t_start is None else float(t_start)
    t1 = float(t.max()) if t_end is None else float(t_end)
    t_cut = t0 + train_fraction * (t1 - t0)
    if gap < 0:
        raise ValueError("the time-split gap must be >= 0")
    train = np.nonzero(t < t_cut - gap)[0]
    test = np.nonzero(t >= t_cut)[0]
    if np.unique(y[train]).size != 2 or test.size == 0:
        raise ValueError("the time split leaves a training set with one class or an empty test set")
    return _fit_and_score(x, y, feature_names, train, test, C)


def default_ablation_subsets(
    feature_names: Sequence[str], voronoi_name: str = "voronoi_volume"
) -> dict[str, list[str]]:
    """Column subsets of Du et al.'s ablation: radial only, angular only, all structure functions,
    and — when a ``voronoi_name`` column exists — Voronoi only and structure functions + Voronoi."""
    names = list(feature_names)
    radial = [n for n in names if n.startswith("G_")]
    angular = [n for n in names if n.startswith("Psi_")]
    subsets: dict[str, list[str]] = {}
    if radial:
        subsets["radial"] = radial
    if angular:
        subsets["angular"] = angular
    if radial or angular:
        subsets["structure"] = radial + angular
    if voronoi_name in names:
        subsets["voronoi"] = [voronoi_name]
        subsets["all+voronoi"] = radial + angular + [voronoi_name]
    return subsets


def ablation(
    features: ArrayLike,
    labels: ArrayLike,
    groups: ArrayLike,
    feature_names: Sequence[str],
    subsets: Mapping[str, Sequence[str]] | None = None,
    *,
    test_size: float = 0.2,
    seed: int = 0,
    C: float = 1.0,
) -> dict[str, TrainTestResult]:
    """Grouped train/test (same split for every subset) on each named subset of columns.

    ``subsets`` maps a name to the column names it uses; default :func:`default_ablation_subsets`.
    """
    x, y = _as_xy(features, labels)
    names = list(feature_names)
    if len(names) != x.shape[1]:
        raise ValueError("feature_names must name every column")
    subsets = default_ablation_subsets(names) if subsets is None else subsets
    position = {n: k for k, n in enumerate(names)}
    groups = np.asarray(groups).ravel()
    split = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(split.split(x, y, groups))
    out: dict[str, TrainTestResult] = {}
    for key, cols in subsets.items():
        missing = [c for c in cols if c not in position]
        if missing:
            raise KeyError(f"subset {key!r}: unknown columns {missing[:3]}")
        idx = np.array([position[c] for c in cols], dtype=np.int64)
        out[key] = _fit_and_score(x[:, idx], y, [names[i] for i in idx], train, test, C)
    return out


@dataclass(frozen=True)
class CrossPressureTable:
    """``accuracy[p, q]``: model trained on dataset ``keys[p]``, tested on dataset ``keys[q]``."""

    keys: list[str]
    accuracy: NDArray[np.float64]
    models: dict[str, SoftnessModel] = field(repr=False)


def cross_pressure_table(
    datasets: Mapping[str, Sequence[ArrayLike]],
    feature_names: Sequence[str] | None = None,
    *,
    test_size: float = 0.2,
    seed: int = 0,
    C: float = 1.0,
) -> CrossPressureTable:
    """Train on each dataset (e.g. each quench pressure) and test on every dataset.

    ``datasets[key]`` is ``(X, y)`` or ``(X, y, groups)``. With groups, the model of row ``p`` is
    trained on a grouped split of ``p`` (:func:`train_test_grouped`) and the diagonal entry is
    its held-out accuracy; without groups the model uses all of ``p`` and the diagonal is the
    training accuracy. Off-diagonal entries always test on the whole of dataset ``q``.
    """
    keys = [str(k) for k in datasets]
    data = [tuple(v) for v in datasets.values()]
    table = np.full((len(keys), len(keys)), np.nan)
    models: dict[str, SoftnessModel] = {}
    for p, entry in enumerate(data):
        if len(entry) == 3:
            res = train_test_grouped(entry[0], entry[1], entry[2], feature_names, test_size=test_size, seed=seed, C=C)
            model, diag = res.model, res.test_accuracy
        else:
            model = train_softness_model(entry[0], entry[1], feature_names, C=C)
            diag = accuracy(entry[0], entry[1], model)
        models[keys[p]] = model
        for q, other in enumerate(data):
            table[p, q] = diag if p == q else accuracy(other[0], other[1], model)
    return CrossPressureTable(keys=keys, accuracy=table, models=models)


# ---------------------------------------------------------------------------------------------
# Model selection without leakage: repeated grouped cross-validation, choices inside the folds
# ---------------------------------------------------------------------------------------------


def balanced_accuracy(labels: ArrayLike, predicted: ArrayLike) -> float:
    """Mean of the recall of both classes (nan if a class is absent): 0.5 is chance for any class mix."""
    y = np.asarray(labels).astype(np.int64).ravel()
    p = np.asarray(predicted).astype(np.int64).ravel()
    recalls = [np.mean(p[y == c] == c) for c in (0, 1) if np.any(y == c)]
    return float(np.mean(recalls)) if len(recalls) == 2 else float("nan")


def radial_short_columns(feature_names: Sequence[str], max_mu: float = 5.0) -> list[str]:
    """Radial columns ``G_<X>_<μ>`` with μ ≤ ``max_mu`` Å (the first coordination shells)."""
    out = []
    for n in feature_names:
        if n.startswith("G_"):
            try:
                mu = float(n.rsplit("_", 1)[1])
            except ValueError:
                continue
            if mu <= max_mu + 1e-9:
                out.append(n)
    return out


def candidate_subsets(feature_names: Sequence[str]) -> dict[str, list[str]]:
    """Feature subsets the model selection may choose from: all structure functions, radial only,
    radial with μ ≤ 5 Å (the shells that define the local environment)."""
    names = list(feature_names)
    radial = [n for n in names if n.startswith("G_")]
    angular = [n for n in names if n.startswith("Psi_")]
    out = {"structure": radial + angular, "radial": radial, "radial_short": radial_short_columns(names)}
    return {k: v for k, v in out.items() if v}


def _grouped_folds(y: NDArray, groups: NDArray, folds: int, seed: int):
    """Stratified folds grouped by atom (scikit-learn's StratifiedGroupKFold, shuffled with ``seed``)."""
    from sklearn.model_selection import StratifiedGroupKFold

    k = int(min(folds, np.unique(groups).size))
    if k < 2:
        raise ValueError("cross-validation needs at least two atoms")
    return list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(y.size), y, groups))


def _fit_predict(x_tr, y_tr, x_te, C: float) -> NDArray:
    scaler = StandardScaler().fit(x_tr)
    svc = SVC(kernel="linear", C=C).fit(scaler.transform(x_tr), y_tr)
    return svc.predict(scaler.transform(x_te))


@dataclass(frozen=True)
class Selection:
    """A choice of feature subset and penalty C with its inner cross-validated balanced accuracy."""

    subset: str
    C: float
    score: float


def select_model(
    features: ArrayLike,
    labels: ArrayLike,
    groups: ArrayLike,
    feature_names: Sequence[str],
    *,
    subsets: Mapping[str, Sequence[str]] | None = None,
    Cs: Sequence[float] = (0.1, 1.0),
    folds: int = 3,
    seed: int = 0,
) -> Selection:
    """The (subset, C) with the best grouped-CV balanced accuracy on the data given (ties: first).

    Called on the training part of an outer fold only, so the held-out fold never influences it.
    """
    x, y = _as_xy(features, labels)
    g = _as_groups(groups, x.shape[0])
    names = list(feature_names)
    subsets = candidate_subsets(names) if subsets is None else subsets
    position = {n: k for k, n in enumerate(names)}
    splits = _grouped_folds(y, g, folds, seed)
    best: Selection | None = None
    for key, cols in subsets.items():
        idx = np.array([position[c] for c in cols], dtype=np.int64)
        for C in Cs:
            scores = []
            for tr, te in splits:
                if np.unique(y[tr]).size == 2:
                    scores.append(balanced_accuracy(y[te], _fit_predict(x[tr][:, idx], y[tr], x[te][:, idx], C)))
            score = float(np.nanmean(scores)) if scores else float("nan")
            if best is None or score > best.score:
                best = Selection(subset=key, C=float(C), score=score)
    assert best is not None
    return best


@dataclass(frozen=True)
class CrossValidation:
    """Repeated grouped cross-validation: balanced accuracy per outer fold and the choices made."""

    scores: NDArray[np.float64]
    train_scores: NDArray[np.float64]
    choices: list[tuple[str, float]]
    folds: int
    repeats: int

    @property
    def mean(self) -> float:
        """Mean balanced accuracy over every outer fold of every repeat."""
        return float(np.nanmean(self.scores))

    @property
    def std(self) -> float:
        """Standard deviation of the outer-fold balanced accuracies."""
        return float(np.nanstd(self.scores))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary: mean, std, train mean, folds, repeats and how often each choice won."""
        counts: dict[str, int] = {}
        for subset, C in self.choices:
            key = f"{subset}, C={C:g}"
            counts[key] = counts.get(key, 0) + 1
        return {
            "balanced_accuracy": self.mean,
            "balanced_accuracy_std": self.std,
            "train_balanced_accuracy": float(np.nanmean(self.train_scores)),
            "folds": self.folds,
            "repeats": self.repeats,
            "n_scores": int(self.scores.size),
            "choices": counts,
        }


def repeated_grouped_cv(
    features: ArrayLike,
    labels: ArrayLike,
    groups: ArrayLike,
    feature_names: Sequence[str],
    *,
    folds: int = 5,
    repeats: int = 10,
    seed: int = 0,
    subsets: Mapping[str, Sequence[str]] | None = None,
    Cs: Sequence[float] = (0.1, 1.0),
    inner_folds: int = 3,
    select: bool = True,
) -> CrossValidation:
    """``repeats`` × ``folds`` stratified grouped cross-validation (no atom in two folds), balanced accuracy.

    With ``select`` the subset and C are chosen by :func:`select_model` on each outer training set
    only (nested CV, no leakage); without it the first subset and first C are used throughout.
    """
    x, y = _as_xy(features, labels)
    g = _as_groups(groups, x.shape[0])
    names = list(feature_names)
    subsets = candidate_subsets(names) if subsets is None else dict(subsets)
    position = {n: k for k, n in enumerate(names)}
    scores, train_scores, choices = [], [], []
    n_folds = 0
    for r in range(repeats):
        splits = _grouped_folds(y, g, folds, seed + r)
        n_folds = len(splits)
        for tr, te in splits:
            if np.unique(y[tr]).size != 2:
                raise ValueError("a cross-validation fold has only one class in its training set")
            if select:
                choice = select_model(
                    x[tr], y[tr], g[tr], names, subsets=subsets, Cs=Cs, folds=inner_folds, seed=seed + r
                )
                subset, C = choice.subset, choice.C
            else:
                subset, C = next(iter(subsets)), float(Cs[0])
            idx = np.array([position[c] for c in subsets[subset]], dtype=np.int64)
            scaler = StandardScaler().fit(x[tr][:, idx])
            svc = SVC(kernel="linear", C=C).fit(scaler.transform(x[tr][:, idx]), y[tr])
            scores.append(balanced_accuracy(y[te], svc.predict(scaler.transform(x[te][:, idx]))))
            train_scores.append(balanced_accuracy(y[tr], svc.predict(scaler.transform(x[tr][:, idx]))))
            choices.append((subset, float(C)))
    return CrossValidation(np.asarray(scores), np.asarray(train_scores), choices, n_folds, repeats)


# ---------------------------------------------------------------------------------------------
# Domain of applicability: atoms whose features lie outside what the model was trained on
# ---------------------------------------------------------------------------------------------

#: Extra room beyond the training range, as a fraction of that range, before an atom is out of domain.
DOMAIN_MARGIN = 0.25


def domain_bounds(features: ArrayLike) -> dict[str, NDArray[np.float64]]:
    """Per-column minimum and maximum of the training features (``lower``, ``upper``)."""
    x, _ = _as_xy(features)
    return {"lower": x.min(axis=0), "upper": x.max(axis=0)}


def out_of_domain(
    features: ArrayLike, lower: ArrayLike, upper: ArrayLike, margin: float = DOMAIN_MARGIN
) -> NDArray[np.bool_]:
    """True for rows with any feature outside ``[lower − m·range, upper + m·range]`` (m = ``margin``).

    A linear model extrapolates without bound; new crack surfaces or voids give structure functions
    no training atom had, and their softness is not a prediction. Such atoms are flagged, not dropped.
    """
    x, _ = _as_xy(features)
    lo, hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    if lo.shape != (x.shape[1],) or hi.shape != (x.shape[1],):
        raise ValueError("domain bounds must have one entry per feature column")
    pad = margin * (hi - lo)
    return np.any((x < lo - pad) | (x > hi + pad), axis=1)
