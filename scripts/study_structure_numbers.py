"""The structure and deformation numbers of a finished study as JSON (docs/validation.md, silica section).

Usage: python scripts/study_structure_numbers.py STUDY_PK [PROFILE]. Runs ``rdf_analysis`` on every sample (stored,
so the first peaks and minima quoted are nodes) and prints density, coordination, g(r) peaks and minima,
tension and deformation summaries and the softness report's event counts and accuracies.
"""
import json
import sys

from aiida import load_profile, orm
load_profile(sys.argv[2] if len(sys.argv) > 2 else None)
from aiida_aloxide.functions.analysis import rdf_analysis
pk = int(sys.argv[1])
study = orm.load_node(pk)
s = study.outputs.summary.get_dict()
out = {"pk": pk, "uuid": study.uuid, "state": study.exit_status, "rows": s["rows"], "columns": s["columns"]}
for label in s["labels"]:
    props = study.outputs.properties[label].get_dict()
    rdf = rdf_analysis(study.outputs.samples[label])
    a = rdf.base.attributes.all
    out[label] = {"properties": props, "rdf": {k: a[k] for k in a if "first" in k or "cutoff" in k or "mean_cn" in k},
                  "rdf_uuid": rdf.uuid, "deformation": study.outputs.deformation[label].get_dict(),
                  "tension": study.outputs.tension[label].get_dict(),
                  "plane_stress": study.outputs.plane_stress[label].get_dict() if label in study.outputs.plane_stress else None}
if "softness" in study.outputs:
    rep = study.outputs.softness.report.get_dict()
    out["softness_report"] = {k: rep.get(k) for k in ("n_events", "n_rearranging", "n_rearranging_atoms", "cv_balanced_accuracy", "cv_balanced_accuracy_std", "loso_balanced_accuracy", "warning")}
    out["softness_report"]["loso"] = rep.get("loso")
print(json.dumps(out, indent=1, default=str))
