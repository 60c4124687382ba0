"""The parameter schema (aiida_aloxide.schema): constraints, one error style, no AiiDA import."""

from __future__ import annotations

import math
import subprocess
import sys
from numbers import Integral, Real

import pytest

from aiida_aloxide.schema import (
    LAMMPS_SEED,
    NUMPY_SEED,
    Boolean,
    Interval,
    Optional,
    Options,
    ParameterError,
    Ramp,
    check,
    check_section,
    problem,
    section_problem,
)

POSITIVE = Interval(Real, 0, 0.01, closed="right")


@pytest.mark.parametrize(
    ("constraint", "value", "message"),
    [
        (POSITIVE, True, "x must be a number, got True"),
        (POSITIVE, "0.001", "x must be a number, got '0.001'"),
        (POSITIVE, math.nan, "x must be finite, got nan"),
        (POSITIVE, math.inf, "x must be finite, got inf"),
        (POSITIVE, 0, "x must be > 0, got 0"),
        (POSITIVE, 0.5, "x must be <= 0.01, got 0.5"),
        (Interval(Real, 0, 1.0e12), 1e15, "x must be <= 1e+12, got 1000000000000000.0"),
        (Interval(Integral, 1, 20), 2.0, "x must be an integer, got 2.0"),
        (Interval(Integral, 1, 20), False, "x must be an integer, got False"),
        (Interval(Integral, 1, 20), 21, "x must be in [1, 20], got 21"),
        (Interval(Integral, 0, None), -1, "x must be >= 0, got -1"),
        (Options({"iso", "yz"}), "iso\nshell ls", "x must be one of ['iso', 'yz'], got 'iso\\nshell ls'"),
        (Options(("b", "a")), ["b"], "x must be one of ['b', 'a'], got ['b']"),
        (Boolean(), 1, "x must be a bool, got 1"),
        (Optional(POSITIVE), -1.0, "x must be > 0, got -1.0"),
        (Ramp(POSITIVE), [0.001, 1.0], "x[1] must be <= 0.01, got 1.0"),
        (Ramp(POSITIVE), [1, 2, 3], "x must be a number or [start, stop], got [1, 2, 3]"),
        (LAMMPS_SEED, 0, "x must be in [1, 900000000], got 0"),
        (NUMPY_SEED, 2**32, "x must be in [0, 4294967295], got 4294967296"),
    ],
)
def test_refusals_have_one_style(constraint, value, message):
    with pytest.raises(ParameterError) as info:
        constraint.validate(value, "x")
    assert str(info.value) == message
    assert problem(value, constraint, "x") == message


def test_accepted_values_are_normalised():
    assert Interval(Real, 0, 10).validate(1, "x") == 1.0 and isinstance(Interval(Real, 0, 10).validate(1, "x"), float)
    assert Interval(Integral, 1, 20, whole_floats=True).validate(3.0, "x") == 3
    assert Optional(POSITIVE).validate(None, "x") is None
    assert Ramp(POSITIVE).validate(0.005, "x") == (0.005, 0.005)
    assert Interval(Real, 0, 1, closed="neither").validate(0.5, "x") == 0.5
    assert str(Interval(Real, 0, 0.01, closed="right")) == "a number in (0, 0.01]"


class _Refused(ValueError):
    """A caller's own error class."""


def test_sections_and_error_classes():
    section = {"a": (Interval(Integral, 1, 5), 2), "b": Boolean()}
    assert check_section({"b": True}, section) == {"a": 2, "b": True}
    with pytest.raises(_Refused, match=r"seg\.a must be in \[1, 5\], got 9"):
        check_section({"a": 9, "b": True}, section, label="seg.{key}", error=_Refused)
    with pytest.raises(_Refused, match="b must be a bool"):
        check("yes", Boolean(), "b", error=_Refused)
    assert section_problem({"b": "no"}, {"a": Interval(Integral, 1, 5), "b": Boolean()}) == "b must be a bool, got 'no'"


def test_schema_imports_no_aiida():
    code = "import sys, aiida_aloxide.schema.stage; assert 'aiida' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
