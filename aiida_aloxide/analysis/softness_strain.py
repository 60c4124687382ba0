"""Why ⟨S⟩ moves under strain, and whether S predicts who rearranges next (SPEC §5–6, issue #19).

* :func:`next_step_auc` — per strain step s, the AUC of S(s) for the atoms whose D²_min between
  s and s+1 is in the top ``top_fraction``: the per-atom prediction that the paper's ⟨S⟩ curves
  stand for (0.5 = chance).
* :func:`group_contributions` — ⟨S⟩ = (⟨z⟩ · w + b)/‖w‖ is linear in the mean standardised
  features, so Δ⟨S⟩ between two frames splits exactly into one term per column; summed by feature
  group (species and radial shell, angular, Voronoi) it says which shells drive S under strain.
* :func:`by_class` — mean S per class label (e.g. Al4 / Al5 / Al6) and the Spearman correlation
  of S with a per-atom quantity (Voronoi volume, coordination): the paper's Figs. S9–S11.

Pure numpy; no AiiDA.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .nonaffine import D2MIN_CUTOFF, d2min
from .softness_loso import _auc

__all__ = ["by_class", "feature_group", "group_contributions", "next_step_auc", "spearman"]

#: Radial shells (Å) that name the feature groups: first cation–O shell, first cation–cation / O–O shell, beyond.
SHELLS = ((0.0, 2.5), (2.5, 4.0), (4.0, 6.0), (6.0, np.inf))


def feature_group(name: str) -> str:
    """The group of one feature column: ``G_<species>`` by radial shell of μ, angular Ψ, Voronoi volume."""
    if name.startswith("Psi_"):
        return "Ψ (angular)"
    if name == "voronoi_volume":
        return "Voronoi volume"
    if name.startswith("G_"):
        _, sp, mu = name.split("_", 2)
        m = float(mu)
        for lo, hi in SHELLS:
            if lo <= m < hi:
                return f"G_{sp} {lo:g}–{hi:g} Å" if np.isfinite(hi) else f"G_{sp} > {lo:g} Å"
    return "other"


def group_contributions(
    names: Sequence[str], w: ArrayLike, mean_z: ArrayLike, reference: int = 0
) -> dict[str, NDArray[np.float64]]:
    """Per feature group, its share of ⟨S⟩(frame) − ⟨S⟩(``reference``): Σ_k∈group w_k Δ⟨z_k⟩ / ‖w‖.

    ``mean_z`` (F, n): the mean standardised feature vector of each frame. The groups add up to the
    change of the mean softness of the same atoms exactly (the intercept cancels).
    """
    w = np.asarray(w, dtype=np.float64)
    z = np.asarray(mean_z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != w.size or len(names) != w.size:
        raise ValueError(f"mean_z must be (frames, {w.size}) and names must name every column")
    per_column = (z - z[reference]) * w / np.sqrt(w @ w)
    groups = [feature_group(n) for n in names]
    return {g: per_column[:, [k for k, h in enumerate(groups) if h == g]].sum(axis=1) for g in dict.fromkeys(groups)}


def next_step_auc(
    positions: ArrayLike,
    boxes: ArrayLike,
    centers: ArrayLike,
    s: ArrayLike,
    ood: ArrayLike | None = None,
    *,
    top_fraction: float = 0.1,
    cutoff: float = D2MIN_CUTOFF,
) -> dict[str, NDArray[np.float64]]:
    """AUC of S at step s for "top ``top_fraction`` of D²_min(s → s+1)" among the centres, for every step.

    ``positions`` (F, N, 3) unwrapped frames with ``boxes`` (F, 3) or (F, 3, 3); ``centers`` the atom
    indices S refers to; ``s`` / ``ood`` (F, len(centers)). Out-of-domain atoms and atoms without a
    defined D²_min are left out of that step. Returns ``auc`` and ``n_atoms`` (F − 1,) and
    ``threshold`` (the D²_min value of the top fraction, Å²).
    """
    pos = np.asarray(positions, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.int64)
    n_f = pos.shape[0]
    if s.shape != (n_f, centers.size):
        raise ValueError(f"softness must be (frames, centres) = ({n_f}, {centers.size}), got {s.shape}")
    if not 0.0 < top_fraction < 1.0:
        raise ValueError(f"top_fraction must be in (0, 1), got {top_fraction}")
    bad = np.zeros_like(s, dtype=bool) if ood is None else np.asarray(ood, dtype=bool)
    boxes = np.asarray(boxes, dtype=np.float64)
    auc = np.full(max(n_f - 1, 0), np.nan)
    n_atoms = np.zeros(max(n_f - 1, 0), dtype=np.float64)
    threshold = np.full(max(n_f - 1, 0), np.nan)
    for f in range(n_f - 1):  # one vectorised D²_min per step
        d2 = d2min(pos[f], pos[f + 1], boxes[f], boxes[f + 1], centers=centers, cutoff=cutoff)
        ok = np.isfinite(d2) & np.isfinite(s[f]) & ~bad[f]
        if ok.sum() < 10:
            continue
        cut = np.quantile(d2[ok], 1.0 - top_fraction)
        label = (d2[ok] > cut).astype(np.int64)
        auc[f], n_atoms[f], threshold[f] = _auc(label, s[f][ok]), ok.sum(), cut
    return {"auc": auc, "n_atoms": n_atoms, "threshold": threshold}


def spearman(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman rank correlation of two 1-d arrays (average ranks for ties; nan for fewer than 3 points)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")

    def ranks(v: NDArray) -> NDArray:
        order = np.argsort(v, kind="mergesort")
        _, start, counts = np.unique(v[order], return_index=True, return_counts=True)
        r = np.empty(v.size)
        r[order] = np.repeat(start + (counts - 1) / 2.0, counts)
        return r

    ra, rb = ranks(a[ok]), ranks(b[ok])
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def by_class(s: ArrayLike, classes: ArrayLike, values: Sequence[int]) -> dict[int, tuple[float, int]]:
    """Mean S and count of the atoms of each class value (e.g. CN 4, 5, 6); nan mean for an empty class."""
    s, classes = np.asarray(s, dtype=np.float64), np.asarray(classes)
    out = {}
    for v in values:
        sel = (classes == v) & np.isfinite(s)
        out[int(v)] = (float(s[sel].mean()) if sel.any() else float("nan"), int(sel.sum()))
    return out
