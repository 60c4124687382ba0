"""One writer per SQLite profile (issue #20): a foreground run is refused while another process has the database
open, with a message that names it and says what to do; a "database is locked" becomes that message too."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import click
import pytest
from aiida import orm
from aiida.manage import get_manager
from click.testing import CliRunner

from aiida_aloxide.cli import cli
from aiida_aloxide.cli.common import with_profile
from aiida_aloxide.cli.sqlite_guard import database_file, ensure_single_writer, other_openers


@pytest.fixture
def db(aiida_profile):
    path = database_file(get_manager().get_profile())
    if path is None:
        pytest.skip("the test profile does not use SQLite storage")
    return path


def test_a_second_interpreter_is_named_and_the_run_refused(aiida_profile, lammps_code, db):
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sqlite3, time; c = sqlite3.connect({str(db)!r}); "
         "c.execute('select count(*) from db_dbnode').fetchall(); print('open', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        assert any(pid == holder.pid for pid, _ in other_openers(db))
        with pytest.raises(click.ClickException, match=f"PID {holder.pid}") as err:
            ensure_single_writer()
        assert "submit the work to the daemon" in err.value.message and "PostgreSQL" in err.value.message
        before = orm.QueryBuilder().append(orm.ProcessNode).count()
        result = CliRunner().invoke(cli, ["study", "run", "-p", aiida_profile.name, "--protocol", "smoke", "-P", "0",
                                          "--no-softness", "--loading", "plane_strain"])  # fmt: skip
        assert result.exit_code != 0 and "another process has the SQLite profile" in result.output, result.output
        # Nothing ran: the study node is not even created before the check.
        assert orm.QueryBuilder().append(orm.ProcessNode).count() == before
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.2)
    assert all(pid != holder.pid for pid, _ in other_openers(db))
    ensure_single_writer()  # alone again: no error


def test_database_is_locked_becomes_a_clear_message(aiida_profile):
    @click.command()
    @with_profile
    def locked() -> None:
        raise sqlite3.OperationalError("database is locked")

    result = CliRunner().invoke(locked, ["-p", aiida_profile.name])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert "the SQLite database is locked by another process" in result.output
    assert "aiida-aloxide study submit" in result.output
