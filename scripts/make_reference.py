"""Write the packaged reference softness model from finished `aloxide.softness` work chains.

    python scripts/make_reference.py <softness work chain PK> [PK ...] [--keep p0 --keep p4]
                                     [--name fast-inherent] [--profile aloxide]

Every chain's samples are taken (one chain per sample is fine: their labelling and feature parameters
must agree); ``--keep LABEL`` also keeps that sample of the packaged files as it is (its arrays and
source UUIDs), e.g. samples whose dynamics were labelled before and need no new minimisation.

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
    ap.add_argument("pks", nargs="+")
    ap.add_argument("--keep", action="append", default=[], help="sample of the packaged files to keep as it is")
    ap.add_argument("--name", default="fast-inherent")
    ap.add_argument("--profile", default="aloxide")
    ap.add_argument("--out-dir", default=None, help="write here instead of the package (a dry run)")
    args = ap.parse_args()
    from aiida import load_profile, orm

    from aiida_aloxide.reference import REFERENCE_MODELS

    load_profile(args.profile)
    from aiida_aloxide.reference import load_reference

    chains = [orm.load_node(pk) for pk in args.pks]
    wc = chains[0]
    params = wc.inputs.parameters.get_dict()
    arrays, samples = {}, {}
    names = sf = kind = window = None
    old = load_reference(args.name) if args.keep else None
    for label in args.keep:
        for key, value in old["samples"][label].items():
            arrays[f"{label}/{key}"] = value
        samples[label] = old["meta"]["samples"][label]
    for chain in chains:
        p = chain.inputs.parameters.get_dict()
        for section in ("events", "features"):
            if p[section] != params[section]:
                raise SystemExit(f"chain {chain.pk} has other {section} parameters than chain {wc.pk}")
        for label, feats in sorted(chain.outputs.features.items()):
            for key in ("features", "label", "atom", "frame", "time"):
                arrays[f"{label}/{key}"] = feats.get_array(key)
            attrs = feats.base.attributes
            names, sf, kind, window = (attrs.get("feature_names"), attrs.get("structure_functions"),
                                       attrs.get("configuration", "thermal"), attrs.get("average_window", None))  # fmt: skip
            traj = chain.outputs.trajectories[label]
            samples[label] = {
                "t_start": attrs.get("t_start"),
                "t_end": attrs.get("t_end"),
                "n_events": int(feats.get_shape("label")[0]),
                "source": f"features {feats.uuid}, events {chain.outputs.events[label].uuid}, trajectory "
                f"{traj.uuid}, sample {chain.inputs.samples[label].uuid}, softness work chain {chain.uuid}",
            }
    if old is not None and old["meta"]["feature_names"] != names:
        raise SystemExit("the kept samples have other feature columns than the chains'")
    # What the packaged model measures: the training pipeline on exactly these arrays (no AiiDA).
    from aiida_aloxide.analysis.softness_training import Sample, stack_samples, train_and_validate
    from aiida_aloxide.functions.softness_parameters import check_parameters

    training = check_parameters("training", {k: v for k, v in params["training"].items() if k != "source"})
    stacked = {
        label: Sample(np.asarray(arrays[f"{label}/features"], np.float64), arrays[f"{label}/label"].astype(np.int64),
                      arrays[f"{label}/atom"].astype(np.int64), np.asarray(arrays[f"{label}/time"], np.float64),
                      samples[label]["t_start"], samples[label]["t_end"])  # fmt: skip
        for label in samples
    }
    report = train_and_validate(stack_samples(stacked), names, training).report
    meta = {
        "name": args.name,
        "description": (
            f"Softness reference model '{args.name}': default labelling ({params['events'].get('rearranging_frame')} "
            f"{params['events'].get('precursor_lag')} ps, {params['events'].get('non_rearranging')} "
            f"±{params['events'].get('quiet_window')} ps), {kind} configurations, on the thermal dynamics of the "
            f"'{params.get('protocol')}' samples {', '.join(sorted(samples))} (aloxide.softness "
            f"{', '.join(c.uuid for c in chains)}{'; kept: ' + ', '.join(args.keep) if args.keep else ''})."
        ),
        "softness_workchain": wc.uuid,
        "softness_workchains": [c.uuid for c in chains],
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
                "loso_balanced_accuracy",
                "loso_balanced_accuracy_std",
                "loso_auc",
                "n_events",
                "n_rearranging_atoms",
                "selected_features",
                "C",
            )
        },  # fmt: skip
    }
    root = Path(args.out_dir) if args.out_dir else Path(__file__).resolve().parents[1] / "aiida_aloxide" / "reference"
    root.mkdir(parents=True, exist_ok=True)
    stem = REFERENCE_MODELS.get(args.name, args.name.replace("-", "_"))
    np.savez_compressed(root / f"{stem}.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    (root / f"{stem}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {root / stem}.npz / .json: {sum(s['n_events'] for s in samples.values())} events")
    print(json.dumps(meta["measured"], indent=1))


if __name__ == "__main__":
    main()
