"""The demo command end to end at smoke scale: samples, tension, figure and report written."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from PIL import Image

from aiida_aloxide.cli import cli

pytestmark = pytest.mark.lammps


def test_demo_smoke_writes_report_and_figure(aiida_profile, lammps_code, tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "-p", aiida_profile.name, "--protocol", "smoke", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "[demo 4/4] plane-strain tension of the 4 GPa sample" in result.output
    summary = (out / "summary.md").read_text()
    assert "| 0 | " in summary and "| 4 | " in summary
    assert "plane_strain" in summary and "stress_strain.png" in summary
    for name in ("stress_strain", "bond_switching", "d_distribution", "stress_distributions"):
        image = Image.open(out / f"{name}.png")
        assert image.size[0] > 300 and f"{name}.png" in summary
    assert "| DC |" in summary
    # The samples are listed by the `samples` command afterwards.
    listing = CliRunner().invoke(cli, ["samples", "-p", aiida_profile.name, "--protocol", "smoke"])
    assert listing.exit_code == 0 and "smoke" in listing.output
