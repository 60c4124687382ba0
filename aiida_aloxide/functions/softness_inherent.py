"""Calcfunctions of the inherent-structure trajectory (issue #19): labels from p_hop without vibrations.

With ``events.labels_from: inherent`` the recorded thermal trajectory is sampled every
``inherent_spacing`` ps (:func:`grid_frames`), each sampled frame is minimised by the
``aloxide.lammps`` CalcJob (``minimize_frames``, the plane-strain settings) and the minimised frames
become one continuous trajectory (:func:`inherent_trajectory`); p_hop, the labels and the
structure functions are then computed on it, so vibrations neither trigger nor hide a hop and
the example configurations are already inherent structures (no second minimisation).
"""

from __future__ import annotations

import numpy as np
from aiida import orm

from ..analysis.configurations import unwrap_near
from ..analysis.softness_events import frames_of
from ..trajectory import cell_lengths, frames_trajectory, trajectory_species
from .versioning import calcfunction

__all__ = ["grid_frames", "inherent_trajectory"]


@calcfunction
def grid_frames(trajectory: orm.TrajectoryData, spacing: orm.Float) -> orm.TrajectoryData:
    """Every frame ``spacing`` ps apart (from the first): positions, cells, types, steps, times, frame index."""
    times = np.asarray(trajectory.get_array("times"), dtype=np.float64)
    step = float(np.median(np.diff(times))) if times.size > 1 else 0.0
    if step <= 0:
        raise ValueError("the trajectory needs at least two frames at increasing times")
    every = frames_of(float(spacing.value), step)
    if every < 1 or abs(every * step - float(spacing.value)) > 1e-6 * max(1.0, float(spacing.value)):
        raise ValueError(
            f"inherent_spacing {spacing.value:g} ps is not a whole multiple of the recording interval {step:g} ps"
        )
    frames = np.arange(0, times.size, every)
    out = frames_trajectory(
        trajectory.get_array("positions")[frames],
        cell_lengths(trajectory)[frames],
        trajectory.get_array("types"),
        steps=trajectory.get_stepids()[frames],
        times=times[frames],
        species=trajectory_species(trajectory),
        frame=frames,
    )
    out.base.attributes.set_many({"configuration": "thermal", "spacing_ps": float(spacing.value)})
    return out


@calcfunction
def inherent_trajectory(grid: orm.TrajectoryData, minimized: orm.TrajectoryData) -> orm.TrajectoryData:
    """The minimised grid frames as one continuous, unwrapped trajectory (times, cells, types of the grid)."""
    thermal = np.asarray(grid.get_array("positions"), dtype=np.float64)
    relaxed = np.asarray(minimized.get_array("positions"), dtype=np.float64)
    if relaxed.shape != thermal.shape:
        raise ValueError(f"minimised frames {relaxed.shape} do not match the grid {thermal.shape}")
    cells = cell_lengths(grid)
    out = frames_trajectory(
        unwrap_near(thermal, relaxed, cells),
        cells,
        grid.get_array("types"),
        steps=grid.get_stepids(),
        times=np.asarray(grid.get_array("times"), dtype=np.float64),
        species=trajectory_species(grid),
        frame=grid.get_array("frame"),
    )
    out.base.attributes.set_many({"configuration": "inherent", "spacing_ps": grid.base.attributes.get("spacing_ps")})
    return out
