"""Softness examples from a thermal trajectory (SPEC §5): p_hop labels and the features of the labelled atoms.

:func:`label_trajectory` turns the ``events`` parameters (durations in ps) into frame counts and
labels rearranging / non-rearranging (atom, frame) examples with
:func:`~aiida_aloxide.analysis.hop_events.label_events`; :func:`cap_per_class` keeps a seeded random subset
of each class; :func:`event_statistics` gives the counts people filter on; :func:`event_feature_matrix`
computes the structure functions (+ Voronoi volume) of each example atom, one vectorised evaluation
per distinct frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..values import finite_or_none
from .hop_events import LabelledEvents, label_events
from .phop import phop, window_half_width
from .softness import VORONOI_COLUMN
from .structure_functions import structure_functions
from .voronoi import voronoi_volumes

__all__ = ["cap_per_class", "event_feature_matrix", "event_statistics", "frames_of", "label_trajectory"]


def frames_of(ps: float, step: float) -> int:
    """A duration in ps as a whole number of frame intervals (rounded)."""
    return int(round(float(ps) / step))


def label_trajectory(
    positions: NDArray, times: NDArray, p: Mapping[str, Any]
) -> tuple[NDArray[np.float64], LabelledEvents]:
    """p_hop of the given atoms and their labelled examples under the ``events`` parameters ``p``.

    Durations in ps become frame counts with the trajectory's frame interval; example frames
    are moved down onto a grid of ``frame_spacing`` ps (shared configurations for the inherent
    structures) and start at ``min_time``. Returns ``(p_hop, LabelledEvents)``.
    """
    step = float(np.median(np.diff(times)))
    h = window_half_width(times, p["t_r"])
    ph = phop(positions, times, p["t_r"])
    spacing = max(1, frames_of(p["frame_spacing"], step))
    lab = label_events(
        ph,
        rearranging_threshold=p["rearranging_threshold"],
        non_rearranging_threshold=p["non_rearranging_threshold"],
        seed=int(p["seed"]),
        rearranging_frame=p["rearranging_frame"],
        precursor_lag=frames_of(p["precursor_lag"], step),
        non_rearranging=p["non_rearranging"],
        quiet_window=frames_of(p["quiet_window"], step),
        release_threshold=p["release_threshold"],
        min_gap=frames_of(p["min_gap"], step),
        hops=p["hops"],
        positions=positions if p["hops"] != "all" else None,
        cage_frames=h,
        return_distance=p["return_distance"],
        max_per_atom=p["max_per_atom"],
        min_frame=frames_of(p["min_time"], step),
        frame_spacing=spacing,
    )
    return ph, lab


def cap_per_class(label: NDArray, max_events: int | None, seed: int) -> NDArray[np.int64]:
    """Sorted row indices keeping at most ``max_events`` of each class, a random subset drawn with ``seed``."""
    if max_events is None:
        return np.arange(label.size)
    rng = np.random.default_rng([int(seed), 1])
    parts = []
    for cls in (1, 0):
        idx = np.nonzero(label == cls)[0]
        n = min(int(max_events), idx.size)
        parts.append(rng.choice(idx, size=n, replace=False) if n < idx.size else idx)
    return np.sort(np.concatenate(parts))


def event_statistics(
    ph: NDArray, lab: LabelledEvents, keep: NDArray, times: NDArray, t_r: float
) -> dict[str, int | float | None]:
    """Counts of the kept and of all examples, distinct atoms, the rearranging rate per Al and p_hop's range."""
    label, local = lab.label[keep], lab.atom[keep]
    n_al = ph.shape[1]
    defined = np.isfinite(ph).all(axis=1)
    span = float(times[defined][-1] - times[defined][0]) if defined.sum() > 1 else 0.0
    return {
        "n_events": int(label.size),
        "n_rearranging": int(np.count_nonzero(label == 1)),
        "n_non_rearranging": int(np.count_nonzero(label == 0)),
        "n_rearranging_total": int(lab.n_rearranging_total),
        "n_non_rearranging_total": int(lab.n_non_rearranging_total),
        "n_al": int(n_al),
        "n_frames": int(times.size),
        "n_frames_with_phop": int(defined.sum()),
        "window_half_frames": int(window_half_width(times, t_r)),
        "n_rearranging_atoms": int(np.unique(local[label == 1]).size),
        "n_non_rearranging_atoms": int(np.unique(local[label == 0]).size),
        "n_rearranging_atoms_total": int(lab.n_rearranging_atoms_total),
        "n_excursions": int(lab.n_excursions),
        "n_reversible_excursions": int(lab.n_reversible),
        "n_example_frames": int(np.unique(lab.frame[keep]).size),
        "rearranging_rate_per_al_ps": finite_or_none(lab.n_rearranging_total / (n_al * span)) if span > 0 else None,
        "phop_median": finite_or_none(np.nanmedian(ph)) if defined.any() else None,
        "phop_max": finite_or_none(np.nanmax(ph)) if defined.any() else None,
        "t_start": finite_or_none(times[0]),
        "t_end": finite_or_none(times[-1]),
    }


def event_feature_matrix(
    positions: NDArray,
    cells: NDArray,
    types: NDArray,
    atom: NDArray,
    frame: NDArray,
    sf_kwargs: Mapping[str, Any],
    voronoi: bool,
    empty: tuple[NDArray, NDArray] | None = None,
) -> tuple[NDArray[np.float32], list[str]]:
    """Features (events, columns) float32 of atom ``atom[i]`` in the configuration of frame ``frame[i]``.

    ``positions`` (D, N, 3) / ``cells`` (D, 3) hold the configurations of the D distinct frames in
    ascending order; ``voronoi`` appends the Voronoi volume. ``empty`` (one configuration and its box)
    names the columns when there are no events. Returns the features and the column names.
    """
    distinct = np.unique(frame)
    first = (positions[0], cells[0]) if len(distinct) else empty
    if first is None:
        raise ValueError("no events and no configuration to name the feature columns")
    # Column names from an empty call (no centres): identical to those of every frame.
    names = structure_functions(first[0], first[1], types, centers=np.zeros(0, np.int64), **sf_kwargs).names
    feats = np.zeros((atom.size, len(names) + (1 if voronoi else 0)), dtype=np.float32)
    for k, f in enumerate(distinct):  # one call per frame, vectorised over its atoms
        rows = np.nonzero(frame == f)[0]
        res = structure_functions(positions[k], cells[k], types, centers=atom[rows], **sf_kwargs)
        feats[rows, : len(names)] = res.features[np.searchsorted(res.centers, atom[rows])]
        if voronoi:
            feats[rows, -1] = voronoi_volumes(positions[k], cells[k])[atom[rows]]
    return feats, [*names, VORONOI_COLUMN] if voronoi else list(names)
