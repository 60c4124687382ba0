"""Options that several commands take, declared once so that their names, defaults and help stay the same.

Each is a :class:`SharedOption`: ``@SEED_OPTION()`` applies it as declared, ``@PROTOCOL_OPTION(default=None,
help=...)`` with some settings changed for one command (the convention of aiida-core's ``OverridableOption``,
which is not imported here: ``aiida.cmdline`` would make every ``--help`` load much of AiiDA).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = [
    "CODE_OPTION",
    "FORCE_OPTION",
    "INTERVAL_OPTION",
    "LABEL_OPTION",
    "LOADING_OPTION",
    "OUTPUT_DIR_OPTION",
    "PRESSURES_OPTION",
    "PROFILE_OPTION",
    "MATERIAL_OPTION",
    "PROTOCOL_OPTION",
    "SAMPLES_OPTION",
    "SEED_OPTION",
    "SUBMIT_OPTION",
    "SharedOption",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The loading conditions of the tension work chains, as the ``--loading`` options spell them.
LOADINGS = ["plane_strain", "plane_stress"]


class SharedOption:
    """A click option declared once; calling it gives the decorator, with settings (or names) overridden if given."""

    def __init__(self, *param_decls: str, **attrs: Any) -> None:
        """Keep the option's names and settings for every later use."""
        self.param_decls = param_decls
        self.attrs = attrs

    def __call__(self, *param_decls: str, **overrides: Any) -> Callable[[F], F]:
        """The ``click.option`` decorator: the declared names unless others are given, the settings updated."""
        return click.option(*(param_decls or self.param_decls), **{**self.attrs, **overrides})


PROFILE_OPTION = SharedOption(
    "-p",
    "--profile",
    default=None,
    help="AiiDA profile to use (default: the configured default profile, else 'aloxide').",
)
PROTOCOL_OPTION = SharedOption("--protocol", default="demo", show_default=True, help="smoke, demo, fast or paper.")
SEED_OPTION = SharedOption("--seed", type=int, default=1, show_default=True)
#: A packaged material file (``aiida-aloxide materials`` lists them); unknown names are refused before anything runs.
MATERIAL_OPTION = SharedOption(
    "--material",
    default=None,
    help="Material file name, e.g. silica-bks [alumina-matsui]; see `aiida-aloxide materials`.",
)
CODE_OPTION = SharedOption("--code", "code_label", default=None, help="LAMMPS code label [lammps@localhost-aloxide].")
SUBMIT_OPTION = SharedOption(
    "--submit/--run", default=False, help="Submit to the daemon, or run here and wait (default)."
)
#: The folder a command writes its report into; each command gives its own ``default``.
OUTPUT_DIR_OPTION = SharedOption("-o", "--output", "output_dir", show_default=True, type=click.Path())
PRESSURES_OPTION = SharedOption(
    "-P", "--pressure", "pressures", type=float, multiple=True, help="GPa; repeatable [0, 4]."
)
SAMPLES_OPTION = SharedOption("-s", "--sample", "samples_", multiple=True, required=True)
LOADING_OPTION = SharedOption("--loading", type=click.Choice(LOADINGS))
#: Seconds between two looks at a running study; each command gives its own ``default`` and ``help``.
INTERVAL_OPTION = SharedOption("--interval", type=click.FloatRange(min=0.1), show_default=True)
FORCE_OPTION = SharedOption("-f", "--force", is_flag=True)
#: The label of a new study (its group is aloxide/study/<label>); each command says its own fallback in ``help``.
LABEL_OPTION = SharedOption("--label", default=None)
