"""Validation of the softness SVM: splits, feature subsets and repeated grouped cross-validation (SPEC §5).

Every model here is fitted by :func:`~aiida_aloxide.analysis.softness.train_softness_model` and
scored with :func:`~aiida_aloxide.analysis.softness.predict`:

* one split grouped by atom (no atom in both train and test) and a time split (the first 80 % of
  the run trains, the last 20 % tests, with a gap);
* the column subsets of the ablation and of the model selection;
* :func:`select_model` — the subset and C with the best inner grouped-CV balanced accuracy;
* :func:`repeated_grouped_cv` — repeats × folds stratified grouped CV with the choices made inside
  each outer training fold (no leakage of the held-out fold into the model selection).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

from .softness import (
    VORONOI_COLUMN,
    SoftnessModel,
    accuracy,
    as_features_labels,
    balanced_accuracy,
    predict,
    train_softness_model,
)

__all__ = [
    "CrossValidation",
    "Selection",
    "TrainTestResult",
    "candidate_subsets",
    "default_ablation_subsets",
    "radial_short_columns",
    "repeated_grouped_cv",
    "select_model",
    "train_test_grouped",
    "train_test_time_split",
]


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
        """Number of training rows."""
        return int(self.train_index.size)

    @property
    def n_test(self) -> int:
        """Number of test rows."""
        return int(self.test_index.size)


def _as_groups(groups: ArrayLike, n: int) -> NDArray:
    """Group (atom) ids as a flat array with one entry per sample."""
    groups = np.asarray(groups).ravel()
    if groups.shape[0] != n:
        raise ValueError("groups must have one entry per sample")
    return groups


def _fit_and_score(
    x: NDArray, y: NDArray, names: Sequence[str] | None, train: NDArray, test: NDArray, C: float
) -> TrainTestResult:
    """Train on the rows ``train`` and report the accuracy on them and on the rows ``test``."""
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
    x, y = as_features_labels(features, labels)
    groups = _as_groups(groups, x.shape[0])
    split = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(split.split(x, y, groups))
    return _fit_and_score(x, y, feature_names, train, test, C)


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
    x, y = as_features_labels(features, labels)
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


# ---------------------------------------------------------------------------------------------
# Feature subsets
# ---------------------------------------------------------------------------------------------


def default_ablation_subsets(feature_names: Sequence[str], voronoi_name: str = VORONOI_COLUMN) -> dict[str, list[str]]:
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
    radial with μ ≤ 5 Å and with μ ≤ 4 Å (the shells that define the local environment)."""
    names = list(feature_names)
    radial = [n for n in names if n.startswith("G_")]
    angular = [n for n in names if n.startswith("Psi_")]
    out = {
        "structure": radial + angular,
        "radial": radial,
        "radial_short": radial_short_columns(names),
        "radial_4": radial_short_columns(names, 4.0),
    }
    return {k: v for k, v in out.items() if v}


# ---------------------------------------------------------------------------------------------
# Model selection without leakage: repeated grouped cross-validation, choices inside the folds
# ---------------------------------------------------------------------------------------------


def _grouped_folds(y: NDArray, groups: NDArray, folds: int, seed: int) -> list[tuple[NDArray, NDArray]]:
    """Stratified folds grouped by atom (scikit-learn's StratifiedGroupKFold, shuffled with ``seed``)."""
    k = int(min(folds, np.unique(groups).size))
    if k < 2:
        raise ValueError("cross-validation needs at least two atoms")
    return list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(y.size), y, groups))


def _fold_scores(x: NDArray, y: NDArray, train: NDArray, test: NDArray, C: float) -> tuple[float, float]:
    """Balanced accuracy on the ``test`` rows and on the ``train`` rows of the model fitted on ``train``."""
    model = train_softness_model(x[train], y[train], C=C)
    return balanced_accuracy(y[test], predict(x[test], model)), balanced_accuracy(y[train], predict(x[train], model))


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
    x, y = as_features_labels(features, labels)
    g = _as_groups(groups, x.shape[0])
    names = list(feature_names)
    subsets = candidate_subsets(names) if subsets is None else subsets
    position = {n: k for k, n in enumerate(names)}
    splits = _grouped_folds(y, g, folds, seed)
    best: Selection | None = None
    for key, cols in subsets.items():
        xs = x[:, [position[c] for c in cols]]
        for C in Cs:
            scores = [_fold_scores(xs, y, tr, te, C)[0] for tr, te in splits if np.unique(y[tr]).size == 2]
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
    x, y = as_features_labels(features, labels)
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
            test_score, train_score = _fold_scores(x[:, [position[c] for c in subsets[subset]]], y, tr, te, C)
            scores.append(test_score)
            train_scores.append(train_score)
            choices.append((subset, float(C)))
    return CrossValidation(np.asarray(scores), np.asarray(train_scores), choices, n_folds, repeats)
