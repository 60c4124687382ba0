"""Softness: a linear SVM separating rearranging from non-rearranging Al atoms (SPEC §5).

Training follows Du et al. (2021) / Cubuk et al. (2015): features are standardised
(scikit-learn ``StandardScaler``) and a linear support-vector classifier with LIBSVM semantics
(``SVC(kernel="linear", C=1)``) is fitted to labels 1 = rearranging, 0 = non-rearranging.
Softness is the signed distance to the hyperplane in the standardised feature space,

    S(x) = (w · clip((x - mean) / scale, ±z_clip) + b) / ||w||,

positive on the rearranging side. Two guards keep S bounded on configurations unlike the training
set (a short Al–Al contact, a crack surface): a column whose training standard deviation is below
``MIN_FEATURE_STD`` (e.g. G_Al at μ < 1.5 Å, always ≈ 0) is *dropped* — weight exactly 0, scale 1,
its name recorded in ``dropped`` — instead of being divided by ≈ 1e-36; and every standardised
feature is clipped to ±``z_clip`` (``Z_CLIP`` = 5 standard deviations), in training and in
application alike, so |S| ≤ z_clip·‖w‖₁/‖w‖₂ + |b|/‖w‖ (:meth:`SoftnessModel.max_abs_softness`).
The fitted model is kept as plain arrays
(:class:`SoftnessModel`, ``to_dict`` / ``from_dict``), so it can be stored (e.g. in AiiDA
``ArrayData`` + ``Dict``) and applied without scikit-learn; a round trip through the dict gives
bit-identical softness values because the same arithmetic runs on the same float64 numbers.

:func:`train_softness_model` is the one place a scaler + SVM is fitted: the validation splits and
cross-validation loops of :mod:`~aiida_aloxide.analysis.softness_validation` call it and
:func:`predict`. This module also holds the scores (accuracy, balanced accuracy) and the domain
of applicability (the training range of every feature).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

__all__ = [
    "DOMAIN_MARGIN",
    "MIN_FEATURE_STD",
    "Z_CLIP",
    "VORONOI_COLUMN",
    "SoftnessModel",
    "accuracy",
    "as_features_labels",
    "balanced_accuracy",
    "domain_bounds",
    "out_of_domain",
    "predict",
    "softness",
    "train_softness_model",
]

#: Name of the optional Voronoi-volume feature column.
VORONOI_COLUMN = "voronoi_volume"

#: Training columns with a standard deviation below this (feature units: G and Ψ are dimensionless
#: sums, the Voronoi volume Å³) carry no information and are dropped (weight 0).
MIN_FEATURE_STD = 1.0e-3

#: Standardised features are clipped to ± this many training standard deviations.
Z_CLIP = 5.0


@dataclass(frozen=True)
class SoftnessModel:
    """Standardisation + hyperplane of a linear SVM, as plain float64 arrays.

    ``w`` and ``b`` act on standardised features ``z = clip((x - mean) / scale, ±z_clip)``;
    ``w · z + b > 0`` is the rearranging class. ``C`` is the SVM penalty the model was trained with.
    ``dropped`` names the (nearly) constant training columns, whose weight is 0; ``z_clip`` None
    means no clipping (models stored before the guard existed).
    """

    feature_names: tuple[str, ...]
    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    w: NDArray[np.float64]
    b: float
    C: float
    dropped: tuple[str, ...] = ()
    z_clip: float | None = None

    def __post_init__(self) -> None:
        """Coerce the arrays to float64, check their shapes and refuse a zero normal."""
        n = len(self.feature_names)
        for name in ("mean", "scale", "w"):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.shape != (n,):
                raise ValueError(f"{name} has shape {arr.shape}, expected ({n},) to match feature_names")
            object.__setattr__(self, name, arr)
        if not np.any(self.w):
            raise ValueError("hyperplane normal w is zero: softness is undefined")
        unknown = set(self.dropped) - set(self.feature_names)
        if unknown:
            raise ValueError(f"dropped columns {sorted(unknown)} are not among the feature names")
        object.__setattr__(self, "dropped", tuple(str(d) for d in self.dropped))
        if self.z_clip is not None and not self.z_clip > 0:
            raise ValueError(f"z_clip must be > 0 or None, got {self.z_clip}")

    def max_abs_softness(self) -> float:
        """Upper bound of |S| over every possible input (inf without clipping)."""
        if self.z_clip is None:
            return float("inf")
        norm = float(np.sqrt(self.w @ self.w))
        return float((self.z_clip * np.abs(self.w).sum() + abs(self.b)) / norm)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict: names (list), ``mean``/``scale``/``w`` (float64 arrays), ``b``, ``C`` (floats)."""
        return {
            "feature_names": list(self.feature_names),
            "mean": self.mean.copy(),
            "scale": self.scale.copy(),
            "w": self.w.copy(),
            "b": float(self.b),
            "C": float(self.C),
            "dropped": list(self.dropped),
            "z_clip": None if self.z_clip is None else float(self.z_clip),
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
            dropped=tuple(data.get("dropped", ())),
            z_clip=None if data.get("z_clip") is None else float(data["z_clip"]),
        )


def _as_model(model: SoftnessModel | Mapping[str, Any]) -> SoftnessModel:
    """A :class:`SoftnessModel` from a model or its :meth:`~SoftnessModel.to_dict` form."""
    return model if isinstance(model, SoftnessModel) else SoftnessModel.from_dict(model)


def as_features_labels(features: ArrayLike, labels: ArrayLike | None = None) -> tuple[NDArray, NDArray | None]:
    """Features as a float64 (samples, columns) array and labels as 0/1 int64, checked against each other."""
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
    min_std: float = MIN_FEATURE_STD,
    z_clip: float | None = Z_CLIP,
) -> SoftnessModel:
    """Fit StandardScaler + ``SVC(kernel="linear", C=C)`` and return the plain-array model.

    ``labels``: 1 = rearranging, 0 = non-rearranging (both classes must be present). Columns with
    a training std below ``min_std`` are dropped (weight 0); standardised features are clipped to
    ±``z_clip`` before the fit, as :func:`softness` clips them when the model is applied.
    """
    x, y = as_features_labels(features, labels)
    if np.unique(y).size != 2:
        raise ValueError("training needs both classes (0 and 1)")
    names = tuple(feature_names) if feature_names is not None else tuple(f"f{k}" for k in range(x.shape[1]))
    if len(names) != x.shape[1]:
        raise ValueError("feature_names must name every column")
    scaler = StandardScaler().fit(x)
    keep = np.sqrt(scaler.var_) >= min_std
    if not np.any(keep):
        raise ValueError(f"every feature column is constant in training (std < {min_std:g}): nothing to learn from")
    mean = np.where(keep, scaler.mean_, 0.0).astype(np.float64)
    scale = np.where(keep, scaler.scale_, 1.0).astype(np.float64)
    z = _standardise(x[:, keep], mean[keep], scale[keep], z_clip)
    svc = SVC(kernel="linear", C=C, cache_size=cache_size).fit(z, y)
    # For a binary SVC, decision_function > 0 predicts classes_[1]; classes_ == [0, 1] here, so the
    # positive side is the rearranging one whatever label LIBSVM met first.
    assert list(svc.classes_) == [0, 1]
    w = np.zeros(x.shape[1], dtype=np.float64)
    w[keep] = svc.coef_.ravel()
    return SoftnessModel(
        feature_names=names,
        mean=mean,
        scale=scale,
        w=w,
        b=float(svc.intercept_[0]),
        C=float(C),
        dropped=tuple(n for n, k in zip(names, keep, strict=True) if not k),
        z_clip=z_clip,
    )


def _standardise(x: NDArray, mean: NDArray, scale: NDArray, z_clip: float | None) -> NDArray[np.float64]:
    """``(x - mean) / scale``, clipped to ±``z_clip`` when given."""
    z = (x - mean) / scale
    return z if z_clip is None else np.clip(z, -z_clip, z_clip)


def softness(features: ArrayLike, model: SoftnessModel | Mapping[str, Any]) -> NDArray[np.float64]:
    """Signed distance to the hyperplane in standardised feature space (positive = rearranging side)."""
    m = _as_model(model)
    x, _ = as_features_labels(features)
    if x.shape[1] != m.w.size:
        raise ValueError(f"model expects {m.w.size} features, got {x.shape[1]}")
    z = _standardise(x, m.mean, m.scale, m.z_clip)
    return (z @ m.w + m.b) / np.sqrt(m.w @ m.w)


def predict(features: ArrayLike, model: SoftnessModel | Mapping[str, Any]) -> NDArray[np.int8]:
    """Predicted label: 1 (rearranging) where softness > 0, else 0."""
    return (softness(features, model) > 0).astype(np.int8)


def accuracy(features: ArrayLike, labels: ArrayLike, model: SoftnessModel | Mapping[str, Any]) -> float:
    """Fraction of correctly classified samples (nan for an empty set)."""
    x, y = as_features_labels(features, labels)
    if y.size == 0:
        return float("nan")
    return float(np.mean(predict(x, model) == y))


def balanced_accuracy(labels: ArrayLike, predicted: ArrayLike) -> float:
    """Mean of the recall of both classes (nan if a class is absent): 0.5 is chance for any class mix."""
    y = np.asarray(labels).astype(np.int64).ravel()
    p = np.asarray(predicted).astype(np.int64).ravel()
    recalls = [np.mean(p[y == c] == c) for c in (0, 1) if np.any(y == c)]
    return float(np.mean(recalls)) if len(recalls) == 2 else float("nan")


# ---------------------------------------------------------------------------------------------
# Domain of applicability: atoms whose features lie outside what the model was trained on
# ---------------------------------------------------------------------------------------------

#: Extra room beyond the training range, as a fraction of that range, before an atom is out of domain.
DOMAIN_MARGIN = 0.25


def domain_bounds(features: ArrayLike) -> dict[str, NDArray[np.float64]]:
    """Per-column minimum and maximum of the training features (``lower``, ``upper``)."""
    x, _ = as_features_labels(features)
    return {"lower": x.min(axis=0), "upper": x.max(axis=0)}


def out_of_domain(
    features: ArrayLike, lower: ArrayLike, upper: ArrayLike, margin: float = DOMAIN_MARGIN
) -> NDArray[np.bool_]:
    """True for rows with any feature outside ``[lower − m·range, upper + m·range]`` (m = ``margin``).

    A linear model extrapolates without bound; new crack surfaces or voids give structure functions
    no training atom had, and their softness is not a prediction. Such atoms are flagged, not dropped.
    """
    x, _ = as_features_labels(features)
    lo, hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    if lo.shape != (x.shape[1],) or hi.shape != (x.shape[1],):
        raise ValueError("domain bounds must have one entry per feature column")
    pad = margin * (hi - lo)
    return np.any((x < lo - pad) | (x > hi + pad), axis=1)
