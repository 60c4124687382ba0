"""Export quenched samples (StructureData) as extended XYZ with their node UUIDs, for data/fast-samples/.

    python scripts/export_samples.py OUTDIR LABEL=QUENCH_UUID [LABEL=QUENCH_UUID ...]

Each file holds the relaxed structure of an `aloxide.quench` work chain, with the quench's UUID,
the structure node's UUID, its pressure and density in the comment line (ASE and OVITO read it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from aiida import load_profile, orm


def main() -> None:
    load_profile(os.environ.get("AIIDA_PROFILE"))
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for arg in sys.argv[2:]:
        label, uuid = arg.split("=", 1)
        q = orm.load_node(uuid)
        s = q.outputs.structure
        atoms = s.get_ase()
        props = q.outputs.properties.get_dict() if "properties" in q.outputs else {}
        atoms.info.update(
            {"quench_uuid": q.uuid, "structure_uuid": s.uuid, "pressure_GPa": float(q.inputs.pressure.value)}
        )
        for key in ("density", "al4", "al5", "al6"):
            if key in props:
                atoms.info[key] = props[key]
        atoms.write(out / f"{label}.xyz", format="extxyz")
        print(label, s.uuid, len(atoms))


if __name__ == "__main__":
    main()
