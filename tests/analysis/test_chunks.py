"""Merging recorded chunks into one continuous unwrapped trajectory: known answers, one chunk read at a time."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.analysis.chunks import merge_chunks

BOX = np.array([10.0, 10.0, 10.0])


def _chunks():
    """Two chunks; the second restarts from the *wrapped* last frame of the first (atom 1 crossed x = 10 Å)."""
    first = np.array([[[1.0, 1.0, 1.0], [9.0, 5.0, 5.0]], [[1.1, 1.0, 1.0], [9.9, 5.0, 5.0]],
                      [[1.2, 1.0, 1.0], [10.4, 5.0, 5.0]]])  # fmt: skip
    wrapped = np.mod(first[-1], BOX)
    second = np.stack([wrapped, wrapped + 0.1])
    return [
        (first, np.tile(BOX, (3, 1)), 7.0 + np.arange(3) * 0.5),
        (second, np.tile(BOX, (2, 1)), np.array([3.0, 3.5])),
    ]


def test_boundary_frame_dropped_and_positions_continuous():
    read = []

    def lazily():
        """The chunks one at a time, noting each one read."""
        for chunk in _chunks():
            read.append(len(read))
            yield chunk

    merged = merge_chunks(lazily(), [3, 2], [1.0, 0.5])
    assert read == [0, 1]
    np.testing.assert_allclose(merged.times, [0.0, 0.5, 1.0, 1.5])  # each chunk starts at the sum of those before
    np.testing.assert_allclose(merged.positions[:, 1, 0], [9.0, 9.9, 10.4, 10.5], atol=1e-12)
    np.testing.assert_allclose(merged.positions[:, 0, 0], [1.0, 1.1, 1.2, 1.3], atol=1e-12)
    np.testing.assert_array_equal(merged.lengths, np.tile(BOX, (4, 1)))
    assert merged.positions.dtype == np.float64 and merged.max_boundary_mismatch < 1e-12
    assert merged.chunk_bytes == (3 + 2) * 2 * 3 * 8


def test_mismatch_measured_and_bad_input():
    first, second = _chunks()
    moved = (second[0] + np.array([0.0, 0.25, 0.0]), second[1], second[2])  # not a whole box vector
    assert merge_chunks([first, moved], [3, 2], [1.0, 0.5]).max_boundary_mismatch == pytest.approx(0.25)
    single = merge_chunks([first], [3], [1.0])
    np.testing.assert_array_equal(single.positions, first[0])
    with pytest.raises(ValueError, match="2 chunks but 1 durations"):
        merge_chunks([first, second], [3, 2], [1.0])
    with pytest.raises(ValueError, match="no chunks"):
        merge_chunks([], [], [])
