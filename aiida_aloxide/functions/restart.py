"""Calcfunction of the restart wrapper: one stage's thermo and frames from the runs it was resumed over."""

from __future__ import annotations

import numpy as np
from aiida import orm

from ..trajectory import cell_lengths, frames_trajectory, trajectory_species
from .versioning import calcfunction

__all__ = ["join_resumed_runs"]

#: Per-frame arrays a trajectory part may carry besides positions, cells, steps, times and velocities.
_FRAME_EXTRAS = ("stress_volume", "voronoi_volume", "pe")


def _keeps(steps: list[np.ndarray], cuts: list[int]) -> list[np.ndarray]:
    """Rows of each part before the next part's first row (or its checkpoint step if it has none); all of the last."""
    out = []
    for k, s in enumerate(steps):
        if k == len(steps) - 1:
            out.append(np.ones(s.shape, dtype=bool))
        else:
            nxt = steps[k + 1]
            out.append(np.asarray(s) < (nxt[0] if len(nxt) else cuts[k]))
    return out


@calcfunction
def join_resumed_runs(cuts: orm.List, **parts) -> dict:
    """Thermo (and trajectory) of a stage killed and resumed from checkpoints, as one uninterrupted run's.

    ``thermo_<k>`` (and ``trajectory_<k>``) are the runs in order; ``cuts[k]`` is the checkpoint
    step run k + 1 resumed from. Run k contributes its rows before run k + 1's first row (the
    checkpoint's own row and frame, written again by the resumed run), the last run all of its rows.
    """
    cut_steps = [int(c) for c in cuts.get_list()]
    n = len(cut_steps) + 1
    out = {}
    thermos = [parts[f"thermo_{k}"] for k in range(n)]
    keeps = _keeps([t.get_array("step") for t in thermos], cut_steps)
    columns = thermos[-1].base.attributes.get("columns")
    thermo = orm.ArrayData()
    for name in columns:
        thermo.set_array(name, np.concatenate([t.get_array(name)[m] for t, m in zip(thermos, keeps, strict=True)]))
    thermo.base.attributes.set("columns", columns)
    thermo.base.attributes.set("units", thermos[-1].base.attributes.get("units", {}))
    thermo.base.attributes.set("resumed_at", cut_steps)
    out["thermo"] = thermo
    if all(f"trajectory_{k}" in parts for k in range(n)):
        trajs = [parts[f"trajectory_{k}"] for k in range(n)]
        keeps = _keeps([t.get_array("steps") for t in trajs], cut_steps)

        def cat(name: str, get=lambda t, name: t.get_array(name)) -> np.ndarray:
            return np.concatenate([get(t, name)[m] for t, m in zip(trajs, keeps, strict=True)])

        names = set(trajs[-1].get_arraynames())
        extras = {k: cat(k) for k in _FRAME_EXTRAS if all(k in t.get_arraynames() for t in trajs)}
        node = frames_trajectory(
            cat("positions"),
            cat("cells", lambda t, _name: cell_lengths(t)),
            trajs[-1].get_array("types"),
            steps=cat("steps"),
            times=cat("times") if "times" in names else None,
            velocities=cat("velocities") if "velocities" in names else None,
            species=trajectory_species(trajs[-1]),
            **extras,
        )
        node.base.attributes.set("truncated", bool(trajs[-1].base.attributes.get("truncated", False)))
        node.base.attributes.set("resumed_at", cut_steps)
        out["trajectory"] = node
    return out
