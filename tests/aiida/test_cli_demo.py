"""The README's demo command end to end at smoke scale: the whole study, its report and figures."""

from __future__ import annotations

import re

import pytest
from aiida import orm
from click.testing import CliRunner
from PIL import Image

from aiida_aloxide.cli import cli

pytestmark = pytest.mark.lammps


def test_demo_smoke_runs_the_study_and_writes_the_report(aiida_profile, lammps_code, tmp_path):
    out = tmp_path / "demo"
    args = ["demo", "-p", aiida_profile.name, "--protocol", "smoke", "-P", "0", "--output", str(out), "--interval", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    # Progress lines per stage, the overhead ratio, and where the report is.
    for stage in ("quench_p0", "tension_p0", "plane_stress_p0", "softness"):
        assert re.search(rf"\[demo +\d+ s\] {stage} \(PK \d+\): Finished \[0\]", result.output), stage
    assert re.search(r"wall / LAMMPS = \d+\.\d\d", result.output)
    assert f"Report: {(out / 'summary.md').resolve()}" in result.output
    pk = int(re.search(r"study PK (\d+)", result.output).group(1))
    node = orm.load_node(pk)
    assert node.is_finished_ok and node.inputs.softness.value
    assert node.inputs.loading.get_list() == ["plane_strain", "plane_stress"]
    summary = (out / "summary.md").read_text()
    for name in ("stress_strain", "bond_switching", "d_distribution", "stress_distributions", "softness_vs_strain",
                 "rearrangement_probability", "softness_clusters", "density_coordination"):  # fmt: skip
        image = Image.open(out / f"{name}.png")
        assert image.size[0] > 300 and f"{name}.png" in summary
    assert "| DC |" in summary and "## Softness" in summary and "plane_stress" in summary
    assert (out / "summary.csv").read_text().startswith("label,pressure,density")
