"""The softness training pipeline: event features of every sample → one SVM + its validation report (SPEC §5).

:func:`stack_samples` joins the per-sample (pressure) arrays; :func:`train_and_validate` chooses the
feature subset and C without leakage, fits the model on every event and validates it: repeated
grouped cross-validation, leave-one-sample-out (the headline for a new glass; with >= 2 samples),
one grouped split, a time split, repeated-CV ablations and the cross-pressure table
(:func:`cross_pressure`). A validation that cannot be computed is None with
the reason in ``errors``. Numbers people filter on are plain floats, never NaN (None).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..values import finite_or_none
from .softness import (
    VORONOI_COLUMN,
    SoftnessModel,
    accuracy,
    balanced_accuracy,
    domain_bounds,
    predict,
    train_softness_model,
)
from .softness_loso import SampleSet, leave_one_sample_out, select_by_samples
from .softness_validation import (
    TrainTestResult,
    candidate_subsets,
    default_ablation_subsets,
    repeated_grouped_cv,
    select_model,
    train_test_grouped,
    train_test_time_split,
)

__all__ = [
    "MIN_MEANINGFUL_EVENTS",
    "Attempts",
    "Sample",
    "TrainingData",
    "TrainingOutcome",
    "cross_pressure",
    "feature_columns",
    "stack_samples",
    "train_and_validate",
]

#: Fewer labelled events than this make the SVM statistics meaningless (the paper had ~16,000).
MIN_MEANINGFUL_EVENTS = 200


@dataclass(frozen=True)
class Sample:
    """The labelled events of one sample: features (events, columns), labels, atom ids, times, the run's span."""

    features: NDArray[np.float64]
    labels: NDArray[np.int64]
    atoms: NDArray[np.int64]
    times: NDArray[np.float64]
    t_start: float | None
    t_end: float | None


@dataclass(frozen=True)
class TrainingData:
    """Every sample's events stacked: ``groups`` = sample × atom, ``times`` as a fraction of each run."""

    keys: list[str]
    x: NDArray[np.float64]
    y: NDArray[np.int64]
    groups: NDArray[np.int64]
    times: NDArray[np.float64]
    spans: list[float]
    samples: list[Sample]
    per: dict[str, dict[str, int]]


def stack_samples(samples: Mapping[str, Sample]) -> TrainingData:
    """Stack the samples in key order; atom ids become groups unique across samples, times run 0 → 1 per run."""
    keys = sorted(samples)
    tnorm, spans, per = [], [], {}
    for key in keys:
        s = samples[key]
        span = (s.t_end - s.t_start) if s.t_end and s.t_end > s.t_start else 0.0
        tnorm.append((s.times - s.t_start) / span if span else np.zeros_like(s.times))
        spans.append(span)
        per[key] = {
            "n_events": int(s.labels.size),
            "n_rearranging": int(np.count_nonzero(s.labels == 1)),
            "n_rearranging_atoms": int(np.unique(s.atoms[s.labels == 1]).size),
            "n_non_rearranging_atoms": int(np.unique(s.atoms[s.labels == 0]).size),
        }
    ordered = [samples[k] for k in keys]
    stride = int(max(int(s.atoms.max()) if s.atoms.size else 0 for s in ordered)) + 1
    return TrainingData(
        keys=keys,
        x=np.vstack([s.features for s in ordered]),
        y=np.concatenate([s.labels for s in ordered]),
        groups=np.concatenate([k * stride + s.atoms for k, s in enumerate(ordered)]),
        times=np.concatenate(tnorm),
        spans=spans,
        samples=ordered,
        per=per,
    )


def feature_columns(names: Sequence[str], subset: str) -> list[int]:
    """Column indices of a named feature subset (``all`` adds the Voronoi volume to the structure functions)."""
    names = list(names)
    subsets = candidate_subsets(names)
    subsets["all"] = [n for n in names if n.startswith(("G_", "Psi_")) or n == VORONOI_COLUMN]
    subsets.update({k: v for k, v in default_ablation_subsets(names, VORONOI_COLUMN).items() if k not in subsets})
    if subset not in subsets:
        raise ValueError(f"unknown feature subset {subset!r}; known: {sorted(subsets)}")
    position = {n: k for k, n in enumerate(names)}
    return [position[n] for n in subsets[subset]]


def _scores(res: TrainTestResult | None) -> dict[str, Any]:
    """Accuracy summary of a TrainTestResult (None where undefined; zero sizes for a missing split)."""
    if res is None:
        return {"train_accuracy": None, "test_accuracy": None, "n_train": 0, "n_test": 0}
    return {
        "train_accuracy": finite_or_none(res.train_accuracy),
        "test_accuracy": finite_or_none(res.test_accuracy),
        "n_train": res.n_train,
        "n_test": res.n_test,
    }


class Attempts:
    """Runs the validations, keeping the message of each one's ValueError in ``errors`` instead of raising it."""

    def __init__(self) -> None:
        """No errors yet."""
        self.errors: list[str] = []

    def __call__(self, label: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, or None with ``label: message`` appended to ``errors``."""
        try:
            return fn(*args, **kwargs)
        except ValueError as exc:
            self.errors.append(f"{label}: {exc}")
            return None


def cross_pressure(
    data: TrainingData, names: Sequence[str], cols: list[int], C: float, attempt: Attempts, cv: Mapping[str, Any]
) -> dict[str, Any]:
    """Train on sample p, test on sample q (balanced accuracy); the diagonal is repeated grouped CV inside p.

    ``cv``: keyword arguments of :func:`repeated_grouped_cv` for the diagonal (folds, repeats, seed, ...).
    """
    keys = data.keys
    model_names = [names[i] for i in cols]
    table = np.full((len(keys), len(keys)), np.nan)
    for i, si in enumerate(data.samples):
        if np.unique(si.labels).size != 2:
            attempt.errors.append(f"cross pressure: {keys[i]} has one class only")
            continue
        mi = train_softness_model(si.features[:, cols], si.labels, model_names, C=C)
        for j, sj in enumerate(data.samples):
            if i != j:
                table[i, j] = balanced_accuracy(sj.labels, predict(sj.features[:, cols], mi))
        diag = attempt(f"cross pressure {keys[i]}", repeated_grouped_cv, si.features, si.labels, si.atoms, names,
                       subsets={"model": model_names}, Cs=[C], select=False, **cv)  # fmt: skip
        table[i, i] = diag.mean if diag else np.nan
    off = table[~np.eye(len(keys), dtype=bool)]
    off = off[np.isfinite(off)]
    worst = np.unravel_index(int(np.argmin(np.where(np.isfinite(table), table, np.inf))), table.shape)
    return {
        "keys": keys,
        "accuracy": [[finite_or_none(v) for v in row] for row in table],
        "worst": finite_or_none(table[worst]),
        "worst_train": keys[worst[0]],
        "worst_test": keys[worst[1]],
        "mean_off_diagonal": finite_or_none(off.mean()) if off.size else None,
    }


@dataclass(frozen=True)
class TrainingOutcome:
    """The model fitted on every event, its training-feature domain and the validation report."""

    model: SoftnessModel
    domain: dict[str, NDArray[np.float64]]
    report: dict[str, Any]


def train_and_validate(data: TrainingData, names: Sequence[str], p: Mapping[str, Any]) -> TrainingOutcome:
    """Choose the subset and C inside the folds, fit on every event, validate (``p``: checked training parameters).

    ``model_features="select"`` picks among :func:`candidate_subsets` and ``Cs`` by grouped CV; any other
    value fixes the subset (:func:`feature_columns`) and ``C``. The report holds the headline repeated
    grouped CV, a grouped split, a time split with a gap of ``time_gap`` (same unit as the runs' spans),
    the repeated-CV ablations and, with several samples, the cross-pressure table.
    """
    names = list(names)
    x_all, y_all, groups = data.x, data.y, data.groups
    if np.unique(y_all).size != 2:
        raise ValueError(f"training needs rearranging and non-rearranging events; labels present: {np.unique(y_all)}")
    attempt = Attempts()
    Cs = [float(c) for c in p["Cs"]]
    seed = int(p["seed"])
    cv_common = {"folds": int(p["cv_folds"]), "seed": seed, "inner_folds": int(p["inner_folds"])}
    short_cv = {"repeats": int(p["ablation_repeats"]), **cv_common}  # the ablations and the diagonal
    sets = {k: SampleSet(s.features, s.labels, s.atoms) for k, s in zip(data.keys, data.samples, strict=True)}
    loso_rule = p.get("loso", "auto")
    if loso_rule == "always" and len(sets) < 2:
        raise ValueError(f"leave-one-sample-out needs at least two samples, got {len(sets)} ({', '.join(sets)})")
    by_samples = p.get("selection", "samples") == "samples" and len(sets) >= 2
    if p["model_features"] == "select":
        pool = candidate_subsets(names)
        if by_samples:
            choice = attempt("model selection", select_by_samples, [sets[k] for k in data.keys], names, pool, Cs,
                             folds=int(p["inner_folds"]), seed=seed)  # fmt: skip
        else:
            choice = attempt("model selection", select_model, x_all, y_all, groups, names, subsets=pool, Cs=Cs,
                             folds=int(p["cv_folds"]), seed=seed)  # fmt: skip
        subset, C = (choice.subset, choice.C) if choice else ("structure", float(p["C"]))
        if by_samples:
            # The headline is leave-one-sample-out (choices inside its folds, below); grouped CV beside it
            # scores the chosen subset and C, without a nested choice of its own (that would cost 16x).
            chosen = {subset: [names[i] for i in feature_columns(names, subset)]}
            cv = attempt("cross-validation", repeated_grouped_cv, x_all, y_all, groups, names, subsets=chosen, Cs=[C],
                         select=False, repeats=int(p["cv_repeats"]), **cv_common)  # fmt: skip
        else:
            cv = attempt("cross-validation", repeated_grouped_cv, x_all, y_all, groups, names, subsets=pool, Cs=Cs,
                         repeats=int(p["cv_repeats"]), **cv_common)  # fmt: skip
    else:
        subset, C = p["model_features"], float(p["C"])
        fixed = {subset: [names[i] for i in feature_columns(names, subset)]}
        cv = attempt("cross-validation", repeated_grouped_cv, x_all, y_all, groups, names, subsets=fixed, Cs=[C],
                     select=False, repeats=int(p["cv_repeats"]), **cv_common)  # fmt: skip
    cols = feature_columns(names, subset)
    model_names = [names[i] for i in cols]
    xm = x_all[:, cols]
    model = train_softness_model(xm, y_all, model_names, C=C)
    grouped = attempt("grouped split", train_test_grouped, xm, y_all, groups, model_names,
                      test_size=float(p["test_size"]), seed=seed, C=C)  # fmt: skip
    gap = max((float(p["time_gap"]) / s for s in data.spans if s), default=0.0)
    timed = attempt("time split", train_test_time_split, xm, y_all, data.times, model_names,
                    train_fraction=float(p["train_fraction"]), t_start=0.0, t_end=1.0, gap=gap, C=C)  # fmt: skip
    ablation: dict[str, Any] = {}
    for sub, columns in default_ablation_subsets(names, VORONOI_COLUMN).items():
        res = attempt(f"ablation {sub}", repeated_grouped_cv, x_all, y_all, groups, names, subsets={sub: columns},
                      Cs=[C], select=False, **short_cv)  # fmt: skip
        ablation[sub] = {**res.to_dict(), "n_features": len(columns)} if res else None
    cross = cross_pressure(data, names, cols, C, attempt, short_cv) if len(data.keys) > 1 else None
    loso = None
    if loso_rule != "never" and len(sets) >= 2:
        if p["model_features"] == "select":
            loso_subsets, loso_Cs, loso_select = candidate_subsets(names), Cs, True
        else:
            loso_subsets, loso_Cs, loso_select = {subset: model_names}, [C], False
        res = attempt("leave-one-sample-out", leave_one_sample_out, sets, names, loso_subsets, loso_Cs,
                      select=loso_select, inner_folds=int(p["inner_folds"]), seed=seed)  # fmt: skip
        loso = res.to_dict() if res else None
    n_atoms_r = int(np.unique(groups[y_all == 1]).size)
    cvd = cv.to_dict() if cv else None
    report = {
        **_scores(grouped),
        "full_train_accuracy": finite_or_none(accuracy(xm, y_all, model)),
        "time_split": {**_scores(timed), "train_fraction": float(p["train_fraction"]), "gap_ps": float(p["time_gap"])}
        if timed
        else None,
        "cross_validation": cvd,
        "cv_balanced_accuracy": finite_or_none(cvd["balanced_accuracy"]) if cvd else None,
        "cv_balanced_accuracy_std": finite_or_none(cvd["balanced_accuracy_std"]) if cvd else None,
        "loso": loso,
        "loso_balanced_accuracy": finite_or_none(loso["balanced_accuracy"]) if loso else None,
        "loso_balanced_accuracy_std": finite_or_none(loso["balanced_accuracy_std"]) if loso else None,
        "loso_auc": finite_or_none(loso["auc"]) if loso else None,
        "selection": "samples" if by_samples else "atoms",
        "n_dropped_features": len(model.dropped),
        "dropped_features": list(model.dropped),
        "ablation": ablation,
        "cross_pressure": cross,
        "datasets": data.per,
        "n_events": int(y_all.size),
        "n_rearranging": int(np.count_nonzero(y_all == 1)),
        "n_rearranging_atoms": n_atoms_r,
        "n_non_rearranging_atoms": int(np.unique(groups[y_all == 0]).size),
        "n_features": len(model_names),
        "model_features": p["model_features"],
        "selected_features": subset,
        "C": C,
        "source": p["source"],
        "test_size": float(p["test_size"]),
        "seed": seed,
        "errors": attempt.errors,
        "warning": (
            f"only {int(y_all.size)} labelled events from {n_atoms_r} distinct rearranging Al: accuracies and "
            f"softness values are not meaningful below {MIN_MEANINGFUL_EVENTS} events (the paper used about "
            "16,000); run longer or larger samples, or apply the reference model"
            if y_all.size < MIN_MEANINGFUL_EVENTS
            else None
        ),
    }
    return TrainingOutcome(model=model, domain=domain_bounds(xm), report=report)
