"""Declarative parameter constraints at the lowest layer (no AiiDA): one check, one error style.

In the style of scikit-learn's ``sklearn.utils._param_validation``: a section of parameters is a
mapping ``key -> Constraint`` (or ``key -> (Constraint, default)``), and :func:`check_section` checks
a mapping against it. Every refusal reads ``"<key> must be <what>, got <value!r>"``. Booleans are
never numbers, NaN and inf never pass a numeric constraint, so no stray string or value reaches a
LAMMPS script or an analysis.

One declaration per parameter (docs/design.md): a section is a tuple of :class:`Parameter` (key,
default, constraint, unit, help), and its key set, constraint mapping and defaults are derived from it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

__all__ = [
    "LAMMPS_SEED",
    "MAX_LAMMPS_SEED",
    "MAX_REPLICAS",
    "MAX_NUMPY_SEED",
    "NUMPY_SEED",
    "Boolean",
    "Constraint",
    "Interval",
    "Optional",
    "POSITIVE",
    "Options",
    "Parameter",
    "ParameterError",
    "Ramp",
    "Section",
    "UNDECLARED",
    "check",
    "check_section",
    "problem",
    "section",
    "section_defaults",
    "section_keys",
    "section_names",
    "section_optional",
    "section_parameter",
    "section_problem",
    "section_schema",
]


class ParameterError(ValueError):
    """A parameter is refused; the message names the key, the constraint and the value."""


class Constraint:
    """One declarative constraint: :meth:`validate` returns the (normalised) value or raises."""

    def validate(self, value: Any, name: str) -> Any:
        """The accepted value (possibly normalised), or :class:`ParameterError`."""
        raise NotImplementedError

    @staticmethod
    def refuse(name: str, what: str, value: Any) -> ParameterError:
        """The one error style of every constraint."""
        return ParameterError(f"{name} must be {what}, got {value!r}")


def _bound(b: float) -> str:
    """A bound as written in messages: its repr, or 6 significant digits when that is long (1e+12)."""
    text = repr(b)
    return f"{b:.6g}" if isinstance(b, float) and len(text) > 10 else text


class Interval(Constraint):
    """A finite real (``Real``) or integer (``Integral``) in [left, right]; ``None`` = unbounded.

    ``closed`` ("both", "left", "right", "neither") says which bounds belong to the interval;
    ``whole_floats`` accepts 3.0 for an integer (returned as 3), as YAML and JSON may give it.
    """

    def __init__(
        self,
        kind: type,
        left: float | None,
        right: float | None,
        *,
        closed: str = "both",
        whole_floats: bool = False,
    ) -> None:
        if kind not in (Real, Integral) or closed not in ("both", "left", "right", "neither"):
            raise TypeError(f"bad Interval({kind!r}, closed={closed!r})")
        self.kind, self.left, self.right, self.closed, self.whole_floats = kind, left, right, closed, whole_floats

    def __str__(self) -> str:
        """The interval in words, e.g. ``a number in (0, 0.01]``."""
        lo = "(-inf" if self.left is None else ("[" if self.closed in ("both", "left") else "(") + _bound(self.left)
        hi = "inf)" if self.right is None else _bound(self.right) + ("]" if self.closed in ("both", "right") else ")")
        return f"{'an integer' if self.kind is Integral else 'a number'} in {lo}, {hi}"

    def validate(self, value: Any, name: str) -> Any:
        """The value as int/float, or refused: wrong type, bool, NaN/inf, outside the interval."""
        if self.kind is Integral:
            return self._integer(value, name)
        if isinstance(value, bool) or not isinstance(value, Real):
            raise self.refuse(name, "a number", value)
        v = float(value)
        if not math.isfinite(v):
            raise self.refuse(name, "finite", value)
        if self.left is not None and (v < self.left or (v == self.left and self.closed in ("right", "neither"))):
            raise self.refuse(name, f"{'>=' if self.closed in ('both', 'left') else '>'} {_bound(self.left)}", value)
        if self.right is not None and (v > self.right or (v == self.right and self.closed in ("left", "neither"))):
            raise self.refuse(name, f"{'<=' if self.closed in ('both', 'right') else '<'} {_bound(self.right)}", value)
        return v

    def _integer(self, value: Any, name: str) -> int:
        """An integer within the (closed) bounds."""
        if isinstance(value, bool) or not isinstance(value, Integral):
            if not (self.whole_floats and isinstance(value, float) and value.is_integer()):
                raise self.refuse(name, "an integer", value)
        v = int(value)
        lo = -math.inf if self.left is None else self.left + (self.closed in ("right", "neither"))
        hi = math.inf if self.right is None else self.right - (self.closed in ("left", "neither"))
        if not lo <= v <= hi:
            what = f">= {lo}" if hi == math.inf else f"<= {hi}" if lo == -math.inf else f"in [{lo}, {hi}]"
            raise self.refuse(name, what, v)
        return v


class Options(Constraint):
    """One of a fixed set of values (a set is listed sorted, a sequence in its order)."""

    def __init__(self, options: Collection[Any]) -> None:
        self.options = tuple(sorted(options)) if isinstance(options, set | frozenset) else tuple(options)

    def __str__(self) -> str:
        """``one of [...]``."""
        return f"one of {list(self.options)}"

    def validate(self, value: Any, name: str) -> Any:
        """The value if it is one of the options (same type: ``1`` is not ``True``)."""
        if not any(type(value) is type(o) and value == o for o in self.options):
            raise self.refuse(name, str(self), value)
        return value


class Boolean(Constraint):
    """``True`` or ``False`` (not 0/1, not "yes")."""

    def __str__(self) -> str:
        """``a bool``."""
        return "a bool"

    def validate(self, value: Any, name: str) -> bool:
        """The value if it is a bool."""
        if not isinstance(value, bool):
            raise self.refuse(name, "a bool", value)
        return value


class Optional(Constraint):
    """``None`` or a value accepted by ``inner``."""

    def __init__(self, inner: Constraint) -> None:
        self.inner = inner

    def __str__(self) -> str:
        """The inner constraint, or None."""
        return f"{self.inner} or None"

    def validate(self, value: Any, name: str) -> Any:
        """``None`` as is, anything else checked by the inner constraint."""
        return None if value is None else self.inner.validate(value, name)


class Ramp(Constraint):
    """A linear ramp ``[start, stop]`` of two numbers, or one number for a constant (returned as a pair)."""

    def __init__(self, inner: Interval) -> None:
        self.inner = inner

    def __str__(self) -> str:
        """The ramp in words."""
        return "a number or [start, stop]"

    def validate(self, value: Any, name: str) -> tuple[float, float]:
        """``(start, stop)``, each end checked by the inner interval."""
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise self.refuse(name, str(self), value)
            return self.inner.validate(value[0], f"{name}[0]"), self.inner.validate(value[1], f"{name}[1]")
        v = self.inner.validate(value, name)
        return v, v


#: LAMMPS ``velocity ... create`` seeds: positive and well inside a LAMMPS ``int``.
#: Replicas per pressure a study accepts (``study run --replicas``): each is a full melt, quench and tension.
MAX_REPLICAS = 20
MAX_LAMMPS_SEED = 900_000_000
LAMMPS_SEED = Interval(Integral, 1, MAX_LAMMPS_SEED, whole_floats=True)
#: numpy / scikit-learn seeds of the analyses (``numpy.random.default_rng`` takes 0 … 2³²−1 here).
MAX_NUMPY_SEED = 2**32 - 1
NUMPY_SEED = Interval(Integral, 0, MAX_NUMPY_SEED, whole_floats=True)


def check(value: Any, constraint: Constraint, name: str, error: type[ValueError] = ParameterError) -> Any:
    """``value`` checked against ``constraint``; a refusal is raised as ``error`` (a ValueError subclass)."""
    try:
        return constraint.validate(value, name)
    except ParameterError as exc:
        if error is ParameterError:
            raise
        raise error(str(exc)) from None


def problem(value: Any, constraint: Constraint, name: str) -> str | None:
    """The refusal message for ``value``, or None: for AiiDA port validators, which return strings."""
    try:
        constraint.validate(value, name)
    except ParameterError as exc:
        return str(exc)
    return None


def section_problem(values: Mapping[str, Any], section: Mapping[str, Constraint]) -> str | None:
    """The first refusal among the keys of ``section`` that ``values`` holds, or None (for port validators)."""
    for key, constraint in section.items():
        if key in values and (message := problem(values[key], constraint, key)) is not None:
            return message
    return None


def check_section(
    values: Mapping[str, Any],
    section: Mapping[str, Constraint | tuple[Constraint, Any]],
    *,
    label: str = "{key}",
    error: type[ValueError] = ParameterError,
) -> dict[str, Any]:
    """Every key of ``section`` checked in order (missing: its default, else None); returns the checked values.

    ``label`` formats the key in messages (e.g. ``"segments[0].{key}"``); unknown keys are the caller's
    to refuse, since the allowed set may be wider than the checked one.
    """
    out: dict[str, Any] = {}
    for key, entry in section.items():
        constraint, default = entry if isinstance(entry, tuple) else (entry, None)
        out[key] = check(values.get(key, default), constraint, label.format(key=key), error)
    return out


class _Undeclared:
    """The default of a parameter whose default is not declared in Python (its protocol file's value stands)."""

    def __repr__(self) -> str:
        """``UNDECLARED``."""
        return "UNDECLARED"


#: Default of a parameter whose value depends on the material (the cut-offs): the protocol file gives it.
UNDECLARED = _Undeclared()


@dataclass(frozen=True)
class Parameter:
    """One parameter, declared once: key, default, constraint (None: checked where it is used), unit, meaning.

    ``optional``: a resolved protocol may lack it (parameters frozen before it existed); ``in_yaml``: it is
    in its protocol file's ``default_inputs`` (False: set by the caller, e.g. ``protocol``).
    """

    key: str
    default: Any
    constraint: Constraint | None = None
    unit: str = ""
    help: str = ""
    optional: bool = False
    in_yaml: bool = True


#: A section of parameters (a protocol file, or one section of it), in declaration order.
Section = tuple[Parameter, ...]


#: A finite number above 0 (durations, temperatures, timesteps of the protocols).
POSITIVE = Interval(Real, 0, None, closed="neither")


def section(*parameters: Parameter) -> Section:
    """The parameters as a section; a key declared twice is refused (one declaration per parameter)."""
    keys = [p.key for p in parameters]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise TypeError(f"parameters declared twice: {twice}")
    return tuple(parameters)


def section_keys(parameters: Section) -> set[str]:
    """Every key of the section (the keys a resolved protocol may hold)."""
    return {p.key for p in parameters}


def section_optional(parameters: Section) -> set[str]:
    """The keys a resolved protocol may lack."""
    return {p.key for p in parameters if p.optional}


def section_schema(parameters: Section) -> dict[str, Constraint]:
    """``key -> constraint`` of the parameters that have one, in declaration order (for :func:`check_section`)."""
    return {p.key: p.constraint for p in parameters if p.constraint is not None}


def section_names(parameters: Section) -> tuple[set[str], set[str], dict[str, Constraint]]:
    """(keys, optional keys, schema) of a section: what a work chain's parameters validator checks."""
    return section_keys(parameters), section_optional(parameters), section_schema(parameters)


def section_defaults(parameters: Section) -> dict[str, Any]:
    """``key -> default`` (a copy) of every parameter whose default is declared (not :data:`UNDECLARED`)."""
    return {p.key: copy.deepcopy(p.default) for p in parameters if p.default is not UNDECLARED}


def section_parameter(parameters: Section, key: str) -> Parameter:
    """The declaration of ``key`` (KeyError if the section lacks it)."""
    for p in parameters:
        if p.key == key:
            return p
    raise KeyError(key)
