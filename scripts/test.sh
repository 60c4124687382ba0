#!/usr/bin/env bash
# The whole test suite from scratch: install into .venv, lint, then pytest (real LAMMPS, real AiiDA profiles).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
echo "[test] ruff"
ruff check aiida_aloxide tests benchmarks
ruff format --check aiida_aloxide tests benchmarks
echo "[test] pytest"
pytest -p no:cacheprovider "$@"
