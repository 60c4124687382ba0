"""High-softness clusters on hand-built point sets and the P_R(S) exponential fit."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.analysis.clusters import (
    find_clusters,
    fit_exponential,
    rearrangement_probability,
    top_fraction_mask,
)

BOX = np.array([20.0, 20.0, 20.0])


def test_top_fraction_mask():
    rng = np.random.default_rng(0)
    values = rng.permutation(100).astype(float)
    mask = top_fraction_mask(values, 0.1)
    assert mask.sum() == 10
    assert set(values[mask]) == set(range(90, 100))
    # nan is never selected; ties broken by index so the count is exact.
    v = np.array([1.0, np.nan, 5.0, 5.0, 5.0, 0.0])
    m = top_fraction_mask(v, 0.34)  # round(2.04) = 2
    assert m.tolist() == [False, False, True, True, False, False]
    assert top_fraction_mask(v, 1.0).sum() == 5
    assert not top_fraction_mask(v, 0.0).any()
    with pytest.raises(ValueError):
        top_fraction_mask(v, 1.5)


def test_clusters_hand_built():
    pos = np.array(
        [
            [5.0, 5.0, 5.0],  # 0 ┐ chain: 0-1 = 3.0, 1-2 = 3.0 (0-2 = 6.0, linked through 1)
            [8.0, 5.0, 5.0],  # 1 │
            [11.0, 5.0, 5.0],  # 2 ┘
            [11.0, 8.8, 5.0],  # 3 3.8 Å from atom 2: beyond 3.7 Å, alone
            [5.0, 12.0, 12.0],  # 4 ┐ pair at 3.69 Å
            [5.0, 12.0, 15.69],  # 5 ┘
            [15.0, 15.0, 15.0],  # 6 unselected bridge between 7 and 8
            [12.0, 15.0, 15.0],  # 7 3 Å from 6, 6 Å from 8
            [18.0, 15.0, 15.0],  # 8
        ]
    )
    mask = np.ones(len(pos), dtype=bool)
    mask[6] = False
    res = find_clusters(pos, BOX, mask, cutoff=3.7)
    assert res.n_clusters == 5
    assert res.sizes.tolist() == [3, 2, 1, 1, 1]
    assert res.largest == 3
    lab = res.labels
    assert lab[0] == lab[1] == lab[2] == 0
    assert lab[4] == lab[5] == 1
    assert len({lab[3], lab[7], lab[8]}) == 3 and lab[6] == -1
    # Selecting the bridge atom 6 joins 7-6-8 into a second cluster of 3: sizes 3, 3, 2, 1.
    res2 = find_clusters(pos, BOX, np.ones(len(pos), dtype=bool), cutoff=3.7)
    assert res2.sizes.tolist() == [3, 3, 2, 1]
    assert res2.labels[6] == res2.labels[7] == res2.labels[8] == 1  # tie broken by lowest index
    # A larger cut-off links atom 3 to the chain.
    assert find_clusters(pos, BOX, mask, cutoff=3.9).sizes.tolist() == [4, 2, 1, 1]


def test_cluster_wrapping_around_the_box():
    # 17.0 -> 19.0 (2.0 Å) -> 0.5 (1.5 Å across x = 0) -> 3.5 (3.0 Å): one cluster of 4 across
    # the boundary; the same chain shifted into the middle of the box gives the same answer.
    x = np.array([17.0, 19.0, 0.5, 3.5])
    pos = np.column_stack([x, np.full(4, 10.0), np.full(4, 10.0)])
    pos = np.vstack([pos, [[10.0, 10.0, 10.0]]])  # isolated atom
    mask = np.ones(5, dtype=bool)
    res = find_clusters(pos, BOX, mask, cutoff=3.7)
    assert res.sizes.tolist() == [4, 1] and res.n_clusters == 2
    assert len(set(res.labels[:4].tolist())) == 1
    # Unwrapped coordinates (another image of atom 2 and 3) must not change anything.
    unwrapped = pos.copy()
    unwrapped[2:4, 0] += 20.0
    assert find_clusters(unwrapped, BOX, mask, cutoff=3.7).sizes.tolist() == [4, 1]
    # Without periodic wrap-around (a box large enough to separate them) it splits in two.
    big = np.array([40.0, 20.0, 20.0])
    assert find_clusters(pos, big, mask, cutoff=3.7).sizes.tolist() == [2, 2, 1]


def test_clusters_small_box_and_empty():
    # Box smaller than twice the cut-off: replicated internally; a lone atom touches its own
    # images but is still a single cluster of size 1.
    pos = np.array([[1.0, 1.0, 1.0], [2.0, 4.0, 4.0]])
    res = find_clusters(pos, [3.5, 6.0, 6.0], np.array([True, True]), cutoff=3.7)
    # Atoms: separation (1, 3, 3) -> minimum image (1, 3, 3), |.| = 4.36 > 3.7: two clusters.
    assert res.sizes.tolist() == [1, 1]
    none = find_clusters(pos, BOX, np.zeros(2, dtype=bool), cutoff=3.7)
    assert none.n_clusters == 0 and none.largest == 0 and np.all(none.labels == -1)


def test_exponential_fit_exact_and_planted():
    s = np.linspace(-2, 2, 9)
    p = np.exp(1.7 * s - 3.0)
    fit = fit_exponential(s, p, np.ones_like(s))
    assert fit.a == pytest.approx(1.7, rel=1e-12) and fit.b == pytest.approx(-3.0, rel=1e-12)
    assert fit.r2 == pytest.approx(1.0)
    # Planted P_R(S) = 0.05 exp(1.3 S) on 200,000 atoms.
    rng = np.random.default_rng(42)
    soft = rng.uniform(-2.0, 2.0, 200_000)
    decreased = rng.random(soft.size) < 0.05 * np.exp(1.3 * soft)
    pr = rearrangement_probability(soft, decreased, bins=12)
    assert pr.counts.sum() == soft.size and pr.n_decreased.sum() == decreased.sum()
    assert pr.fit.a == pytest.approx(1.3, abs=0.05)
    assert pr.fit.b == pytest.approx(np.log(0.05), abs=0.08)
    assert pr.fit.r2 > 0.99
    # Per bin: binomial scatter, within 4 standard deviations of the planted curve.
    expected = 0.05 * np.exp(1.3 * pr.centers)
    sd = np.sqrt(expected * (1 - expected) / pr.counts)
    assert np.all(np.abs(pr.probability - expected) < 4 * sd + 0.01 * expected)
    # Explicit edges; atoms outside are ignored; empty bins give nan.
    pr2 = rearrangement_probability(soft, decreased, bins=[-2.0, 0.0, 2.0, 3.0])
    assert pr2.counts.tolist()[:2] == [np.sum(soft < 0), np.sum(soft >= 0)]
    assert np.isnan(pr2.probability[2])


def test_fit_needs_two_points():
    fit = fit_exponential([0.0, 1.0], [0.0, 0.5], [1.0, 1.0])
    assert np.isnan(fit.a) and np.isnan(fit.r2)
