"""Stress–strain curve summaries: peak, fracture strain, toughness, plastic energy (SPEC §3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..values import finite_values

__all__ = ["TensileSummary", "fracture_index", "summarize_curve"]


def fracture_index(stress: ArrayLike, stop_fraction: float = 0.1, consecutive: int = 3) -> int | None:
    """Index of the first of ``consecutive`` points after the peak with σ < stop_fraction · σ_peak, or None.

    This is the "fully fractured" criterion of the plane-strain loading: the load has
    dropped to a small fraction of the peak and stays there.
    """
    s = np.asarray(stress, dtype=np.float64)
    if s.size == 0 or consecutive < 1:
        return None
    peak = int(np.argmax(s))
    if s[peak] <= 0:
        return None
    below = s[peak + 1 :] < stop_fraction * s[peak]
    if below.size < consecutive:
        return None
    # Windows of `consecutive` trues: running sum over a sliding window.
    window = np.convolve(below.astype(np.int64), np.ones(consecutive, dtype=np.int64), mode="valid")
    hits = np.nonzero(window == consecutive)[0]
    return None if hits.size == 0 else int(peak + 1 + hits[0])


@dataclass(frozen=True)
class TensileSummary:
    """Scalars of a stress–strain curve (GPa; energies per volume in GJ/m³ = GPa)."""

    peak_stress: float
    strain_at_peak: float
    fracture_strain: float | None
    fractured: bool
    youngs_modulus: float
    toughness: float
    elastic_energy_at_peak: float
    plastic_energy: float
    max_strain: float

    def as_dict(self) -> dict:
        """Plain dictionary (for a Dict node); NaN becomes None, which databases can store."""
        return finite_values(asdict(self))


def summarize_curve(
    strain: ArrayLike,
    stress: ArrayLike,
    stop_fraction: float = 0.1,
    consecutive: int = 3,
    elastic_strain: float = 0.02,
) -> TensileSummary:
    """Peak, fracture strain, toughness ∫σ dε (to fracture or the end), Young's modulus and plastic energy.

    Young's modulus is the least-squares slope through the origin-shifted points with
    ε ≤ ``elastic_strain``; plastic energy = toughness − σ_peak² / (2E), the work not stored
    elastically at the peak (zero for a perfectly brittle, linear-elastic curve).
    """
    e = np.asarray(strain, dtype=np.float64)
    s = np.asarray(stress, dtype=np.float64)
    if e.shape != s.shape or e.size < 2:
        raise ValueError("strain and stress must be 1-D arrays of equal length >= 2")
    order = np.argsort(e, kind="stable")
    e, s = e[order], s[order]
    peak = int(np.argmax(s))
    idx = fracture_index(s, stop_fraction, consecutive)
    end = e.size if idx is None else idx + 1
    toughness = float(np.trapezoid(np.clip(s[:end], 0.0, None), e[:end]))
    # At least the first two points, so a coarse strain step still gives a modulus.
    small = e - e[0] <= max(elastic_strain, e[1] - e[0]) + 1e-12
    de, ds = e[small] - e[0], s[small] - s[0]
    modulus = float((de @ ds) / (de @ de)) if small.sum() >= 2 and (de @ de) > 0 else float("nan")
    elastic = float(s[peak] ** 2 / (2 * modulus)) if modulus > 0 else float("nan")
    return TensileSummary(
        peak_stress=float(s[peak]),
        strain_at_peak=float(e[peak]),
        fracture_strain=None if idx is None else float(e[idx]),
        fractured=idx is not None,
        youngs_modulus=modulus,
        toughness=toughness,
        elastic_energy_at_peak=elastic,
        plastic_energy=float(toughness - elastic) if np.isfinite(elastic) else float("nan"),
        max_strain=float(e[-1]),
    )
