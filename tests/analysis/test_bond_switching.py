"""Hand-built bond-switching cases (DC/IC/SC/UC), periodic images, species break-down, fracture plane."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.analysis.bond_switching import (
    DC,
    IC,
    SC,
    UC,
    bond_adjacency,
    bond_switching_trajectory,
    classify_bond_switching,
    fracture_plane,
    signed_distance_to_plane,
    switching_by_species,
    switching_fractions,
    switching_profile,
    switching_vs_fracture_plane,
)

BOX = np.array([20.0, 20.0, 20.0])


def _cluster(center: list[float], n_o: int) -> np.ndarray:
    """An Al at ``center`` with ``n_o`` O at 1.9 Å along ±x, ±y, ±z (in that order)."""
    dirs = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
    c = np.asarray(center, float)
    return np.vstack([c, c + 1.9 * dirs[:n_o]])


def _reference() -> tuple[np.ndarray, np.ndarray]:
    """Six Al (indices 0, 5, 10, ...) each with 4 O, clusters far apart; plus spare O atoms."""
    centres = [[5, 5, 5], [15, 5, 5], [5, 15, 5], [15, 15, 5], [0.5, 5, 15], [19.5, 15, 15]]
    blocks = [_cluster(c, 4) for c in centres]
    spare = np.array([[5, 5, 9.0], [15, 15, 9.0], [15, 5, 9.0], [0.5, 5, 18.5]])  # O far from any Al
    pos = np.vstack(blocks + [spare])
    types = np.full(len(pos), 2)
    types[np.arange(6) * 5] = 1
    return pos, types


def test_hand_built_classes_including_periodic_cases() -> None:
    ref, types = _reference()
    ref[21:25] = np.mod(ref[21:25], BOX)  # cluster 4 (Al at x=0.5) has its -x O wrapped to x=18.6
    cur = ref.copy()
    # Al 0 (atoms 0-4): untouched -> UC.
    # Al 5 (atoms 5-9): its +x O (6) pulled away -> CN 4 -> 3: DC.
    cur[6] += [1.5, 0, 0]
    # Al 10 (atoms 10-14): spare O 30 at (5,5,9) is irrelevant; bring a new O (31 at 15,15,9) to it? no:
    # give Al 10 a fifth O by moving spare O 30 next to it -> IC.
    cur[30] = cur[10] + [0, 0, 1.95]
    # Al 15 (atoms 15-19): swap its +x O (16) out and the spare O 32 in at another site -> SC.
    cur[16] += [2.0, 0, 0]
    cur[32] = cur[15] + [0, 0, 1.9]
    # Al 20 at x=0.5: swap across the periodic boundary: its -x O (22, stored at x=18.6) leaves
    # and spare O 33 (stored at x=0.5, z=18.5) enters from the -x side image at x=19.0 -> SC.
    cur[22] += [-2.0, 0, 0]
    cur[33] = [19.0, 5.0, 15.0]
    # Al 25 at x=19.5: the whole cluster drifts +1 Å in x and crosses the box (unwrapped x=20.5) -> UC.
    cur[25:30] += [1.0, 0, 0]
    al, o = types == 1, types == 2
    a0 = bond_adjacency(ref, BOX, al, o, 2.25)
    assert np.diff(a0.indptr).tolist() == [4, 4, 4, 4, 4, 4]
    expected = [UC, DC, IC, SC, SC, UC]
    assert classify_bond_switching(a0, bond_adjacency(cur, BOX, al, o, 2.25)).tolist() == expected
    # Same answer with wrapped current coordinates and with whole-box image jumps of single atoms.
    jumped = cur.copy()
    jumped[[0, 7, 26, 33]] += BOX * np.array([[1, 0, 0], [-1, 2, 0], [0, 0, -3], [1, 1, 1]])
    for variant in (np.mod(cur, BOX), jumped):
        assert classify_bond_switching(a0, bond_adjacency(variant, BOX, al, o, 2.25)).tolist() == expected


def test_same_count_different_identity_is_sc_not_uc() -> None:
    pos = np.vstack([_cluster([10, 10, 10], 4), [[10, 10, 14.0]]])
    types = np.array([1, 2, 2, 2, 2, 2])
    cur = pos.copy()
    cur[1] += [3.0, 0, 0]  # leaves
    cur[5] = [10, 10, 11.9]  # enters: CN stays 4
    codes, cn = bond_switching_trajectory(np.stack([pos, cur]), BOX, types, cutoff=2.25)
    assert cn.tolist() == [[4], [4]]
    assert codes.tolist() == [[UC], [SC]]


def test_fractions_and_species_breakdown() -> None:
    codes = np.array([[UC, UC, UC, UC], [DC, SC, UC, IC], [DC, DC, IC, SC]], dtype=np.int8)
    cn_ref = np.array([5, 6, 4, 5])
    fr = switching_fractions(codes)
    np.testing.assert_allclose(fr["DC"], [0, 0.25, 0.5])
    np.testing.assert_allclose(fr["UC"], [1, 0.25, 0])
    np.testing.assert_allclose(fr["SC"] + fr["DC"] + fr["IC"] + fr["UC"], 1.0)
    tot = switching_by_species(codes, cn_ref, normalize="total")
    np.testing.assert_allclose(tot["Al5"]["DC"], [0, 0.25, 0.25])
    np.testing.assert_allclose(tot["Al6"]["DC"], [0, 0, 0.25])
    np.testing.assert_allclose(tot["Al4"]["IC"], [0, 0, 0.25])
    # Species add up to the overall fraction.
    np.testing.assert_allclose(sum(tot[k]["DC"] for k in ("Al4", "Al5", "Al6")), fr["DC"])
    per = switching_by_species(codes, cn_ref, normalize="species")
    np.testing.assert_allclose(per["Al5"]["DC"], [0, 0.5, 0.5])
    np.testing.assert_allclose(per["Al5"]["IC"], [0, 0.5, 0])
    with pytest.raises(ValueError):
        switching_by_species(codes, cn_ref, normalize="bogus")


def _slab_with_gap(gap_lo: float, gap_hi: float, length: float = 60.0) -> np.ndarray:
    rng = np.random.default_rng(3)
    x = rng.random(20000) * length
    keep = np.mod(x - gap_lo, length) >= np.mod(gap_hi - gap_lo, length)
    pts = rng.random((int(keep.sum()), 3)) * [length, 15, 15]
    pts[:, 0] = x[keep]
    return pts


@pytest.mark.parametrize(("lo", "hi", "centre"), [(30.0, 36.0, 33.0), (57.0, 3.0, 0.0), (10.0, 11.0, 10.5)])
def test_fracture_plane_is_centre_of_gap(lo: float, hi: float, centre: float) -> None:
    box = np.array([60.0, 15.0, 15.0])
    pts = _slab_with_gap(lo, hi) + box * np.array([2, -1, 0])  # unwrapped images are fine
    plane = fracture_plane(pts, box)
    d = (plane - centre + 30.0) % 60.0 - 30.0
    assert abs(d) < 0.75


def test_signed_distance_and_profile() -> None:
    box = np.array([60.0, 15.0, 15.0])
    pos = np.array([[31.0, 0, 0], [29.0, 1, 1], [1.0, 2, 2], [58.0, 3, 3], [90.0, 0, 0]])
    d = signed_distance_to_plane(pos, box, 30.0)
    np.testing.assert_allclose(d, [1.0, -1.0, -29.0, 28.0, 0.0])
    codes = np.array([DC, DC, UC, SC, IC])
    edges, counts, frac = switching_profile(d, codes, bins=[-30, -10, 0, 10, 30])
    assert counts[DC].tolist() == [0, 1, 1, 0]
    assert counts[UC].tolist() == [1, 0, 0, 0]
    assert counts[SC].tolist() == [0, 0, 0, 1]
    assert counts[IC].tolist() == [0, 0, 1, 0]
    np.testing.assert_allclose(frac[DC], [0, 1, 0.5, 0])
    _, counts_abs, _ = switching_profile(d, codes, bins=[0, 5, 30], absolute=True)
    assert counts_abs.sum(axis=0).tolist() == [3, 2]


def test_switching_vs_fracture_plane_end_to_end() -> None:
    # O-free slab with a vacuum gap at x in [40, 50) of a 60 Å box; Al near the gap are DC.
    box = np.array([60.0, 15.0, 15.0])
    pos = _slab_with_gap(40.0, 50.0)
    al = np.zeros(len(pos), bool)
    al[::5] = True
    d_true = signed_distance_to_plane(pos[al], box, 45.0)
    codes = np.where(np.abs(d_true) < 7.0, DC, UC)
    plane, edges, counts, frac = switching_vs_fracture_plane(pos, box, al, codes, bins=[0, 10, 20, 30], absolute=True)
    assert abs(plane - 45.0) < 0.75
    assert counts[DC, 0] == np.count_nonzero(np.abs(d_true) < 7.0)
    assert counts[DC, 1:].sum() == 0 and np.all(frac[UC, 1:] == 1.0)
