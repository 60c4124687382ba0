"""Known-answer tests of Falk–Langer D²_min and the cumulative non-affine displacement D."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.analysis.nonaffine import cumulative_d_by_frame, cumulative_nonaffine, d2min, d2min_steps

from .crystals import fcc, simple_cubic


def _random_config(n: int, box: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 3)) * box


def test_general_affine_map_of_isolated_cluster_gives_zero() -> None:
    # Atoms far from the box faces so no pair crosses a boundary; any J (shear, rotation,
    # stretch) plus a translation must be recovered exactly.
    rng = np.random.default_rng(1)
    box = np.array([60.0, 60.0, 60.0])
    ref = 20.0 + rng.random((600, 3)) * 16.0
    jac = np.eye(3) + 0.15 * rng.standard_normal((3, 3))
    cur = ref @ jac.T + [0.3, -1.2, 2.0]
    d2, jfit = d2min(ref, cur, box, box, return_affine=True)
    assert np.nanmax(d2) <= 1e-6
    ok = np.isfinite(d2)
    assert ok.mean() > 0.99
    np.testing.assert_allclose(jfit[ok], np.broadcast_to(jac, jfit[ok].shape), atol=1e-8)


@pytest.mark.parametrize("wrapped_current", [False, True])
def test_periodic_strain_with_box_change_and_crossing_atoms(wrapped_current: bool) -> None:
    box0 = np.array([16.0, 15.0, 14.0])
    ref = _random_config(700, box0, 2) + np.random.default_rng(5).integers(-2, 3, (700, 3)) * box0
    strain = np.array([1.01, 0.997, 0.995])
    cur = ref * strain + [7.9, -3.1, 0.4]  # translation moves many atoms across the box
    box1 = box0 * strain
    if wrapped_current:
        cur = np.mod(cur, box1)
    d2 = d2min(ref, cur, box0, box1, unwrapped=not wrapped_current)
    assert np.all(np.isfinite(d2))
    assert d2.max() <= 1e-6


def test_single_displaced_atom_in_simple_cubic_lattice() -> None:
    # Simple cubic, a = 2.5 Å, cut-off 4 Å: 6 neighbours at a and 12 at sqrt(2) a (sqrt(3) a = 4.33 Å
    # is outside). Y = Σ d0 d0ᵀ: per axis 2a² from the first shell and 8a² from the second
    # (8 of its 12 vectors have ±a along a given axis), off-diagonals cancel: Y = 10a² I.
    # Displace atom 0 by u.
    # * Centre 0: d_j = d0_j - u. With J = I + A, Σ|A d0_j + u|² = Σ|A d0_j|² + 2uᵀA Σd0_j + 18|u|²
    #   and Σ d0_j = 0 (symmetric shells), so A = 0 and D²_min = 18 |u|².
    # * A neighbour k of atom 0: only d_0 changes, by +u. min_A Σ_j |A d0_j - δ_j0 u|² is a linear
    #   least-squares fit per Cartesian row; its residual is |u|² (1 - h) with leverage
    #   h = d0_0ᵀ Y⁻¹ d0_0 = |d0_0|² / (10 a²): 1/10 for first, 2/10 for second neighbours.
    #   So D²_min = 0.9 |u|² (first shell) and 0.8 |u|² (second shell); all others 0.
    a = 2.5
    ref, box = simple_cubic(6, a)
    u = np.array([0.11, -0.07, 0.05])
    cur = ref.copy()
    cur[0] += u
    d2 = d2min(ref, cur, box, box)
    u2 = u @ u
    dist = np.linalg.norm((ref - ref[0] + box / 2) % box - box / 2, axis=1)
    assert d2[0] == pytest.approx(18 * u2, rel=1e-10)
    np.testing.assert_allclose(d2[np.isclose(dist, a)], 0.9 * u2, rtol=1e-10)
    np.testing.assert_allclose(d2[np.isclose(dist, np.sqrt(2) * a)], 0.8 * u2, rtol=1e-10)
    assert np.isclose(dist, a).sum() == 6 and np.isclose(dist, np.sqrt(2) * a).sum() == 12
    assert np.all(d2[dist > 4.0] < 1e-20)
    # Per-neighbour normalisation divides by the 18 neighbours.
    d2n = d2min(ref, cur, box, box, per_neighbor=True)
    assert d2n[0] == pytest.approx(u2, rel=1e-10)


def test_displaced_atom_in_fcc_matches_leverage_formula() -> None:
    # fcc, a = 3.6 Å: 12 neighbours at a/sqrt2 = 2.55 Å and 6 at a = 3.6 Å within 4 Å.
    # Y per axis: 12 first neighbours contribute 8·(a/2)² = 2a², 6 second ones 2a², Y = 4a² I.
    # Centre displaced by u: 18|u|². Neighbour at distance r: |u|²(1 - r²/(4a²)).
    a = 3.6
    ref, box = fcc(3, a)
    u = np.array([0.0, 0.2, 0.0])
    cur = ref.copy()
    cur[0] += u
    d2 = d2min(ref, cur, box, box)
    dist = np.linalg.norm((ref - ref[0] + box / 2) % box - box / 2, axis=1)
    assert d2[0] == pytest.approx(18 * 0.04)
    first = np.isclose(dist, a / np.sqrt(2))
    np.testing.assert_allclose(d2[first], 0.04 * (1 - 0.5 * a**2 / (4 * a**2)), rtol=1e-10)
    np.testing.assert_allclose(d2[np.isclose(dist, a)], 0.04 * (1 - 1 / 4), rtol=1e-10)


def test_matches_brute_force_least_squares_with_centre_selection() -> None:
    rng = np.random.default_rng(7)
    box0 = np.array([14.0, 13.0, 15.0])
    box1 = box0 * [1.02, 0.99, 1.0]
    ref = rng.random((500, 3)) * box0
    cur = ref * (box1 / box0) + rng.normal(0, 0.08, ref.shape)
    centres = np.arange(0, 500, 7)
    d2 = d2min(ref, cur, box0, box1, centers=centres, cutoff=4.0)
    for k, i in enumerate(centres[:25]):  # independent per-atom reference implementation
        d0 = ref - ref[i]
        img = np.round(d0 / box0)
        d0 -= img * box0
        nb = (np.linalg.norm(d0, axis=1) <= 4.0) & (np.arange(500) != i)
        d1 = cur[nb] - cur[i] - img[nb] * box1
        sol, *_ = np.linalg.lstsq(d0[nb], d1, rcond=None)  # d0 @ Jᵀ ≈ d1
        assert d2[k] == pytest.approx(np.sum((d1 - d0[nb] @ sol) ** 2), rel=1e-8)


def test_degenerate_neighbourhoods() -> None:
    box = np.array([30.0, 30.0, 30.0])
    # Atom 0 with two neighbours; atoms 3-7 a planar square + centre (coplanar neighbourhood).
    ref = np.array(
        [
            [5, 5, 5],
            [6.5, 5, 5],
            [5, 6.5, 5],
            [20, 20, 20],
            [21.5, 20, 20],
            [18.5, 20, 20],
            [20, 21.5, 20],
            [20, 18.5, 20],
        ],
        dtype=float,
    )
    cur = ref + np.random.default_rng(0).normal(0, 0.05, ref.shape) * [1, 1, 0]
    d2 = d2min(ref, cur, box, box)
    assert np.all(np.isnan(d2))  # every atom here has a degenerate (planar) neighbourhood
    d2p = d2min(ref, cur, box, box, degenerate="pinv")
    assert np.all(np.isfinite(d2p))
    assert d2p[0] == pytest.approx(0.0, abs=1e-20)  # two vectors are always mapped exactly
    assert d2p[3] > 1e-6  # in-plane non-affine motion of the square is still measured


def test_cumulative_d_sums_square_roots_of_steps() -> None:
    a = 2.5
    f0, box0 = simple_cubic(6, a)
    u = np.array([0.1, 0.0, 0.0])
    f1 = f0.copy()
    f1[0] += u
    box2 = box0 * [1.01, 1.0, 1.0]
    f2 = f1 * [1.01, 1.0, 1.0]  # purely affine step: adds nothing
    d_cum, steps = cumulative_nonaffine(np.stack([f0, f1, f2]), np.stack([box0, box0, box2]))
    assert steps.shape == (2, len(f0))
    assert steps[1].max() < 1e-12
    assert d_cum[0] == pytest.approx(np.sqrt(18 * 0.01), rel=1e-5)
    np.testing.assert_allclose(d2min_steps(np.stack([f0, f1]), box0)[0], steps[0])


def test_cumulative_d_by_frame_known_steps() -> None:
    """D per frame: 0 at frame 0, running sums of sqrt(ΔD²_min), last row = cumulative D, nan stays nan."""
    steps = np.array([[4.0, 1.0, np.nan], [9.0, 0.0, 1.0], [-1e-15, 16.0, 1.0]])
    d = cumulative_d_by_frame(steps)
    np.testing.assert_allclose(d[:, 0], [0.0, 2.0, 5.0, 5.0])
    np.testing.assert_allclose(d[:, 1], [0.0, 1.0, 1.0, 5.0])
    assert d[0, 2] == 0.0 and np.isnan(d[1:, 2]).all()
    f0, box0 = simple_cubic(5, 2.5)
    f1 = f0.copy()
    f1[3] += [0.05, 0.1, 0.0]
    f2 = f1.copy()
    f2[7] -= [0.0, 0.1, 0.05]
    d_cum, per_step = cumulative_nonaffine(np.stack([f0, f1, f2]), np.stack([box0] * 3))
    np.testing.assert_allclose(cumulative_d_by_frame(per_step)[-1], d_cum)
    with pytest.raises(ValueError, match="steps"):
        cumulative_d_by_frame(np.zeros(3))
