"""Sign and units of the per-atom stress (LAMMPS stress/atom ÷ Voronoi volume, GPa, + = tension)."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.analysis.atomic_stress import (
    EV_PER_A3_TO_BAR,
    atomic_stress,
    hydrostatic_stress,
    pair_stress_volume,
    species_histograms,
    voigt_to_tensor,
    von_mises_stress,
)


def test_units_bar_a3_to_gpa() -> None:
    # S = (-1e4, -2e4, -3e4, 500, 0, 0) bar·Å³ on V = 10 Å³: σ = S·1e-4/10 GPa.
    s = np.array([[-1.0e4, -2.0e4, -3.0e4, 500.0, 0.0, 0.0], [3.0e5, 3.0e5, 3.0e5, 0.0, 0.0, 0.0]])
    v = np.array([10.0, 15.0])
    np.testing.assert_allclose(atomic_stress(s, v)[0], [-0.1, -0.2, -0.3, 0.005, 0.0, 0.0])
    np.testing.assert_allclose(hydrostatic_stress(s, v), [-0.2, 2.0])
    with pytest.raises(ValueError):
        atomic_stress(s, np.array([10.0, 0.0]))


def _pair(force_on_0_x: float) -> np.ndarray:
    """Stress×volume (bar·Å³) of two atoms 2 Å apart along x with a central force on atom 0."""
    i = np.array([0, 1])
    r = np.array([[2.0, 0, 0], [-2.0, 0, 0]])  # r_ij = r_j - r_i
    f = np.array([[force_on_0_x, 0, 0], [-force_on_0_x, 0, 0]])  # force on i due to j (eV/Å)
    return pair_stress_volume(i, r, f, 2) * EV_PER_A3_TO_BAR


def test_compressed_bond_is_negative_stretched_bond_positive() -> None:
    # Repulsion: atom 0 at x=0 is pushed to -x by atom 1 at x=2 (F_0 = -1, F_1 = +1 eV/Å).
    # LAMMPS: the pair virial r_0 F_0 + r_1 F_1 = 0·(-1) + 2·(+1) = 2 eV is split equally,
    # W_xx = 1 eV per atom, so S_xx = -W_xx = -1 eV = -1.602e6 bar·Å³ on each atom.
    s = _pair(-1.0)
    np.testing.assert_allclose(s[:, 0], -EV_PER_A3_TO_BAR)
    np.testing.assert_allclose(s[:, 1:], 0.0)
    # With V = 10 Å³: σ_xx = -1 eV / 10 Å³ = -16.02 GPa; hydrostatic = σ_xx / 3 (compression).
    h = hydrostatic_stress(s, np.array([10.0, 10.0]))
    np.testing.assert_allclose(h, -160.2176634 / 30.0, rtol=1e-9)
    assert np.all(hydrostatic_stress(_pair(+1.0), np.array([10.0, 10.0])) > 0)  # stretched: tension


def test_sum_of_per_atom_stress_is_minus_pressure() -> None:
    # LAMMPS manual: Σ_i (S_xx + S_yy + S_zz) / (3V) = -P, with the virial pressure
    # P = Σ_pairs (r_i - r_j)·F_ij / (3V) for a repulsive pair > 0.
    s = _pair(-1.0) / EV_PER_A3_TO_BAR  # back to eV
    big_v = 1000.0
    pressure = (np.array([-2.0, 0, 0]) @ np.array([-1.0, 0, 0])) / (3 * big_v)
    assert pressure > 0
    assert s[:, :3].sum() / (3 * big_v) == pytest.approx(-pressure)


def test_tensor_and_von_mises() -> None:
    s = np.array([[2.0, 0, 0, 0, 0, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    t = voigt_to_tensor(s)
    np.testing.assert_allclose(t[1], [[1, 4, 5], [4, 2, 6], [5, 6, 3]])
    vm = von_mises_stress(s)
    assert vm[0] == pytest.approx(2.0)  # uniaxial: von Mises = |σ|
    dev = t[1] - np.trace(t[1]) / 3 * np.eye(3)
    assert vm[1] == pytest.approx(np.sqrt(1.5 * np.sum(dev * dev)))


def test_species_histograms() -> None:
    values = np.array([-1.0, -0.5, 0.5, 1.5, 1.5, np.nan])
    cn = np.array([4, 5, 5, 6, 6, 6])
    edges, h = species_histograms(values, cn, bins=[-2, 0, 2], density=False)
    assert h["Al4"].tolist() == [1, 0]
    assert h["Al5"].tolist() == [1, 1]
    assert h["Al6"].tolist() == [0, 2]
    _, hd = species_histograms(values, cn, bins=[-2, 0, 2])
    assert np.sum(hd["Al5"] * np.diff(edges)) == pytest.approx(1.0)
