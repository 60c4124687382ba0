"""A whole study of another glass than alumina (issue #21): ``study run --material silica-bks`` at smoke scale.

Everything the study does for Al in alumina it does for Si in silica: every LAMMPS run gets the material,
the samples, frames and exports hold Si and O, the coordination classes, bond switching, D, atomic stress,
softness (the study's own model: the packaged ones are alumina's) and clusters are the cations', and the
summary, the report's tables, captions and figure texts name Si. The numbers of a smoke study mean nothing;
what is checked is that the material reaches every layer and that nothing alumina-specific is left on the way.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from aiida import orm
from click.testing import CliRunner
from PIL import Image

from aiida_aloxide.cli import cli
from aiida_aloxide.materials import load_material
from aiida_aloxide.workchains.study import FractureStudyWorkChain

pytestmark = pytest.mark.lammps

#: Alumina's cation written as a word or a species label (Al, Al4, AlN), which a silica report must not hold.
ALUMINIUM = re.compile(r"\bAl(\d|N\b|\b)")


@pytest.fixture(scope="module")
def silica_study(aiida_profile, lammps_code, tmp_path_factory):
    """``study run --material silica-bks --protocol smoke -P 0 -P 8`` and its report; returns (node, report dir)."""
    # The smoke glass (quenched in 0.5 ps) is far from relaxed: at the material's 1500 K (and at 1000 K) every Si
    # moves within the smoke protocol's 0.4 ps windows and none is calm; at 300 K none rearranges. 700 K and a
    # calm threshold of 0.1 Å² give both kinds of example (the caller's overrides win over the material's).
    overrides = '{"dynamics": {"dynamics": {"temperature": 700.0}, "events": {"non_rearranging_threshold": 0.1}}}'
    args = ["study", "run", "-p", aiida_profile.name, "--material", "silica-bks", "--protocol", "smoke", "-P", "0",
            "-P", "8", "--label", "silica-smoke", "--code", lammps_code.full_label, "--interval", "0.5",
            "--overrides", overrides, "--log", str(tmp_path_factory.mktemp("log") / "study.log")]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    node = orm.load_node(int(re.search(r"\[study\] PK (\d+):", result.output).group(1)))
    out = tmp_path_factory.mktemp("silica-report")
    report = CliRunner().invoke(cli, ["study", "report", "-p", aiida_profile.name, str(node.pk), "-o", str(out)])
    assert report.exit_code == 0, report.output + repr(report.exception)
    return node, out


def test_silica_study_runs_on_its_material_throughout(silica_study):
    node, _ = silica_study
    assert node.is_finished_ok, node.exit_message
    assert node.inputs.material["name"] == "silica-bks" and node.base.extras.get("aloxide_material") == "silica-bks"
    # The material's preparation densities and liquid temperature are stored as quench overrides.
    silica = load_material("silica-bks")
    assert node.inputs.overrides["quench"] == silica.preparation
    assert node.inputs.overrides["dynamics"]["dynamics"]["temperature"] == 700.0  # the caller's wins
    assert node.inputs.parameters["dynamics"]["dynamics"]["temperature"] == 700.0
    assert node.inputs.parameters["quench"]["liquid_temperature"] == silica.preparation["liquid_temperature"]
    calcs = [c for c in node.called_descendants if (c.process_type or "").endswith("aloxide.lammps")]
    assert calcs and all(c.inputs.material["name"] == "silica-bks" for c in calcs)
    summary = node.outputs.summary.get_dict()
    assert summary["material"] == "silica-bks" and summary["cation"] == "Si"
    assert {"si4", "si5", "si6"} <= set(summary["columns"]) and not {"al4", "al5", "al6"} & set(summary["columns"])
    for row in summary["rows"].values():
        assert row["si4"] + row["si5"] + row["si6"] <= 1.0 + 1e-12 and row["density"] > 1.5
    for label in summary["labels"]:
        deformation = node.outputs.deformation[label].get_dict()
        copies = node.inputs.parameters["tension"]["replicate_x"]  # the pulled sample is the quenched one repeated
        assert deformation["cation"] == "Si" and deformation["n_si"] == copies * node.outputs.properties[label]["n_si"]
        assert deformation["al_o_cutoff"] == silica.cation_anion_cutoff  # the material's cut-off, not alumina's
        assert "si4_fraction_initial" in deformation and "al4_fraction_initial" not in deformation
        frames = node.outputs.stress_strain[label].creator.outputs.frames
        assert set(frames.symbols) == {"Si", "O"}


def test_silica_softness_is_its_own_model_on_si(silica_study):
    node, _ = silica_study
    model = node.outputs.softness.model
    names = model.feature_names
    assert any(n.startswith("G_Si_") for n in names) or any(n.startswith("Psi_Si") for n in names), names[:5]
    assert not any(n.startswith(("G_Al_", "Psi_Al")) for n in names)
    assert model.structure_function_parameters["labels"] == {"1": "Si", "2": "O"}
    softness = node.called_descendants
    clusters = [n for n in softness if n.process_label == "softness_clusters"]
    assert clusters and all(c.outputs.summary["cutoff"] == load_material("silica-bks").cation_cation_cutoff
                            for c in clusters)  # fmt: skip


def test_silica_report_names_si(silica_study):
    node, out = silica_study
    md = (out / "summary.md").read_text()
    assert "silica-bks" in md and "Si4 fraction" in md and "DC fraction of Si" in (out / "summary.csv").read_text()
    assert not ALUMINIUM.search(md), ALUMINIUM.search(md)
    assert not ALUMINIUM.search((out / "summary.csv").read_text().splitlines()[0])
    html = (out / "index.html").read_text()
    assert not ALUMINIUM.search(html), ALUMINIUM.search(html)
    titles = []
    for png in sorted(out.glob("*.png")):
        with Image.open(png) as image:
            titles.append(str(image.info.get("Title", "")))
    assert titles and not any(ALUMINIUM.search(t) for t in titles), titles


def test_silica_frames_export_si(silica_study, aiida_profile, tmp_path):
    node, _ = silica_study
    result = CliRunner().invoke(cli, ["study", "frames", "-p", aiida_profile.name, str(node.pk), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    files = sorted(tmp_path.rglob("*.extxyz"))
    assert files
    import ase.io

    atoms = ase.io.read(files[0], index=0)
    assert set(atoms.get_chemical_symbols()) == {"Si", "O"}
    coordination = atoms.arrays["coordination"]
    si = np.array(atoms.get_chemical_symbols()) == "Si"
    assert np.all(coordination[~si] == -1) and np.all(coordination[si] >= 0)


def test_bad_material_inputs_are_refused_before_anything_runs(aiida_profile, lammps_code, silica_study):
    runner = CliRunner()
    base = [
        "study",
        "run",
        "-p",
        aiida_profile.name,
        "--protocol",
        "smoke",
        "-P",
        "0",
        "--code",
        lammps_code.full_label,
    ]
    unknown = runner.invoke(cli, [*base, "--material", "silica"])
    assert unknown.exit_code != 0 and "unknown material 'silica'" in unknown.output and "silica-bks" in unknown.output
    model = runner.invoke(cli, [*base, "--material", "silica-bks", "--softness-model", "reference"])
    assert model.exit_code != 0 and "the packaged models are alumina's" in model.output
    # A silica sample given to an alumina tension chain (no material input) is refused, and vice versa.
    from aiida_aloxide.workchains.tension import PlaneStrainWorkChain

    node, _ = silica_study
    sample = node.outputs.samples["p0"]
    spec = PlaneStrainWorkChain.spec().inputs
    builder = PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, sample, protocol="smoke")
    assert "elements other than Al and O: ['Si']" in str(spec.validate(spec.pre_process(builder._inputs(prune=True))))
    builder = PlaneStrainWorkChain.get_builder_from_protocol(
        lammps_code, sample, protocol="smoke", material="silica-bks"
    )
    assert spec.validate(spec.pre_process(builder._inputs(prune=True))) is None
    # The packaged (alumina) softness model on a silica study: refused by the study's own validator too.
    from aiida_aloxide.cli.common import load_softness_model

    study_spec = FractureStudyWorkChain.spec().inputs
    builder = FractureStudyWorkChain.get_builder_from_protocol(
        lammps_code, [0.0], protocol="smoke", material="silica-bks"
    )
    builder.softness_model = load_softness_model("reference")
    message = str(study_spec.validate(study_spec.pre_process(builder._inputs(prune=True))))
    assert "trained on Al/O frames, but the study's material silica-bks is Si/O" in message


def test_tension_command_runs_a_silica_sample_as_silica(aiida_profile, lammps_code, silica_study):
    """``tension -s`` without ``--material`` runs a sample with the material of its elements."""
    node, _ = silica_study
    sample = node.outputs.samples["p0"]
    args = ["tension", "-p", aiida_profile.name, "-s", sample.uuid, "--protocol", "smoke", "--loading", "plane_stress",
            "--code", lammps_code.full_label]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    pk = int(re.search(r"PK (\d+): peak", result.output).group(1))
    run = orm.load_node(pk)
    assert run.is_finished_ok and run.inputs.material["name"] == "silica-bks"
    refused = CliRunner().invoke(cli, [*args, "--material", "alumina-matsui"])
    assert refused.exit_code != 0 and "elements other than Al and O: ['Si']" in refused.output


def test_silica_bond_cutoff_lies_past_the_first_minimum_of_g(silica_study):
    """The file's Si–O cut-off is checked against the stored partial g(r) of a sample: the first peak is the Si–O
    bond of BKS glass (~1.6 Å) and the cut-off lies past the first minimum after it, so it counts the first shell."""
    from aiida_aloxide.functions.analysis import rdf_analysis

    node, _ = silica_study
    rdf = rdf_analysis(node.outputs.samples["p0"])
    attrs = rdf.base.attributes.all
    silica = load_material("silica-bks")
    assert attrs["cation"] == "Si" and attrs["si_o_cutoff"] == silica.cation_anion_cutoff
    assert 1.5 < attrs["si_o_first_peak"] < 1.75, attrs
    assert attrs["si_o_first_minimum"] <= silica.cation_anion_cutoff + 0.05, attrs
    assert {"g_si_o", "g_si_si", "g_o_o"} <= set(rdf.get_arraynames())


def test_samples_listing_names_each_sample_s_cation(aiida_profile, silica_study):
    """``aiida-aloxide samples`` lists silica samples with their Si coordination (and alumina ones with Al's)."""
    node, _ = silica_study
    result = CliRunner().invoke(cli, ["samples", "-p", aiida_profile.name, "--protocol", "smoke"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    si4 = node.outputs.properties["p0"]["si4"]
    assert "cation" in result.output and any(
        line.split()[4:6] == ["Si", f"{si4:.3f}"] for line in result.output.splitlines()[1:]
    ), result.output
