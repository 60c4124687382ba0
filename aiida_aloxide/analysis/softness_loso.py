"""Leave-one-sample-out validation of the softness SVM: how well it predicts a glass it never saw.

Grouped-by-atom CV inside the training glasses measures something easier than what a user needs:
its held-out atoms share their melt, quench and thermal history with the training atoms. Here each
whole sample (one quenched glass) is held out in turn; the model is chosen and fitted on the others
and scored on it. The feature subset and C are chosen *inside* each outer fold, by the same
leave-one-sample-out on the training samples only (grouped-by-atom CV when a fold has a single
training sample), so the held-out glass never influences the choice. Pure numpy / scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .softness import balanced_accuracy, softness, train_softness_model
from .softness_validation import Selection, select_model

__all__ = ["LosoResult", "leave_one_sample_out", "select_by_samples"]


@dataclass(frozen=True)
class SampleSet:
    """One sample's labelled events: features (events, columns), labels 0/1 and atom ids."""

    features: NDArray[np.float64]
    labels: NDArray[np.int64]
    atoms: NDArray[np.int64]


def _auc(labels: NDArray, scores: NDArray) -> float:
    """Area under the ROC curve of ``scores`` for ``labels`` (Mann–Whitney, ties counted half); nan if one class."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(order.size)
    allv = np.concatenate([pos, neg])[order]
    # average ranks of ties
    _, start, counts = np.unique(allv, return_index=True, return_counts=True)
    avg = start + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2.0) / (pos.size * neg.size))


def _score(model: Any, cols: list[int], s: SampleSet) -> dict[str, float]:
    """Balanced accuracy, TPR, TNR and AUC of ``model`` (on columns ``cols``) on one sample."""
    sc = softness(s.features[:, cols], model)
    pred = (sc > 0).astype(np.int64)
    return {
        "balanced_accuracy": balanced_accuracy(s.labels, pred),
        "tpr": float(np.mean(pred[s.labels == 1] == 1)) if np.any(s.labels == 1) else float("nan"),
        "tnr": float(np.mean(pred[s.labels == 0] == 0)) if np.any(s.labels == 0) else float("nan"),
        "auc": _auc(s.labels, sc),
    }


def select_by_samples(
    samples: Sequence[SampleSet],
    names: Sequence[str],
    subsets: Mapping[str, Sequence[str]],
    Cs: Sequence[float],
    *,
    folds: int = 3,
    seed: int = 0,
) -> Selection:
    """The (subset, C) with the best mean leave-one-sample-out balanced accuracy over ``samples``.

    With a single sample, falls back to grouped-by-atom CV inside it (:func:`select_model`).
    """
    names = list(names)
    if len(samples) < 2:
        s = samples[0]
        return select_model(s.features, s.labels, s.atoms, names, subsets=subsets, Cs=Cs, folds=folds, seed=seed)
    position = {n: k for k, n in enumerate(names)}
    best: Selection | None = None
    for key, columns in subsets.items():
        cols = [position[c] for c in columns]
        for C in Cs:
            scores = []
            for k, held in enumerate(samples):
                rest = [s for j, s in enumerate(samples) if j != k]
                x = np.vstack([s.features[:, cols] for s in rest])
                y = np.concatenate([s.labels for s in rest])
                if np.unique(y).size != 2 or np.unique(held.labels).size != 2:
                    continue
                model = train_softness_model(x, y, C=float(C))
                scores.append(
                    _score(model, cols, SampleSet(held.features, held.labels, held.atoms))["balanced_accuracy"]
                )
            score = float(np.mean(scores)) if scores else float("nan")
            if best is None or score > best.score or (np.isnan(best.score) and not np.isnan(score)):
                best = Selection(subset=key, C=float(C), score=score)
    assert best is not None
    return best


@dataclass(frozen=True)
class LosoResult:
    """Per held-out sample: scores, event counts and the choice made on the other samples."""

    keys: list[str]
    per_sample: dict[str, dict[str, Any]]

    def _values(self, key: str) -> NDArray[np.float64]:
        return np.array([self.per_sample[k][key] for k in self.keys], dtype=np.float64)

    @property
    def mean(self) -> float:
        """Mean balanced accuracy over the held-out samples."""
        return float(np.nanmean(self._values("balanced_accuracy")))

    @property
    def std(self) -> float:
        """Standard deviation of the held-out samples' balanced accuracies."""
        return float(np.nanstd(self._values("balanced_accuracy")))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: mean ± std of balanced accuracy and AUC, and the table row of every held-out sample."""
        clean = {
            k: {q: (None if isinstance(v, float) and not np.isfinite(v) else v) for q, v in row.items()}
            for k, row in self.per_sample.items()
        }
        return {
            "balanced_accuracy": self.mean,
            "balanced_accuracy_std": self.std,
            "auc": float(np.nanmean(self._values("auc"))),
            "auc_std": float(np.nanstd(self._values("auc"))),
            "n_samples": len(self.keys),
            "keys": list(self.keys),
            "per_sample": clean,
        }


def leave_one_sample_out(
    samples: Mapping[str, SampleSet],
    names: Sequence[str],
    subsets: Mapping[str, Sequence[str]],
    Cs: Sequence[float],
    *,
    select: bool = True,
    inner_folds: int = 3,
    seed: int = 0,
) -> LosoResult:
    """Hold out each sample in turn: choose (subset, C) and fit on the others, score on it.

    ``select=False`` uses the first subset and first C throughout. Needs at least two samples,
    each with both classes.
    """
    keys = sorted(samples)
    if len(keys) < 2:
        raise ValueError(f"leave-one-sample-out needs at least two samples, got {len(keys)} ({', '.join(keys)})")
    for k in keys:
        if np.unique(samples[k].labels).size != 2:
            raise ValueError(f"leave-one-sample-out: sample {k!r} lacks rearranging or non-rearranging events")
    names = list(names)
    position = {n: k for k, n in enumerate(names)}
    per: dict[str, dict[str, Any]] = {}
    for held in keys:
        rest = [samples[k] for k in keys if k != held]
        if select:
            choice = select_by_samples(rest, names, subsets, Cs, folds=inner_folds, seed=seed)
            subset, C = choice.subset, choice.C
        else:
            subset, C = next(iter(subsets)), float(Cs[0])
        cols = [position[c] for c in subsets[subset]]
        x = np.vstack([s.features[:, cols] for s in rest])
        y = np.concatenate([s.labels for s in rest])
        model = train_softness_model(x, y, C=C)
        h = samples[held]
        per[held] = {
            **_score(model, cols, h),
            "n_events": int(h.labels.size),
            "n_rearranging_atoms": int(np.unique(h.atoms[h.labels == 1]).size),
            "subset": subset,
            "C": float(C),
        }
    return LosoResult(keys=keys, per_sample=per)
