"""Cache versions of the package's calcfunctions, derived from the code so that nobody has to bump them.

AiiDA hashes a calcfunction node by its inputs, its attributes and its repository, which holds the
source file of the function's own module; the modules that file imports (``analysis/``, ``data/``,
``trajectory.py``, ...) are not part of that hash, so a change in the science would be served stale
from the cache. :func:`calcfunction` is aiida's decorator plus one attribute on every node it
makes, ``cache_version = {"calcfunction": "<package version>+<digest>"}``: the digest is the SHA-256
of the source of the function's module and of every ``aiida_aloxide`` module it imports, directly or
through other package modules (function-local imports included). The attribute enters the node's
hash, so a node made by other code is never reused, and one made by the same code is.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiida.engine import calcfunction as aiida_calcfunction

from .. import __version__

__all__ = ["CACHE_VERSION_KEY", "cache_version", "calcfunction", "module_sources"]

#: Node attribute holding the versions; the key aiida's CalcJob uses for ``CACHE_VERSION``.
CACHE_VERSION_KEY = "cache_version"
_PACKAGE = __name__.split(".")[0]
_ROOT = Path(__file__).resolve().parents[1]


def _module_file(name: str) -> Path | None:
    """The source file of the package module ``name`` (a package's ``__init__.py``), None if no module."""
    base = _ROOT.joinpath(*name.split(".")[1:])
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


@functools.cache
def _direct_imports(name: str) -> frozenset[str]:
    """Package modules that module ``name`` imports anywhere in its source, plus its parent packages."""
    path = _module_file(name)
    if path is None:
        raise ValueError(f"{name!r} is not a module of {_PACKAGE}")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                module = ".".join([*parts, node.module] if node.module else parts)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from . import rdf` names a module
    parents = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return frozenset(
        m for m in found | parents if (m == _PACKAGE or m.startswith(f"{_PACKAGE}.")) and _module_file(m) is not None
    )


def module_sources(module: str) -> dict[str, bytes]:
    """Source of ``module`` and of every package module it imports, transitively, by module name."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_direct_imports(name) - seen)
    return {name: _module_file(name).read_bytes() for name in sorted(seen)}  # type: ignore[union-attr]


def cache_version(module: str) -> str:
    """``<package version>+<first 16 hex digits of the SHA-256 of module_sources(module)>``."""
    digest = hashlib.sha256()
    for name, source in sorted(module_sources(module).items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(source).digest())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def calcfunction(function: Callable[..., Any]) -> Any:
    """aiida's ``calcfunction`` whose nodes carry the cache version of the code loaded with the function."""
    decorated = aiida_calcfunction(function)
    process_class = decorated.process_class
    # Computed on import, i.e. from the code this interpreter runs, not from whatever is on disk later.
    process_class.CACHE_VERSION = cache_version(function.__module__)
    base = process_class._setup_version_info

    def _setup_version_info(self) -> dict[str, Any]:
        """aiida's version attributes plus the cache version, set before the node is stored and hashed."""
        info = base(self)
        self.node.base.attributes.set(CACHE_VERSION_KEY, {"calcfunction": type(self).CACHE_VERSION})
        return info

    process_class._setup_version_info = _setup_version_info
    return decorated
