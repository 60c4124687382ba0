"""Known-answer tests of the partial pair distribution functions and their first minima."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.analysis.rdf import first_minimum, partial_rdf, partial_rdfs, rdf_first_minima

from .crystals import corundum_orthorhombic, simple_cubic


def test_two_atoms_hand_normalisation() -> None:
    # One A atom and one B atom 2.05 Å apart in a 10 Å cube: a single directed A->B pair in the
    # bin [2.0, 2.1), so g = V / (N_A N_B) / (4/3 π (2.1³ - 2.0³)).
    pos = np.array([[1.0, 1.0, 1.0], [3.05, 1.0, 1.0]])
    types = np.array([1, 2])
    r, g = partial_rdf(pos, [10.0, 10.0, 10.0], types, 1, 2, r_max=4.0, n_bins=40)
    expected = 1000.0 / (4.0 / 3.0 * np.pi * (2.1**3 - 2.0**3))
    assert r[20] == pytest.approx(2.05)
    assert g[20] == pytest.approx(expected)
    assert np.count_nonzero(g) == 1


def test_ideal_gas_tends_to_one_for_like_and_unlike_pairs() -> None:
    rng = np.random.default_rng(42)
    # Three frames in boxes of different volume: each frame is normalised with its own volume.
    boxes = np.array([[22.0, 22.0, 22.0], [24.2, 22.0, 22.0], [26.4, 24.0, 22.0]])
    frames = rng.random((3, 3000, 3)) * boxes[:, None, :]
    types = rng.integers(1, 3, 3000)
    r, gs = partial_rdfs(frames, boxes, types, r_max=9.0, n_bins=45, names={1: "Al", 2: "O"})
    for name in ("Al-O", "Al-Al", "O-O"):
        g = gs[name][r > 3.0]
        assert abs(g.mean() - 1.0) < 0.02, name
        assert np.all(np.abs(g - 1.0) < 0.25), name
    # All-atom g via masks gives the same normalisation.
    every = np.ones(3000, bool)
    _, g_all = partial_rdf(frames, boxes, None, every, every, r_max=9.0, n_bins=45)
    assert abs(g_all[r > 3.0].mean() - 1.0) < 0.01


def test_running_coordination_of_corundum_integrates_to_six() -> None:
    # ρ_O ∫_0^2.25 g_AlO(r) 4π r² dr must be the Al–O coordination number, 6 in corundum.
    pos, types, box = corundum_orthorhombic((3, 2, 1))
    r, g = partial_rdf(pos, box, types, 1, 2, r_max=2.25, n_bins=225)
    edges = np.linspace(0.0, 2.25, 226)
    shells = 4.0 / 3.0 * np.pi * np.diff(edges**3)
    rho_o = np.count_nonzero(types == 2) / np.prod(box)
    assert np.sum(g * shells) * rho_o == pytest.approx(6.0)


def test_simple_cubic_first_peak_at_lattice_constant() -> None:
    a = 2.5
    pos, box = simple_cubic(8, a)
    r, g = partial_rdf(pos, box, np.ones(len(pos), int), 1, 1, r_max=6.0, n_bins=600)
    m = first_minimum(r, g, smooth=0.05)
    assert m.r_peak == pytest.approx(a, abs=0.011)
    assert a < m.r_min < np.sqrt(2.0) * a  # gap between first and second shell


def test_first_minimum_of_analytic_curve() -> None:
    # g = 2 + cos(π r): first peak above 1 at r = 2, minimum after it at r = 3.
    r = np.linspace(1.1, 5.0, 391)
    g = 2.0 + np.cos(np.pi * r)
    m = first_minimum(r, g, smooth=0.0, peak_threshold=1.5)
    assert m.r_peak == pytest.approx(2.0, abs=2e-3)
    assert m.r_min == pytest.approx(3.0, abs=2e-3)
    assert m.g_min == pytest.approx(1.0, abs=1e-3)
    # With noise the smoothed detection stays close.
    noisy = g + np.random.default_rng(0).normal(0.0, 0.05, r.size)
    mins = rdf_first_minima(r, {"x": noisy}, smooth=0.1, peak_threshold=1.5)
    assert mins["x"] == pytest.approx(3.0, abs=0.06)


def test_first_minimum_requires_a_peak() -> None:
    r = np.linspace(0.1, 5.0, 50)
    with pytest.raises(ValueError):
        first_minimum(r, np.full(50, 0.5))
