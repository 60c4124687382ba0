# Shared by demo.sh and test.sh: make .venv (Python >= 3.11) and install the package into it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-python3}"
"$PY" - <<'PYCHECK'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"aiida-aloxide needs Python >= 3.11, found {sys.version.split()[0]} (set PYTHON=/path/to/python3.11)")
PYCHECK
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv"
    "$PY" -m venv .venv
fi
echo "[setup] installing aiida-aloxide and its dependencies into .venv (first time: a few minutes)"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[tests]"
export PATH="$PWD/.venv/bin:$PATH"
