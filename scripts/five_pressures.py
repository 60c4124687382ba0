"""Issue #19 data: `fast` quenches at 1, 2 and 3 GPa from the shared 0 GPa liquid (seed 1), then 200 ps NVT.

Submits to the running daemon (one interpreter writing: this one only submits and polls) and keeps at
most two 1-rank LAMMPS runs going; writes a JSON state file with the UUIDs as each step finishes.
Usage: python scripts/five_pressures.py STATE.json
"""

from __future__ import annotations

import json
import sys
import time

from aiida import load_profile, orm
from aiida.engine import submit

load_profile("aloxide")
from aiida_aloxide.workchains.dynamics import DynamicsWorkChain  # noqa: E402
from aiida_aloxide.workchains.quench import QuenchWorkChain  # noqa: E402
from aiida_aloxide.workchains.softness import SoftnessWorkChain  # noqa: E402

STATE = sys.argv[1]
Q0 = "21544dc4-58b5-40f1-8c76-a9cc1b2fa134"  # fast 0 GPa quench of ../shared/data/softness-fast
code = orm.load_code("lammps@localhost-aloxide")
compress = next(c for c in orm.load_node(Q0).called if c.label == "compress")
liquid = {"structure": compress.outputs.structure, "velocities": compress.outputs.velocities}

try:
    state = json.load(open(STATE))
except FileNotFoundError:
    state = {"liquid_from": compress.uuid, "quench": {}, "dynamics": {}}
state.setdefault("softness", {})


def save() -> None:
    json.dump(state, open(STATE, "w"), indent=1)


def running() -> int:
    n = 0
    for kind in ("quench", "dynamics"):
        for uuid in state[kind].values():
            if not orm.load_node(uuid).is_terminated:
                n += 1
    return n


queue = ["q1", "q2", "q3"]
#: Session time forced a third concurrent run and a 100 ps dynamics for the last sample (issue #19 note).
MAX_RUNS = 3
RUN_PS = {"q3": 100.0}
while True:
    # the remaining quench first (its dynamics is the last long run), then the dynamics of finished quenches
    for key in queue:
        if key not in state["quench"] and running() < MAX_RUNS:
            p = float(key[1:])
            b = QuenchWorkChain.get_builder_from_protocol(code, p, protocol="fast", overrides={"mpiprocs": 1}, seed=1)
            b.liquid = liquid
            state["quench"][key] = submit(b).uuid
            save()
            print(time.strftime("%H:%M:%S"), "submitted quench", key, flush=True)
    for key, uuid in list(state["quench"].items()):
        node = orm.load_node(uuid)
        if node.is_finished_ok and key not in state["dynamics"] and running() < MAX_RUNS:
            run_ps = RUN_PS.get(key, 200.0)
            b = DynamicsWorkChain.get_builder_from_protocol(
                code, node.outputs.structure, protocol="fast", overrides={"run_ps": run_ps, "mpiprocs": 1}, seed=1
            )
            state.setdefault("run_ps", {})[key] = run_ps
            state["dynamics"][key] = submit(b).uuid
            save()
            print(time.strftime("%H:%M:%S"), "submitted dynamics", key, flush=True)
    # events + inherent structures + features of each sample as soon as its dynamics is done (the minimisation
    # is short: it may share the cores with the dynamics still running)
    for key, uuid in list(state["dynamics"].items()):
        node = orm.load_node(uuid)
        if node.is_finished_ok and key not in state["softness"]:
            sample = orm.load_node(state["quench"][key]).outputs.structure
            b = SoftnessWorkChain.get_builder_from_protocol(
                code, {key.replace("q", "p"): sample}, protocol="fast", seed=1,
                overrides={"dynamics": {"run_ps": state.get("run_ps", {}).get(key, 200.0), "mpiprocs": 1}},
                trajectories={key.replace("q", "p"): node.outputs.trajectory},
            )
            state["softness"][key] = submit(b).uuid
            save()
            print(time.strftime("%H:%M:%S"), "submitted softness", key, flush=True)
    if len(state["softness"]) == 3 and all(orm.load_node(u).is_terminated for u in state["softness"].values()):
        break
    time.sleep(30)
print("done", flush=True)
