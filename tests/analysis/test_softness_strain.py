"""Softness under strain: next-step AUC, the exact split of Δ⟨S⟩ by feature group, rank correlation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from aiida_aloxide.analysis.softness_strain import (
    by_class,
    feature_group,
    group_contributions,
    next_step_auc,
    spearman,
)


def _lattice(n: int = 6, a: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    g = np.arange(n) * a
    pos = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T + 0.3
    return pos, np.full(3, n * a)


def test_next_step_auc_known_answers():
    """A few atoms jump (non-affine) between steps: S = jump indicator gives AUC 1, −S gives 0, noise ≈ 0.5."""
    rng = np.random.default_rng(0)
    pos, box = _lattice()
    n = pos.shape[0]
    frames = [pos.copy()]
    movers = rng.choice(n, 20, replace=False)
    nxt = pos * 1.01  # affine part (box scaled the same), invisible to D²_min
    nxt[movers] += rng.normal(0, 0.4, (20, 3))
    frames.append(nxt)
    frames = np.stack(frames)
    boxes = np.stack([box, box * 1.01])
    centers = np.arange(n)
    s = np.zeros((2, n))
    s[0, movers] = 1.0
    res = next_step_auc(frames, boxes, centers, s, top_fraction=0.05)
    assert res["auc"].shape == (1,) and res["n_atoms"][0] == n
    # The top 5 % of D²_min are movers or their neighbours: S marks the movers, so the AUC is high, not perfect.
    assert res["auc"][0] > 0.85
    assert next_step_auc(frames, boxes, centers, -s, top_fraction=0.05)["auc"][0] < 0.15
    noise = rng.standard_normal((2, n))
    assert abs(next_step_auc(frames, boxes, centers, noise)["auc"][0] - 0.5) < 0.2
    ood = np.zeros((2, n), bool)
    ood[0, : n - 5] = True  # too few atoms left: the step is undefined
    assert np.isnan(next_step_auc(frames, boxes, centers, s, ood)["auc"][0])
    with pytest.raises(ValueError, match="top_fraction"):
        next_step_auc(frames, boxes, centers, s, top_fraction=1.0)


def test_group_contributions_add_up_exactly():
    names = ["G_Al_1", "G_Al_3.2", "G_O_1.8", "G_O_7", "Psi_AlO_xi1_l+1_z1", "voronoi_volume"]
    assert [feature_group(n) for n in names] == ["G_Al 0–2.5 Å", "G_Al 2.5–4 Å", "G_O 0–2.5 Å", "G_O > 6 Å",
                                                 "Ψ (angular)", "Voronoi volume"]  # fmt: skip
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal(6), 0.3
    z = rng.standard_normal((5, 6))
    mean_s = (z @ w + b) / np.linalg.norm(w)
    parts = group_contributions(names, w, z)
    np.testing.assert_allclose(sum(parts.values()), mean_s - mean_s[0], atol=1e-12)
    assert np.all(parts["G_Al 0–2.5 Å"] == (z[:, 0] - z[0, 0]) * w[0] / np.linalg.norm(w))
    with pytest.raises(ValueError):
        group_contributions(names[:3], w, z)


def test_spearman_and_by_class():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(200), rng.standard_normal(200)
    b[:50] = np.round(b[:50])  # ties
    assert spearman(a, a + 0.1 * b) == pytest.approx(spearmanr(a, a + 0.1 * b).statistic, abs=1e-12)
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    assert np.isnan(spearman([1.0, 2.0], [3.0, 4.0]))
    out = by_class(np.array([1.0, 2.0, 3.0, np.nan]), np.array([4, 4, 5, 5]), (4, 5, 6))
    assert out[4] == (1.5, 2) and out[5] == (3.0, 1) and np.isnan(out[6][0]) and out[6][1] == 0
