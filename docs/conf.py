"""Sphinx configuration (MyST Markdown pages)."""

project = "aiida-aloxide"
author = "aiida-aloxide developers"
extensions = ["myst_parser", "sphinx_click"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "alabaster"
myst_heading_anchors = 3
