"""Chunks of a recorded run → one continuous unwrapped trajectory (pure numpy).

A long MD run is recorded in chunks; chunk k > 0 restarts from chunk k−1's final *wrapped*
configuration, so its first frame repeats chunk k−1's last one, shifted by whole box vectors. The
repeated frame is dropped after shifting chunk k's unwrapped positions by the whole box vectors that
make the two coincide, so the unwrapped coordinates stay continuous across chunks. Times run from 0
at the first recorded frame, each chunk starting at the sum of the durations before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["MergedChunks", "merge_chunks"]


@dataclass(frozen=True)
class MergedChunks:
    """The merged positions (F, N, 3) float64, box lengths (F, 3), times (F,), and what the merge measured."""

    positions: NDArray[np.float64]
    lengths: NDArray[np.float64]
    times: NDArray[np.float64]
    max_boundary_mismatch: float
    chunk_bytes: int


def merge_chunks(
    chunks: Iterable[tuple[NDArray, ArrayLike, ArrayLike]], frame_counts: Sequence[int], durations: Sequence[float]
) -> MergedChunks:
    """Merge chunks given as (positions (F_k, N, 3), box lengths (F_k, 3), times (F_k,)), read one at a time.

    ``frame_counts`` (the F_k) size the result before the first chunk is read, so the peak memory is the
    result plus one chunk when ``chunks`` is a generator; ``durations`` (one per chunk) place each chunk
    in time. ``max_boundary_mismatch`` is the largest distance (Å, per coordinate) left between a
    repeated frame and the frame it repeats; ``chunk_bytes`` the summed size of the chunks' positions.
    """
    if len(frame_counts) != len(durations):
        raise ValueError(f"{len(frame_counts)} chunks but {len(durations)} durations")
    pos: NDArray[np.float64] | None = None
    lengths, times = [], []
    row, offset_t, last, mismatch, chunk_bytes = 0, 0.0, None, 0.0, 0
    for c, (chunk, box, t) in enumerate(chunks):
        if pos is None:
            pos = np.empty((sum(frame_counts) - (len(frame_counts) - 1), *chunk.shape[1:]), dtype=np.float64)
        chunk_bytes += int(chunk.nbytes)
        box = np.asarray(box, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        t = t - t[0]
        start, shift = 0, 0.0
        if last is not None:
            # Whole-box shift that maps the repeated frame onto the previous chunk's last frame.
            shift = np.round((last - chunk[0]) / box[0]) * box[0]
            mismatch = max(mismatch, float(np.abs(chunk[0] + shift - last).max()))
            start = 1
        n = chunk.shape[0] - start
        np.add(chunk[start:], shift, out=pos[row : row + n])
        lengths.append(box[start:])
        times.append(t[start:] + offset_t)
        offset_t += float(durations[c])
        if n:
            last = pos[row + n - 1].copy()
        row += n
    if pos is None:
        raise ValueError("no chunks to merge")
    return MergedChunks(pos, np.concatenate(lengths), np.concatenate(times), mismatch, chunk_bytes)
