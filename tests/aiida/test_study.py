"""``aloxide.study`` and the ``study`` CLI group end to end at smoke scale, plus bad inputs."""

from __future__ import annotations

import csv
import json
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
from aiida_aloxide.functions.study import SUMMARY_COLUMNS
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
    # Progress: per branch, stages done / planned whenever one finishes; then the overhead ratio and the report.
    for branch in ("liquid", "p0 quench", "p4 plane strain", "p0 plane stress", "softness"):
        assert re.search(rf"^\[demo +\d+ s\] {branch} +(\d+)/\1 finished in \d+ s$", output, re.M), branch
    # Each pressure's analysis ran inside its plane-strain chain, as soon as its frames existed (issue #20).
    for label in ("p0", "p4"):
        analysis = node.outputs.deformation[label].creator
        tension = node.base.links.get_outgoing(link_label_filter=f"tension_{label}").one().node
        assert analysis.caller.pk == tension.pk and analysis.ctime < tension.mtime
    assert re.search(r"^\[demo +\d+ s\] liquid +\d+/3 done", output, re.M)  # melt, cool + liquid, compress
    assert re.search(r"^\[demo +\d+ s\] p4 quench +\d+/2 done", output, re.M)  # NPT quench, relax
    states: dict[str, list] = {}
    for branch, *state in re.findall(r"^\[demo +\d+ s\] (.+?) +(\d+)/(\S+) (done|finished)", output, re.M):
        states.setdefault(branch, []).append(tuple(state))
    assert len(states) == 12 and all(len(v) == len(set(v)) for v in states.values())  # a line only on a change
    # AiiDA's own lines go to the log file the progress names, not to the terminal.
    log = demo_output / "study.log"
    assert f"AiiDA log of the run (every work chain's REPORT lines): {log.resolve()}" in output
    assert "[REPORT]" not in output and "aiida.orm.nodes" not in output
    text = log.read_text()
    assert "WorkChainNode: [REPORT]" in text and f"[{node.pk}|FractureStudyWorkChain|setup]" in text
    summed, busy, ratio = re.search(r"LAMMPS ran (\d+) s summed.*, (\d+) s of wall.* = (\d+\.\d\d)", output).groups()
    # Runs overlap (pressures and loadings at once), so the busy wall time is at most the summed time.
    assert 0 < int(busy) <= int(summed) + 1 and float(ratio) >= 1.0
    # Cores busy: LAMMPS core-seconds over the study's wall time × cores (1-rank runs on this machine).
    cores = int(re.search(r"cores busy (\d+) % of the study's wall time", output).group(1))
    runs = [c for c in node.called_descendants if c.process_type.endswith("aloxide.lammps") and "results" in c.outputs
            and c.base.caching.get_cache_source() is None]  # fmt: skip
    expected = sum(c.outputs.results["wall_time_s"] for c in runs) / (  # every run has 1 rank in the tests
        (node.mtime - node.ctime).total_seconds() * (os.cpu_count() or 1)
    )
    assert abs(cores - 100 * expected) <= 5, (cores, expected)
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
    assert re.search(r"^\[demo +\d+ s\] p0 plane stress +\d+/\d+ done", output, re.M)
    assert set(node.outputs.plane_stress) == {"p0", "p4"}
    assert node.outputs.plane_stress.p0["loading"] == "plane_stress"
    assert node.outputs.tension.p0["loading"] == "plane_strain"
    assert set(node.outputs.samples) == {"p0", "p4"}
    # One shared liquid: its melt / cool / compress ran once; every pressure's quench starts from it.
    (liquid,) = [c for c in node.called if c.process_label == "LiquidWorkChain"]
    assert liquid.is_finished_ok and set(liquid.outputs.thermo) == {"melt", "cool_liquid", "compress"}
    stages = [c.label for c in node.called_descendants if c.process_type.endswith("aloxide.lammps")]
    assert sorted(s for s in stages if s in ("melt", "cool_liquid", "compress")) == ["compress", "cool_liquid", "melt"]
    quenches = [c for c in node.called if c.process_label == "QuenchWorkChain"]
    assert sorted(q.inputs.pressure.value for q in quenches) == [0.0, 4.0]
    for quench in quenches:
        assert quench.inputs.liquid.structure.uuid == liquid.outputs.structure.uuid
        assert quench.inputs.liquid.velocities.uuid == liquid.outputs.velocities.uuid
        assert set(quench.outputs.thermo) == {"quench", "relax"}
    # One shared NPT equilibration per sample: both loadings start from its stored outputs (issue #20).
    eqs = {c.inputs.structure.uuid: c for c in node.called if c.process_label == "TensionEquilibrationWorkChain"}
    assert len(eqs) == 2 and all(e.is_finished_ok for e in eqs.values())
    npt = [d for e in eqs.values() for d in e.called_descendants if d.process_type.endswith("aloxide.lammps")]
    assert len(npt) == 2  # one NPT per sample, not one per loading
    assert not [d for c in node.called if c.process_label.startswith("Plane") for d in c.called_descendants
                if d.label == "equilibrate"]  # fmt: skip
    for chain in (c for c in node.called if c.process_label in ("PlaneStrainWorkChain", "PlaneStressWorkChain")):
        eq = eqs[chain.inputs.structure.uuid]
        assert chain.inputs.equilibrated.structure.uuid == eq.outputs.structure.uuid
        assert chain.inputs.equilibrated.velocities.uuid == eq.outputs.velocities.uuid
        assert chain.outputs.equilibrated.uuid == eq.outputs.structure.uuid
    assert re.search(r"^\[demo +\d+ s\] p0 equilibration +1/1 finished", output, re.M)
    # The softness dynamics started right after the quenches, beside the tensions, not after the analyses;
    # the softness chain took their trajectories and ran no dynamics of its own.
    dyns = {c.inputs.structure.uuid: c for c in node.called if c.process_label == "DynamicsWorkChain"}
    (soft,) = [c for c in node.called if c.process_label == "SoftnessWorkChain"]
    assert len(dyns) == 2 and not [c for c in soft.called if c.process_label == "DynamicsWorkChain"]
    for key, traj in soft.inputs.trajectories.items():
        assert traj.uuid == dyns[soft.inputs.samples[key].uuid].outputs.trajectory.uuid
    first_tension = min(c.ctime for c in node.called if c.process_label == "PlaneStrainWorkChain")
    assert all(d.ctime < first_tension for d in dyns.values())
    # Live stage progress (not a TTY here: plain lines every 30 s), read from the running LAMMPS logs.
    assert re.search(r"^\[demo +\d+ s\]   .+ · .+: \d+/\d+ (steps|strain steps|frames)", output, re.M), output
    assert set(node.outputs.stress_strain) == {"p0", "p4"}
    assert set(node.outputs.deformation) == {"p0", "p4"}
    # The group holds the study, its children, their outputs and the summary.
    group = orm.load_group("aloxide/study/smoke-t")
    uuids = {n.uuid for n in group.nodes}
    assert node.uuid in uuids and node.outputs.summary.uuid in uuids
    assert all(n.uuid in uuids for n in node.called_descendants)
    assert node.outputs.samples.p4.uuid in uuids and node.outputs.deformation_curves.p0.uuid in uuids


@pytest.mark.lammps
def test_study_run_command_trimmed(aiida_profile, smoke_study, tmp_path):
    """`study run` itself, trimmed (one pressure, plane strain only, no softness); the quench comes from the cache."""
    from aiida.common.log import configure_logging

    from aiida_aloxide.setup import CACHED_PROCESSES

    # AiiDA's logging as a fresh `aiida-aloxide` process has it: verdi commands invoked in this
    # test process earlier (CliRunner) reconfigure the loggers.
    configure_logging(with_orm=True)

    args = ["run", "-p", aiida_profile.name, "--protocol", "smoke", "-P", "0", "--no-softness", "--loading",
            "plane_strain", "--overrides", '{"tension": {"max_strain": 0.1}}', "--interval", "0.5",
            "--log", str(tmp_path / "logs" / "run.log")]  # fmt: skip
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
    assert "| quench pressure (GPa) | density (g/cm³) |" in result.output and "group: aloxide/study/" in result.output
    # Trimmed: one pressure, plane strain with 0.1 / 0.05 + 1 = 3 strain steps in 1 chunk after the equilibration.
    assert re.search(r"^\[study +\d+ s\] p0 equilibration +1/1 finished", result.output, re.M)
    assert re.search(r"^\[study +\d+ s\] p0 plane strain +1/1 finished", result.output, re.M)
    assert "plane stress" not in result.output.split("| quench pressure")[0] and "softness" not in result.output
    assert "[REPORT]" not in result.output and "[REPORT]" in (tmp_path / "logs" / "run.log").read_text()


@pytest.mark.lammps
def test_study_list_and_show(aiida_profile, smoke_study):
    node, _ = smoke_study
    listing = CliRunner().invoke(study, ["list", "-p", aiida_profile.name])
    assert listing.exit_code == 0, listing.output
    assert str(node.pk) in listing.output and "aloxide/study/smoke-t" in listing.output and "0, 4" in listing.output
    shown = CliRunner().invoke(study, ["show", "-p", aiida_profile.name, str(node.pk)])
    assert shown.exit_code == 0, shown.output
    for child in ("quench_p0", "quench_p4", "tension_p0", "tension_p4", "deformation", "summary", "melt"):
        assert child in shown.output
    assert "Finished [0]" in shown.output and "| quench pressure (GPa) |" in shown.output
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
    assert rows[0].startswith("sample,quench pressure (GPa),density (g/cm3),Al4 fraction") and len(rows) == 3
    assert rows[1].startswith("p0,0.0,") and rows[2].startswith("p4,4.0,")
    # Readable headers with units, one table per topic; no internal key in either file's headers.
    header = next(csv.reader([rows[0]]))
    assert not set(header) & set(SUMMARY_COLUMNS)
    for unit in ("(GPa)", "(g/cm3)", "(GJ/m3)", "(Angstrom)"):
        assert any(h.endswith(unit) for h in header), unit
    md_headers = [line for k, line in enumerate(md.splitlines()[:-1]) if md.splitlines()[k + 1].startswith("|---")]
    cells = {c.strip() for line in md_headers for c in line.strip("|").split("|")}
    assert not cells & set(SUMMARY_COLUMNS) and not any(k in md for k in SUMMARY_COLUMNS if "_" in k)
    assert {"quench pressure (GPa)", "density (g/cm³)", "peak σ_xx (GPa)", "toughness (GJ/m³)", "⟨D⟩ (Å)",
            "DC", "CV balanced accuracy", "⟨S⟩ at zero strain"} <= cells  # fmt: skip
    titles = [t for t in re.findall(r"^#{2,3} (.+)$", md, re.M) if t != "Figures"]
    for topic in ("Samples", "Tension", "Bond switching and non-affine displacement D", "Atomic stress before loading",
                  "Softness on the tension frames"):  # fmt: skip
        assert any(t.startswith(topic) for t in titles), topic
    assert "| 0 | plane strain |" in md and "| 4 | plane stress |" in md
    # summary.csv holds exactly the stored summary Dict's values.
    summary = node.outputs.summary.get_dict()
    for record in csv.DictReader((out / "summary.csv").open()):
        stored = summary["rows"][record.pop("sample")]
        assert list(record) == header[1:]
        for key, cell in zip(summary["columns"], record.values(), strict=True):
            value = stored[key]
            if value is None:
                assert cell == "", key
            elif isinstance(value, bool):
                assert cell == str(value), key
            elif isinstance(value, int | float):
                assert float(cell) == value, key
            else:
                assert cell == value, key
    # index.html: every table and every PNG written (with alt text and a caption), nothing fetched from outside.
    page = (out / "index.html").read_text()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) >= 10 and sorted(re.findall(r'<img src="([^"]+)"', page)) == pngs
    assert page.count("<figcaption>") == len(pngs) and 'alt=""' not in page and "alt=" in page
    assert page.count("<table>") == len(titles) and all(t.replace("'", "&#x27;") in page for t in titles)
    assert "<script" not in page and "http" not in page and "<style>" in page
    assert all(f"{name})" in md for name in pngs)
    for name in ("softness_vs_strain", "rearrangement_probability", "softness_clusters"):
        assert (out / f"{name}.png").stat().st_size > 1000 and f"{name}.png" in md
    assert "## Softness" in md and "| radial G only (repeated CV) |" in md and "83 % (test)" in md
    assert "train \\ test" in md and "reference:fast-inherent" in md and "smoke run" in md


def _fresh_profile_with(tmp_path: Path, name: str, archive: Path, *commands: list[str]) -> dict[str, str]:
    """A new profile ``name`` in its own AIIDA_PATH with ``archive`` imported, then ``commands`` run; its env."""
    verdi = shutil.which("verdi", path=str(Path(sys.executable).parent))
    env = {**os.environ, "AIIDA_PATH": str(tmp_path / name)}
    env.pop("AIIDA_PROFILE", None)
    for cmd in ([verdi, "presto", "--profile-name", name], [verdi, "archive", "import", str(archive)], *commands):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return env


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
    env = _fresh_profile_with(tmp_path, "second", archive)
    script = (
        "import sys\nfrom pathlib import Path\nfrom aiida import load_profile, orm\nload_profile('second')\n"
        "from aiida_aloxide.report.tables import write_summary_csv\n"
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
    # The shared liquid is the first LAMMPS work: its failure is the study's (511).
    assert node.exit_status == FractureStudyWorkChain.exit_codes.ERROR_LIQUID_FAILED.status == 511
    assert "The shared liquid failed" in node.exit_message
    group = orm.load_group("aloxide/study/broken")
    assert {node.uuid, *(n.uuid for n in node.called)} <= {n.uuid for n in group.nodes}
    shown = CliRunner().invoke(study, ["show", "-p", aiida_profile.name, str(node.pk)])
    assert shown.exit_code == 0 and "liquid" in shown.output and "[511]" in shown.output, shown.output
    # A study without tension frames has nothing to export: a clear error.
    frames = CliRunner().invoke(study, ["frames", "-p", aiida_profile.name, str(node.pk), "-o", "never-written"])
    assert frames.exit_code != 0 and "no complete tension frames" in frames.output
    assert not Path("never-written").exists()
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
        (["--replicas", "0"], "Invalid value for '--replicas'"),
        (["--replicas", "21"], "Invalid value for '--replicas'"),
    ],
)
def test_cli_bad_inputs(aiida_profile, lammps_code, args, message):
    n_before = orm.QueryBuilder().append(orm.ProcessNode).count()
    result = CliRunner().invoke(study, ["run", "-p", aiida_profile.name, *args])
    assert result.exit_code != 0 and message in result.output, result.output
    assert orm.QueryBuilder().append(orm.ProcessNode).count() == n_before


# ------------------------------------------------------------------------------------------------
# Per-atom exports (OVITO / ASE / LAMMPS), snapshot panels, slim archive
# ------------------------------------------------------------------------------------------------


def _stored_columns(node, label: str) -> dict:
    """The stored per-atom arrays of one plane-strain run of the smoke study, straight from its nodes."""
    tension = node.base.links.get_outgoing(link_label_filter=f"tension_{label}").one().node
    frames = tension.outputs.frames
    per_atom = node.outputs.deformation[label].creator.outputs.per_atom
    sw = node.base.links.get_outgoing(link_label_filter="softness").one().node
    return {
        "frames": frames,
        "per_atom": per_atom,
        "softness": sw.outputs.applied[f"tension_{label}_softness"],
        "clusters": sw.outputs.applied[f"tension_{label}_clusters"],
    }


@pytest.mark.lammps
def test_study_frames_extxyz_read_by_ase(aiida_profile, smoke_study, tmp_path):
    """`study frames`: every stored frame and per-atom array, read back by ASE, equals the stored one."""
    import ase.io
    import numpy as np

    from aiida_aloxide.analysis.nonaffine import cumulative_d_by_frame
    from aiida_aloxide.trajectory import cell_lengths

    node, _ = smoke_study
    out = tmp_path / "frames"
    result = CliRunner().invoke(study, ["frames", "-p", aiida_profile.name, str(node.pk), "-o", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["study"] == node.uuid and {"nonaffine_d", "softness", "cluster"} <= set(manifest["columns"])
    for label in ("p0", "p4"):
        stored = _stored_columns(node, label)
        frames, per_atom = stored["frames"], stored["per_atom"]
        read = ase.io.read(out / f"plane_strain_{label}.extxyz", index=":")
        pos, lengths, types = frames.get_array("positions"), cell_lengths(frames), frames.get_array("types")
        assert len(read) == pos.shape[0] > 2
        al = per_atom.get_array("al_indices")
        o = np.setdiff1d(np.arange(len(types)), al)
        d = cumulative_d_by_frame(per_atom.get_array("d2min"))
        np.testing.assert_allclose(d[-1], per_atom.get_array("d"), rtol=1e-5, equal_nan=True)  # last = stored D
        soft, clus = stored["softness"], stored["clusters"]
        s_al = soft.get_array("al_index")
        for f, atoms in enumerate(read):
            assert atoms.info["frames_uuid"] == frames.uuid and atoms.info["softness_uuid"] == soft.uuid
            assert atoms.info["strain"] == pytest.approx(frames.get_array("strain")[f])
            np.testing.assert_allclose(atoms.cell.lengths(), lengths[f], rtol=1e-9)
            np.testing.assert_allclose(atoms.positions, np.mod(pos[f], lengths[f]), atol=1e-6)
            assert atoms.get_chemical_symbols() == ["Al" if t == 1 else "O" for t in types]
            arr = atoms.arrays
            np.testing.assert_array_equal(arr["coordination"][al], per_atom.get_array("cn")[f])
            np.testing.assert_array_equal(arr["switching"][al], per_atom.get_array("switching")[f])
            np.testing.assert_array_equal(arr["initial_coordination"][al], per_atom.get_array("initial_species"))
            assert (arr["coordination"][o] == -1).all() and np.isnan(arr["nonaffine_d"][o]).all()
            np.testing.assert_allclose(arr["nonaffine_d"][al], d[f], rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(arr["hydrostatic_stress"][al], per_atom.get_array("hydrostatic_stress")[f],
                                       rtol=1e-6, equal_nan=True)  # fmt: skip
            np.testing.assert_allclose(arr["voronoi_volume"], frames.get_array("voronoi_volume")[f], rtol=1e-6)
            np.testing.assert_allclose(arr["softness"][s_al], soft.get_array("softness")[f], rtol=1e-6)
            np.testing.assert_array_equal(arr["out_of_domain"][s_al], soft.get_array("out_of_domain")[f])
            np.testing.assert_array_equal(arr["cluster"][s_al], clus.get_array("labels")[f])
        sample = ase.io.read(out / f"sample_{label}.extxyz")
        assert len(sample) == len(node.outputs.samples[label].sites)
        assert sample.info["structure_uuid"] == node.outputs.samples[label].uuid
    # Bad input: the folder is not empty now; an unknown format; a node that is not a study.
    again = CliRunner().invoke(study, ["frames", "-p", aiida_profile.name, str(node.pk), "-o", str(out)])
    assert again.exit_code != 0 and "not empty" in again.output and "--force" in again.output
    forced = CliRunner().invoke(study, ["frames", "-p", aiida_profile.name, str(node.pk), "-o", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    bad = CliRunner().invoke(study, ["frames", "-p", aiida_profile.name, str(node.pk), "-o", str(tmp_path / "x"),
                                     "--format", "pdb"])  # fmt: skip
    assert bad.exit_code != 0 and "pdb" in bad.output and not (tmp_path / "x").exists()
    other = CliRunner().invoke(study, ["frames", "-p", aiida_profile.name, str(node.outputs.summary.pk), "-o",
                                       str(tmp_path / "y")])  # fmt: skip
    assert other.exit_code != 0 and "neither a fracture study nor a tension run" in other.output


@pytest.mark.lammps
def test_study_frames_lammps_dump_and_single_run(aiida_profile, smoke_study, tmp_path):
    """The LAMMPS dump of one tension run, read by the project's own reader, holds the stored arrays."""
    import numpy as np

    from aiida_aloxide.lammps_io import parse_dump
    from aiida_aloxide.trajectory import cell_lengths

    node, _ = smoke_study
    stored = _stored_columns(node, "p4")
    tension = node.base.links.get_outgoing(link_label_filter="tension_p4").one().node
    out = tmp_path / "run"
    result = CliRunner().invoke(study, ["frames", "-p", aiida_profile.name, str(tension.pk), "-o", str(out),
                                        "--format", "lammps"])  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    (dump,) = out.glob("*.dump")
    text = dump.read_text()
    assert stored["frames"].uuid in text.split("ITEM: TIMESTEP")[0]
    parsed, truncated = parse_dump(text, allow_truncated_last=False)
    frames, per_atom = stored["frames"], stored["per_atom"]
    assert not truncated and len(parsed) == frames.get_shape("positions")[0]
    al = per_atom.get_array("al_indices")
    for f, frame in enumerate(parsed):
        np.testing.assert_allclose(frame.lengths, cell_lengths(frames)[f], rtol=1e-9)
        np.testing.assert_array_equal(frame.columns["type"], frames.get_array("types"))
        np.testing.assert_array_equal(frame.columns["coordination"][al], per_atom.get_array("cn")[f])
        np.testing.assert_allclose(frame.columns["voronoi_volume"], frames.get_array("voronoi_volume")[f], rtol=1e-6)
    # A plane-stress run's thermal frames: no analysis ran on them, so species and the dumped columns only.
    import ase.io

    ps = node.base.links.get_outgoing(link_label_filter="plane_stress_p0").one().node
    done = CliRunner().invoke(study, ["frames", "-p", aiida_profile.name, str(ps.pk), "-o", str(tmp_path / "ps")])
    assert done.exit_code == 0, done.output
    read = ase.io.read(next((tmp_path / "ps").glob("*.extxyz")), index=":")
    assert len(read) == ps.outputs.frames.get_shape("positions")[0]
    assert "softness" not in read[0].arrays and "switching" not in read[0].arrays


@pytest.mark.lammps
def test_snapshot_panels(smoke_study, demo_output):
    """The demo wrote the paper's snapshot panels, each naming the frames (and softness) nodes it shows."""
    node, _ = smoke_study
    frames = {label: _stored_columns(node, label) for label in ("p0", "p4")}
    for name, keys in (("snapshot_fracture", ("frames",)), ("snapshot_switching", ("frames", "per_atom")),
                       ("snapshot_softness", ("frames", "softness"))):  # fmt: skip
        path = demo_output / f"{name}.png"
        image = Image.open(path)
        assert path.stat().st_size > 5000 and image.size[0] > 600
        sources = image.info["Description"].removeprefix("aloxide:sources ").split()
        for stored in frames.values():
            for key in keys:
                assert stored[key].uuid in sources, (name, key)
        assert len(set(image.convert("L").getdata())) > 20  # not a blank canvas
    assert "snapshot_softness.png" in (demo_output / "index.html").read_text()


@pytest.mark.lammps
def test_slim_archive_reproduces_report(aiida_profile, smoke_study, tmp_path):
    """`study export --slim`: smaller, trajectories emptied, and `study report` after import gives the same CSV."""
    from aiida_aloxide.archive import dynamics_trajectories

    node, _ = smoke_study
    full, slim = tmp_path / "full.aiida", tmp_path / "slim.aiida"
    for path, extra in ((full, []), (slim, ["--slim"])):
        result = CliRunner().invoke(study, ["export", "-p", aiida_profile.name, str(node.pk), str(path), *extra])
        assert result.exit_code == 0, result.output + repr(result.exception)
    assert slim.stat().st_size < full.stat().st_size
    refused = CliRunner().invoke(study, ["export", "-p", aiida_profile.name, str(node.pk), str(slim), "--slim"])
    assert refused.exit_code != 0 and "exists" in refused.output
    dropped = dynamics_trajectories(node)
    assert len(dropped) >= 2  # at least one merged trajectory per sample
    ref = tmp_path / "ref"
    report = CliRunner().invoke(study, ["report", "-p", aiida_profile.name, str(node.pk), "-o", str(ref)])
    assert report.exit_code == 0, report.output
    cli_exe = shutil.which("aiida-aloxide", path=str(Path(sys.executable).parent))
    report_cmd = [cli_exe, "study", "report", "-p", "third", node.uuid, "-o", str(tmp_path / "slim-report")]
    env = _fresh_profile_with(tmp_path, "third", slim, report_cmd)
    assert (tmp_path / "slim-report" / "summary.csv").read_text() == (ref / "summary.csv").read_text()
    assert sorted(p.name for p in (tmp_path / "slim-report").glob("*.png")) == sorted(p.name for p in ref.glob("*.png"))
    script = (
        "from aiida import load_profile, orm\nload_profile('third')\n"
        f"uuids = {[t.uuid for t in dropped]!r}\n"
        "for u in uuids:\n"
        "    n = orm.load_node(u)\n"
        "    assert 'aloxide_slim' in n.base.attributes.keys() and n.base.repository.list_object_names() == []\n"
        f"sw = orm.load_node('{node.uuid}').base.links.get_outgoing(link_label_filter='softness').one().node\n"
        "assert sw.outputs.model.get_array('w').size > 0\n"
        "events = [sw.outputs.events[k] for k in sw.outputs.events]\n"
        "assert events and all(e.get_array(e.get_arraynames()[0]).size for e in events)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
