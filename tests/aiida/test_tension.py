"""Plane-strain and plane-stress work chains at smoke scale with real LAMMPS, incl. a real interrupted run."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_aloxide.trajectory import cell_lengths
from aiida_aloxide.workchains.protocols import ProtocolError
from aiida_aloxide.workchains.quench import QuenchWorkChain
from aiida_aloxide.workchains.tension import PlaneStrainWorkChain, PlaneStressWorkChain, TensionEquilibrationWorkChain
from tests.helpers import kill_once_wrapper

pytestmark = pytest.mark.lammps


@pytest.fixture(scope="module")
def sample(lammps_code):
    """A smoke-protocol quenched sample (150 atoms)."""
    _, node = run_get_node(QuenchWorkChain.get_builder_from_protocol(lammps_code, 0.0, protocol="smoke", seed=5))
    assert node.is_finished_ok
    return node.outputs.structure


def _initial_slope(curve: orm.ArrayData, n: int = 3) -> float:
    """Least-squares slope of σ_xx(ε) over the first ``n`` points."""
    e, s = curve.get_array("strain")[:n], curve.get_array("stress_xx")[:n]
    return float(np.polyfit(e, s, 1)[0])


@pytest.fixture(scope="module")
def plane_strain(lammps_code, sample):
    """A finished smoke plane-strain run (to maximum strain)."""
    builder = PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, sample, protocol="smoke")
    _, node = run_get_node(builder)
    return node


def test_plane_strain_to_max_strain(plane_strain, sample):
    node = plane_strain
    assert node.is_finished_ok, node.exit_message
    curve, summary, frames = node.outputs.stress_strain, node.outputs.summary, node.outputs.frames
    np.testing.assert_allclose(curve.get_array("strain"), np.arange(7) * 0.05, atol=1e-9)
    np.testing.assert_array_equal(curve.get_array("index"), np.arange(7))
    assert _initial_slope(curve) > 0
    assert not summary["fractured"] and summary["max_strain"] == pytest.approx(0.3)
    assert summary["peak_stress"] == pytest.approx(curve.get_array("stress_xx").max())
    # One frame per strain step; box x follows L0 (1 + ε) exactly, y and z stay fixed.
    assert isinstance(frames, orm.TrajectoryData) and frames.get_shape("positions") == (7, 300, 3)
    cells = cell_lengths(frames)
    l0 = node.outputs.equilibrated.cell[0][0]
    np.testing.assert_allclose(cells[:, 0], l0 * (1 + curve.get_array("strain")), rtol=1e-6)
    np.testing.assert_allclose(cells[:, 1:], np.broadcast_to(cells[0, 1:], cells[:, 1:].shape), rtol=1e-9)
    assert frames.get_shape("stress_volume") == (7, 300, 6)
    # 2x replication along x.
    assert len(node.outputs.equilibrated.sites) == 2 * len(sample.sites)


def test_shared_equilibration_gives_the_own_equilibration_curve(lammps_code, sample, plane_strain):
    """aloxide.tension.equilibrate + plane strain from it: the same σ_xx(ε) as the chain's own NPT (same seed)."""
    from aiida.manage.caching import disable_caching

    with disable_caching():
        eq_builder = TensionEquilibrationWorkChain.get_builder_from_protocol(lammps_code, sample, protocol="smoke")
        _, eq = run_get_node(eq_builder)
        assert eq.is_finished_ok, eq.exit_message
        builder = PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, sample, protocol="smoke")
        builder.equilibrated = {"structure": eq.outputs.structure, "velocities": eq.outputs.velocities}
        _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    assert not [c for c in node.called if c.label == "equilibrate"]  # no NPT of its own
    assert node.outputs.equilibrated.uuid == eq.outputs.structure.uuid
    np.testing.assert_allclose(eq.outputs.structure.get_ase().positions,
                               plane_strain.outputs.equilibrated.get_ase().positions, atol=1e-6)  # fmt: skip
    own = plane_strain.outputs.stress_strain.get_array("stress_xx")
    np.testing.assert_allclose(node.outputs.stress_strain.get_array("stress_xx"), own, rtol=1e-6, atol=1e-6)
    # An equilibration of another size is refused before anything runs.
    bad = PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, sample, protocol="smoke")
    bad.equilibrated = {"structure": sample, "velocities": eq.outputs.velocities}
    with pytest.raises(ValueError, match="equilibrated has 150 atoms, the sample replicated 2 times has 300"):
        run_get_node(bad)
    half = PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, sample, protocol="smoke")
    with pytest.raises(ValueError, match="equilibrated needs both `structure` and `velocities`"):
        half.equilibrated = {"structure": eq.outputs.structure}
        run_get_node(half)


def test_plane_strain_stops_at_fracture(lammps_code, sample):
    overrides = {"strain_step": 0.15, "max_strain": 1.95, "chunk_steps": 4, "stop_consecutive": 2}
    builder = PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, sample, protocol="smoke", overrides=overrides)
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    s = node.outputs.summary
    assert s["fractured"], node.outputs.stress_strain.get_array("stress_xx")
    stress = node.outputs.stress_strain.get_array("stress_xx")
    # Stopped by the criterion: fewer steps than the 14 up to max strain, and the last ones are near zero.
    assert len(stress) < 14
    assert np.all(stress[-2:] < 0.1 * stress.max())
    assert s["fracture_strain"] > s["strain_at_peak"]


def test_plane_stress(lammps_code, sample):
    builder = PlaneStressWorkChain.get_builder_from_protocol(lammps_code, sample, protocol="smoke")
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    curve = node.outputs.stress_strain
    np.testing.assert_allclose(curve.get_array("strain"), np.arange(5) * 0.05, atol=1e-6)
    assert _initial_slope(curve) > 0
    frames = node.outputs.frames
    assert frames.get_shape("positions")[0] == 5  # 0, 0.05, ..., 0.2
    np.testing.assert_allclose(frames.get_array("strain"), np.arange(5) * 0.05, atol=1e-6)
    # The barostat lets y and z contract (Poisson effect) under tension.
    cells = cell_lengths(frames)
    assert cells[-1, 1] < cells[0, 1] and cells[-1, 2] < cells[0, 2]


def test_interrupted_chunk_resumes_from_last_completed_step(lammps_code, sample, tmp_path):
    """The first LAMMPS strain run is killed (SIGKILL) part way; the handler resumes it."""
    # SIGKILL the first plane-strain run once two step frames are written (as a wall-time kill).
    wrapper, marker = kill_once_wrapper(
        tmp_path, "grep -q ALOXIDE_STEP aloxide.in",
        "n=$(grep -c 'ITEM: TIMESTEP' trajectory.dump 2>/dev/null); [ \"${n:-0}\" -ge 2 ]",
    )  # fmt: skip
    overrides = {"chunk_steps": 7}
    builder = PlaneStrainWorkChain.get_builder_from_protocol(
        lammps_code, sample, protocol="smoke", overrides=overrides,
        options={"mpirun_extra_params": [str(wrapper)]},
    )  # fmt: skip
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    assert marker.exists()
    chunk = next(c for c in node.called if c.label == "strain_000")
    calcs = sorted(chunk.called_descendants, key=lambda n: n.ctime)
    calcs = [c for c in calcs if c.process_type.endswith("aloxide.lammps")]
    assert len(calcs) == 2
    first, second = calcs
    assert first.exit_status == 311  # killed
    done = first.outputs.strain_steps.get_shape("index")[0]
    assert first.outputs.trajectory.get_shape("positions")[0] >= done
    assert 2 <= done < 7
    seg = second.inputs.parameters["segments"][0]
    assert seg["first_index"] == done and len(seg["strains"]) == 7 - done  # nothing recomputed
    # The resumed run starts from the last completed frame of the killed one.
    np.testing.assert_allclose(
        second.inputs.structure.cell[0][0], cell_lengths(first.outputs.trajectory)[done - 1][0], rtol=1e-9
    )
    curve = node.outputs.stress_strain
    np.testing.assert_array_equal(curve.get_array("index"), np.arange(7))
    assert node.outputs.frames.get_shape("positions")[0] == 7
    # The uninterrupted twin (same chunks, no kill, nothing from the cache): the steps completed before the
    # kill are the same numbers; after it the resumed run restarts the thermostat from the stored velocities,
    # so σ_xx agrees within the sampling noise of the 40 fs holds, not bit for bit.
    from aiida.manage.caching import disable_caching

    with disable_caching():
        twin_builder = PlaneStrainWorkChain.get_builder_from_protocol(
            lammps_code, sample, protocol="smoke", overrides=overrides
        )
        _, twin = run_get_node(twin_builder)
    assert twin.is_finished_ok, twin.exit_message
    s_kill, s_twin = curve.get_array("stress_xx"), twin.outputs.stress_strain.get_array("stress_xx")
    np.testing.assert_array_equal(s_kill[:done], s_twin[:done])
    sem = np.maximum(curve.get_array("stress_xx_sem"), twin.outputs.stress_strain.get_array("stress_xx_sem"))
    print("after the kill: |Δσ| (GPa)", np.abs(s_kill - s_twin)[done:], "sem", sem[done:])
    assert np.all(np.abs(s_kill - s_twin)[done:] <= 5 * sem[done:] + 0.5)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"strain_step": 0.0}, r"strain_step must be > 0, got 0.0"),
        ({"strain_step": 0.2}, r"strain_step must be < 0.2, got 0.2"),
        ({"strain_step": 0.05, "max_strain": 0.05}, "max_strain"),
        ({"stop_fraction": 1.5}, "stop_fraction"),
    ],
)
def test_bad_tension_input_is_refused(lammps_code, sample, overrides, match):
    with pytest.raises(ValueError, match=match):
        PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, sample, protocol="smoke", overrides=overrides)


def test_unknown_override_and_uncharged_structure_are_refused(lammps_code, sample):
    with pytest.raises(ProtocolError, match="unknown override key"):
        PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, sample, protocol="smoke", overrides={"rate": 1})
    plain = orm.StructureData(cell=sample.cell)
    for site in sample.sites:
        plain.append_atom(position=site.position, symbols=site.kind_name)
    with pytest.raises(ValueError, match="no charges"):
        PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, plain, protocol="smoke")


def test_non_orthorhombic_cell_is_refused(lammps_code, sample):
    cell = np.array(sample.cell)
    cell[1, 0] = 1.0
    tilted = sample.clone()
    tilted.base.attributes.set("cell", cell.tolist())
    with pytest.raises(ValueError, match="orthorhombic"):
        PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, tilted, protocol="smoke")


def test_report_figure_and_table_from_stored_nodes(plane_strain, tmp_path):
    from PIL import Image

    from aiida_aloxide.report.figures import stress_strain_figure, tension_table

    path = stress_strain_figure([plane_strain], tmp_path / "ss.png")
    image = Image.open(path)
    assert image.size[0] > 300 and image.size[1] > 200
    assert plane_strain.outputs.stress_strain.uuid in image.info["Description"]
    table = tension_table([plane_strain])
    assert "| 0 | plane strain |" in table and "| peak σ_xx (GPa) |" in table
    assert f"{plane_strain.outputs.summary['peak_stress']:.2f}" in table


def test_deformation_figures_and_table(plane_strain, tmp_path):
    from PIL import Image

    from aiida_aloxide.functions.analysis import deformation_analysis
    from aiida_aloxide.report.figures import (
        d_distribution_figure,
        deformation_table,
        stress_distribution_figure,
        switching_figure,
    )

    res = deformation_analysis(plane_strain.outputs.frames)
    pairs = [(plane_strain, res["curves"])]
    for func, name in ((switching_figure, "sw"), (d_distribution_figure, "d"), (stress_distribution_figure, "st")):
        path = func(pairs, tmp_path / f"{name}.png")
        image = Image.open(path)
        assert image.size[0] > 300 and res["curves"].uuid in image.info["Description"]
    table = deformation_table([(plane_strain, res["summary"])])
    s = res["summary"]
    assert f"{s['dc_fraction_final']:.3f}" in table and f"{s['d_mean']:.2f}" in table
    fractions = [s[f"{k}_fraction_final"] for k in ("dc", "ic", "sc", "uc")]
    assert sum(fractions) == pytest.approx(1.0)


def test_analyze_command(plane_strain, aiida_profile, tmp_path):
    from click.testing import CliRunner

    from aiida_aloxide.cli import cli

    out = tmp_path / "report"
    res = CliRunner().invoke(cli, ["analyze", "-p", aiida_profile.name, str(plane_strain.pk), "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = (out / "deformation.md").read_text()
    assert "| DC |" in text and "g_AlO peak / first minimum" in text and f"| {plane_strain.pk} |" in text
    assert {p.name for p in out.glob("*.png")} == {"bond_switching.png", "d_distribution.png",
                                                   "stress_distributions.png"}  # fmt: skip


def test_queries_find_tension_runs(plane_strain, aiida_profile):
    from click.testing import CliRunner

    from aiida_aloxide.cli import cli
    from aiida_aloxide.query import find_tensions

    pks = lambda **kw: {r["pk"] for r in find_tensions(**kw)}  # noqa: E731
    s = plane_strain.outputs.summary
    assert plane_strain.pk in pks(protocol="smoke", max_pressure=0.5)
    assert plane_strain.pk not in pks(min_pressure=2.0)
    assert plane_strain.pk in pks(fractured=False, loading="plane_strain")
    assert plane_strain.pk not in pks(fractured=True)
    assert plane_strain.pk not in pks(min_peak_stress=s["peak_stress"] + 1.0)
    assert plane_strain.pk in pks(min_peak_stress=s["peak_stress"] - 1.0)
    res = CliRunner().invoke(cli, ["runs", "-p", aiida_profile.name, "--max-pressure", "0.5", "--not-fractured"])
    assert res.exit_code == 0 and f"{plane_strain.pk:>6}" in res.output
