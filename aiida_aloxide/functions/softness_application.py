"""Calcfunctions applying a softness model to frames, e.g. every strain step of a tension run (SPEC §5).

* :func:`softness_of_frames` — softness of every Al atom at every frame, out-of-domain flags;
* :func:`softness_clusters` — clusters of the softest Al per frame;
* :func:`rearrangement_probability_fn` — P_R(S) of the Al atoms of one coordination;
* :func:`softness_response` — does S at a step pick out the Al with the largest D²_min to the next
  step (AUC), which feature groups move ⟨S⟩ under strain, S per Al species and vs Voronoi volume.

Nodes in → arrays → :mod:`~aiida_aloxide.analysis.softness_frames` → nodes out.
"""

from __future__ import annotations

import numpy as np
from aiida import orm

from ..analysis.configurations import CONFIGURATION_KINDS
from ..analysis.coordination import coordination_numbers
from ..analysis.softness import VORONOI_COLUMN
from ..analysis.softness_frames import coordination_loss, frame_clusters, frame_statistics, frames_softness
from ..analysis.softness_strain import by_class, group_contributions, next_step_auc, spearman
from ..data.softness_model import SoftnessModelData
from ..materials import ANION_TYPE, CATION_TYPE
from ..trajectory import cell_lengths, frames_material
from ..values import finite_or_none
from .softness_parameters import check_parameters, structure_function_kwargs
from .versioning import calcfunction

__all__ = [
    "check_configuration",
    "frames_configuration",
    "model_columns_problem",
    "rearrangement_probability_fn",
    "softness_clusters",
    "softness_of_frames",
    "softness_response",
]

#: Model attributes copied into the summary of :func:`softness_of_frames` (as ``model_<name>``).
_MODEL_ATTRIBUTES = (
    "source",
    "n_train_events",
    "n_samples",
    "cv_balanced_accuracy",
    "cv_balanced_accuracy_std",
    "loso_balanced_accuracy",
    "loso_balanced_accuracy_std",
)


def _frame_axis(frames: orm.TrajectoryData) -> tuple[np.ndarray, str]:
    """The per-frame abscissa: ``strain`` if stored, else ``times``, else the frame index."""
    names = frames.get_arraynames()
    n = frames.get_shape("positions")[0]
    for key in ("strain", "times"):
        if key in names:
            return np.asarray(frames.get_array(key), dtype=np.float64), key
    return np.arange(n, dtype=np.float64), "index"


def _out_of_domain(softness: orm.ArrayData, shape: tuple[int, ...]) -> np.ndarray:
    """The stored out-of-domain flags of a softness node (all False for nodes made without them)."""
    if "out_of_domain" in softness.get_arraynames():
        return softness.get_array("out_of_domain")
    return np.zeros(shape, dtype=bool)


def frames_configuration(frames: orm.TrajectoryData) -> str | None:
    """The configuration kind a frames node holds: its ``configuration`` attribute, else what its
    creator implies (plane-strain frames are energy-minimised, plane-stress ones thermal)."""
    kind = frames.base.attributes.get("configuration", None)
    if kind is not None:
        return str(kind)
    creator = frames.creator
    name = getattr(creator, "process_label", None) if creator is not None else None
    return {"collect_plane_strain": "inherent", "collect_plane_stress": "thermal"}.get(name)


def model_columns_problem(model: SoftnessModelData) -> str | None:
    """Why frames could not give every column of ``model`` (None if they can, or if it records no parameters).

    The columns come from the model's own structure-function parameters (+ the Voronoi volume,
    which frames carry); a column dropped in training (weight 0) must still be computable.
    """
    from ..analysis.structure_functions import angular_feature_names, radial_feature_names

    sf = model.structure_function_parameters
    if not sf or "species" not in sf:
        return None
    species = [int(t) for t in sf["species"]]
    labels = sf.get("labels")
    known = set(radial_feature_names(species, np.asarray(sf.get("mus", []), dtype=np.float64), labels))
    known |= set(angular_feature_names(species, [tuple(p) for p in sf.get("angular_params", [])], labels))
    known.add(VORONOI_COLUMN)
    missing = [n for n in model.feature_names if n not in known]
    if not missing:
        return None
    dropped = set(model.base.attributes.get("dropped_features", ()))
    kind = " (dropped in training, weight 0, but still part of the model)" if set(missing) <= dropped else ""
    return (
        f"the model's columns {missing[:3]}{kind} cannot be computed from frames with its structure-function parameters"
    )


def check_configuration(model: SoftnessModelData, frames: orm.TrajectoryData) -> None:
    """Refuse frames of another configuration kind than the model was trained on."""
    kind = frames_configuration(frames)
    if kind is None:
        raise ValueError(
            "the frames do not say which configuration they hold; set their attribute 'configuration' "
            f"to one of {list(CONFIGURATION_KINDS)} (the model was trained on {model.configuration} ones)"
        )
    if kind != model.configuration:
        raise ValueError(
            f"the model was trained on {model.configuration} configurations but the frames are {kind}: "
            "train and apply on the same kind (features.configuration)"
        )


@calcfunction
def softness_of_frames(model: SoftnessModelData, frames: orm.TrajectoryData) -> dict:
    """Softness of every Al atom at every frame (features recomputed with the model's parameters).

    ``frames`` (TrajectoryData): positions (F, N, 3), cells, types, optionally strain and voronoi_volume
    (needed only if the model uses that column); they must hold the configuration kind the model
    was trained on. Atoms with a feature outside the model's training range (plus a margin) are
    flagged out of domain: new surfaces and voids, where a linear model extrapolates. Outputs
    ``softness`` (ArrayData: softness (F, N_Al) float32, out_of_domain (F, N_Al) bool, al_index,
    the abscissa; per frame the mean and median over in-domain Al, the mean over all Al, the
    out-of-domain fraction) and ``summary``.
    """
    check_configuration(model, frames)
    problem = model_columns_problem(model)
    if problem:
        raise ValueError(problem)
    m = model.to_model()
    sf = model.structure_function_parameters
    types = frames.get_array("types").astype(np.int64)
    al = np.nonzero(types == int(sf.get("center_type", CATION_TYPE)))[0]
    vor = frames.get_array("voronoi_volume") if VORONOI_COLUMN in m.feature_names else None
    if VORONOI_COLUMN in m.feature_names and vor is None:
        raise ValueError("the model uses the Voronoi volume but the frames carry no 'voronoi_volume'")
    positions = frames.get_array("positions")
    mean_z = np.zeros((positions.shape[0], len(m.feature_names)))
    s, ood = frames_softness(
        positions, cell_lengths(frames), types, al, m, structure_function_kwargs(sf), vor, model.domain(), mean_z
    )
    stats = frame_statistics(s, ood)
    mean_in, median_in = stats["mean"], stats["median"]
    axis, axis_name = _frame_axis(frames)
    out = orm.ArrayData()
    out.set_array("softness", s.astype(np.float32))
    out.set_array("out_of_domain", ood)
    out.set_array("al_index", al.astype(np.int64))
    out.set_array("mean_z", mean_z)
    out.set_array(axis_name if axis_name != "index" else "frame", axis)
    for name in ("mean", "median", "mean_all", "std", "out_of_domain_fraction"):
        out.set_array(name, stats[name])
    n_f = positions.shape[0]
    k = int(np.nanargmax(mean_in)) if n_f and np.isfinite(mean_in).any() else 0
    summary = {
        "n_frames": int(n_f),
        "n_al": int(al.size),
        "axis": axis_name,
        "configuration": model.configuration,
        "model_uuid": model.uuid,
        **{f"model_{key}": model.base.attributes.get(key, None) for key in _MODEL_ATTRIBUTES},
        axis_name: [finite_or_none(v) for v in axis],
        "mean_softness": [finite_or_none(v) for v in mean_in],
        "median_softness": [finite_or_none(v) for v in median_in],
        "out_of_domain_fraction": [finite_or_none(v) for v in stats["out_of_domain_fraction"]],
        "fraction_positive": [finite_or_none(v) for v in stats["fraction_positive"]],
        "max_mean_softness": finite_or_none(mean_in[k]) if n_f else None,
        f"{axis_name}_at_max_mean": finite_or_none(axis[k]) if n_f else None,
        "frame_at_max_mean": k,
        "unstrained_mean_softness": finite_or_none(mean_in[0]) if n_f else None,
        "unstrained_median_softness": finite_or_none(median_in[0]) if n_f else None,
        "unstrained_out_of_domain_fraction": finite_or_none(ood[0].mean()) if n_f else None,
    }
    out.base.attributes.set_many(
        {"n_frames": int(n_f), "n_al": int(al.size), "axis": axis_name, "configuration": model.configuration}
    )
    return {"softness": out, "summary": orm.Dict(summary)}


@calcfunction
def softness_clusters(frames: orm.TrajectoryData, softness: orm.ArrayData, parameters: orm.Dict) -> dict:
    """High-softness clusters per frame: the ``top_fraction`` softest cations, linked within ``cutoff``
    (None: the cation–cation cut-off of the frames' material, 3.7 Å Al–Al for alumina).

    Outputs ``clusters`` (ArrayData: n_clusters, largest, n_selected (F,) and labels (F, N_Al)
    int32, −1 = not selected, clusters numbered by decreasing size) and ``summary`` (the per-frame
    lists, the unstrained values and the frame / abscissa of the largest cluster).
    """
    p = check_parameters("clusters", parameters.get_dict())
    if p["cutoff"] is None:
        p["cutoff"] = frames_material(frames).cation_cation_cutoff
    s = softness.get_array("softness")
    al = softness.get_array("al_index").astype(np.int64)
    positions = frames.get_array("positions")
    if positions.shape[0] != s.shape[0]:
        raise ValueError(f"frames hold {positions.shape[0]} frames but softness {s.shape[0]}")
    res = frame_clusters(positions, cell_lengths(frames), al, s, _out_of_domain(softness, s.shape),
                         float(p["top_fraction"]), float(p["cutoff"]))  # fmt: skip
    axis, axis_name = _frame_axis(frames)
    out = orm.ArrayData()
    for name, arr in (("n_clusters", res.n_clusters), ("largest", res.largest), ("n_selected", res.n_selected)):
        out.set_array(name, arr)
    out.set_array("labels", res.labels)
    out.set_array(axis_name if axis_name != "index" else "frame", axis)
    n_f, largest = s.shape[0], res.largest
    k = int(np.argmax(largest)) if n_f else 0
    summary = {
        "top_fraction": float(p["top_fraction"]),
        "cutoff": float(p["cutoff"]),
        "axis": axis_name,
        axis_name: [finite_or_none(v) for v in axis],
        "n_clusters": res.n_clusters.tolist(),
        "largest": largest.tolist(),
        "n_selected": res.n_selected.tolist(),
        "unstrained_n_clusters": int(res.n_clusters[0]) if n_f else 0,
        "unstrained_largest": int(largest[0]) if n_f else 0,
        "max_largest": int(largest[k]) if n_f else 0,
        f"{axis_name}_at_max_largest": finite_or_none(axis[k]) if n_f else None,
    }
    return {"clusters": out, "summary": orm.Dict(summary)}


@calcfunction
def rearrangement_probability_fn(frames: orm.TrajectoryData, softness: orm.ArrayData, parameters: orm.Dict) -> dict:
    """P_R(S): fraction of Al atoms of the given initial CN (Al5) whose CN has decreased by the final strain.

    Binned by each atom's softness in the first (unstrained) frame, with the exponential fit
    P_R = exp(a S + b). ``final_strain`` picks the frame nearest that strain (default: the last).
    Outputs ``probability`` (ArrayData: edges, centers, probability (nan = empty bin), counts,
    n_decreased) and ``summary`` (fit a, b, r2, counts, the final strain).
    """
    p = check_parameters("rearrangement", parameters.get_dict())
    if p["al_o_cutoff"] is None:
        p["al_o_cutoff"] = frames_material(frames).cation_anion_cutoff
    types = frames.get_array("types").astype(np.int64)
    positions = frames.get_array("positions")
    cells = cell_lengths(frames)
    s0 = np.asarray(softness.get_array("softness")[0], dtype=np.float64)
    al_mask, o_mask = types == CATION_TYPE, types == ANION_TYPE
    if not np.array_equal(np.nonzero(al_mask)[0], softness.get_array("al_index")):
        raise ValueError("softness and frames disagree on the cations")
    axis, axis_name = _frame_axis(frames)
    final = axis.size - 1 if p["final_strain"] is None else int(np.argmin(np.abs(axis - p["final_strain"])))
    ood0 = _out_of_domain(softness, (1, *s0.shape))[0]
    bins = p["bins"] if isinstance(p["bins"], list) else int(p["bins"])
    loss = coordination_loss((positions[0], cells[0]), (positions[final], cells[final]), al_mask, o_mask,
                             float(p["al_o_cutoff"]), s0, ood0, int(p["coordination"]), bins)  # fmt: skip
    res, sel, decreased = loss.probability, loss.selected, loss.decreased
    out = orm.ArrayData()
    if res is not None:
        for name in ("edges", "centers", "probability"):
            out.set_array(name, np.asarray(getattr(res, name), dtype=np.float64))
        out.set_array("counts", res.counts)
        out.set_array("n_decreased", res.n_decreased)
    out.set_array("cn_initial", loss.cn_initial.astype(np.int8))
    out.set_array("cn_final", loss.cn_final.astype(np.int8))
    summary = {
        "al_o_cutoff": float(p["al_o_cutoff"]),
        "coordination": int(p["coordination"]),
        "n_selected": int(sel.sum()),
        "n_decreased": int(decreased.sum()),
        "fraction_decreased": finite_or_none(decreased.mean()) if sel.any() else None,
        "final_frame": final,
        f"final_{axis_name}": finite_or_none(axis[final]),
        "fit_a": finite_or_none(res.fit.a) if res else None,
        "fit_b": finite_or_none(res.fit.b) if res else None,
        "fit_r2": finite_or_none(res.fit.r2) if res else None,
        "probability": [finite_or_none(v) for v in res.probability] if res else [],
        "centers": [finite_or_none(v) for v in res.centers] if res else [],
    }
    return {"probability": out, "summary": orm.Dict(summary)}


@calcfunction
def softness_response(model: SoftnessModelData, frames: orm.TrajectoryData, softness: orm.ArrayData) -> dict:
    """How S relates to what happens under strain, frame by frame (issue #19, the paper's Figs. 4, S9–S11).

    * ``auc`` (F − 1): AUC of S at step s for the top 10 % of D²_min (4 Å) between s and s+1 among the
      in-domain Al — 0.5 is chance;
    * ``contribution_<group>`` (F): the share of ⟨S⟩(ε) − ⟨S⟩(0) of each feature group (species ×
      radial shell, angular, Voronoi); they add up to the change of the in-domain mean;
    * ``mean_s_al4/5/6`` (F): mean S of the in-domain Al of each coordination at that frame;
      ``spearman_voronoi`` / ``spearman_cn`` (F): rank correlation of S with the Voronoi volume
      (if the frames carry it) and with the Al coordination.
    Summary: the mean AUC before and after the frame of largest ⟨S⟩, the values at ε = 0.
    """
    m = model.to_model()
    s = np.asarray(softness.get_array("softness"), dtype=np.float64)
    ood = _out_of_domain(softness, s.shape)
    al = softness.get_array("al_index").astype(np.int64)
    types = frames.get_array("types").astype(np.int64)
    positions = frames.get_array("positions")
    cells = cell_lengths(frames)
    if positions.shape[0] != s.shape[0]:
        raise ValueError(f"frames hold {positions.shape[0]} frames but softness {s.shape[0]}")
    axis, axis_name = _frame_axis(frames)
    res = next_step_auc(positions, cells, al, s, ood)
    out = orm.ArrayData()
    out.set_array(axis_name if axis_name != "index" else "frame", axis)
    for key in ("auc", "n_atoms", "threshold"):
        out.set_array(key, res[key])
    summary: dict = {"axis": axis_name, "auc": [finite_or_none(v) for v in res["auc"]], "top_fraction": 0.1,
                     "d2min_cutoff": 4.0}  # fmt: skip
    if "mean_z" in softness.get_arraynames():
        groups = group_contributions(m.feature_names, m.w, softness.get_array("mean_z"))
        summary["groups"] = list(groups)
        for k, v in enumerate(groups.values()):
            out.set_array(f"contribution_{k}", v)
            summary[f"contribution_{k}"] = [finite_or_none(x) for x in v]
    material = frames_material(frames)
    cat = material.cation.lower()
    al_mask, o_mask = types == CATION_TYPE, types == ANION_TYPE
    vor = frames.get_array("voronoi_volume") if "voronoi_volume" in frames.get_arraynames() else None
    per_cn = {c: np.full(s.shape[0], np.nan) for c in (4, 5, 6)}
    rho_v, rho_cn = np.full(s.shape[0], np.nan), np.full(s.shape[0], np.nan)
    for f in range(s.shape[0]):  # one vectorised coordination count per frame
        cn = coordination_numbers(
            np.asarray(positions[f], np.float64), cells[f], al_mask, o_mask, material.cation_anion_cutoff
        )
        sf = np.where(ood[f], np.nan, s[f])
        for c, (mean, _n) in by_class(sf, cn, (4, 5, 6)).items():
            per_cn[c][f] = mean
        rho_cn[f] = spearman(sf, cn)
        if vor is not None:
            rho_v[f] = spearman(sf, np.asarray(vor[f], dtype=np.float64)[al])
    for c, v in per_cn.items():
        out.set_array(f"mean_s_{cat}{c}", v)
        summary[f"mean_s_{cat}{c}"] = [finite_or_none(x) for x in v]
    out.set_array("spearman_cn", rho_cn)
    summary["spearman_cn"] = [finite_or_none(x) for x in rho_cn]
    if vor is not None:
        out.set_array("spearman_voronoi", rho_v)
        summary["spearman_voronoi"] = [finite_or_none(x) for x in rho_v]
    mean_in = frame_statistics(s, ood)["mean"]
    k = int(np.nanargmax(mean_in)) if np.isfinite(mean_in).any() else 0
    auc = res["auc"]
    summary.update(
        {
            "mean_auc": finite_or_none(np.nanmean(auc)) if np.isfinite(auc).any() else None,
            "mean_auc_before_peak": finite_or_none(np.nanmean(auc[:k])) if np.isfinite(auc[:k]).any() else None,
            "mean_auc_after_peak": finite_or_none(np.nanmean(auc[k:])) if np.isfinite(auc[k:]).any() else None,
            "frame_at_max_mean": k,
            "unstrained_spearman_cn": finite_or_none(rho_cn[0]) if s.shape[0] else None,
            "unstrained_spearman_voronoi": finite_or_none(rho_v[0]) if s.shape[0] else None,
        }
    )
    return {"response": out, "summary": orm.Dict(summary)}
