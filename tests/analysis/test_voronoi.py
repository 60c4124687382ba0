"""Voronoi volumes: lattices with known cells, conservation of the box volume, two methods agree."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.analysis.voronoi import periodic_images, voronoi_volumes

from .crystals import corundum_orthorhombic, fcc, simple_cubic


@pytest.mark.parametrize("method", ["clip", "qhull"])
def test_simple_cubic_cells_are_a_cubed(method: str) -> None:
    pos, box = simple_cubic(6, 2.3)
    v = voronoi_volumes(pos - 1.0, box, method=method)  # shifted: atoms on both sides of the faces
    np.testing.assert_allclose(v, 2.3**3, rtol=1e-10)


@pytest.mark.parametrize("method", ["clip", "qhull"])
def test_fcc_cells_are_quarter_cube(method: str) -> None:
    pos, box = fcc(3, 3.6)
    np.testing.assert_allclose(voronoi_volumes(pos, box, method=method), 3.6**3 / 4, rtol=1e-10)


def test_random_points_sum_to_box_volume_and_methods_agree() -> None:
    rng = np.random.default_rng(11)
    box = np.array([21.0, 17.0, 19.0])
    pos = rng.random((1500, 3)) * box + rng.integers(-3, 4, (1500, 3)) * box  # unwrapped images
    v_clip = voronoi_volumes(pos, box)
    v_qhull = voronoi_volumes(pos, box, method="qhull")
    assert v_clip.sum() == pytest.approx(np.prod(box), rel=1e-10)
    assert v_qhull.sum() == pytest.approx(np.prod(box), rel=1e-10)
    assert np.all(v_clip > 0)
    np.testing.assert_allclose(v_clip, v_qhull, rtol=1e-8)


def test_corundum_volumes_sum_and_symmetry() -> None:
    pos, types, box = corundum_orthorhombic((2, 1, 1))
    v = voronoi_volumes(pos, box)
    assert v.sum() == pytest.approx(np.prod(box), rel=1e-10)
    # All Al sites are symmetry-equivalent, and so are all O sites.
    assert np.ptp(v[types == 1]) < 1e-8 and np.ptp(v[types == 2]) < 1e-8


def test_tiny_box_falls_back_and_still_sums() -> None:
    rng = np.random.default_rng(0)
    box = np.array([5.0, 6.0, 7.0])
    pos = rng.random((12, 3)) * box
    v = voronoi_volumes(pos, box)
    assert v.sum() == pytest.approx(210.0, rel=1e-10)


def test_periodic_images_keeps_originals_first() -> None:
    pos = np.array([[0.5, 0.5, 0.5], [9.5, 5.0, 5.0]])
    pts, src = periodic_images(pos, [10.0, 10.0, 10.0], 1.0)
    np.testing.assert_allclose(pts[:2], pos)
    assert src[:2].tolist() == [0, 1]
    # Atom 0 near a corner has 7 ghosts within 1 Å of the box, atom 1 near one face has 1.
    assert np.bincount(src).tolist() == [8, 2]
