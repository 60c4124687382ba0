"""Checks of the corundum builder used as a known-answer structure, and CN of Al in corundum."""

from __future__ import annotations

import numpy as np

from aiida_aloxide.analysis.coordination import coordination_numbers, species_fractions
from aiida_aloxide.analysis.neighbors import neighbor_list

from .crystals import corundum_hexagonal_fractional, corundum_orthorhombic, density_g_cm3


def test_hexagonal_cell_has_12_al_18_o_distinct_sites() -> None:
    frac, types = corundum_hexagonal_fractional()
    assert np.count_nonzero(types == 1) == 12
    assert np.count_nonzero(types == 2) == 18
    d = frac[:, None, :] - frac[None, :, :]
    d -= np.round(d)
    sep = np.abs(d).sum(-1) + 10 * np.eye(len(frac))
    assert sep.min() > 0.1  # no site generated twice


def test_orthorhombic_corundum_density_and_bonds() -> None:
    pos, types, box = corundum_orthorhombic((3, 2, 1))
    assert np.count_nonzero(types == 1) == 24 * 6 and np.count_nonzero(types == 2) == 36 * 6
    assert abs(density_g_cm3(types, box) - 3.987) < 0.01
    allpairs = neighbor_list(pos, box, 3.0)
    assert allpairs.distances.min() > 1.8  # no overlapping atoms from a wrong orbit
    nl = neighbor_list(pos, box, 2.25, centers=types == 1, neighbors=types == 2)
    per_al = np.sort(nl.distances.reshape(-1, 6), axis=1)  # pairs sorted by centre: 6 per Al
    assert nl.counts()[types == 1].tolist() == [6] * 144
    np.testing.assert_allclose(per_al[:, :3], 1.855, atol=0.01)
    np.testing.assert_allclose(per_al[:, 3:], 1.97, atol=0.01)
    o_cn = neighbor_list(pos, box, 2.25, centers=types == 2, neighbors=types == 1).counts()[types == 2]
    assert set(o_cn.tolist()) == {4}


def test_coordination_of_al_in_corundum_is_six() -> None:
    pos, types, box = corundum_orthorhombic((2, 1, 1))
    cn = coordination_numbers(pos + 7.0 * box, box, types == 1, types == 2, 2.25)  # unwrapped images
    assert cn.shape == (48,)
    assert np.all(cn == 6)
    assert species_fractions(cn)["Al6"] == 1.0
