"""``aiida_aloxide.trajectory``: the one TrajectoryData builder and the box-length reader, on known answers."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm

from aiida_aloxide.materials import load_material
from aiida_aloxide.trajectory import cell_lengths, frames_material, frames_trajectory, trajectory_species

POSITIONS = np.array(
    [
        [[0.5, 1.0, 1.5], [2.0, 2.5, 3.0], [11.0, -1.0, 4.0]],  # unwrapped: one atom beyond x, one below y
        [[0.6, 1.1, 1.6], [2.1, 2.6, 3.1], [11.2, -0.9, 4.1]],
    ]
)
LENGTHS = np.array([[10.0, 11.0, 12.0], [10.5, 11.0, 11.5]])
TYPES = np.array([1, 2, 2])


def test_frames_name_their_elements_and_so_their_material(aiida_profile):
    """Without ``species`` the frames are alumina's (1 = Al, 2 = O); silica frames say Si and find silica-bks."""
    alumina = frames_trajectory(POSITIONS, LENGTHS, TYPES)
    assert alumina.symbols == ["Al", "O", "O"] and trajectory_species(alumina) == {1: "Al", 2: "O"}
    assert frames_material(alumina).name == "alumina-matsui"
    silica = frames_trajectory(POSITIONS, LENGTHS, TYPES, species=load_material("silica-bks").type_species)
    assert silica.symbols == ["Si", "O", "O"] and trajectory_species(silica) == {1: "Si", 2: "O"}
    assert frames_material(silica).name == "silica-bks"
    with pytest.raises(ValueError, match=r"atom types \[2\] are not among \{1: 'Si'\}"):
        frames_trajectory(POSITIONS, LENGTHS, TYPES, species={1: "Si"})


def test_frames_trajectory_layout(aiida_profile):
    stress = np.arange(2 * 3 * 6, dtype=np.float32).reshape(2, 3, 6)
    node = frames_trajectory(
        POSITIONS.astype(np.float32),
        LENGTHS,
        TYPES.astype(np.int8),
        steps=[100, 200],
        times=[0.1, 0.2],
        velocities=np.ones((2, 3, 3), dtype=np.float32),
        stress_volume=stress,
        strain=np.array([0.0, 0.05]),
    )
    assert isinstance(node, orm.TrajectoryData)
    node.store()  # aiida's own validation of the trajectory arrays passes
    assert node.numsteps == 2 and node.numsites == 3
    assert node.symbols == ["Al", "O", "O"] and tuple(node.pbc) == (True, True, True)
    pos = node.get_positions()
    assert pos.dtype == np.float64
    np.testing.assert_array_equal(pos, POSITIONS.astype(np.float32).astype(np.float64))
    cells = node.get_cells()
    assert cells.shape == (2, 3, 3)
    np.testing.assert_array_equal(cells[1], np.diag([10.5, 11.0, 11.5]))
    np.testing.assert_array_equal(node.get_stepids(), [100, 200])
    assert node.get_stepids().dtype == np.int64
    np.testing.assert_array_equal(node.get_times(), [0.1, 0.2])
    np.testing.assert_array_equal(node.get_velocities(), np.ones((2, 3, 3)))
    types = node.get_array("types")
    assert types.dtype == np.int8 and types.tolist() == [1, 2, 2]
    assert node.get_array("stress_volume").dtype == np.float32  # extras keep their dtype
    np.testing.assert_array_equal(node.get_array("stress_volume"), stress)
    np.testing.assert_array_equal(node.get_array("strain"), [0.0, 0.05])
    assert node.base.attributes.get("n_frames") == 2 and node.base.attributes.get("n_atoms") == 3
    np.testing.assert_array_equal(cell_lengths(node), LENGTHS)
    assert cell_lengths(node).dtype == np.float64
    # aiida's tools read it: one step as a StructureData with the right cell and species.
    structure = node.get_step_structure(1)
    np.testing.assert_allclose(structure.cell, np.diag(LENGTHS[1]))
    assert [s.kind_name for s in structure.sites] == ["Al", "O", "O"]


def test_frames_trajectory_defaults(aiida_profile):
    node = frames_trajectory(POSITIONS, LENGTHS[0], TYPES)  # one box for every frame
    np.testing.assert_array_equal(node.get_stepids(), [0, 1])
    assert node.get_times() is None and node.get_velocities() is None
    np.testing.assert_array_equal(cell_lengths(node), np.tile(LENGTHS[0], (2, 1)))
    assert set(node.get_arraynames()) == {"positions", "cells", "steps", "types"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"positions": POSITIONS[0]}, r"positions must have shape \(F, N, 3\)"),
        ({"lengths": LENGTHS[:1]}, r"lengths must have shape \(2, 3\)"),
        ({"types": TYPES[:2]}, "types must be 3 integers"),
        ({"types": np.array([1.0, 2.0, 2.0])}, "types must be 3 integers"),
        ({"types": np.array([1, 2, 3])}, r"atom types \[3\] are not among"),
        ({"steps": [1, 2, 3]}, r"steps must have shape \(2,\)"),
        ({"velocities": np.ones((2, 2, 3))}, r"velocities must have shape \(2, 3, 3\)"),
        ({"cells": np.ones((2, 3))}, r"extra arrays may not be named \['cells'\]"),
        ({"pe": np.ones((3, 3))}, "extra array 'pe' must have 2 frames"),
    ],
)
def test_frames_trajectory_refuses_inconsistent_input(aiida_profile, kwargs, match):
    args = {"positions": POSITIONS, "lengths": LENGTHS, "types": TYPES, **kwargs}
    with pytest.raises(ValueError, match=match):
        frames_trajectory(**args)


def test_cell_lengths_refuses_other_cells(aiida_profile):
    tilted = orm.TrajectoryData()
    cells = np.tile(np.diag([10.0, 10.0, 10.0]), (2, 1, 1))
    cells[1, 1, 0] = 2.0  # frame 1: b has an x component
    tilted.set_trajectory(["Al", "O", "O"], POSITIONS, cells=cells, pbc=(True, True, True))
    with pytest.raises(ValueError, match="cell of frame 1 is not orthorhombic"):
        cell_lengths(tilted)
    lengths_only = orm.ArrayData()
    lengths_only.set_array("cells", LENGTHS)
    with pytest.raises(ValueError, match=r"cells of shape \(2, 3\); expected \(F, 3, 3\)"):
        cell_lengths(lengths_only)
    with pytest.raises(ValueError, match="has no 'cells' array"):
        cell_lengths(orm.TrajectoryData())
