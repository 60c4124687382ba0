"""The documentation builds with Sphinx + MyST, warnings as errors; its generated references match the code."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def html_build(tmp_path_factory):
    """One HTML build (warnings as errors, but every page written): the process and the output folder."""
    out = tmp_path_factory.mktemp("docs") / "html"
    sphinx = Path(sys.executable).parent / "sphinx-build"
    proc = subprocess.run(
        [str(sphinx), "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)], capture_output=True, text=True
    )
    return proc, out


def test_docs_build_without_warnings(html_build):
    proc, out = html_build
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "validation.html").exists()


def test_cli_reference_is_generated_from_the_code(tmp_path):
    """docs/cli.md renders every command and option of the click tree (sphinx-click), so it cannot go stale."""
    from aiida_aloxide.cli import cli

    sphinx = Path(sys.executable).parent / "sphinx-build"
    proc = subprocess.run(
        [str(sphinx), "-q", "-b", "text", str(DOCS), str(tmp_path / "text")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = (tmp_path / "text" / "cli.txt").read_text()

    def walk(group, prefix):
        for name, command in group.commands.items():
            yield f"{prefix} {name}", command
            if hasattr(command, "commands"):
                yield from walk(command, f"{prefix} {name}")

    commands = list(walk(cli, "aiida-aloxide"))
    assert len(commands) > 10
    for path, command in commands:
        assert path in text, path
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in text, f"{path} {opt}"


class _Tables(HTMLParser):
    """The text of every cell of every table of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_exit_code_table_is_the_process_specs(html_build):
    """docs/workchains.md's exit-code table lists every exit code of every ``aloxide.*`` process, as in its spec."""
    from aiida.plugins import CalculationFactory, WorkflowFactory
    from aiida.plugins.entry_point import get_entry_point_names

    expected: dict[tuple[int, str, str], set[str]] = {}
    for group, factory in (("aiida.calculations", CalculationFactory), ("aiida.workflows", WorkflowFactory)):
        for entry_point in get_entry_point_names(group):
            if entry_point.startswith("aloxide."):
                for name, code in factory(entry_point).spec().exit_codes.items():
                    expected.setdefault((code.status, name, code.message.replace("`", "")), set()).add(entry_point)
    every = set().union(*expected.values())
    parser = _Tables()
    parser.feed((html_build[1] / "workchains.html").read_text())
    (table,) = [t for t in parser.tables if t and t[0] == ["status", "name", "message", "processes", "declared by"]]
    documented = {
        (int(status), name, message): every if where == "every process" else set(where.split(", "))
        for status, name, message, where, _ in table[1:]
    }
    assert documented == expected
