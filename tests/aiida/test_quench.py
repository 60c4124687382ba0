"""QuenchWorkChain at smoke scale with real LAMMPS: run, submit through the daemon, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_aloxide.data.structure import structure_from_arrays
from aiida_aloxide.materials import load_material
from aiida_aloxide.query import find_samples
from aiida_aloxide.workchains.protocols import ProtocolError, available_protocols, load_protocol
from aiida_aloxide.workchains.quench import LiquidWorkChain, QuenchWorkChain, quench_stages

pytestmark = pytest.mark.lammps


def _check_quench(node, pressure: float):
    """Common checks of a finished smoke quench."""
    assert node.is_finished_ok, node.exit_message
    props = node.outputs.properties
    assert props["pressure"] == pressure
    assert props["n_atoms"] == 150 and props["n_al"] == 60
    assert 2.5 < props["density"] < 4.0
    assert props["al4"] + props["al5"] + props["al6"] + props["al_other"] == pytest.approx(1.0)
    assert set(node.outputs.thermo) == {"melt", "cool_liquid", "compress", "quench", "relax"}
    # Every stage runs through the restart wrapper (same call link label and label as the stage).
    wrappers = [c for c in node.called if c.process_label == "LammpsRestartWorkChain"]
    assert sorted(c.label for c in wrappers) == sorted(node.outputs.thermo)
    calcs = [c for c in node.called_descendants if c.process_type.endswith("aloxide.lammps")]
    assert len(calcs) == 5 and all(c.is_finished_ok for c in calcs)
    # Stages chain: each stage starts from the previous stage's final structure.
    by_label = {c.label: c for c in calcs}
    assert by_label["cool_liquid"].inputs.structure.uuid == by_label["melt"].outputs.structure.uuid
    assert by_label["relax"].inputs.velocities.uuid == by_label["quench"].outputs.velocities.uuid
    # The quench stage ran at the requested pressure (bar in LAMMPS).
    script = by_label["quench"].base.repository.get_object_content("aloxide.in")
    assert f"iso {pressure * 1e4:.10g} {pressure * 1e4:.10g}" in script
    return props


@pytest.fixture(scope="module")
def smoke_quench(lammps_code):
    """The five-stage smoke quench at 2 GPa, seed 7 (caching is off in the test profile: all stages run)."""
    _, node = run_get_node(QuenchWorkChain.get_builder_from_protocol(lammps_code, 2.0, protocol="smoke", seed=7))
    return node


def test_smoke_quench_run(smoke_quench):
    node = smoke_quench
    props = _check_quench(node, 2.0)
    # QueryBuilder helpers find it by pressure and protocol, and exclude it otherwise.
    pks = lambda **kw: {r["pk"] for r in find_samples(**kw)}  # noqa: E731
    assert node.pk in pks(min_pressure=1.5, protocol="smoke")
    assert node.pk not in pks(max_pressure=1.0)
    assert node.pk not in pks(protocol="demo")
    assert node.pk in pks(min_density=props["density"] - 1e-6, max_density=props["density"] + 1e-6)
    row = next(r for r in find_samples() if r["pk"] == node.pk)
    assert row["structure_uuid"] == node.outputs.structure.uuid
    assert node.base.extras.get("aloxide_protocol") == "smoke"
    assert props["density"] == pytest.approx(
        node.outputs.structure.get_ase().get_masses().sum()
        / 6.02214076e23
        / (node.outputs.structure.get_cell_volume() * 1e-24),
        rel=1e-4,
    )  # fmt: skip  (ASE masses differ in the 5th digit)


def test_quench_from_a_shared_liquid_is_the_full_quench(lammps_code, smoke_quench):
    """Liquid once, then the pressure stages from it: the same sample as the five-stage quench, bit for bit."""
    params = orm.Dict(load_protocol("quench", "smoke"))
    _, liquid = run_get_node(LiquidWorkChain.get_builder_from_parameters(lammps_code, params, seed=7))
    assert liquid.is_finished_ok, liquid.exit_message
    assert set(liquid.outputs.thermo) == {"melt", "cool_liquid", "compress"}
    builder = QuenchWorkChain.get_builder_from_parameters(lammps_code, 2.0, params, seed=7)
    builder.liquid = {"structure": liquid.outputs.structure, "velocities": liquid.outputs.velocities}
    _, shared = run_get_node(builder)
    assert shared.is_finished_ok, shared.exit_message
    assert set(shared.outputs.thermo) == {"quench", "relax"}  # melt, cool and compress were not run again
    calcs = {c.label: c for c in shared.called_descendants if c.process_type.endswith("aloxide.lammps")}
    assert set(calcs) == {"quench", "relax"}
    assert calcs["quench"].inputs.structure.uuid == liquid.outputs.structure.uuid
    # The five-stage quench of the same seed and pressure ran all its stages itself (caching is off).
    full = smoke_quench
    assert full.is_finished_ok and set(full.outputs.thermo) == {"melt", "cool_liquid", "compress", "quench", "relax"}
    assert full.inputs.parameters.get_dict() == params.get_dict()
    a, b = shared.outputs.structure, full.outputs.structure
    assert np.array_equal(np.array([s.position for s in a.sites]), np.array([s.position for s in b.sites]))
    assert shared.outputs.properties.get_dict() == full.outputs.properties.get_dict()


def test_bad_liquid_is_refused(lammps_code):
    """A liquid without velocities, beside a packing, or of another size than the parameters say."""
    grid = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3)[:10] * 1.8 + 0.5
    small = structure_from_arrays(grid, np.array([1] * 4 + [2] * 6), [5.4] * 3, dict(load_material().charges))
    velocities = orm.ArrayData()
    velocities.set_array("velocities", np.zeros((10, 3)))
    cases = [
        ({"structure": small}, "needs both `structure` and `velocities`"),
        ({"structure": small, "velocities": velocities}, "liquid has 10 atoms, the parameters' n_units"),
    ]
    for liquid, match in cases:
        builder = QuenchWorkChain.get_builder_from_protocol(lammps_code, 0.0, protocol="smoke")
        builder.liquid = liquid
        with pytest.raises(ValueError, match=match):
            run_get_node(builder)
    builder = QuenchWorkChain.get_builder_from_protocol(lammps_code, 0.0, protocol="smoke")
    builder.structure = small
    builder.liquid = {"structure": small, "velocities": velocities}
    with pytest.raises(ValueError, match="not both"):
        run_get_node(builder)


@pytest.mark.daemon
def test_smoke_quench_submit_through_daemon(lammps_code, submit_and_await):
    builder = QuenchWorkChain.get_builder_from_protocol(lammps_code, 0.0, protocol="smoke", seed=3)
    node = submit_and_await(builder, timeout=300)
    _check_quench(node, 0.0)


def test_protocols_scale_and_paper_values():
    assert set(available_protocols("quench")) == {"smoke", "demo", "fast", "paper"}
    paper = load_protocol("quench", "paper")
    assert paper["n_units"] * 5 == 8100
    assert [paper[k] for k in ("melt_ps", "cool_ps", "liquid_ps", "compressed_ps", "quench_ps")] == [
        45,
        10,
        45,
        45,
        650,
    ]
    assert paper["relax_nvt_ps"] + paper["relax_npt_ps"] == 35
    stages = dict(quench_stages(paper, 3.0, 1))
    assert stages["quench"]["segments"][0]["steps"] == 650_000
    assert stages["quench"]["segments"][0]["temp"] == [3000.0, 300.0]
    assert stages["compress"]["segments"][0] == {"type": "density", "value": 3.175}
    assert load_protocol("quench", "demo", {"quench_ps": 12.0})["quench_ps"] == 12.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"pressure": -1.0}, ValueError, "pressure must be between 0 and 50"),
        ({"pressure": 51.0}, ValueError, "pressure must be between 0 and 50"),
        ({"protocol": "huge"}, ProtocolError, "unknown protocol"),
        ({"overrides": {"quench_time": 5}}, ProtocolError, "unknown override key"),
        ({"overrides": {"melt_ps": -5}}, ValueError, "melt_ps must be"),
        ({"seed": 0}, ValueError, "seed"),
    ],
)
def test_bad_quench_input_is_refused(lammps_code, kwargs, error, match):
    args = {"pressure": 0.0, "protocol": "smoke", **kwargs}
    with pytest.raises(error, match=match):
        builder = QuenchWorkChain.get_builder_from_protocol(lammps_code, **args)
        run_get_node(builder)


def test_wrong_code_is_refused(lammps_code):
    other = orm.InstalledCode(
        computer=lammps_code.computer, filepath_executable="/bin/true", label="not-lammps",
        default_calc_job_plugin="core.arithmetic.add",
    ).store()  # fmt: skip
    with pytest.raises(ValueError, match="not LAMMPS"):
        run_get_node(QuenchWorkChain.get_builder_from_protocol(other, 0.0, protocol="smoke"))


def test_missing_code_is_refused():
    builder = QuenchWorkChain.get_builder()
    builder.pressure = orm.Float(0.0)
    builder.parameters = orm.Dict(load_protocol("quench", "smoke"))
    with pytest.raises(ValueError, match="code"):
        run_get_node(builder)


@pytest.mark.parametrize("problem", ["stoichiometry", "charges"])
def test_bad_starting_structure_is_refused(lammps_code, problem):
    rng = np.random.default_rng(0)
    n_al, n_o = (4, 7) if problem == "stoichiometry" else (4, 6)
    pos = rng.random((n_al + n_o, 3)) * 12.0
    types = np.array([1] * n_al + [2] * n_o)
    s = structure_from_arrays(pos, types, [12.0, 12.0, 12.0], dict(load_material().charges))
    if problem == "charges":
        s.base.attributes.delete("charges")
    builder = QuenchWorkChain.get_builder_from_protocol(lammps_code, 0.0, protocol="smoke")
    with pytest.raises(ValueError, match="stoichiometry" if problem == "stoichiometry" else "no charges"):
        builder.structure = s  # the builder validates on assignment, before anything runs
        run_get_node(builder)
