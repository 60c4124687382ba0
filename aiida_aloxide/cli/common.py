"""Helpers of every command: load the profile, the LAMMPS code, nodes and models, each failing with a one-line reason.

AiiDA is imported inside the functions, so that ``--help`` and argument errors stay fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..setup import DEFAULT_CODE_LABEL, DEFAULT_COMPUTER_LABEL, DEFAULT_PROFILE
from .options import PROFILE_OPTION

if TYPE_CHECKING:
    from aiida import orm
    from aiida.manage.configuration import Profile

    from ..data.softness_model import SoftnessModelData

__all__ = ["finished_with", "load_code", "load_node", "load_profile", "load_softness_model", "with_profile"]

F = TypeVar("F", bound=Callable[..., Any])


def load_profile(profile: str | None) -> Profile:
    """Load the requested, the default, or the 'aloxide' profile (explain how to create one); start its broker."""
    from aiida.common.exceptions import MissingConfigurationError, ProfileConfigurationError
    from aiida.manage import configuration

    from ..setup import ensure_broker

    try:
        config = configuration.get_config(create=False)
        name = profile or config.default_profile_name or DEFAULT_PROFILE
        loaded = configuration.load_profile(name, allow_switch=True)
    except (MissingConfigurationError, ProfileConfigurationError) as exc:
        raise click.ClickException(f"{exc}\nRun `aiida-aloxide setup` first.") from exc
    try:
        note = ensure_broker(loaded)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    if note:
        click.echo(note, err=True)
    return loaded


def with_profile(func: F) -> F:
    """Give the command ``-p/--profile`` and load that profile before its body runs (as verdi's ``with_dbenv``).

    Put it right below ``@<group>.command()``: the option then comes first in ``--help``. The body does
    not receive ``profile``.
    """

    @functools.wraps(func)
    def command(*args: Any, profile: str | None, **kwargs: Any) -> Any:
        load_profile(profile)
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - only SQLite's lock is translated, everything else re-raised
            if "database is locked" in str(exc):
                from .sqlite_guard import LOCKED_ADVICE

                message = f"the SQLite database is locked by another process: {LOCKED_ADVICE}"
                raise click.ClickException(message) from exc
            raise

    return PROFILE_OPTION()(command)  # type: ignore[return-value]


def load_code(label: str | None) -> orm.Code:
    """Load the LAMMPS code (default label from setup) with a helpful error."""
    from aiida import orm
    from aiida.common.exceptions import MultipleObjectsError, NotExistent

    label = label or f"{DEFAULT_CODE_LABEL}@{DEFAULT_COMPUTER_LABEL}"
    try:
        return orm.load_code(label)
    except (NotExistent, MultipleObjectsError, ValueError) as exc:
        raise click.ClickException(f"code {label!r} not found ({exc}); run `aiida-aloxide setup`.") from exc


def load_node(ident: str) -> orm.Node:
    """The node ``ident`` (PK or UUID), or a click error saying it does not exist."""
    from aiida import orm

    try:
        return orm.load_node(ident)
    except Exception as exc:  # noqa: BLE001 - report any lookup failure the same way
        raise click.ClickException(f"no node {ident!r}: {exc}") from exc


def finished_with(idents: Iterable[str], output: str, what: str) -> list[orm.WorkflowNode]:
    """Nodes ``idents`` that are finished work chains with the output ``output``, else a click error."""
    from aiida import orm

    nodes = [load_node(ident) for ident in idents]
    bad = [n.pk for n in nodes if not (isinstance(n, orm.WorkflowNode) and n.is_finished_ok and output in n.outputs)]
    if bad:
        raise click.ClickException(f"{what}: {bad}")
    return nodes


def load_softness_model(model_id: str) -> SoftnessModelData:
    """A SoftnessModelData from a PK/UUID, or ``reference`` / ``reference:<name>`` (the packaged model)."""
    from aiida import orm

    from ..data.softness_model import SoftnessModelData

    if model_id == "reference" or model_id.startswith("reference:"):
        from ..functions.reference import reference_model
        from ..reference import reference_names

        name = model_id.partition(":")[2] or "fast-inherent"
        if name not in reference_names():
            raise click.ClickException(f"unknown reference model {name!r}; known: {', '.join(reference_names())}")
        return reference_model(name)
    try:
        model = orm.load_node(model_id)
    except Exception as exc:  # noqa: BLE001 - any lookup failure reads the same to the user
        raise click.ClickException(f"no model {model_id!r} (give a PK, a UUID or 'reference'): {exc}") from exc
    if not isinstance(model, SoftnessModelData):
        raise click.ClickException(f"node {model_id!r} is a {type(model).__name__}, not a SoftnessModelData")
    return model


def sample_material(structure, given: str | None) -> str:
    """The material a command runs a sample with: ``--material`` if given (an unknown name is a click error),
    else the packaged material of the sample's elements (a silica sample is run as silica-bks)."""
    from ..data.structure import structure_material
    from ..materials import load_material

    if given is not None:
        try:
            return load_material(given).name
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    return structure_material(structure).name
