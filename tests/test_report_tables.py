"""The report's tables (display names, units, CSV) and the progress display's pieces, without a profile."""

from __future__ import annotations

import csv
import io
import logging

from aiida_aloxide.cli.progress import BranchState, aiida_log_to_file, branch_of
from aiida_aloxide.functions.study import SUMMARY_COLUMNS
from aiida_aloxide.report.tables import (
    COLUMNS,
    csv_header,
    own_model_tables,
    study_tables,
    summary_markdown,
    table_html,
    write_summary_csv,
)

ROW = {
    "pressure": 0.0, "density": 3.1647348666827, "al4": 0.77083333333333, "al5": 0.2, "al6": 0.0625,
    "peak_stress": 10.20692022, "strain_at_peak": 0.16, "fractured": True, "fracture_strain": 0.42,
    "toughness": 2.5861885911225, "ps_peak_stress": 8.5350049714286, "ps_strain_at_peak": 0.13,
    "ps_toughness": 3.2328117757124, "final_strain": 0.44, "dc": 0.21875, "ic": 0.054166666666667,
    "sc": 0.27916666666667, "uc": 0.44791666666667, "d_mean": 186.09991878974,
    "softness_model": "reference:fast-inherent", "softness_model_events": 460,
    "softness_cv_balanced_accuracy": 0.73174638965978, "unstrained_mean_softness": -0.77823321758272,
    "unstrained_median_softness": -0.78653978218777, "softness_loso_balanced_accuracy": 0.665,
    "softness_next_step_auc": 0.51,
}  # fmt: skip


def _summary() -> dict:
    """A two-pressure summary Dict as the study stores it (4 GPa did not fracture, no plane stress)."""
    p4 = {**ROW, "pressure": 4.0, "fractured": False, "fracture_strain": None, "ps_peak_stress": None,
          "ps_strain_at_peak": None, "ps_toughness": None}  # fmt: skip
    return {"labels": ["p0", "p4"], "columns": list(SUMMARY_COLUMNS), "rows": {"p0": dict(ROW), "p4": p4}}


def test_every_summary_column_has_a_readable_name_with_units():
    assert set(SUMMARY_COLUMNS) <= set(COLUMNS)
    headers = [COLUMNS[k].csv for k in SUMMARY_COLUMNS]
    assert len(set(headers)) == len(headers)
    for key in SUMMARY_COLUMNS:
        col = COLUMNS[key]
        assert col.csv.isascii() and col.csv != key and "_" not in col.header.replace("σ_xx", ""), key
    for key, unit in (("pressure", "(GPa)"), ("density", "(g/cm3)"), ("toughness", "(GJ/m3)"),
                      ("ps_peak_stress", "(GPa)"), ("d_mean", "(Angstrom)")):  # fmt: skip
        assert COLUMNS[key].csv.endswith(unit), key


def test_topic_tables_and_csv(tmp_path):
    summary = _summary()
    md = summary_markdown(summary)
    for title in ("## Samples", "## Tension", "## Bond switching", "## Softness"):
        assert title in md
    assert "| quench pressure (GPa) | density (g/cm³) |" in md and "| ⟨D⟩ (Å) |" in md
    assert "| 0 | plane strain | 10.21 | 0.16 | 0.42 | 2.586 |" in md
    assert "| 0 | plane stress | 8.54 |" in md and "| 4 | plane stress |" not in md
    assert "| 4 | plane strain | 10.21 | 0.16 | not fractured |" in md
    assert "73.2 %" in md and "| 3.165 |" in md
    for key in SUMMARY_COLUMNS:
        if "_" in key:
            assert key not in md, key
    # The report's extra values add columns; the stored values always win over them.
    details = {"p0": {"mean_cn_al": 4.258, "plastic_energy": 2.244, "max_strain": 0.5, "d_median": 167.06,
                      "density": -1.0, "hydrostatic_al4": 38.8}}  # fmt: skip
    tables = study_tables(summary, details)
    titles = [t.title.split(" (SPEC")[0] for t in tables]
    assert titles == ["Samples", "Tension", "Bond switching and non-affine displacement D",
                      "Atomic stress before loading", "Softness on the tension frames"]  # fmt: skip
    assert "plastic energy (GJ/m³)" in tables[1].headers and tables[0].rows[0][1] == "3.165"
    assert "<th>mean Al coordination</th>" in table_html(tables[0])
    # CSV: readable headers, the stored values at full precision.
    path = write_summary_csv(summary, tmp_path / "summary.csv")
    rows = list(csv.reader(path.open()))
    assert rows[0] == csv_header(summary) and rows[0][:3] == ["sample", "quench pressure (GPa)", "density (g/cm3)"]
    for cells, label in zip(rows[1:], summary["labels"], strict=True):
        assert cells[0] == label
        for key, cell in zip(summary["columns"], cells[1:], strict=True):
            value = summary["rows"][label][key]
            assert cell == ("" if value is None else str(value)), key


def test_own_model_tables():
    cv = {"balanced_accuracy": 0.42, "repeats": 10, "folds": 5, "balanced_accuracy_std": 0.21}
    cross = {"keys": ["p0", "p4"], "accuracy": [[0.47, 0.5], [0.25, None]], "mean_off_diagonal": 0.38}
    report = {"n_events": 20, "n_rearranging": 10, "cross_validation": cv, "cross_pressure": cross,
              "warning": "only 20 events"}  # fmt: skip
    own, cross = own_model_tables(report)
    assert own.rows[3][1] == "42 % ± 21 %" and own.warnings == ["This study's own model is a smoke run: only 20 events"]
    assert cross.headers == ["train \\ test", "p0", "p4"] and cross.rows[1] == ["p4", "25 %", "–"]


def test_progress_lines():
    assert branch_of("quench_p0") == "p0 quench" and branch_of("plane_stress_p0_5") == "p0_5 plane stress"
    assert branch_of("tension_p4") == "p4 plane strain" and branch_of("deformation_p4") == "p4 analysis"
    assert branch_of("softness") == "softness" and branch_of("summary") is None
    assert BranchState(2, 5, None, 12.3).text() == "2/5 done (12 s)"
    assert BranchState(7, 12, "finished", 80.0).text() == "7/7 finished in 80 s"  # plane strain stops at fracture
    assert BranchState(6, 5, None, 1.0).text() == "6/6 done (1 s)"
    assert BranchState(1, None, "FAILED [501]: x", 5.0).text() == "1/? FAILED [501]: x after 5 s"


def test_aiida_log_goes_to_the_file_and_warnings_stay_on_the_terminal(tmp_path):
    logger = logging.getLogger("aiida")
    stream = io.StringIO()
    console = logging.StreamHandler(stream)
    console.setFormatter(logging.Formatter("%(name)s: [%(levelname)s] %(message)s"))
    console.setLevel(logging.REPORT)  # type: ignore[attr-defined]
    old_level = logger.level
    logger.addHandler(console)
    logger.setLevel(logging.REPORT)  # type: ignore[attr-defined]
    child = logging.getLogger("aiida.orm.nodes.process.workflow.workchain.WorkChainNode")
    try:
        with aiida_log_to_file(tmp_path / "run" / "study.log") as path:
            child.report("stage 1/5 melt: launching")  # type: ignore[attr-defined]
            child.warning("a warning")
        assert "[REPORT]" not in stream.getvalue() and "a warning" in stream.getvalue()
        text = path.read_text()
        assert "WorkChainNode: [REPORT] stage 1/5 melt: launching" in text and "a warning" in text
        # Restored: the terminal gets REPORT lines again, the file no more.
        child.report("after")  # type: ignore[attr-defined]
        assert "[REPORT] after" in stream.getvalue() and "after" not in path.read_text()
        assert console.level == logging.REPORT and all(h is console or h.__class__.__name__ != "FileHandler"  # type: ignore[attr-defined]
                                                       for h in logger.handlers)  # fmt: skip
    finally:
        logger.removeHandler(console)
        logger.setLevel(old_level)
