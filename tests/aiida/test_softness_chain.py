"""Softness half (SPEC §5) in AiiDA: known-answer checks of the model node and of softness on frames,
then the whole chain at smoke scale with real LAMMPS (quench → tension → dynamics → events →
features → SVM → softness / clusters / P_R on every strain step)."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_aloxide.analysis.softness import SoftnessModel, softness, train_softness_model
from aiida_aloxide.analysis.structure_functions import radial_feature_names
from aiida_aloxide.data.softness_model import SoftnessModelData
from aiida_aloxide.functions.softness import (
    check_parameters,
    merge_trajectories,
    softness_clusters,
    softness_of_frames,
    structure_function_parameters,
)
from aiida_aloxide.trajectory import cell_lengths, frames_trajectory
from aiida_aloxide.workchains.dynamics import DynamicsWorkChain, validate_dynamics_parameters
from aiida_aloxide.workchains.protocols import ProtocolError, available_protocols, load_protocol
from aiida_aloxide.workchains.quench import QuenchWorkChain
from aiida_aloxide.workchains.softness import SoftnessWorkChain, validate_softness_parameters
from aiida_aloxide.workchains.tension import PlaneStrainWorkChain

# ------------------------------------------------------------------------------------------------
# Fast known-answer tests (no LAMMPS)
# ------------------------------------------------------------------------------------------------


def test_protocols_valid(aiida_profile):
    assert set(available_protocols("dynamics")) == {"smoke", "demo", "fast", "paper"}
    for name in available_protocols("dynamics"):
        params = load_protocol("dynamics", name)
        assert validate_softness_parameters(orm.Dict(params)) is None, name
    paper = load_protocol("dynamics", "paper")
    assert paper["dynamics"]["temperature"] == 300.0 and paper["dynamics"]["run_ps"] == 200.0
    assert paper["events"]["t_r"] == 6.0
    # Storage of the paper protocol (8100 atoms): chunks + merged copy of the float64 positions
    # (TrajectoryData). Over the 100 MB budget the float32 layout met; the merged copy alone is under it.
    d = paper["dynamics"]
    frames = round(d["run_ps"] / d["record_every_ps"]) + 1
    n_chunks = round(d["run_ps"] / d["chunk_ps"])
    total = (2 * frames + n_chunks - 1) * 8100 * 3 * 8
    assert total == 156_492_000 and frames * 8100 * 3 * 8 < 100e6


def test_parameter_errors(aiida_profile):
    bad = load_protocol("dynamics", "smoke")["dynamics"]
    assert "must divide every chunk" in validate_dynamics_parameters(orm.Dict({**bad, "record_every_ps": 0.3}))
    assert "unknown dynamics parameters" in validate_dynamics_parameters(orm.Dict({**bad, "pressure": 1}))
    with pytest.raises(ValueError, match="non_rearranging_threshold"):
        check_parameters("events", {"non_rearranging_threshold": 0.5})
    with pytest.raises(ValueError, match="unknown training"):
        check_parameters("training", {"kernel": "rbf"})


def test_builders(lammps_code):
    from aiida_aloxide.data.structure import structure_from_arrays
    from aiida_aloxide.materials import load_material
    from aiida_aloxide.packing import random_packing

    pos, types, box = random_packing(10, 2.75, 1.8, 3)
    structure = structure_from_arrays(pos, types, box, dict(load_material().charges))
    builder = DynamicsWorkChain.get_builder_from_protocol(lammps_code, structure, "paper", {"run_ps": 100.0})
    assert builder.parameters["run_ps"] == 100.0 and builder.parameters["protocol"] == "paper"
    assert validate_dynamics_parameters(builder.parameters) is None
    with pytest.raises(ProtocolError):
        DynamicsWorkChain.get_builder_from_protocol(lammps_code, structure, "smoke", {"pressure": 1.0})
    builder = SoftnessWorkChain.get_builder_from_protocol(
        lammps_code, {"p0": structure}, "smoke", {"training": {"C": 0.5}}
    )
    assert builder.parameters["training"]["C"] == 0.5 and set(builder.samples) == {"p0"}


def test_model_node_round_trip(aiida_profile):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(80, 5)) * [1.0, 2.0, 0.5, 3.0, 1.0] + [0.0, 1.0, 2.0, -1.0, 5.0]
    y = (x[:, 0] + 0.5 * x[:, 3] + 0.3 * rng.normal(size=80) > 0).astype(int)
    model = train_softness_model(x, y, [f"c{k}" for k in range(5)], C=1.0)
    node = SoftnessModelData(model=model, structure_functions={"mus": [0.6, 0.8], "angular_params": [(2.0, 1, 1)]})
    node.store()
    loaded = orm.load_node(node.pk)
    assert isinstance(loaded, SoftnessModelData)
    back = loaded.to_model()
    for name in ("mean", "scale", "w"):
        np.testing.assert_array_equal(getattr(back, name), getattr(model, name))
    assert back.b == model.b and back.C == model.C and back.feature_names == model.feature_names
    x_new = rng.normal(size=(30, 5))
    np.testing.assert_array_equal(loaded.softness(x_new), softness(x_new, model))
    assert loaded.structure_function_parameters["angular_params"] == [[2.0, 1, 1]]
    # Queryable attributes.
    qb = orm.QueryBuilder().append(SoftnessModelData, filters={"attributes.n_features": 5, "id": node.pk})
    assert qb.count() == 1


def _isolated_pairs(d: np.ndarray) -> orm.TrajectoryData:
    """Frames of 4 Al–O pairs 20 Å apart in a 40 Å box, Al–O distance d[f, k] in frame f."""
    n_f = d.shape[0]
    centres = np.array([[5.0, 5.0, 5.0], [25.0, 5.0, 5.0], [5.0, 25.0, 5.0], [25.0, 25.0, 25.0]])
    pos = np.zeros((n_f, 8, 3))
    pos[:, 0::2] = centres
    pos[:, 1::2] = centres + d[:, :, None] * np.array([1.0, 0.0, 0.0])
    frames = frames_trajectory(pos, np.full((n_f, 3), 40.0), np.tile([1, 2], 4), strain=np.arange(n_f) * 0.01)
    frames.base.attributes.set("configuration", "thermal")
    return frames


def test_softness_of_frames_known_answer(aiida_profile):
    # Hand-set hyperplane: w = 1 on G_O(μ = 1.8 Å) only, no scaling, b = -0.5. Every Al has one O
    # neighbour (at d) and nothing else within 10.6 Å, so G_O_1.8 = exp(-((d - 1.8)/0.2)^2),
    # every other feature used is 0, and S = exp(-((d - 1.8)/0.2)^2) - 0.5 exactly.
    d = np.array([[1.8, 1.9, 2.0, 2.2], [1.7, 1.8, 2.1, 1.6], [2.3, 1.85, 1.8, 1.75]])
    frames = _isolated_pairs(d)
    sf = structure_function_parameters({"angular": False, "voronoi": False})
    names = radial_feature_names()
    w = np.zeros(len(names))
    w[names.index("G_O_1.8")] = 1.0
    model = SoftnessModel(tuple(names), np.zeros(len(names)), np.ones(len(names)), w, -0.5, 1.0)
    result = softness_of_frames(SoftnessModelData(model=model, structure_functions=sf), frames)
    expected = np.exp(-(((d - 1.8) / 0.2) ** 2)) - 0.5
    s = result["softness"].get_array("softness")
    np.testing.assert_allclose(s, expected, rtol=0, atol=2e-6)
    np.testing.assert_array_equal(result["softness"].get_array("al_index"), [0, 2, 4, 6])
    summary = result["summary"]
    np.testing.assert_allclose(summary["mean_softness"], expected.mean(axis=1), atol=1e-6)
    np.testing.assert_allclose(summary["median_softness"], np.median(expected, axis=1), atol=1e-6)
    assert not result["softness"].get_array("out_of_domain").any()  # a model without a stored domain
    k = int(np.argmax(expected.mean(axis=1)))
    assert summary["frame_at_max_mean"] == k and summary["strain_at_max_mean"] == pytest.approx(0.01 * k)
    # Clusters: the 4 Al are 20 Å apart, so top 50 % = 2 singletons in every frame.
    clusters = softness_clusters(frames, result["softness"], orm.Dict({"top_fraction": 0.5}))
    assert clusters["summary"]["n_clusters"] == [2, 2, 2] and clusters["summary"]["largest"] == [1, 1, 1]
    top = np.argsort(-expected, axis=1, kind="stable")[:, :2]
    labels = clusters["clusters"].get_array("labels")
    assert np.all(np.sort(np.argwhere(labels >= 0)[:, 1].reshape(3, 2), axis=1) == np.sort(top, axis=1))


def test_out_of_domain_and_configuration_kind(aiida_profile):
    """Training range G_O_1.8 in [0.6, 1.0]: frames whose Al sits at d with exp(-((d-1.8)/0.2)^2) below
    0.6 - 0.25*0.4 = 0.5 are out of domain and left out of the in-domain mean; a model trained on
    thermal configurations refuses inherent frames, and frames that do not say their kind."""
    d = np.array([[1.8, 1.9, 2.0, 2.2], [1.7, 1.8, 2.1, 1.6]])
    frames = _isolated_pairs(d)
    sf = structure_function_parameters({"angular": False, "voronoi": False})
    names = radial_feature_names()
    w = np.zeros(len(names))
    k = names.index("G_O_1.8")
    w[k] = 1.0
    lower, upper = np.zeros(len(names)), np.full(len(names), 10.0)  # every other column: wide range
    lower[k], upper[k] = 0.6, 1.0
    model = SoftnessModel(tuple(names), np.zeros(len(names)), np.ones(len(names)), w, -0.5, 1.0)
    node = SoftnessModelData(model=model, structure_functions=sf, domain={"lower": lower, "upper": upper})
    res = softness_of_frames(node, frames)
    g = np.exp(-(((d - 1.8) / 0.2) ** 2))
    np.testing.assert_array_equal(res["softness"].get_array("out_of_domain"), g < 0.5 - 1e-6)
    inside = np.where(g >= 0.5, g - 0.5, np.nan)
    np.testing.assert_allclose(res["summary"]["mean_softness"], np.nanmean(inside, axis=1), atol=1e-6)
    assert res["summary"]["out_of_domain_fraction"] == [0.5, 0.5]
    inherent = _isolated_pairs(d)
    inherent.base.attributes.set("configuration", "inherent")
    with pytest.raises(ValueError, match="trained on thermal configurations but the frames are inherent"):
        softness_of_frames(node, inherent)
    unknown = _isolated_pairs(d)
    unknown.base.attributes.delete("configuration")
    with pytest.raises(ValueError, match="do not say which configuration"):
        softness_of_frames(node, unknown)


def test_merge_trajectories_drops_boundary_frames(aiida_profile):
    # Two chunks; the second starts from the *wrapped* last frame of the first (one atom crossed x).
    box = np.array([10.0, 10.0, 10.0])
    first = np.array([[[1.0, 1.0, 1.0], [9.0, 5.0, 5.0]], [[1.1, 1.0, 1.0], [9.9, 5.0, 5.0]]])
    wrapped = np.mod(np.array([[1.2, 1.0, 1.0], [10.4, 5.0, 5.0]]), box)
    second = np.stack([wrapped, wrapped + 0.1])
    first = np.concatenate([first, [[[1.2, 1.0, 1.0], [10.4, 5.0, 5.0]]]])
    chunks = {}
    for k, pos in enumerate((first, second)):
        chunks[f"chunk_{k:03d}"] = frames_trajectory(pos, box, [1, 2], times=np.arange(len(pos)) * 0.5)
    out = merge_trajectories(orm.Dict({"timestep": 0.001, "chunk_ps": [1.0, 0.5], "temperature": 300.0}), **chunks)
    traj = out["trajectory"]
    assert isinstance(traj, orm.TrajectoryData) and traj.symbols == ["Al", "O"]
    np.testing.assert_allclose(traj.get_array("times"), [0.0, 0.5, 1.0, 1.5])
    np.testing.assert_array_equal(traj.get_stepids(), [0, 500, 1000, 1500])
    np.testing.assert_array_equal(cell_lengths(traj), np.tile(box, (4, 1)))
    pos = traj.get_array("positions")
    np.testing.assert_allclose(pos[:, 1, 0], [9.0, 9.9, 10.4, 10.5], atol=1e-12)
    assert out["summary"]["n_frames"] == 4 and out["summary"]["max_boundary_mismatch"] < 1e-12
    assert out["summary"]["positions_bytes"] == 4 * 2 * 3 * 8  # float64


# ------------------------------------------------------------------------------------------------
# Smoke-scale chain with real LAMMPS
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples(lammps_code):
    """Two smoke-quenched samples (150 atoms): 0 and 4 GPa."""
    out = {}
    for label, pressure in (("p0", 0.0), ("p4", 4.0)):
        _, node = run_get_node(QuenchWorkChain.get_builder_from_protocol(lammps_code, pressure, "smoke", seed=5))
        assert node.is_finished_ok, node.exit_message
        out[label] = node.outputs.structure
    return out


@pytest.fixture(scope="module")
def tension_frames(lammps_code, samples):
    """Frames of a smoke plane-strain run of the 0 GPa sample (7 strain steps, 300 atoms)."""
    _, node = run_get_node(PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, samples["p0"], "smoke"))
    assert node.is_finished_ok, node.exit_message
    return node.outputs.frames


@pytest.fixture(scope="module")
def softness_chain(lammps_code, samples, tension_frames):
    """The smoke SoftnessWorkChain on both samples, applied to the tension frames."""
    builder = SoftnessWorkChain.get_builder_from_protocol(
        lammps_code, samples, protocol="smoke", seed=11, frames={"tension_p0": tension_frames}
    )
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    return node


@pytest.mark.lammps
def test_dynamics_trajectory(softness_chain):
    node = softness_chain
    dyn = [c for c in node.called if c.process_class is DynamicsWorkChain]
    assert len(dyn) == 2 and all(c.is_finished_ok for c in dyn)
    traj = node.outputs.trajectories.p0
    # 2 ps every 0.01 ps in two 1 ps chunks: 201 frames, the repeated boundary frame dropped.
    assert isinstance(traj, orm.TrajectoryData) and traj.symbols.count("Al") == 60
    assert traj.get_shape("positions") == (201, 150, 3) and traj.get_array("positions").dtype == np.float64
    np.testing.assert_allclose(traj.get_array("times"), np.arange(201) * 0.01, atol=1e-9)
    # Unwrapped positions are continuous, also across the chunk boundary (frame 100 → 101).
    step = np.abs(np.diff(traj.get_array("positions"), axis=0)).max(axis=(1, 2))
    assert step.max() < 0.5, step.argmax()
    run = next(c for c in dyn if c.label == "dynamics p0")
    summary = run.outputs.summary
    assert summary["n_chunks"] == 2 and summary["max_boundary_mismatch"] < 1e-3
    assert 150 < summary["temperature_mean"] < 600
    assert summary["positions_bytes"] == 201 * 150 * 24  # float64
    # The equilibration run draws velocities and dumps nothing; the recorded chunks continue it.
    labels = sorted(c.label for c in run.called if c.process_class.__name__ == "LammpsRestartWorkChain")
    assert labels == ["equilibrate", "record_000", "record_001"]


@pytest.mark.lammps
def test_events_and_features(softness_chain):
    node = softness_chain
    for label in ("p0", "p4"):
        counts = node.outputs.event_counts[label]
        assert counts["n_rearranging"] > 0 and counts["n_non_rearranging"] == counts["n_rearranging"]
        events = node.outputs.events[label]
        lab = events.get_array("label")
        assert set(np.unique(lab)) == {0, 1}
        al = events.get_array("al_index")
        assert np.all(np.isin(events.get_array("atom"), al))
        ph = events.get_array("phop")
        assert np.all(events.get_array("peak_phop")[lab == 1] > 0.2)
        assert np.all(np.isnan(events.get_array("peak_phop")[lab == 0]))
        # Non-rearranging: quiet over the whole window around the frame, not only at it.
        window = round(0.4 / 0.01)
        for a, f in zip(events.get_array("atom")[lab == 0], events.get_array("frame")[lab == 0], strict=True):
            col = int(np.searchsorted(al, a))
            assert np.all(ph[f - window : f + window + 1, col] < 0.05)
        # Rearranging (precursor rule, lag 0.1 ps = 10 frames, grid 5 frames): the excursion starts
        # (first frame above 0.2 Å²) 10 to 14 frames after the example frame.
        for a, f in zip(events.get_array("atom")[lab == 1], events.get_array("frame")[lab == 1], strict=True):
            col = int(np.searchsorted(al, a))
            assert f % 5 == 0 and np.nanmax(ph[f + 10 : f + 15, col]) > 0.2
        assert counts["n_rearranging_atoms"] >= 1 and counts["n_example_frames"] >= 1
        assert ph.shape == (201, 60)
        feats = node.outputs.features[label]
        names = feats.base.attributes.get("feature_names")
        assert feats.get_shape("features") == (lab.size, len(names)) and names[-1] == "voronoi_volume"
        x = feats.get_array("features")
        assert np.all(np.isfinite(x)) and np.all(x[:, -1] > 0)
        assert x[:, names.index("G_O_1.8")].max() > 0.5  # an O neighbour near 1.8 Å
        assert feats.base.attributes.get("configuration") == "inherent"
    # The example frames were relaxed by LAMMPS into inherent structures, one run per sample.
    runs = [c for c in node.called if c.process_class.__name__ == "LammpsRestartWorkChain"]
    assert sorted(c.label for c in runs) == ["inherent_p0", "inherent_p4"]
    assert all(c.is_finished_ok for c in runs)


@pytest.mark.lammps
def test_training_report(softness_chain):
    node = softness_chain
    model, report = node.outputs.model, node.outputs.report
    assert isinstance(orm.load_node(model.pk), SoftnessModelData)
    assert model.base.attributes.get("n_features") == len(model.feature_names)
    assert "voronoi_volume" not in model.feature_names
    for key in ("train_accuracy", "test_accuracy", "full_train_accuracy", "cv_balanced_accuracy"):
        assert 0.0 <= report[key] <= 1.0, key
    assert report["cross_validation"]["repeats"] == 2 and report["cross_validation"]["n_scores"] >= 4
    assert model.configuration == "inherent" and model.domain() is not None
    assert model.base.attributes.get("cv_balanced_accuracy") == report["cv_balanced_accuracy"]
    assert report["warning"] is not None  # a smoke model says it is one
    ts = report["time_split"]
    assert ts is None or ts["train_accuracy"] is None or 0.0 <= ts["train_accuracy"] <= 1.0
    assert set(report["ablation"]) >= {"radial", "voronoi", "all+voronoi"}
    assert report["cross_pressure"]["keys"] == ["p0", "p4"]
    acc = np.array(report["cross_pressure"]["accuracy"], dtype=float)
    assert acc.shape == (2, 2)
    assert report["n_events"] == sum(report["datasets"][k]["n_events"] for k in ("p0", "p4"))
    # Queryable: find the report by accuracy.
    qb = orm.QueryBuilder().append(
        orm.Dict, filters={"id": report.pk, "attributes.test_accuracy": {">=": 0.0}}, project="id"
    )
    assert qb.count() == 1
    assert node.base.extras.get("aloxide_test_accuracy") == report["test_accuracy"]


@pytest.mark.lammps
def test_softness_on_tension_frames(softness_chain, tension_frames):
    applied = softness_chain.outputs.applied
    s = applied.tension_p0_softness
    n_frames = tension_frames.get_shape("positions")[0]
    assert s.get_shape("softness") == (n_frames, 120)
    np.testing.assert_allclose(s.get_array("strain"), tension_frames.get_array("strain"))
    summary = applied.tension_p0_softness_summary
    assert len(summary["mean_softness"]) == n_frames
    assert summary["strain_at_max_mean"] in list(tension_frames.get_array("strain"))
    # Same numbers as the stored model applied by hand to frame 0.
    from aiida_aloxide.analysis.structure_functions import structure_functions
    from aiida_aloxide.functions.softness_parameters import structure_function_kwargs

    model = softness_chain.outputs.model
    types = tension_frames.get_array("types")
    sf = structure_functions(
        tension_frames.get_array("positions")[0],
        cell_lengths(tension_frames)[0],
        types,
        **structure_function_kwargs(model.structure_function_parameters),
    )
    # The model uses the subset chosen inside the folds; its columns by name.
    assert set(model.feature_names) <= set(sf.names)
    cols = [sf.names.index(n) for n in model.feature_names]
    np.testing.assert_allclose(s.get_array("softness")[0], model.softness(sf.features[:, cols]), rtol=1e-5, atol=1e-5)
    clusters = applied.tension_p0_cluster_summary
    assert clusters["n_selected"] == [12] * n_frames  # 10 % of 120 Al
    assert all(1 <= n <= 12 for n in clusters["n_clusters"])
    assert all(1 <= m <= 12 for m in clusters["largest"])
    pr = applied.tension_p0_probability_summary
    assert pr["coordination"] == 5 and pr["n_selected"] > 0
    assert 0 <= pr["n_decreased"] <= pr["n_selected"]
    # The response: one AUC per step pair, and the feature groups add up to the change of the in-domain mean.
    resp, rs = applied.tension_p0_response, applied.tension_p0_response_summary
    auc = resp.get_array("auc")
    assert auc.shape == (n_frames - 1,) and np.all((auc[np.isfinite(auc)] >= 0) & (auc[np.isfinite(auc)] <= 1))
    total = sum(resp.get_array(f"contribution_{k}") for k in range(len(rs["groups"])))
    mean = s.get_array("mean")
    np.testing.assert_allclose(total, mean - mean[0], atol=1e-9)
    for cn in (4, 5, 6):
        assert resp.get_array(f"mean_s_al{cn}").shape == (n_frames,)


@pytest.mark.lammps
def test_softness_figures_from_stored_nodes(softness_chain, tmp_path):
    from PIL import Image

    from aiida_aloxide.report.figures import softness_figures

    applied = dict(softness_chain.outputs.applied)
    paths = softness_figures(applied, {}, tmp_path)
    assert [p.name for p in paths] == ["softness_vs_strain.png", "rearrangement_probability.png",
                                       "softness_clusters.png", "next_step_auc.png",
                                       "softness_by_feature_group.png", "softness_by_species.png"]  # fmt: skip
    for path in paths:
        image = Image.open(path)
        assert image.size[0] > 300 and "aloxide:sources" in image.info["Description"]
    assert applied["tension_p0_softness"].uuid in Image.open(paths[0]).info["Description"]


@pytest.mark.lammps
def test_labels_from_the_inherent_structure_trajectory(lammps_code, samples, softness_chain):
    """events.labels_from 'inherent': the recorded dynamics (given, not run again) sampled every 0.05 ps, each
    frame minimised, p_hop and features on that trajectory; no second minimisation of example frames."""
    builder = SoftnessWorkChain.get_builder_from_protocol(
        lammps_code, samples, protocol="smoke", seed=11,
        overrides={"events": {"labels_from": "inherent", "inherent_spacing": 0.05}},
        trajectories=dict(softness_chain.outputs.trajectories),
    )  # fmt: skip
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    called = {c.label for c in node.called}
    assert not any(label.startswith("dynamics_") for label in called)  # the given trajectories were used
    assert not any(label.startswith(("inherent_p0", "inherent_p4")) for label in called)  # no second minimisation
    for key in ("p0", "p4"):
        thermal = softness_chain.outputs.trajectories[key]
        inherent = node.outputs.inherent_trajectories[key]
        n_thermal = thermal.get_shape("positions")[0]
        assert inherent.get_shape("positions")[0] == (n_thermal - 1) // 5 + 1  # every 5th frame of 0.01 ps
        np.testing.assert_allclose(inherent.get_array("times"), thermal.get_array("times")[::5])
        # Minimised frames are continuous with the thermal ones (nearest image) and close to them.
        step = np.abs(inherent.get_array("positions") - thermal.get_array("positions")[::5]).max()
        assert 0.0 < step < 2.0
        events = node.outputs.events[key]
        assert events.get_array("frame").max() < inherent.get_shape("positions")[0]
        assert node.outputs.features[key].base.attributes.get("configuration") == "inherent"
    assert node.outputs.model.configuration == "inherent"
