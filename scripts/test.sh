#!/usr/bin/env bash
# The whole test suite from scratch: install into .venv, lint, then pytest (real LAMMPS, real AiiDA profiles).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
echo "[test] ruff"
ruff check aiida_aloxide tests benchmarks
ruff format --check aiida_aloxide tests benchmarks
echo "[test] pytest"
# Two workers, a test file each at a time (pytest-xdist): most tests run one 1-rank LAMMPS at a time,
# so a second file in parallel uses the second core. Each worker has its own AiiDA profile.
pytest -p no:cacheprovider -n "${ALOXIDE_TEST_WORKERS:-2}" --dist loadfile "$@"
