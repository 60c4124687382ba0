"""Calcfunctions of the softness half of the study (SPEC §5), by stage; this module gathers their names.

* :mod:`.softness_parameters` — the defaults and checks of every protocol section (:func:`check_parameters`);
* :mod:`.softness_events` — :func:`merge_trajectories` (chunks of the recorded NVT run → one continuous
  trajectory), :func:`phop_events` (p_hop of every Al, rearranging / non-rearranging labels),
  :func:`example_frames`, :func:`event_features` (structure functions + Voronoi volume);
* :mod:`.softness_training` — :func:`train_softness` (the SVM on every pressure's events, validation,
  ablations, cross-pressure table → :class:`~aiida_aloxide.data.softness_model.SoftnessModelData` + report);
* :mod:`.softness_application` — :func:`softness_of_frames`, :func:`softness_clusters`,
  :func:`rearrangement_probability_fn`: the model applied to the frames of a tension run.

Each calcfunction is a thin adapter (nodes in → arrays → :mod:`aiida_aloxide.analysis` → nodes out).
Big per-atom arrays go to the repository (float32 where the precision is not needed further on); the
numbers people filter on are ``Dict`` / node attributes and are never NaN (None). Every function is
deterministic for its inputs (seeds are parameters), so caching can reuse it; each stage's cache
version follows the code of its own module only.
"""

from __future__ import annotations

from ..analysis.softness import VORONOI_COLUMN
from ..analysis.softness_events import label_trajectory
from ..analysis.softness_training import MIN_MEANINGFUL_EVENTS
from .softness_application import (
    check_configuration,
    frames_configuration,
    rearrangement_probability_fn,
    softness_clusters,
    softness_of_frames,
    softness_response,
)
from .softness_events import configurations, event_features, example_frames, merge_trajectories, phop_events
from .softness_parameters import (
    CLUSTER_DEFAULTS,
    EVENT_DEFAULTS,
    FEATURE_DEFAULTS,
    MAX_BINS,
    MAX_CUTOFF,
    MAX_DURATION,
    MAX_SEED,
    MODEL_FEATURES,
    REARRANGEMENT_DEFAULTS,
    TRAINING_DEFAULTS,
    check_parameters,
    structure_function_kwargs,
    structure_function_parameters,
)
from .softness_training import train_softness

__all__ = [
    "CLUSTER_DEFAULTS",
    "EVENT_DEFAULTS",
    "FEATURE_DEFAULTS",
    "MAX_BINS",
    "MAX_CUTOFF",
    "MAX_DURATION",
    "MAX_SEED",
    "MIN_MEANINGFUL_EVENTS",
    "MODEL_FEATURES",
    "REARRANGEMENT_DEFAULTS",
    "TRAINING_DEFAULTS",
    "VORONOI_COLUMN",
    "check_configuration",
    "check_parameters",
    "configurations",
    "event_features",
    "example_frames",
    "frames_configuration",
    "label_trajectory",
    "merge_trajectories",
    "phop_events",
    "rearrangement_probability_fn",
    "softness_clusters",
    "softness_of_frames",
    "softness_response",
    "structure_function_kwargs",
    "structure_function_parameters",
    "train_softness",
]
