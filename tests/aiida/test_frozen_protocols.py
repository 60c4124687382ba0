"""Frozen protocols (issue #13): protocol files edited after a study is submitted change nothing in it."""

from __future__ import annotations

from contextlib import ExitStack
from importlib import resources

import numpy as np
import pytest
import yaml
from aiida import orm
from aiida.engine import run_get_node
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager
from aiida.manage.caching import enable_caching

from aiida_aloxide.setup import CACHED_PROCESSES
from aiida_aloxide.workchains import protocols
from aiida_aloxide.workchains.study import FractureStudyWorkChain

SECTIONS = ("quench", "tension", "dynamics")


@pytest.fixture
def protocol_dir(tmp_path, monkeypatch):
    """Copies of the packaged protocol files that the test may edit; records every read of them."""
    for name in SECTIONS:
        (tmp_path / f"{name}.yaml").write_text(resources.files(protocols).joinpath(f"{name}.yaml").read_text())
    reads: list[str] = []

    def read(workflow: str) -> dict:
        reads.append(workflow)
        return yaml.safe_load((tmp_path / f"{workflow}.yaml").read_text())

    monkeypatch.setattr(protocols, "_read", read)
    return tmp_path, reads


def _builder(code, **kwargs):
    """The smallest complete study (as in the daemon tests): smoke, 0 GPa, plane strain to ε = 0.1."""
    return FractureStudyWorkChain.get_builder_from_protocol(
        code, [0.0], "smoke", overrides={"tension": {"max_strain": 0.1}}, softness=False, loading=["plane_strain"],
        **kwargs,
    )  # fmt: skip


def test_parameters_are_stored_inputs_checked_against_the_record(aiida_profile, lammps_code, protocol_dir):
    folder, _ = protocol_dir
    builder = _builder(lammps_code)
    for section in SECTIONS:
        expected = protocols.load_protocol(section, "smoke", {"max_strain": 0.1} if section == "tension" else None)
        assert builder.parameters[section].get_dict() == expected
    # A file edited between building and launching: refused at launch, nothing runs.
    data = yaml.safe_load((folder / "tension.yaml").read_text())
    data["protocols"]["smoke"]["strain_step"] = 0.07
    (folder / "tension.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="parameters.tension differ from protocol 'smoke'"):
        run_get_node(builder)


@pytest.mark.lammps
def test_editing_protocols_after_submission_changes_nothing(aiida_profile, lammps_code, protocol_dir):
    folder, reads = protocol_dir
    builder = _builder(lammps_code, label="frozen")
    frozen = {section: builder.parameters[section].get_dict() for section in SECTIONS}
    with ExitStack() as stack:  # the caching `aiida-aloxide setup` configures: earlier smoke runs may be reused
        for identifier in CACHED_PROCESSES:
            stack.enter_context(enable_caching(identifier=identifier))
        runner = get_manager().get_runner()
        process = instantiate_process(runner, builder)  # what `study submit` does: validated and stored
        # Edit every file now: other numbers in tension, an unreadable quench file, no dynamics file at all.
        data = yaml.safe_load((folder / "tension.yaml").read_text())
        data["protocols"]["smoke"]["strain_step"] = 0.07
        (folder / "tension.yaml").write_text(yaml.safe_dump(data))
        (folder / "quench.yaml").write_text("protocols: [this is not\n")
        (folder / "dynamics.yaml").unlink()
        assert protocols.load_protocol("tension", "smoke")["strain_step"] == 0.07
        reads.clear()
        process.execute()  # how the daemon (or `study run`) drives it from here
    node = process.node
    assert node.is_finished_ok, node.exit_message
    assert reads == []  # nothing read a protocol file after submission
    assert {k: node.inputs.parameters[k].get_dict() for k in SECTIONS} == frozen
    (quench,) = [n for n in node.called if n.process_label == "QuenchWorkChain"]
    (tension,) = [n for n in node.called if n.process_label == "PlaneStrainWorkChain"]
    assert quench.inputs.parameters.uuid == node.inputs.parameters.quench.uuid
    assert tension.inputs.parameters.uuid == node.inputs.parameters.tension.uuid
    assert tension.inputs.parameters["strain_step"] == 0.05
    strains = node.outputs.stress_strain.p0.get_array("strain")
    assert strains.max() == pytest.approx(0.1) and set(np.diff(strains).round(6)) == {0.05}  # the frozen 0.05
    assert isinstance(node.outputs.summary, orm.Dict) and "p0" in node.outputs.summary["rows"]
