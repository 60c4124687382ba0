"""``aiida-aloxide`` command line: the root group, with the commands of each topic attached to it.

Layout: one module per command group or topic, none of which imports this one:

- :mod:`.setup`: ``setup``;
- :mod:`.samples`: ``quench``, ``tension``, ``tension-report``, ``analyze``;
- :mod:`.listing`: ``samples``, ``runs``;
- :mod:`.softness`: the ``softness`` group (``train``, ``predict``);
- :mod:`.study`: the ``study`` group (``run``, ``submit``, ``list``, ``show``, ``report``, ``frames``,
  ``export``) and ``demo``;
- :mod:`.options`: the options several commands share; :mod:`.common`: loading the profile, the code,
  nodes and models; :mod:`.progress`: the progress lines of a running study.

What it takes from aiida-core's ``verdi`` (``VerdiCommandGroup``) and what not, so that every command,
option, default, help text and exit status stays as it was:

- taken: ``-h``/``--help`` set once in the root's ``context_settings`` (subcommands inherit them) and the
  version option on the root; options declared once and overridden per command (``OverridableOption``:
  :class:`.options.SharedOption`); the profile loaded before a command's body by a decorator
  (``with_dbenv``: :func:`.common.with_profile`);
- not taken: the ``VerdiCommandGroup`` class itself. It adds ``-v/--verbosity`` to every command (an option
  the commands did not have, which docs/cli.md would then list), answers an unknown command with its own
  message and suggestions instead of click's ``No such command``, and gives ``verdi`` one ``-p/--profile``
  before the command (``verdi -p x process list``), read by ``ProfileParamType`` through its ``VerdiContext``.
  Here ``-p/--profile`` belongs to each command (``aiida-aloxide quench -p x``), falls back to the
  ``aloxide`` profile and names ``aiida-aloxide setup`` when there is none. Importing ``aiida.cmdline``
  would also make every ``--help`` load much of AiiDA.
"""

from __future__ import annotations

import click

# The modules, not their commands: ``samples``, ``setup``, ``softness`` and ``study`` are commands too, and
# importing those names here would hide the modules of the same name (``aiida_aloxide.cli.study``).
from . import listing, samples, setup, softness, study

__all__ = ["cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aiida-aloxide")
def cli() -> None:
    """aiida-aloxide: the amorphous-alumina fracture + softness study with full AiiDA provenance."""


for command in (
    setup.setup,
    samples.quench,
    samples.tension,
    samples.tension_report,
    samples.analyze,
    softness.softness,
    listing.runs,
    listing.samples,
    listing.materials,
    study.demo,
    study.study,
):
    cli.add_command(command)
del command
