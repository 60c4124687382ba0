"""The deformation pipeline on corundum under a pure affine strain: no switching, D = 0, stress optional."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.analysis.deformation import SPECIES, deformation, nan_stat
from tests.analysis.crystals import corundum_orthorhombic

PARAMS = {"al_o_cutoff": 2.25, "al_al_cutoff": 3.7, "d2min_cutoff": 4.0, "d2min_per_neighbor": False,
          "profile_bins": 20, "d_bins": 50, "stress_bins": 60}  # fmt: skip


def _affine(strains=(0.0, 0.01, 0.02)):
    """Corundum frames under a pure affine strain along x: positions, box lengths, types, strains."""
    pos0, types, box0 = corundum_orthorhombic((3, 2, 1))
    scales = [np.array([1.0 + e, 1.0, 1.0]) for e in strains]
    return np.array([pos0 * s for s in scales]), np.array([box0 * s for s in scales]), types, np.array(strains)


def test_affine_strain_without_stress():
    pos, cells, types, strain = _affine()
    res = deformation(pos, cells, types, strain, PARAMS)
    n_al = int(np.count_nonzero(types == 1))
    s = res.summary
    assert s["uc_fraction_final"] == 1.0 and s["dc_fraction_final"] == 0.0 and s["al6_fraction_initial"] == 1.0
    assert s["d_max"] < 1e-9 and s["d_undefined"] == 0 and s["n_al"] == n_al and s["final_strain"] == 0.02
    assert s["stress_available"] is False and s["hydrostatic_mean_al_final"] is None and s["stress_undefined"] is None
    assert s["d2min_normalization"] == "sum" and s["stress_bins"] == 60
    np.testing.assert_array_equal(res.per_atom["cn"], 6)
    np.testing.assert_array_equal(res.per_atom["al_indices"], np.nonzero(types == 1)[0])
    assert "hydrostatic_stress" not in res.per_atom and "stress_edges" not in res.curves
    assert res.curves["by_species_final"].shape == (len(SPECIES), 4) and res.curves["d_counts"].sum() == n_al
    assert 0.0 <= res.fracture_plane < cells[-1, 0]


def test_hydrostatic_stress_per_species():
    pos, cells, types, strain = _affine()
    n = len(types)
    volume = np.full((3, n), 10.0)
    sv = np.zeros((3, n, 6))
    sv[:, :, :3] = 3.0e4 * 10.0  # trace/3 = 3e4 bar·Å³/Å³ per atom = 3 GPa
    volume[1, 0] = np.nan  # one unusable Voronoi volume
    res = deformation(pos, cells, types, strain, PARAMS, sv, volume)
    hydro = res.per_atom["hydrostatic_stress"]
    assert np.isnan(hydro[1, 0]) and np.allclose(hydro[np.isfinite(hydro)], 3.0)
    assert res.summary["stress_undefined"] == 1 and res.summary["hydrostatic_mean_al6_initial"] == pytest.approx(3.0)
    assert res.summary["hydrostatic_mean_al4_initial"] is None
    assert (
        nan_stat(np.mean, np.array([np.nan, 1.0, 3.0])) == pytest.approx(2.0)
        and nan_stat(np.mean, np.array([np.nan])) is None
    )
