"""p_hop on synthetic trajectories with known answers, and rearrangement-event labelling."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.analysis.hop_events import label_events, rearranging_events
from aiida_aloxide.analysis.phop import phop, window_half_width

DT = 0.1  # ps between frames
T_R = 2.0  # ps -> h = t_R / 2 / dt = 10 frame intervals, 11 frames per window
H = 10


def _times(n_frames: int) -> np.ndarray:
    return DT * np.arange(n_frames)


def _reference_phop(traj: np.ndarray, h: int) -> np.ndarray:
    """Direct evaluation of the definition, window by window (no prefix sums)."""
    n_frames, n_atoms, _ = traj.shape
    out = np.full((n_frames, n_atoms), np.nan)
    r = traj.astype(np.float64)
    for t in range(h, n_frames - h):
        a = r[t - h : t + 1]  # window A = [t - t_R/2, t]
        b = r[t : t + h + 1]  # window B = [t, t + t_R/2]
        va = np.mean(np.sum((a - b.mean(axis=0)) ** 2, axis=2), axis=0)
        vb = np.mean(np.sum((b - a.mean(axis=0)) ** 2, axis=2), axis=0)
        out[t] = np.sqrt(va * vb)
    return out


def test_window_half_width():
    assert window_half_width(_times(100), T_R) == H
    assert window_half_width(_times(100), 6.0) == 30
    with pytest.raises(ValueError):
        window_half_width(np.array([0.0, 0.1, 0.3, 0.4]), 1.0)
    with pytest.raises(ValueError):
        window_half_width(_times(10), 0.05)


def test_step_hop_peak_is_analytic():
    # One atom jumps by d = 1.5 Å along x between frames t0-1 and t0 (noise free).
    # Windows hold n = h+1 frames. At t = t0:
    #   A = frames t0-h..t0: h frames at 0 and one at d -> <r>_A = d/(h+1)
    #   B = frames t0..t0+h: all at d                  -> <r>_B = d
    #   <(r - <r>_B)²>_A = h/(h+1) · d²
    #   <(r - <r>_A)²>_B = (d - d/(h+1))² = (h/(h+1))² d²
    #   p_hop = d² (h/(h+1))^(3/2)
    # and by symmetry the same value at t = t0-1 (A all at 0, B one frame at 0 and h at d).
    # For a continuous-time step at the window centre (h -> ∞) this tends to d².
    n_frames, t0, d = 101, 50, 1.5
    traj = np.zeros((n_frames, 2, 3))
    traj[t0:, 0, 0] = d
    traj[:, 1] = [3.0, 4.0, 5.0]  # a resting atom
    p = phop(traj, _times(n_frames), T_R)
    assert p.shape == (n_frames, 2)
    assert np.all(np.isnan(p[:H])) and np.all(np.isnan(p[n_frames - H :]))
    assert np.all(np.isfinite(p[H : n_frames - H]))
    peak = d**2 * (H / (H + 1)) ** 1.5  # 1.9710... Å² for d = 1.5, h = 10
    assert np.nanmax(p[:, 0]) == pytest.approx(peak, rel=1e-12)
    assert p[t0, 0] == pytest.approx(peak, rel=1e-12) and p[t0 - 1, 0] == pytest.approx(peak, rel=1e-12)
    assert int(np.nanargmax(p[:, 0])) in (t0 - 1, t0)  # the hop happens between these frames
    # Far from the hop both windows sit on one side: p_hop = 0.
    assert p[H, 0] == 0.0 and p[n_frames - H - 1, 0] == 0.0
    assert np.nanmax(p[:, 1]) == 0.0
    # Larger windows approach d².
    p_long = phop(traj, _times(n_frames), 8.0)  # h = 40
    assert np.nanmax(p_long[:, 0]) == pytest.approx(d**2 * (40 / 41) ** 1.5, rel=1e-12)


def test_caged_noise_small_and_noisy_hop_detected():
    rng = np.random.default_rng(1)
    n_frames, n_atoms, t0, d, sigma = 400, 50, 200, 2.0, 0.05
    base = rng.random((n_atoms, 3)) * 20.0
    traj = base[None] + sigma * rng.standard_normal((n_frames, n_atoms, 3))
    p_cage = phop(traj, _times(n_frames), T_R)
    # Pure thermal rattling: p_hop ~ 3σ²(1 + 1/n) ~ 0.008 Å², far below the 0.05 Å² threshold.
    valid = p_cage[np.isfinite(p_cage)]
    assert valid.max() < 0.05
    assert 0.5 * 3 * sigma**2 < np.median(valid) < 2 * 3 * sigma**2
    traj[t0:, 7, 1] += d
    p = phop(traj, _times(n_frames), T_R)
    assert np.nanargmax(p[:, 7]) in range(t0 - 2, t0 + 2)
    assert np.nanmax(p[:, 7]) == pytest.approx(d**2 * (H / (H + 1)) ** 1.5, rel=0.1)
    atom, frame = rearranging_events(p)
    assert list(atom) == [7] and abs(int(frame[0]) - t0) <= 2


def test_prefix_sums_match_definition_float32_unwrapped():
    # Random walk far from the origin (unwrapped coordinates ~1e3 Å) stored as float32:
    # the kernel must reproduce the direct window evaluation of the same float32 numbers.
    rng = np.random.default_rng(2)
    traj = (1000.0 + np.cumsum(0.05 * rng.standard_normal((120, 30, 3)), axis=0)).astype(np.float32)
    p = phop(traj, _times(120), T_R)
    ref = _reference_phop(traj, H)
    assert np.array_equal(np.isnan(p), np.isnan(ref))
    assert np.allclose(p, ref, rtol=1e-7, atol=1e-10, equal_nan=True)


def test_rearranging_events_one_per_excursion():
    nan = np.nan
    p = np.array(
        [
            # atom 0: one excursion with two local maxima -> one event at the larger (frame 4)
            # atom 1: two excursions split by a frame at 0.1 -> two events (frames 2 and 6)
            # atom 2: excursion whose maximum is the first valid frame -> not a confirmed peak
            # atom 3: nothing above 0.2
            [nan, nan, nan, nan],
            [0.01, 0.01, 0.50, 0.01],
            [0.30, 0.60, 0.40, 0.02],
            [0.22, 0.10, 0.30, 0.03],
            [0.35, 0.04, 0.10, 0.04],
            [0.10, 0.30, 0.01, 0.01],
            [0.02, 0.40, 0.01, 0.01],
            [0.01, 0.21, 0.01, 0.01],
            [nan, nan, nan, nan],
        ]
    )
    atom, frame = rearranging_events(p, 0.2)
    assert list(zip(atom.tolist(), frame.tolist())) == [(1, 2), (0, 4), (1, 6)]


def test_label_events_balanced_and_seeded():
    rng = np.random.default_rng(5)
    n_frames, n_atoms = 300, 40
    p = np.abs(0.02 * rng.standard_normal((n_frames, n_atoms)))
    p[:5] = np.nan
    p[-5:] = np.nan
    hops = [(3, 50), (3, 200), (10, 120), (25, 80), (31, 260)]
    for a, f in hops:
        p[f - 3 : f + 4, a] += np.array([0.1, 0.2, 0.3, 0.5, 0.3, 0.2, 0.1])
    ev = label_events(p, seed=11)
    rearr = ev.label == 1
    assert sorted(zip(ev.atom[rearr].tolist(), ev.frame[rearr].tolist())) == sorted(hops)
    assert np.count_nonzero(ev.label == 0) == len(hops)
    calm = ev.label == 0
    assert np.all(p[ev.frame[calm], ev.atom[calm]] < 0.05)
    assert ev.n_rearranging_total == len(hops)
    assert ev.n_non_rearranging_total == int(np.sum(p < 0.05))
    # Sorted by frame then atom, reproducible with the seed, different with another seed.
    assert np.all(np.diff(ev.frame * n_atoms + ev.atom) > 0)
    again = label_events(p, seed=11)
    assert np.array_equal(again.atom, ev.atom) and np.array_equal(again.frame, ev.frame)
    other = label_events(p, seed=12)
    assert not (np.array_equal(other.atom, ev.atom) and np.array_equal(other.frame, ev.frame))
    # Restricting to a subset of atoms (e.g. the Al atoms) restricts both classes.
    al = np.zeros(n_atoms, dtype=bool)
    al[:20] = True
    sub = label_events(p, atoms=al, seed=0)
    assert set(sub.atom.tolist()) <= set(range(20))
    assert np.count_nonzero(sub.label == 1) == 3 and np.count_nonzero(sub.label == 0) == 3


# ---------------------------------------------------------------------------------------------
# Labelling rules: hysteresis, merging, precursor frame, quiet window, reversible hops
# ---------------------------------------------------------------------------------------------


def test_hysteresis_and_min_gap_merge_one_noisy_hop():
    # One atom's p_hop crosses 0.2 twice with a dip to 0.15 between: two excursions without
    # hysteresis, one with a release threshold of 0.1, and one when a gap of 2 frames is allowed.
    p = np.full((30, 1), 0.01)
    p[10:14, 0] = [0.25, 0.3, 0.22, 0.21]
    p[14:16, 0] = 0.15
    p[16:19, 0] = [0.23, 0.4, 0.21]
    from aiida_aloxide.analysis.hop_events import find_excursions

    plain = find_excursions(p, 0.2)
    assert plain.size == 2 and list(plain.start) == [10, 16] and list(plain.peak) == [11, 17]
    hyst = find_excursions(p, 0.2, release_threshold=0.1)
    assert hyst.size == 1 and hyst.start[0] == 10 and hyst.peak[0] == 17 and hyst.end[0] == 18
    assert hyst.peak_phop[0] == pytest.approx(0.4)
    merged = find_excursions(p, 0.2, min_gap=2)
    assert merged.size == 1 and merged.start[0] == 10 and merged.end[0] == 18
    assert find_excursions(p, 0.2, min_gap=1).size == 2  # the dip lasts 2 frames
    with pytest.raises(ValueError, match="release"):
        find_excursions(p, 0.2, release_threshold=0.3)


def _hopping_trajectory():
    """Three atoms, 200 frames of dt = 0.1 ps, t_R = 2 ps (h = 10), noise free.

    Atom 0 hops +1.5 Å in x at frame 60 and stays (irreversible). Atom 1 hops +1.5 Å at frame 60
    and back at frame 120 (the second hop returns it to its first cage). Atom 2 never moves.
    """
    traj = np.zeros((200, 3, 3))
    traj[:, 1, 1] = 5.0
    traj[:, 2, 2] = 9.0
    traj[60:, 0, 0] = 1.5
    traj[60:120, 1, 0] = 1.5
    return traj


def test_precursor_frame_and_reversible_hops_known_answer():
    from aiida_aloxide.analysis.hop_events import find_excursions

    traj = _hopping_trajectory()
    p = phop(traj, _times(200), T_R)
    ex = find_excursions(p, 0.2, positions=traj, cage_frames=5, return_distance=0.3)
    # Atom 0: one excursion; atom 1: two. p_hop exceeds 0.2 Å² when the step is inside both
    # windows with enough weight: first frame above is before the hop frame, last one after it.
    assert list(ex.atom) == [0, 1, 1]
    assert all(s < 60 <= e for s, e in zip(ex.start[:2], ex.end[:2], strict=True))
    assert list(ex.peak[:2]) in ([59, 59], [60, 60], [59, 60], [60, 59])
    np.testing.assert_allclose(ex.hop_distance, 1.5, atol=1e-12)
    assert list(ex.reversible) == [False, False, True]
    # Precursor: lag of 10 frames before the first frame above threshold, i.e. before the hop.
    lab = label_events(p, rearranging_frame="precursor", precursor_lag=10, hops="all", positions=traj, seed=0)
    rows = lab.label == 1
    starts = dict(zip(zip(ex.atom, ex.peak, strict=True), ex.start, strict=True))
    assert sorted(lab.frame[rows]) == sorted(int(s) - 10 for s in starts.values())
    assert lab.n_excursions == 3 and lab.n_reversible == 1 and lab.n_rearranging_atoms_total == 2
    irr = label_events(p, hops="irreversible", positions=traj, seed=0)
    # Atom 1's first hop leads to a new cage; only its return is reversible.
    assert sorted(irr.atom[irr.label == 1]) == [0, 1] and irr.n_rearranging_total == 2
    capped = label_events(p, max_per_atom=1, seed=0)
    assert sorted(capped.atom[capped.label == 1]) == [0, 1] and capped.n_rearranging_total == 2
    with pytest.raises(ValueError, match="positions"):
        label_events(p, hops="irreversible")
    with pytest.raises(ValueError, match="rearranging_frame"):
        label_events(p, rearranging_frame="middle")
    with pytest.raises(ValueError, match="non_rearranging"):
        label_events(p, non_rearranging="calm")


def test_quiet_window_excludes_frames_near_a_hop():
    from aiida_aloxide.analysis.hop_events import quiet_mask

    traj = _hopping_trajectory()
    p = phop(traj, _times(200), T_R)
    loud = np.nonzero(~(p[:, 0] < 0.05))[0]
    loud = loud[(loud >= H) & (loud < 200 - H)]
    q = quiet_mask(p, 0.05, 15)
    # Atom 0: quiet only at frames whose ±15 window holds no loud (or undefined) frame.
    for f in range(200):
        window = range(f - 15, f + 16)
        expected = f - 15 >= 0 and f + 15 < 200 and all(p[g, 0] < 0.05 for g in window)
        assert q[f, 0] == expected
    assert not q[loud.min() - 15 : loud.max() + 16, 0].any()
    assert q[H + 15 : 200 - H - 15, 2].all()  # the resting atom is quiet wherever defined
    inst = label_events(p, non_rearranging="instantaneous", seed=3)
    quiet = label_events(p, non_rearranging="quiet", quiet_window=15, seed=3)
    calm_quiet = quiet.frame[quiet.label == 0], quiet.atom[quiet.label == 0]
    assert all(q[f, a] for f, a in zip(*calm_quiet, strict=True))
    assert quiet.n_non_rearranging_total < inst.n_non_rearranging_total
