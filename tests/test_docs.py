"""The documentation builds with Sphinx + MyST, warnings as errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path):
    sphinx = Path(sys.executable).parent / "sphinx-build"
    proc = subprocess.run(
        [str(sphinx), "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path / "html")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "html" / "validation.html").exists()


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
