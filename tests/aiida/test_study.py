"""``aloxide.study`` and the ``study`` CLI group end to end at smoke scale, plus bad inputs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.manage.caching import enable_caching
from click.testing import CliRunner
from PIL import Image

from aiida_aloxide.cli import cli
from aiida_aloxide.cli.study import study
from aiida_aloxide.workchains.protocols import ProtocolError
from aiida_aloxide.workchains.study import (
    FractureStudyWorkChain,
    validate_loading,
    validate_overrides,
    validate_pressures,
)


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory):
    """Where the README's demo command writes its report."""
    return tmp_path_factory.mktemp("demo-output")


@pytest.fixture(scope="module")
def smoke_study(aiida_profile, lammps_code, demo_output):
    """The README's demo command (``study run`` + ``study report``) at smoke scale; returns (node, output)."""
    args = ["demo", "-p", aiida_profile.name, "--protocol", "smoke", "-P", "0", "-P", "4", "--label", "smoke-t"]
    result = CliRunner().invoke(cli, [*args, "--output", str(demo_output), "--interval", "0.5"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    pk = int(re.search(r"\[demo\] PK (\d+):", result.output).group(1))
    return orm.load_node(pk), result.output


@pytest.mark.lammps
def test_study_run_smoke(smoke_study, demo_output):
    node, output = smoke_study
    assert node.is_finished_ok
    # Progress: a line per stage change, then the overhead ratio and where the report is.
    for stage in ("quench_p0", "tension_p4", "plane_stress_p0", "deformation_p4", "softness", "summary"):
        assert re.search(rf"\[demo +\d+ s\] {stage} \(PK \d+\): Finished \[0\]", output), stage
    summed, busy, ratio = re.search(r"LAMMPS ran (\d+) s summed.*, (\d+) s of wall.* = (\d+\.\d\d)", output).groups()
    # Runs overlap (pressures and loadings at once), so the busy wall time is at most the summed time.
    assert 0 < int(busy) <= int(summed) + 1 and float(ratio) >= 1.0
    assert f"Report: {(demo_output / 'summary.md').resolve()}" in output
    assert node.inputs.softness.value and node.inputs.loading.get_list() == ["plane_strain", "plane_stress"]
    summary = node.outputs.summary.get_dict()
    assert summary["labels"] == ["p0", "p4"]
    p0, p4 = summary["rows"]["p0"], summary["rows"]["p4"]
    assert p0["pressure"] == 0.0 and p4["pressure"] == 4.0
    for row in (p0, p4):
        assert 2.0 < row["density"] < 4.5
        assert abs(row["al4"] + row["al5"] + row["al6"]) <= 1.0 + 1e-9
        assert row["peak_stress"] > 0 and row["toughness"] is not None
        assert abs(row["dc"] + row["ic"] + row["sc"] + row["uc"] - 1.0) < 1e-6
        assert row["d_mean"] is not None and row["unstrained_mean_softness"] is not None
        # The smoke demo applies the packaged reference model (its samples give a smoke-run model only).
        assert row["softness_model"] == "reference:fast-inherent" and row["softness_model_events"] >= 200
        assert 0.5 < row["softness_cv_balanced_accuracy"] <= 1.0
        assert abs(row["unstrained_mean_softness"]) < 10  # a trained model on in-domain atoms, not 10^9
        # Both loading conditions ran (the default): plane stress has its own peak.
        assert row["ps_peak_stress"] > 0 and row["ps_toughness"] is not None
    assert "plane_stress_p0" in output
    assert set(node.outputs.plane_stress) == {"p0", "p4"}
    assert node.outputs.plane_stress.p0["loading"] == "plane_stress"
    assert node.outputs.tension.p0["loading"] == "plane_strain"
    assert set(node.outputs.samples) == {"p0", "p4"}
    assert set(node.outputs.stress_strain) == {"p0", "p4"}
    assert set(node.outputs.deformation) == {"p0", "p4"}
    # The group holds the study, its children, their outputs and the summary.
    group = orm.load_group("aloxide/study/smoke-t")
    uuids = {n.uuid for n in group.nodes}
    assert node.uuid in uuids and node.outputs.summary.uuid in uuids
    assert all(n.uuid in uuids for n in node.called_descendants)
    assert node.outputs.samples.p4.uuid in uuids and node.outputs.deformation_curves.p0.uuid in uuids


@pytest.mark.lammps
def test_study_run_command_trimmed(aiida_profile, smoke_study):
    """`study run` itself, trimmed (one pressure, plane strain only, no softness); the quench comes from the cache."""
    from aiida_aloxide.setup import CACHED_PROCESSES

    args = ["run", "-p", aiida_profile.name, "--protocol", "smoke", "-P", "0", "--no-softness", "--loading",
            "plane_strain", "--overrides", '{"tension": {"max_strain": 0.1}}', "--interval", "0.5"]  # fmt: skip
    with enable_caching(identifier=CACHED_PROCESSES[0]):
        result = CliRunner().invoke(study, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    node = orm.load_node(int(re.search(r"\[study\] PK (\d+):", result.output).group(1)))
    assert node.is_finished_ok and "softness" not in node.outputs and "plane_stress" not in node.outputs
    row = node.outputs.summary["rows"]["p0"]
    assert row["final_strain"] == pytest.approx(0.1) and row["ps_peak_stress"] is None
    assert row["softness_cv_balanced_accuracy"] is None and row["softness_model"] is None
    # Same seed and protocol as the demo's 0 GPa sample: the quench is reused, its properties identical.
    assert row["density"] == smoke_study[0].outputs.summary["rows"]["p0"]["density"]
    assert "| pressure |" in result.output and "group: aloxide/study/" in result.output


@pytest.mark.lammps
def test_study_list_and_show(aiida_profile, smoke_study):
    node, _ = smoke_study
    listing = CliRunner().invoke(study, ["list", "-p", aiida_profile.name])
    assert listing.exit_code == 0, listing.output
    assert str(node.pk) in listing.output and "aloxide/study/smoke-t" in listing.output and "0, 4" in listing.output
    shown = CliRunner().invoke(study, ["show", "-p", aiida_profile.name, str(node.pk)])
    assert shown.exit_code == 0, shown.output
    for child in ("quench_p0", "quench_p4", "tension_p0", "tension_p4", "deformation_p0", "summary", "melt"):
        assert child in shown.output
    assert "Finished [0]" in shown.output and "| pressure |" in shown.output
    bad = CliRunner().invoke(study, ["show", "-p", aiida_profile.name, str(node.outputs.summary.pk)])
    assert bad.exit_code != 0 and "not a fracture study" in bad.output


@pytest.mark.lammps
def test_study_report(aiida_profile, smoke_study, demo_output, tmp_path):
    node, _ = smoke_study
    out = tmp_path / "report"
    result = CliRunner().invoke(study, ["report", "-p", aiida_profile.name, str(node.pk), "--output", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    # The demo wrote the same report: same summary table, same set of figures.
    assert (out / "summary.csv").read_text() == (demo_output / "summary.csv").read_text()
    assert sorted(p.name for p in out.glob("*.png")) == sorted(p.name for p in demo_output.glob("*.png"))
    md = (out / "summary.md").read_text()
    for name in ("stress_strain", "bond_switching", "d_distribution", "stress_distributions",
                 "switching_by_species", "switching_vs_fracture_plane", "density_coordination"):  # fmt: skip
        path = out / f"{name}.png"
        assert path.stat().st_size > 1000 and Image.open(path).size[0] > 300
        assert f"{name}.png" in md
    rows = (out / "summary.csv").read_text().splitlines()
    assert rows[0].startswith("label,pressure,density") and len(rows) == 3
    assert rows[1].startswith("p0,0.0,") and rows[2].startswith("p4,4.0,")
    assert "| DC |" in md and "plane_strain" in md and "plane_stress" in md
    for name in ("softness_vs_strain", "rearrangement_probability", "softness_clusters"):
        assert (out / f"{name}.png").stat().st_size > 1000 and f"{name}.png" in md
    assert "## Softness" in md and "| radial G only (repeated CV) |" in md and "83 % (test)" in md
    assert "train \\ test" in md and "reference:fast-inherent" in md and "smoke run" in md


@pytest.mark.lammps
def test_study_export_and_import_round_trip(aiida_profile, smoke_study, tmp_path):
    node, _ = smoke_study
    archive = tmp_path / "study.aiida"
    result = CliRunner().invoke(study, ["export", "-p", aiida_profile.name, str(node.pk), str(archive)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert archive.stat().st_size > 10_000
    # The reference CSV from this profile.
    ref = tmp_path / "ref"
    report = CliRunner().invoke(study, ["report", "-p", aiida_profile.name, str(node.pk), "-o", str(ref)])
    assert report.exit_code == 0, report.output
    # Import into a fresh profile in a subprocess and rebuild the CSV from the imported nodes.
    verdi = shutil.which("verdi", path=str(Path(sys.executable).parent))
    env = {**os.environ, "AIIDA_PATH": str(tmp_path / "second")}
    env.pop("AIIDA_PROFILE", None)
    for cmd in (
        [verdi, "presto", "--profile-name", "second"],
        [verdi, "archive", "import", str(archive)],
    ):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    script = (
        "import sys\nfrom pathlib import Path\nfrom aiida import load_profile, orm\nload_profile('second')\n"
        "from aiida_aloxide.cli.study import write_summary_csv\n"
        f"n = orm.load_node('{node.uuid}')\n"
        "g = orm.load_group('aloxide/study/smoke-t')\n"
        "assert n.uuid in {x.uuid for x in g.nodes}\n"
        f"write_summary_csv(n.outputs.summary.get_dict(), Path(r'{tmp_path / 'imported.csv'}'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "imported.csv").read_text() == (ref / "summary.csv").read_text()


@pytest.mark.lammps
def test_failed_quench_exit_code_and_group(aiida_profile, lammps_code):
    """A quench that cannot launch its LAMMPS stage: named exit code, partial results still grouped."""
    builder = FractureStudyWorkChain.get_builder_from_protocol(
        lammps_code, [0.0], protocol="smoke", options={"resources": {"num_machines": 0}}, label="broken"
    )
    _, node = run_get_node(builder)
    assert node.exit_status == FractureStudyWorkChain.exit_codes.ERROR_QUENCH_FAILED.status
    assert "Quench at 0.0 GPa failed" in node.exit_message
    group = orm.load_group("aloxide/study/broken")
    assert {node.uuid, *(n.uuid for n in node.called)} <= {n.uuid for n in group.nodes}
    shown = CliRunner().invoke(study, ["show", "-p", aiida_profile.name, str(node.pk)])
    assert shown.exit_code == 0 and "quench_p0" in shown.output and "[301]" in shown.output, shown.output
    # A second study with the same label gets a group of its own.
    _, again = run_get_node(builder)
    assert again.base.extras.get("aloxide_study_group") == f"aloxide/study/broken-{again.pk}"


# ------------------------------------------------------------------------------------------------
# Bad inputs: refused before anything runs
# ------------------------------------------------------------------------------------------------


def test_validators():
    assert "at least one" in validate_pressures(orm.List([]), None)
    assert "between 0 and" in validate_pressures(orm.List([-1.0]), None)
    assert "between 0 and" in validate_pressures(orm.List([60.0]), None)
    assert "unique" in validate_pressures(orm.List([4.0, 4.0]), None)
    assert validate_pressures(orm.List([0.0, 2.5, 4]), None) is None
    assert "unknown override sections" in validate_overrides(orm.Dict({"softness": {}}), None)
    assert "overrides.tension" in validate_overrides(orm.Dict({"tension": {"nope": 1}}), None)
    assert validate_overrides(orm.Dict({"tension": {"max_strain": 0.2}}), None) is None
    assert "unknown loading" in validate_loading(orm.List(["plane_strain", "uniaxial"]), None)
    assert "must include 'plane_strain'" in validate_loading(orm.List(["plane_stress"]), None)
    assert "unique" in validate_loading(orm.List(["plane_strain", "plane_strain"]), None)
    assert validate_loading(orm.List(["plane_strain"]), None) is None


def test_builder_errors(lammps_code):
    with pytest.raises(ProtocolError, match="unknown protocol"):
        FractureStudyWorkChain.get_builder_from_protocol(lammps_code, [0.0], protocol="huge")
    with pytest.raises(ProtocolError, match="unknown override"):
        FractureStudyWorkChain.get_builder_from_protocol(lammps_code, [0.0], "smoke", overrides={"quench": {"x": 1}})
    # The builder validates each input as it is set.
    with pytest.raises(ValueError, match="at least one pressure"):
        FractureStudyWorkChain.get_builder_from_protocol(lammps_code, [], protocol="smoke")
    with pytest.raises(ValueError, match="between 0 and"):
        FractureStudyWorkChain.get_builder_from_protocol(lammps_code, [-2.0], protocol="smoke")
    builder = FractureStudyWorkChain.get_builder_from_protocol(lammps_code, [0.0], protocol="smoke")
    with pytest.raises(ValueError, match="unknown protocol"):
        builder.protocol = orm.Str("huge")
    # Launching with a bad input (bypassing the builder) is refused too.
    inputs = {"code": lammps_code, "pressures": orm.List([-1.0]), "protocol": orm.Str("smoke")}
    with pytest.raises(ValueError, match="between 0 and"):
        run_get_node(FractureStudyWorkChain, **inputs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-P", "-1"], "between 0 and"),
        (["-P", "4", "-P", "4"], "unique"),
        (["--protocol", "huge"], "unknown protocol"),
        (["--overrides", '{"tension": {"nope": 1}}'], "unknown override key"),
        (["--loading", "uniaxial"], "Invalid value for '--loading'"),
    ],
)
def test_cli_bad_inputs(aiida_profile, lammps_code, args, message):
    n_before = orm.QueryBuilder().append(orm.ProcessNode).count()
    result = CliRunner().invoke(study, ["run", "-p", aiida_profile.name, *args])
    assert result.exit_code != 0 and message in result.output, result.output
    assert orm.QueryBuilder().append(orm.ProcessNode).count() == n_before
