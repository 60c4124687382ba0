"""Softness examples: the per-class cap and the features of the example atoms (known geometry)."""

from __future__ import annotations

import numpy as np

from aiida_aloxide.analysis.softness_events import cap_per_class, event_feature_matrix, frames_of
from aiida_aloxide.analysis.structure_functions import RADIAL_L, RADIAL_MUS, default_radial_cutoff


def test_cap_per_class():
    label = np.array([1, 0, 0, 1, 1, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(cap_per_class(label, None, 3), np.arange(10))
    keep = cap_per_class(label, 2, 3)
    assert np.all(np.diff(keep) > 0) and np.count_nonzero(label[keep] == 1) == 2
    assert np.count_nonzero(label[keep] == 0) == 2
    np.testing.assert_array_equal(cap_per_class(label, 2, 3), keep)  # seeded
    np.testing.assert_array_equal(cap_per_class(label, 10, 3), np.arange(10))  # nothing to drop
    assert frames_of(0.3, 0.1) == 3 and frames_of(0.26, 0.1) == 3


def test_event_features_of_isolated_pairs():
    """Four Al–O pairs 20 Å apart: G_O(μ = 1.8 Å) of an Al is exp(-((d - 1.8)/0.2)^2) for its O at d."""
    d = np.array([[1.8, 1.9, 2.0, 2.2], [1.7, 1.8, 2.1, 1.6]])
    centres = np.array([[5.0, 5.0, 5.0], [25.0, 5.0, 5.0], [5.0, 25.0, 5.0], [25.0, 25.0, 25.0]])
    pos = np.zeros((2, 8, 3))
    pos[:, 0::2] = centres
    pos[:, 1::2] = centres + d[:, :, None] * np.array([1.0, 0.0, 0.0])
    cells = np.full((2, 3), 40.0)
    types = np.tile([1, 2], 4)
    kw = {"species": [1, 2], "mus": np.asarray(RADIAL_MUS), "width": RADIAL_L, "radial_cutoff": default_radial_cutoff(),
          "angular_params": [], "angular_cutoff": 6.0, "radial": True, "angular": False}  # fmt: skip
    # Events: Al 2 and Al 6 in frame 7, Al 0 in frame 9 (configurations given for the distinct frames 7, 9).
    atom, frame = np.array([2, 0, 6]), np.array([7, 9, 7])
    feats, names = event_feature_matrix(pos, cells, types, atom, frame, kw, voronoi=True)
    assert names[-1] == "voronoi_volume" and feats.shape == (3, len(names)) and feats.dtype == np.float32
    g = feats[:, names.index("G_O_1.8")]
    expected = np.exp(-(((np.array([d[0, 1], d[1, 0], d[0, 3]]) - 1.8) / 0.2) ** 2))
    np.testing.assert_allclose(g, expected, rtol=1e-6)
    assert np.all(feats[:, names.index("G_Al_1.8")] == 0.0) and np.all(feats[:, -1] > 0)
    none, empty_names = event_feature_matrix(pos[:0], cells[:0], types, atom[:0], frame[:0], kw, voronoi=False,
                                             empty=(pos[0], cells[0]))  # fmt: skip
    assert none.shape == (0, len(names) - 1) and empty_names == names[:-1]
