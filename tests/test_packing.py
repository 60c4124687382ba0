"""Random initial packing: stoichiometry, density, minimum distance, seeding."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from aiida_aloxide.packing import random_packing


def _min_periodic_distance(pos: np.ndarray, box: np.ndarray) -> float:
    """Brute-force minimum image distance over all pairs (independent of cKDTree)."""
    n = len(pos)
    d = pos[:, None, :] - pos[None, :, :]
    d -= box * np.round(d / box)
    r = np.sqrt((d**2).sum(-1))
    return float(r[np.triu_indices(n, 1)].min())


def test_packing_has_stoichiometry_density_and_min_distance():
    pos, types, box = random_packing(60, 2.75, min_distance=1.8, seed=5)
    assert (types == 1).sum() == 120 and (types == 2).sum() == 180
    grams = (120 * 26.9815385 + 180 * 15.999) / 6.02214076e23  # Matsui alumina masses, by hand
    assert grams / (float(np.prod(box)) * 1e-24) == pytest.approx(2.75, rel=1e-9)
    assert np.all((pos >= 0) & (pos < box))
    assert _min_periodic_distance(pos, box) >= 1.8


def test_packing_is_seeded():
    a = random_packing(20, 2.75, seed=11)[0]
    b = random_packing(20, 2.75, seed=11)[0]
    c = random_packing(20, 2.75, seed=12)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert pdist(a).min() > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_units": 0, "density": 2.75}, "n_units"),
        ({"n_units": 10, "density": -1.0}, "density"),
        ({"n_units": 10, "density": 2.75, "min_distance": 3.0}, "packing fraction|too large"),
    ],
)
def test_packing_refuses_impossible_requests(kwargs, match):
    with pytest.raises(ValueError, match=match):
        random_packing(**kwargs)
