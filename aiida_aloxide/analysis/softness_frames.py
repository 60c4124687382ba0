"""A softness model applied to frames, e.g. every strain step of a tension run (SPEC §5).

:func:`frames_softness` — the softness of every centre atom in every frame (features recomputed with
the model's structure-function parameters) and which atoms lie outside the training domain;
:func:`frame_statistics` — per-frame mean / median over the in-domain atoms and the other curves;
:func:`frame_clusters` — clusters of the softest atoms per frame; :func:`coordination_loss` — P_R(S),
the probability that an atom of a given coordination loses a neighbour by a later frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .clusters import RearrangementProbability, find_clusters, rearrangement_probability, top_fraction_mask
from .coordination import coordination_numbers
from .softness import VORONOI_COLUMN, SoftnessModel, out_of_domain, softness
from .structure_functions import structure_functions

__all__ = [
    "CoordinationLoss",
    "FrameClusters",
    "coordination_loss",
    "frame_clusters",
    "frame_statistics",
    "frames_softness",
]


def frames_softness(
    positions: NDArray,
    cells: NDArray,
    types: NDArray,
    centers: NDArray,
    model: SoftnessModel,
    sf_kwargs: Mapping[str, Any],
    voronoi: NDArray | None = None,
    domain: tuple[NDArray, NDArray] | None = None,
    mean_z: NDArray | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Softness (F, len(centers)) of the ``centers`` in frames (F, N, 3) and the out-of-domain mask.

    One vectorised structure-function evaluation per frame; ``voronoi`` (F, N) supplies the Voronoi
    column when the model uses it; ``domain`` = (lower, upper) training bounds (None: all in domain).
    ``mean_z`` (F, n_features), if given, receives the mean standardised (clipped) feature vector of
    the in-domain centres of each frame: ⟨S⟩ = (⟨z⟩ · w + b) / ‖w‖, so it splits Δ⟨S⟩ by column.
    """
    wanted = list(model.feature_names)
    n_f = positions.shape[0]
    # Only the blocks the model uses: a radial-only model skips the angular functions (most of the cost).
    uses_psi, uses_g = any(n.startswith("Psi_") for n in wanted), any(n.startswith("G_") for n in wanted)
    sf_kwargs = {**sf_kwargs, "angular": bool(sf_kwargs.get("angular", True)) and uses_psi,
                 "radial": bool(sf_kwargs.get("radial", True)) and uses_g}  # fmt: skip
    if not (sf_kwargs["angular"] or sf_kwargs["radial"]):
        sf_kwargs["radial"] = True  # a Voronoi-only model: structure_functions needs one block
    s = np.zeros((n_f, centers.size), dtype=np.float64)
    ood = np.zeros((n_f, centers.size), dtype=bool)
    for f in range(n_f):  # one vectorised evaluation per frame
        res = structure_functions(positions[f], cells[f], types, centers=centers, **sf_kwargs)
        table = dict(zip(res.names, res.features.T, strict=True))
        if voronoi is not None:
            table[VORONOI_COLUMN] = np.asarray(voronoi[f], dtype=np.float64)[centers]
        missing = [n for n in wanted if n not in table]
        if missing:
            dropped = [n for n in missing if n in model.dropped]
            note = (
                f" ({len(dropped)} of them dropped in training, weight 0, but still part of the model)"
                if dropped
                else ""
            )
            raise ValueError(f"features {missing[:3]} of the model cannot be computed from the frames{note}")
        x = np.column_stack([table[n] for n in wanted])
        s[f] = softness(x, model)
        if domain is not None:
            ood[f] = out_of_domain(x, *domain)
        if mean_z is not None:
            z = (x[~ood[f]] - model.mean) / model.scale
            if model.z_clip is not None:
                z = np.clip(z, -model.z_clip, model.z_clip)
            mean_z[f] = z.mean(axis=0) if z.shape[0] else np.nan
    return s, ood


def frame_statistics(s: NDArray, ood: NDArray) -> dict[str, NDArray[np.float64]]:
    """Per frame: mean and median over the in-domain atoms (nan if none), mean and std over all, fractions."""
    inside = np.where(ood, np.nan, s)
    with np.errstate(invalid="ignore"):
        mean_in = np.array([np.nanmean(r) if np.isfinite(r).any() else np.nan for r in inside])
        median_in = np.array([np.nanmedian(r) if np.isfinite(r).any() else np.nan for r in inside])
    return {
        "mean": mean_in,
        "median": median_in,
        "mean_all": s.mean(axis=1),
        "std": s.std(axis=1),
        "out_of_domain_fraction": ood.mean(axis=1),
        "fraction_positive": (s > 0).mean(axis=1),
    }


@dataclass(frozen=True)
class FrameClusters:
    """Per frame: the number of clusters, the largest one, the selected atoms and their cluster labels (−1: none)."""

    n_clusters: NDArray[np.int64]
    largest: NDArray[np.int64]
    n_selected: NDArray[np.int64]
    labels: NDArray[np.int32]


def frame_clusters(
    positions: NDArray, cells: NDArray, centers: NDArray, s: NDArray, ood: NDArray, top_fraction: float, cutoff: float
) -> FrameClusters:
    """Clusters of the ``top_fraction`` softest centres of every frame, linked within ``cutoff`` Å.

    ``s`` / ``ood`` (F, len(centers)): softness and out-of-domain mask; out-of-domain atoms (no
    trustworthy softness) are never among the softest.
    """
    n_f = s.shape[0]
    n_clusters = np.zeros(n_f, dtype=np.int64)
    largest = np.zeros(n_f, dtype=np.int64)
    selected = np.zeros(n_f, dtype=np.int64)
    labels = np.full(s.shape, -1, dtype=np.int32)
    for f in range(n_f):  # one connected-component search per frame
        mask = top_fraction_mask(np.where(ood[f], np.nan, s[f]), top_fraction)
        res = find_clusters(np.asarray(positions[f], dtype=np.float64)[centers], cells[f], mask, cutoff)
        n_clusters[f], largest[f], selected[f] = res.n_clusters, res.largest, int(mask.sum())
        labels[f] = res.labels
    return FrameClusters(n_clusters, largest, selected, labels)


@dataclass(frozen=True)
class CoordinationLoss:
    """Coordination of every centre in the two frames, the atoms selected, which lost a neighbour, and P_R(S)."""

    cn_initial: NDArray[np.int64]
    cn_final: NDArray[np.int64]
    selected: NDArray[np.bool_]
    decreased: NDArray[np.bool_]
    probability: RearrangementProbability | None


def coordination_loss(
    initial: tuple[NDArray, NDArray],
    final: tuple[NDArray, NDArray],
    center_mask: NDArray,
    neighbor_mask: NDArray,
    cutoff: float,
    s0: NDArray,
    ood0: NDArray,
    coordination: int,
    bins: int | list[float],
) -> CoordinationLoss:
    """P_R(S) of the centres with ``coordination`` neighbours (within ``cutoff``) in ``initial`` = (positions, box).

    An atom counts as rearranged when its coordination in ``final`` is lower; it is binned by its
    initial softness ``s0`` (:func:`~aiida_aloxide.analysis.clusters.rearrangement_probability`).
    Out-of-domain atoms (``ood0``) are left out. ``probability`` is None when no atom is selected.
    """
    cn0 = coordination_numbers(np.asarray(initial[0], np.float64), initial[1], center_mask, neighbor_mask, cutoff)
    cn1 = coordination_numbers(np.asarray(final[0], np.float64), final[1], center_mask, neighbor_mask, cutoff)
    sel = (cn0 == int(coordination)) & ~ood0  # atoms with a trustworthy initial softness
    decreased = cn1[sel] < cn0[sel]
    res = rearrangement_probability(s0[sel], decreased, bins=bins) if sel.any() else None
    return CoordinationLoss(cn0, cn1, sel, decreased, res)
