"""Per-atom frame files: extended XYZ read back by ASE (and OVITO when installed), LAMMPS dumps by our reader."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from aiida_aloxide.atoms_io import AtomFrame, write_extxyz, write_lammps_dump
from aiida_aloxide.lammps_io import parse_dump


def _frames(n_frames: int = 2, n: int = 7, seed: int = 3) -> list[AtomFrame]:
    """Random frames with an integer, a real (with NaN) and a flag column."""
    rng = np.random.default_rng(seed)
    box = np.array([12.0, 9.0, 7.5])
    types = np.array([1, 2] * (n // 2) + [2] * (n % 2))
    symbols = np.where(types == 1, "Al", "O")
    out = []
    for f in range(n_frames):
        d = rng.random(n) * 3.0
        d[types == 2] = np.nan
        cols = {
            "coordination": rng.integers(3, 7, n),
            "nonaffine_d": d,
            "out_of_domain": (rng.random(n) > 0.5).astype(np.int64),
        }
        info = {"strain": 0.01 * f, "frames_uuid": "0c1d-uuid", "frame": f}
        out.append(AtomFrame(rng.random((n, 3)) * box, box * (1 + 0.01 * f), symbols, types, cols, info))
    return out


def test_extxyz_read_by_ase(tmp_path):
    """ASE reads every frame with the cell, positions, species, each column and the info keys."""
    import ase.io

    frames = _frames()
    path = write_extxyz(tmp_path / "f.extxyz", frames)
    read = ase.io.read(path, index=":")
    assert len(read) == len(frames)
    for atoms, frame in zip(read, frames, strict=True):
        np.testing.assert_allclose(atoms.cell.lengths(), frame.lengths, rtol=1e-9)
        np.testing.assert_allclose(atoms.positions, frame.positions, rtol=1e-7, atol=1e-7)
        assert atoms.get_chemical_symbols() == list(frame.symbols)
        np.testing.assert_array_equal(atoms.arrays["coordination"], frame.columns["coordination"])
        np.testing.assert_array_equal(atoms.arrays["out_of_domain"], frame.columns["out_of_domain"])
        np.testing.assert_allclose(atoms.arrays["nonaffine_d"], frame.columns["nonaffine_d"], rtol=1e-7, equal_nan=True)
        assert np.isnan(atoms.arrays["nonaffine_d"][frame.types == 2]).all()
        assert atoms.info["frames_uuid"] == "0c1d-uuid"
        assert atoms.info["strain"] == pytest.approx(frame.info["strain"])
        assert atoms.arrays["coordination"].dtype.kind == "i"


def test_lammps_dump_read_by_own_reader(tmp_path):
    """The dump (with UNITS / TIME sections and a text element column) parses to the same numbers."""
    frames = _frames()
    frames[1].info["time"] = 2.5
    path = write_lammps_dump(tmp_path / "f.dump", frames, provenance={"frames": "0c1d-uuid"})
    text = path.read_text()
    assert "# aiida-aloxide sources: frames=0c1d-uuid" in text
    parsed, truncated = parse_dump(text, allow_truncated_last=False)
    assert not truncated and len(parsed) == len(frames)
    for dump, frame in zip(parsed, frames, strict=True):
        np.testing.assert_allclose(dump.lengths, frame.lengths)
        xyz = np.column_stack([dump.columns["x"], dump.columns["y"], dump.columns["z"]])
        np.testing.assert_allclose(xyz, frame.positions, rtol=1e-7, atol=1e-7)
        np.testing.assert_array_equal(dump.columns["type"], frame.types)
        np.testing.assert_array_equal(dump.columns["coordination"], frame.columns["coordination"])
        np.testing.assert_allclose(dump.columns["nonaffine_d"], frame.columns["nonaffine_d"], rtol=1e-7, equal_nan=True)
        assert "element" not in dump.columns


def test_bad_frames_refused():
    """Wrong shapes and column names that readers cannot take are refused before writing."""
    frame = _frames(1)[0]
    with pytest.raises(ValueError, match="shape"):
        AtomFrame(frame.positions, frame.lengths, frame.symbols, frame.types, {"D": np.zeros(3)})
    with pytest.raises(ValueError, match="identifier"):
        AtomFrame(
            frame.positions, frame.lengths, frame.symbols, frame.types, {"bad name": frame.columns["nonaffine_d"]}
        )
    with pytest.raises(ValueError, match="positions"):
        AtomFrame(frame.positions[:, :2], frame.lengths, frame.symbols, frame.types)


@pytest.mark.skipif(importlib.util.find_spec("ovito") is None, reason="OVITO is an optional extra (pip install ovito)")
def test_read_by_ovito(tmp_path):  # pragma: no cover - runs where OVITO is installed
    """OVITO's own file readers take both formats with every column."""
    from ovito.io import import_file

    frames = _frames()
    for path in (write_extxyz(tmp_path / "f.extxyz", frames), write_lammps_dump(tmp_path / "f.dump", frames)):
        pipeline = import_file(str(path), multiple_frames=True)
        assert pipeline.source.num_frames == len(frames)
        data = pipeline.compute(1)
        np.testing.assert_allclose(
            np.asarray(data.particles["nonaffine_d"]), frames[1].columns["nonaffine_d"], rtol=1e-6, equal_nan=True
        )
        assert data.particles.count == len(frames[1].positions)
