"""Write the packaged reference softness model from a finished `aloxide.softness` work chain.

    python scripts/make_reference.py <softness work chain PK> [--name fast-inherent] [--profile aloxide]

Stores the chain's event features (per sample: features, label, atom, frame, time) in
`aiida_aloxide/reference/<stem>.npz` and the column names, structure-function parameters,
configuration kind, training parameters and the UUIDs of the source nodes in `<stem>.json`.
The package rebuilds the model from these with `aiida_aloxide.functions.reference.reference_model`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pk")
    ap.add_argument("--name", default="fast-inherent")
    ap.add_argument("--profile", default="aloxide")
    args = ap.parse_args()
    from aiida import load_profile, orm

    from aiida_aloxide.reference import REFERENCE_MODELS

    load_profile(args.profile)
    wc = orm.load_node(args.pk)
    params = wc.inputs.parameters.get_dict()
    report = wc.outputs.report.get_dict()
    arrays, samples = {}, {}
    names = sf = kind = window = None
    for label, feats in sorted(wc.outputs.features.items()):
        for key in ("features", "label", "atom", "frame", "time"):
            arrays[f"{label}/{key}"] = feats.get_array(key)
        attrs = feats.base.attributes
        names, sf, kind, window = (attrs.get("feature_names"), attrs.get("structure_functions"),
                                   attrs.get("configuration"), attrs.get("average_window"))  # fmt: skip
        traj = wc.outputs.trajectories[label]
        samples[label] = {
            "t_start": attrs.get("t_start"),
            "t_end": attrs.get("t_end"),
            "n_events": int(feats.get_shape("label")[0]),
            "source": f"features {feats.uuid}, events {wc.outputs.events[label].uuid}, trajectory {traj.uuid}, "
            f"sample {wc.inputs.samples[label].uuid}",
        }
    meta = {
        "name": args.name,
        "description": (
            f"Softness reference model '{args.name}': default labelling ({params['events']['rearranging_frame']} "
            f"{params['events']['precursor_lag']} ps, {params['events']['non_rearranging']} "
            f"±{params['events']['quiet_window']} ps), {kind} configurations, on the thermal dynamics of the "
            f"'{params.get('protocol')}' samples {', '.join(sorted(samples))} (aloxide.softness {wc.uuid})."
        ),
        "softness_workchain": wc.uuid,
        "protocol": params.get("protocol"),
        "events": params["events"],
        "features": params["features"],
        "training": {k: v for k, v in params["training"].items() if k != "source"},
        "feature_names": names,
        "structure_functions": sf,
        "configuration": kind,
        "average_window": window,
        "samples": samples,
        "measured": {
            k: report.get(k)
            for k in (
                "cv_balanced_accuracy",
                "cv_balanced_accuracy_std",
                "n_events",
                "n_rearranging_atoms",
                "selected_features",
                "C",
            )
        },  # fmt: skip
    }
    root = Path(__file__).resolve().parents[1] / "aiida_aloxide" / "reference"
    stem = REFERENCE_MODELS.get(args.name, args.name.replace("-", "_"))
    np.savez_compressed(root / f"{stem}.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    (root / f"{stem}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {root / stem}.npz / .json: {sum(s['n_events'] for s in samples.values())} events")


if __name__ == "__main__":
    main()
