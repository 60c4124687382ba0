"""Cache versions of the calcfunctions (issue #13): code that changed is a cache miss, unchanged code a hit."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

from aiida import orm
from aiida.manage.caching import enable_caching

import aiida_aloxide
import aiida_aloxide.functions
from aiida_aloxide.functions import versioning
from aiida_aloxide.functions.structure import random_alumina

PACKAGE_DIR = Path(aiida_aloxide.__file__).parent
STRUCTURE = "aiida_aloxide.functions.structure"


def _calcfunctions():
    """Every calcfunction defined in ``aiida_aloxide.functions``."""
    for info in pkgutil.iter_modules(aiida_aloxide.functions.__path__, "aiida_aloxide.functions."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if getattr(obj, "is_process_function", False) and obj.__module__ == module.__name__:
                yield obj


def test_every_calcfunction_is_versioned():
    functions = list(_calcfunctions())
    assert len(functions) >= 19
    for func in functions:
        assert func.process_class.CACHE_VERSION == versioning.cache_version(func.__module__), func.__name__
        assert func.process_class.CACHE_VERSION.startswith(f"{aiida_aloxide.__version__}+")
    # Nobody can forget: no module of the package takes `calcfunction` from aiida directly.
    for path in PACKAGE_DIR.rglob("*.py"):
        if path.name == "versioning.py":
            continue
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aiida.engine"):
                assert "calcfunction" not in {a.name for a in node.names}, f"{path}: use functions.versioning"


def test_version_covers_the_analysis_code_and_nothing_else():
    sources = versioning.module_sources(STRUCTURE)
    # The module itself, the science it calls (directly and through other modules) and the versioning.
    assert {
        STRUCTURE,
        "aiida_aloxide.analysis.coordination",
        "aiida_aloxide.analysis.neighbors",  # imported by coordination, not by structure.py
        "aiida_aloxide.analysis.voronoi",  # a function-local import
        "aiida_aloxide.packing",
        "aiida_aloxide.functions.versioning",
    } <= set(sources)
    assert not any(".workchains" in name or ".cli" in name or ".report" in name for name in sources)
    assert "aiida_aloxide.analysis.rdf" not in sources


def _edited(monkeypatch, module: str):
    """``random_alumina`` as it would be decorated if ``module``'s source had one more line."""
    original = versioning.module_sources

    def sources(name: str) -> dict[str, bytes]:
        found = dict(original(name))
        if module in found:
            found[module] += b"\n# edited\n"
        return found

    monkeypatch.setattr(versioning, "module_sources", sources)
    if module not in original(STRUCTURE):
        assert versioning.cache_version(STRUCTURE) == random_alumina.process_class.CACHE_VERSION
    return versioning.calcfunction(random_alumina.__wrapped__)


def test_changed_code_is_not_reused_from_the_cache(aiida_profile, monkeypatch):
    inputs = (orm.Int(4), orm.Float(3.0), orm.Float(1.8), orm.Int(424242))
    with enable_caching(identifier=f"{STRUCTURE}.random_alumina"):
        _, first = random_alumina.run_get_node(*inputs)
        _, same = random_alumina.run_get_node(*inputs)
        # An edit of an analysis module the function calls (not of its own file): a new version, a fresh run.
        changed_func = _edited(monkeypatch, "aiida_aloxide.analysis.coordination")
        _, changed = changed_func.run_get_node(*inputs)
        monkeypatch.undo()
        # An edit of a module the function does not import: same version, reused.
        unrelated_func = _edited(monkeypatch, "aiida_aloxide.workchains.study")
        _, unrelated = unrelated_func.run_get_node(*inputs)
    version = random_alumina.process_class.CACHE_VERSION
    assert first.base.attributes.get(versioning.CACHE_VERSION_KEY) == {"calcfunction": version}
    assert first.is_finished_ok and first.base.caching.get_cache_source() is None
    assert same.base.caching.get_cache_source() == first.uuid
    assert changed_func.process_class.CACHE_VERSION != version
    assert changed.process_type == first.process_type
    assert changed.base.attributes.get(versioning.CACHE_VERSION_KEY) == {
        "calcfunction": changed_func.process_class.CACHE_VERSION
    }
    assert changed.is_finished_ok and changed.base.caching.get_cache_source() is None
    assert changed.base.caching.get_hash() != first.base.caching.get_hash()
    assert unrelated_func.process_class.CACHE_VERSION == version
    assert unrelated.base.caching.get_cache_source() in {first.uuid, same.uuid}
    # The fresh run computed the same structure (the edit was only a comment).
    assert changed.outputs.result.base.caching.get_hash() == first.outputs.result.base.caching.get_hash()
