"""Printing and recording a benchmark's Markdown table (shared by the benchmark scripts)."""

from __future__ import annotations

from pathlib import Path


def emit(lines: list[str], doc: Path, write: bool) -> None:
    """Print ``lines``; with ``write`` also store them as ``doc`` (a page of docs/)."""
    print("\n".join(lines))
    if write:
        doc.write_text("\n".join(lines) + "\n")
        print(f"written {doc}")
