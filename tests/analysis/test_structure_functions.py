"""Known-answer tests of the Cubuk structure functions (radial G, angular Ψ)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from aiida_aloxide.analysis.structure_functions import (
    ANGULAR_CUTOFF,
    CUBUK_ANGULAR_SIGMA,
    RADIAL_L,
    RADIAL_MUS,
    angular_feature_names,
    default_radial_cutoff,
    periodic_neighbor_list,
    radial_feature_names,
    scaled_angular_parameters,
    structure_functions,
)

BOX = np.array([30.0, 30.0, 30.0])
PARAMS = scaled_angular_parameters()
N_MU = RADIAL_MUS.size  # 48
N_ANG = len(PARAMS)  # 22


def _cols(names: list[str], prefix: str) -> list[int]:
    return [k for k, n in enumerate(names) if n.startswith(prefix)]


def test_parameter_lists_and_names():
    assert N_MU == 48 and RADIAL_MUS[0] == 0.6 and RADIAL_MUS[-1] == 10.0
    assert np.allclose(np.diff(RADIAL_MUS), 0.2)
    assert default_radial_cutoff() == pytest.approx(10.6)
    assert len(CUBUK_ANGULAR_SIGMA) == 22
    # ξ scaled by 2 Å per σ: 14.638 σ -> 29.276 Å, 0.695 σ -> 1.39 Å.
    assert PARAMS[0] == (29.276, -1, 1) and PARAMS[-1] == (1.39, 1, 16)
    names = radial_feature_names() + angular_feature_names()
    assert len(names) == 2 * 48 + 3 * 22 == 162
    assert len(set(names)) == len(names)
    assert names[0] == "G_Al_0.6" and names[48] == "G_O_0.6" and names[95] == "G_O_10"
    assert names[96] == "Psi_AlAl_xi29.276_l-1_z1"
    assert names[96 + 22] == "Psi_AlO_xi29.276_l-1_z1"
    assert names[-1] == "Psi_OO_xi1.39_l+1_z16"


def test_two_atoms_radial_by_hand():
    # Al at the centre of the box, O 1.5 Å away along z: only G_O is non-zero,
    # G_O(μ) = exp(-(1.5 - μ)² / 0.2²).
    pos = np.array([[15.0, 15.0, 15.0], [15.0, 15.0, 16.5]])
    types = np.array([1, 2])
    sf = structure_functions(pos, BOX, types)
    assert sf.features.shape == (1, 162)
    assert list(sf.centers) == [0]
    g_al = sf.features[0, :N_MU]
    g_o = sf.features[0, N_MU : 2 * N_MU]
    assert np.all(g_al == 0.0)
    mu = list(RADIAL_MUS)
    # μ = 1.4 and 1.6: (0.1)²/0.04 = 0.25 -> exp(-0.25) = 0.7788007830714049
    assert g_o[mu.index(1.4)] == pytest.approx(0.7788007830714049, rel=1e-12)
    assert g_o[mu.index(1.6)] == pytest.approx(0.7788007830714049, rel=1e-12)
    # μ = 1.2: (0.3)²/0.04 = 2.25 -> exp(-2.25) = 0.10539922456186433
    assert g_o[mu.index(1.2)] == pytest.approx(0.10539922456186433, rel=1e-12)
    # μ = 2.0: (0.5)²/0.04 = 6.25 -> exp(-6.25) = 0.0019304541362277093
    assert g_o[mu.index(2.0)] == pytest.approx(0.0019304541362277093, rel=1e-12)
    assert np.allclose(g_o, np.exp(-((1.5 - RADIAL_MUS) ** 2) / RADIAL_L**2), rtol=1e-12, atol=1e-300)
    # One neighbour: no pairs, so every angular function vanishes.
    assert np.all(sf.features[0, 2 * N_MU :] == 0.0)


@pytest.mark.parametrize(
    "pos",
    [
        [[0.3, 15.0, 15.0], [29.2, 15.0, 15.0]],  # wrapped: 0.3 - (29.2 - 30) = 1.1 Å across x = 0
        [[30.3, 15.0, 15.0], [-0.8, 15.0, 15.0]],  # same pair, unwrapped images
        [[15.0, 29.9, 0.5], [15.0, 0.9, 29.9]],  # across y and z: (1.0, 0.6) -> sqrt(1.36)
    ],
)
def test_pair_across_periodic_boundary(pos):
    pos = np.array(pos)
    d = np.linalg.norm((pos[1] - pos[0]) - BOX * np.round((pos[1] - pos[0]) / BOX))
    assert d < 1.2  # the minimum image is the short one
    sf = structure_functions(pos, BOX, np.array([1, 2]))
    g_o = sf.features[0, N_MU : 2 * N_MU]
    assert np.allclose(g_o, np.exp(-((d - RADIAL_MUS) ** 2) / 0.04), rtol=1e-12, atol=1e-300)
    if d == pytest.approx(1.1):
        # μ = 1.0 and 1.2: (0.1)²/0.04 = 0.25
        assert g_o[2] == pytest.approx(math.exp(-0.25)) and g_o[3] == pytest.approx(math.exp(-0.25))


def test_three_atoms_angular_by_hand():
    # Al centre with two O at 1.8 Å and an O–Al–O angle of 120°:
    # cos θ = -1/2, r_ij² = 1.8² + 1.8² - 2·1.8²·cos θ = 3·3.24 = 9.72,
    # r_ik² + r_jk² + r_ij² = 3.24 + 3.24 + 9.72 = 16.2,
    # Ψ_OO(ξ, λ, ζ) = exp(-16.2/ξ²)·(1 - λ/2)^ζ, Ψ_AlAl = Ψ_AlO = 0.
    c = np.array([15.0, 15.0, 15.0])
    pos = np.array(
        [c, c + [1.8, 0.0, 0.0], c + [1.8 * math.cos(2 * math.pi / 3), 1.8 * math.sin(2 * math.pi / 3), 0.0]]
    )
    sf = structure_functions(pos, BOX, np.array([1, 2, 2]))
    psi = sf.features[0, 2 * N_MU :]
    psi_alal, psi_alo, psi_oo = psi[:N_ANG], psi[N_ANG : 2 * N_ANG], psi[2 * N_ANG :]
    assert np.all(psi_alal == 0.0) and np.all(psi_alo == 0.0)
    for k, (xi, lam, zeta) in enumerate(PARAMS):
        expected = math.exp(-16.2 / xi**2) * (1.0 - 0.5 * lam) ** zeta
        assert psi_oo[k] == pytest.approx(expected, rel=1e-12), (xi, lam, zeta)
    # Spot values: ξ = 2.408 Å, λ = 1, ζ = 16: exp(-16.2/5.798464)·0.5^16
    k = PARAMS.index((2.408, 1, 16))
    assert psi_oo[k] == pytest.approx(math.exp(-16.2 / 5.798464) * 0.5**16, rel=1e-12)
    # ξ = 29.276 Å, λ = -1, ζ = 2: exp(-16.2/857.084176)·1.5² = 2.2078741...
    assert psi_oo[2] == pytest.approx(math.exp(-16.2 / 857.084176) * 2.25, rel=1e-12)


def test_three_atoms_mixed_species_two_centres():
    # Al1 at c, Al2 at c + (3, 0, 0), O at c + (0, 1.8, 0): a right angle at Al1.
    # Triangle sides: r(Al1,Al2)² = 9, r(Al1,O)² = 3.24, r(Al2,O)² = 12.24; sum = 24.48 for any vertex.
    # Centre Al1: cos θ = 0               -> Ψ_AlO = exp(-24.48/ξ²)·1
    # Centre Al2: cos θ = 9/(3·sqrt(12.24)) -> Ψ_AlO = exp(-24.48/ξ²)·(1 + λ cos θ)^ζ
    c = np.array([15.0, 15.0, 15.0])
    pos = np.array([c, c + [3.0, 0.0, 0.0], c + [0.0, 1.8, 0.0]])
    types = np.array([1, 1, 2])
    sf = structure_functions(pos, BOX, types)
    assert list(sf.centers) == [0, 1]
    names = sf.names
    alo = _cols(names, "Psi_AlO_")
    cos2 = 9.0 / (3.0 * math.sqrt(12.24))
    for k, col in enumerate(alo):
        xi, lam, zeta = PARAMS[k]
        assert sf.features[0, col] == pytest.approx(math.exp(-24.48 / xi**2), rel=1e-12)
        assert sf.features[1, col] == pytest.approx(math.exp(-24.48 / xi**2) * (1 + lam * cos2) ** zeta, rel=1e-12)
    assert np.all(sf.features[:, _cols(names, "Psi_AlAl_")] == 0.0)
    assert np.all(sf.features[:, _cols(names, "Psi_OO_")] == 0.0)
    # Radial: centre Al1 sees Al at 3.0 and O at 1.8; centre Al2 sees Al at 3.0 and O at sqrt(12.24).
    g_al = sf.features[:, _cols(names, "G_Al_")]
    g_o = sf.features[:, _cols(names, "G_O_")]
    assert g_al[0, list(RADIAL_MUS).index(3.0)] == pytest.approx(1.0)
    assert g_o[0, list(RADIAL_MUS).index(1.8)] == pytest.approx(1.0)
    r = math.sqrt(12.24)  # 3.4986 Å; μ = 3.4: (0.0986)²/0.04
    assert g_o[1, list(RADIAL_MUS).index(3.4)] == pytest.approx(math.exp(-((r - 3.4) ** 2) / 0.04), rel=1e-12)


def test_triangle_across_corner_equals_triangle_inside():
    # The same three-atom cluster, once in the middle of the box and once straddling the corner
    # where all three periodic boundaries meet, must give identical features.
    rel = np.array([[0.0, 0.0, 0.0], [1.7, 0.4, -0.3], [-0.5, 1.6, 0.9], [0.2, -2.1, 1.2]])
    types = np.array([1, 2, 2, 1])
    inside = structure_functions(rel + 15.0, BOX, types)
    corner = structure_functions(rel + [0.1, 29.95, 0.05], BOX, types)
    assert np.allclose(corner.features, inside.features, rtol=1e-12, atol=1e-300)
    assert np.any(inside.features[:, 2 * N_MU :] > 0)


def test_replicated_small_box_counts_images():
    # One Al in a 3 Å cube: its 6 nearest images sit at exactly 3 Å, the next 12 at 3·sqrt(2),
    # whose Gaussian at μ = 3.0 is exp(-(1.2426)²/0.04) ~ 1e-17. So G_Al(3.0) = 6 to 1e-12.
    sf = structure_functions(np.array([[1.0, 2.0, 0.5]]), [3.0, 3.0, 3.0], np.array([1]))
    g_al = sf.features[0, :N_MU]
    assert g_al[list(RADIAL_MUS).index(3.0)] == pytest.approx(6.0, abs=1e-12)
    assert np.all(sf.features[0, N_MU : 2 * N_MU] == 0.0)
    nl = periodic_neighbor_list(np.array([[1.0, 2.0, 0.5]]), [3.0, 3.0, 3.0], 3.0)
    assert nl.i.size == 6 and np.all(nl.j == 0) and np.allclose(nl.distances, 3.0)


def _brute_force(pos, box, types, rc_rad, rc_ang):
    """Reference implementation: explicit loops over atoms and periodic images."""
    n = len(pos)
    nimg = int(np.ceil(max(rc_rad, rc_ang) / box.min())) + 1
    shifts = np.array(list(itertools.product(range(-nimg, nimg + 1), repeat=3))) * box
    spec = {1: 0, 2: 1}
    pair_block = {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 2}
    rows = []
    for k in np.nonzero(types == 1)[0]:
        vecs, sp = [], []
        for j in range(n):
            for s in shifts:
                v = pos[j] + s - pos[k]
                d = np.linalg.norm(v)
                if 0 < d <= max(rc_rad, rc_ang):
                    vecs.append(v)
                    sp.append(spec[int(types[j])])
        vecs, sp = np.array(vecs), np.array(sp)
        dist = np.linalg.norm(vecs, axis=1)
        g = np.zeros((2, N_MU))
        for v_d, v_s in zip(dist, sp):
            if v_d <= rc_rad:
                g[v_s] += np.exp(-((v_d - RADIAL_MUS) ** 2) / RADIAL_L**2)
        psi = np.zeros((3, N_ANG))
        inner = np.nonzero(dist <= rc_ang)[0]
        for a, b in itertools.combinations(inner, 2):
            ssum = dist[a] ** 2 + dist[b] ** 2 + np.sum((vecs[a] - vecs[b]) ** 2)
            cos = np.dot(vecs[a], vecs[b]) / (dist[a] * dist[b])
            for f, (xi, lam, zeta) in enumerate(PARAMS):
                psi[pair_block[(sp[a], sp[b])], f] += np.exp(-ssum / xi**2) * (1 + lam * cos) ** zeta
        rows.append(np.concatenate([g.ravel(), psi.ravel()]))
    return np.array(rows)


def test_against_brute_force_in_small_periodic_box():
    # 40 atoms in a 9 Å cell: both cut-offs exceed half the box, so the replicated-cell path
    # and multiple images of the same neighbour are exercised.
    rng = np.random.default_rng(7)
    box = np.array([9.0, 10.0, 8.5])
    pos = rng.random((40, 3)) * box
    types = np.where(rng.random(40) < 0.4, 1, 2)
    rc_rad, rc_ang = 6.0, 4.5
    sf = structure_functions(pos, box, types, radial_cutoff=rc_rad, angular_cutoff=rc_ang)
    ref = _brute_force(pos, box, types, rc_rad, rc_ang)
    assert sf.features.shape == ref.shape
    assert np.allclose(sf.features, ref, rtol=1e-10, atol=1e-12)


def test_centers_subset_and_blocks():
    rng = np.random.default_rng(3)
    box = np.array([22.0, 22.0, 22.0])
    pos = rng.random((300, 3)) * box
    types = np.where(np.arange(300) < 120, 1, 2)
    full = structure_functions(pos, box, types)
    sub = structure_functions(pos, box, types, centers=[5, 17, 3])
    assert list(sub.centers) == [3, 5, 17]
    assert np.array_equal(sub.features, full.features[[3, 5, 17]])
    rad = structure_functions(pos, box, types, angular=False)
    ang = structure_functions(pos, box, types, radial=False)
    assert rad.names + ang.names == full.names
    assert np.array_equal(np.hstack([rad.features, ang.features]), full.features)
    assert ANGULAR_CUTOFF == 6.0
