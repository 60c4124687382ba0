"""One exit-code numbering (aiida_aloxide/exit_codes.py): every process declares its codes from the table, and a
number means one thing in every process."""

from __future__ import annotations

import re
from pathlib import Path

from aiida_aloxide.exit_codes import EXIT_CODES, exit_code_rows, process_classes

DOCS = Path(__file__).resolve().parents[1] / "docs"
#: aiida-core's BaseRestartWorkChain codes, which only the restart wrapper (its subclass) may have.
BASE_RESTART = {301, 302, 401, 402}


def _own_codes() -> dict[str, set[tuple[int, str, str]]]:
    """(status, name, message) of the codes each process declares itself, by entry point."""
    return {
        entry_point: {(status, name, message) for status, name, message, processes, origin in exit_code_rows()
                      if entry_point in processes and origin == "aiida-aloxide"}
        for entry_point in process_classes()
    }  # fmt: skip


def test_every_process_declares_its_codes_from_the_table():
    table = {(row.status, row.name, row.message) for rows in EXIT_CODES.values() for row in rows}
    own = _own_codes()
    assert set(own) >= {"aloxide.lammps", "aloxide.lammps.restart", "aloxide.quench", "aloxide.study"}
    assert all(own.values()), own
    assert set().union(*own.values()) == table
    family = {"aloxide.quench.liquid": "aloxide.quench", "aloxide.tension.plane_strain": "aloxide.tension",
              "aloxide.tension.plane_stress": "aloxide.tension",
              "aloxide.tension.equilibrate": "aloxide.tension"}  # fmt: skip
    for entry_point, codes in own.items():
        rows = EXIT_CODES[family.get(entry_point, entry_point)]
        assert codes == {(row.status, row.name, row.message) for row in rows}, entry_point


def test_a_number_means_one_thing_in_every_process():
    names: dict[int, set[str]] = {}
    for status, name, _, processes, _ in exit_code_rows():
        names.setdefault(status, set()).add(name)
        if status in BASE_RESTART:
            assert processes == ["aloxide.lammps.restart"], (status, processes)
    assert {status: n for status, n in names.items() if len(n) > 1} == {}


def test_ranges_and_the_kept_calcjob_numbers():
    """3xx a LAMMPS run, 4xx unusable inputs, 5xx a failed sub-process; the CalcJob's numbers are stored on nodes."""
    calcjob = {row.name: row.status for row in EXIT_CODES["aloxide.lammps"]}
    assert calcjob == {
        "ERROR_LOG_MISSING": 310, "ERROR_RUN_INCOMPLETE": 311, "ERROR_LOST_ATOMS": 312,
        "ERROR_NON_FINITE_ENERGY": 313, "ERROR_DUMP_CORRUPT": 314, "ERROR_FINAL_STRUCTURE_MISSING": 315,
        "ERROR_RUN_INCOMPLETE_CHECKPOINT": 316,
    }  # fmt: skip
    for family, rows in EXIT_CODES.items():
        for row in rows:
            lammps = family.startswith("aloxide.lammps")
            assert (310 <= row.status < 400) if lammps else (410 <= row.status < 600), (family, row)
            assert "FAILED" not in row.name or 500 <= row.status < 600, row


def test_exit_numbers_named_in_the_docs_are_the_table_s():
    """Prose such as "501 `ERROR_RUN_FAILED`" in docs/*.md names a code by its current number."""
    statuses = {name: status for status, name, *_ in exit_code_rows()}
    found = 0
    for page in sorted(DOCS.glob("*.md")):
        for number, name in re.findall(r"\b(\d{1,4}) `(ERROR_[A-Z_]+)`", page.read_text()):
            assert statuses.get(name) == int(number), f"{page.name}: {number} {name} (is {statuses.get(name)})"
            found += 1
    assert found >= 10
