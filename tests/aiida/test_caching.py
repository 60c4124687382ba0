"""AiiDA caching: a repeated quench reuses every LAMMPS stage instead of running LAMMPS again."""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.manage.caching import enable_caching

from aiida_aloxide.setup import CACHED_PROCESSES
from aiida_aloxide.workchains.quench import LiquidWorkChain, QuenchWorkChain

pytestmark = pytest.mark.lammps


def _stage_calcs(wc: orm.WorkflowNode) -> list[orm.CalcJobNode]:
    return sorted((n for n in wc.called_descendants if isinstance(n, orm.CalcJobNode)), key=lambda n: n.ctime)


def test_repeated_quench_comes_from_cache(lammps_code):
    builder = QuenchWorkChain.get_builder_from_protocol(lammps_code, 1.0, protocol="smoke", seed=11)
    with enable_caching(identifier=CACHED_PROCESSES[0]):
        _, first = run_get_node(builder)
        _, second = run_get_node(QuenchWorkChain.get_builder_from_protocol(lammps_code, 1.0, protocol="smoke", seed=11))
    assert first.is_finished_ok and second.is_finished_ok
    calcs1, calcs2 = _stage_calcs(first), _stage_calcs(second)
    assert len(calcs2) == 5
    # Every LAMMPS stage of the second run is a clone of the first run's: no LAMMPS process ran.
    assert all(c.base.caching.is_created_from_cache for c in calcs2)
    assert [c.base.caching.get_cache_source() for c in calcs2] == [c.uuid for c in calcs1]
    assert not any(c.base.caching.is_created_from_cache for c in calcs1)
    assert second.outputs.properties.get_dict() == first.outputs.properties.get_dict()
    # A different seed is a different calculation: nothing is reused (the melt, cool and compress stages of seed 12).
    with enable_caching(identifier=CACHED_PROCESSES[0]):
        _, third = run_get_node(LiquidWorkChain.get_builder_from_parameters(lammps_code, builder.parameters, seed=12))
    assert len(_stage_calcs(third)) == 3 and not any(c.base.caching.is_created_from_cache for c in _stage_calcs(third))
