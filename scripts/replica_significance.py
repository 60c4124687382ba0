"""Which of SPEC §6's findings are significant over the replicas of a study: a Markdown table for docs/validation.md.

    python scripts/replica_significance.py STUDY_PK [--low 0] [--high 4]

For each quantity: mean ± standard error over the replicas at the lowest and highest pressure, the
difference, Welch's t-test p value (two-sided), and whether the change has the paper's sign and p < 0.05.
Every number is read from the study's stored nodes (summary Dict and deformation-analysis summaries).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import stats

#: (quantity, how to read it from a sample record, the sign SPEC §6 expects for high − low pressure, finding)
QUANTITIES = (
    ("density (g/cm³)", lambda r: r["density"], +1, "1"),
    ("Al5 + Al6 fraction", lambda r: r["al5"] + r["al6"], +1, "1"),
    ("yield plateau, plane strain: ε_fracture − ε_peak (unfractured: last strain − ε_peak, a lower bound)",
     lambda r: _plateau(r), +1, "1"),  # fmt: skip
    ("plane-strain strain at peak σ_xx", lambda r: r["strain_at_peak"], +1, "1"),
    ("plane-strain peak σ_xx (GPa)", lambda r: r["peak_stress"], 0, "–"),
    ("plane-strain toughness (GJ/m³)", lambda r: r["toughness"], 0, "–"),
    ("DC fraction of Al at the final strain", lambda r: r["dc"], +1, "2"),
    ("share of DC from Al5 + Al6", lambda r: (r["dc_from_al5"] + r["dc_from_al6"]) / r["dc"] if r["dc"] else None,
     0, "2 (> 0.5 expected)"),  # fmt: skip
    ("⟨D⟩ of Al (Å)", lambda r: r["d_mean"], +1, "3"),
    ("⟨S⟩ at zero strain (reference model)", lambda r: r["unstrained_mean_softness"], 0, "5"),
)


def _plateau(r):
    end = r.get("fracture_strain") if r.get("fracture_strain") is not None else r.get("final_strain")
    if end is None or r.get("strain_at_peak") is None:
        return None
    return end - r["strain_at_peak"]


def records(pk: int) -> dict[float, list[dict]]:
    """Per pressure, one record per replica: the summary row plus the DC-by-species of its deformation analysis."""
    from aiida import load_profile, orm

    load_profile()
    node = orm.load_node(pk)
    summary = node.outputs.summary.get_dict()
    out: dict[float, list[dict]] = {}
    for label in summary["labels"]:
        row = dict(summary["rows"][label])
        dfm = node.outputs.deformation[label].get_dict()
        for s in (4, 5, 6):
            row[f"dc_from_al{s}"] = dfm.get(f"dc_fraction_final_from_al{s}")
        out.setdefault(float(row["pressure"]), []).append(row)
    return out


def table(groups: dict[float, list[dict]], low: float, high: float) -> str:
    """The Markdown table of every quantity at ``low`` and ``high`` pressure."""
    lines = [
        f"| quantity (SPEC §6 finding) | {low:g} GPa mean ± SE (N) | {high:g} GPa mean ± SE (N) | difference | "
        "Welch p | significant, paper's sign? |",
        "|---|---|---|---|---|---|",
    ]
    for name, read, sign, finding in QUANTITIES:
        a = np.array([v for r in groups[low] if (v := read(r)) is not None], dtype=float)
        b = np.array([v for r in groups[high] if (v := read(r)) is not None], dtype=float)
        if a.size < 2 or b.size < 2:
            lines.append(f"| {name} ({finding}) | – | – | – | – | too few values |")
            continue
        p = float(stats.ttest_ind(b, a, equal_var=False).pvalue)
        diff = b.mean() - a.mean()
        if math.isnan(p):
            verdict = "no spread"
        elif p < 0.05:
            verdict = "yes" + ("" if sign == 0 else (", paper's sign" if np.sign(diff) == sign else ", **opposite**"))
        else:
            verdict = "no"
        se = lambda x: x.std(ddof=1) / np.sqrt(x.size)  # noqa: E731
        lines.append(
            f"| {name} ({finding}) | {a.mean():.4g} ± {se(a):.2g} ({a.size}) | {b.mean():.4g} ± {se(b):.2g} "
            f"({b.size}) | {diff:+.3g} | {p:.3g} | {verdict} |"
        )
    fractured = {p: sum(bool(r.get("fractured")) for r in groups[p]) for p in (low, high)}
    lines.append(
        f"| plane-strain samples fractured by the last strain (1) | {fractured[low]} of {len(groups[low])} | "
        f"{fractured[high]} of {len(groups[high])} | – | – | counts |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pk", type=int)
    parser.add_argument("--low", type=float, default=0.0)
    parser.add_argument("--high", type=float, default=4.0)
    args = parser.parse_args()
    print(table(records(args.pk), args.low, args.high))


if __name__ == "__main__":
    main()
