"""Sphinx configuration (MyST Markdown pages); the exit-code table is generated from the process specs."""

from __future__ import annotations

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

project = "aiida-aloxide"
author = "aiida-aloxide developers"
extensions = ["myst_parser", "sphinx_click"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "alabaster"
myst_heading_anchors = 3


class ExitCodesDirective(SphinxDirective):
    """``{exit-codes}``: every exit code of every process, read from their specs (not hand-written, so never stale)."""

    def run(self) -> list[nodes.Node]:
        """The Markdown table of :func:`aiida_aloxide.exit_codes.exit_code_table`, parsed in place."""
        from aiida_aloxide.exit_codes import exit_code_table

        container = nodes.container()
        lines = StringList(exit_code_table().splitlines(), source="aiida_aloxide.exit_codes")
        self.state.nested_parse(lines, self.content_offset, container)
        return container.children


def setup(app: Sphinx) -> dict[str, bool]:
    """Register the ``exit-codes`` directive."""
    app.add_directive("exit-codes", ExitCodesDirective)
    return {"parallel_read_safe": True}
