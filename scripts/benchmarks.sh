#!/usr/bin/env bash
# Every benchmark that needs no finished study, one after the other; each prints its table and, with
# --write (passed on), records it in its docs/benchmarks-*.md page. The kill-cost and tension benchmarks
# run LAMMPS through AiiDA: they use the profile `aiida-aloxide setup` made (created here if missing).
# About 30 minutes on 2 cores.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
aiida-aloxide setup >/dev/null
for bench in bench_analysis bench_softness bench_configurations; do
    echo "[bench] $bench"
    python "benchmarks/$bench.py" "$@"
done
echo "[bench] bench_shared_melt (paper-scale MD speed)"
python benchmarks/bench_shared_melt.py --paper   # prints only: its page also holds demo-study rows (see its docstring)
echo "[bench] bench_kill_cost"
python benchmarks/bench_kill_cost.py "$@"
echo "[bench] bench_tension (smoke quench + plane strain)"
python benchmarks/bench_tension.py
ARCHIVE="$(dirname "${BASH_SOURCE[0]}")/../../shared/data/fast-tension/fast-tension.aiida"
if [ -f "$ARCHIVE" ]; then
    echo "[bench] bench_minimizers (frames of the shared fast-tension archive, imported if missing)"
    verdi -p aloxide archive import "$ARCHIVE" >/dev/null
    python benchmarks/bench_minimizers.py --frames 2 "$@"
else
    echo "[bench] bench_minimizers skipped: it needs ../shared/data/fast-tension/fast-tension.aiida"
fi
