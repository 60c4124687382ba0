"""``study run --replicas``: independent melts per pressure, mean ± standard error, the slot pool in the job scripts."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_aloxide.cli.study import study
from aiida_aloxide.functions.study import replica_statistics
from aiida_aloxide.report.study import write_report
from aiida_aloxide.workchains.study_inputs import replica_seed, sample_label, validate_replicas


def test_replica_seeds_and_labels():
    """Replica 0 keeps the study seed (a one-replica study is unchanged); the others are distinct valid seeds."""
    seeds = [replica_seed(7, r) for r in range(20)]
    assert seeds[0] == 7 and len(set(seeds)) == 20
    assert all(1 <= s <= 900_000_000 for s in seeds)
    assert seeds == [replica_seed(7, r) for r in range(20)]  # deterministic
    assert sample_label(4.0, 0, 1) == "p4" and sample_label(4.0, 2, 3) == "p4_r3"
    assert validate_replicas(orm.Int(0), None) and validate_replicas(orm.Int(21), None)
    assert validate_replicas(orm.Int(3), None) is None


def test_replica_statistics_known_values():
    """Mean and SE = std(ddof=1)/√N of hand-made rows; a value missing in one replica gives no mean."""
    rows = {
        "p0_r1": {"pressure": 0.0, "density": 3.0, "dc": 0.1, "fractured": True, "x": None},
        "p0_r2": {"pressure": 0.0, "density": 3.2, "dc": 0.3, "fractured": False, "x": 1.0},
        "p0_r3": {"pressure": 0.0, "density": 3.1, "dc": 0.2, "fractured": True, "x": 2.0},
        "p4_r1": {"pressure": 4.0, "density": 3.4, "dc": 0.5, "fractured": True, "x": 1.0},
    }
    stats = replica_statistics(rows, ["pressure", "density", "dc", "fractured", "x"])
    assert stats["p0"]["n"] == 3 and stats["p0"]["mean"]["density"] == pytest.approx(3.1)
    assert stats["p0"]["se"]["density"] == pytest.approx(0.1 / np.sqrt(3))
    assert stats["p0"]["se"]["dc"] == pytest.approx(0.1 / np.sqrt(3))
    assert "fractured" not in stats["p0"]["mean"]
    assert stats["p0"]["mean"]["x"] is None
    assert stats["p4"]["n"] == 1 and stats["p4"]["se"]["density"] is None


@pytest.mark.lammps
def test_replica_study_smoke(aiida_profile, lammps_code, tmp_path):
    """Two replicas at one pressure: two melts with their own seeds, mean ± SE in the summary, CSV, table and
    band figure, QueryBuilder over replicas, and every LAMMPS job waiting for the slot pool on 1 rank."""
    args = ["run", "-p", aiida_profile.name, "--protocol", "smoke", "-P", "4", "--replicas", "2", "--no-softness",
            "--loading", "plane_strain", "--label", "replicas-t", "--interval", "0.5",
            "--log", str(tmp_path / "l")]  # fmt: skip
    result = CliRunner().invoke(study, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    node = (
        orm.QueryBuilder()
        .append(orm.WorkflowNode, filters={"extras.aloxide_study_group": "aloxide/study/replicas-t"})
        .one()[0]
    )
    summary = node.outputs.summary.get_dict()
    assert summary["labels"] == ["p4_r1", "p4_r2"]
    rows = summary["rows"]
    densities = [rows[k]["density"] for k in summary["labels"]]
    assert densities[0] != densities[1]  # independent melts
    stats = summary["replicas"]["p4"]
    assert stats["n"] == 2 and stats["values"]["density"] == densities
    assert stats["mean"]["density"] == pytest.approx(np.mean(densities))
    assert stats["se"]["density"] == pytest.approx(np.std(densities, ddof=1) / np.sqrt(2))

    children = {link.link_label for link in node.base.links.get_outgoing().all()}
    assert {"liquid_r1", "liquid_r2", "quench_p4_r1", "quench_p4_r2", "tension_p4_r2"} <= children
    # QueryBuilder over replicas: this study's quenches at 4 GPa, by extras, with their densities
    qb = orm.QueryBuilder().append(orm.WorkflowNode, filters={"id": node.pk}, tag="study")
    qb.append(
        orm.WorkflowNode,
        with_incoming="study",
        tag="q",
        filters={"extras.aloxide_pressure": 4.0, "extras": {"has_key": "aloxide_replica"}},
        project=["extras.aloxide_replica", "extras.aloxide_seed"],
    )
    qb.append(orm.Dict, with_incoming="q", edge_filters={"label": "properties"}, project=["attributes.density"])
    found = sorted(tuple(r) for r in qb.all())
    assert found == [(0, replica_seed(1, 0), densities[0]), (1, replica_seed(1, 1), densities[1])]

    # the slot pool: every LAMMPS job script waited for its slot, on one rank (liquids: the pool's share)
    calcs = [d for d in node.called_descendants if d.process_type == "aiida.calculations:aloxide.lammps"]
    assert calcs
    for calc in calcs:
        script = calc.base.repository.get_object_content("_aiidasubmit.sh")
        assert 'slots.py" acquire --dir' in script and "--holder $$" in script
        assert calc.get_option("resources")["num_mpiprocs_per_machine"] == 1

    report = write_report(node, tmp_path / "report")
    assert (tmp_path / "report" / "replica_bands.png").exists()
    with open(report.summary_csv, newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    by_sample = {r[0]: r for r in table[1:]}
    col = table[0].index(next(h for h in table[0] if h.startswith("density")))
    assert float(by_sample["p4 mean"][col]) == pytest.approx(stats["mean"]["density"])
    assert float(by_sample["p4 standard error"][col]) == pytest.approx(stats["se"]["density"])
    assert "Replicas: mean ± standard error" in report.summary_md.read_text()

    shown = CliRunner().invoke(study, ["show", "-p", aiida_profile.name, str(node.pk)])
    assert shown.exit_code == 0 and "Replicas: mean ± standard error" in shown.output, shown.output
