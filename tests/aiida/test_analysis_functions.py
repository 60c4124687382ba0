"""Calcfunctions of the structure/deformation analysis: synthetic frames with known answers + one smoke run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_aloxide.data.structure import structure_from_arrays
from aiida_aloxide.functions.analysis import (
    DEFORMATION_DEFAULTS,
    deformation_analysis,
    plastic_energy_vs_d,
    rdf_analysis,
    validate_deformation_parameters,
)
from aiida_aloxide.materials import load_material
from aiida_aloxide.trajectory import frames_trajectory
from tests.analysis.crystals import corundum_orthorhombic

STRAINS = (0.0, 0.01, 0.02)
#: Hand-set hydrostatic stress (GPa) of every Al atom in each frame.
HYDRO = (-1.0, 0.5, 2.0)


def _min_image(vec: np.ndarray, box: np.ndarray) -> np.ndarray:
    return vec - box * np.round(vec / box)


def _corundum_frames(
    moved_o: tuple[int, np.ndarray] | None = None, vacancy: int | None = None
) -> dict[str, np.ndarray]:
    """Corundum under a pure affine plane strain along x (y, z fixed), stored like a tension ``frames``.

    Every 7th atom sits in the +x periodic image (unwrapped coordinates). ``vacancy``: index of
    an atom removed from every frame (its neighbours become under-coordinated); ``moved_o =
    (index, δ)`` (index after the removal) displaces one O by δ (Å) in the last frame only.
    Stress×volume and Voronoi volumes are set by hand so that the hydrostatic stress of every
    Al is ``HYDRO[f]`` GPa.
    """
    pos0, types, box0 = corundum_orthorhombic((3, 2, 1))
    pos0 = pos0.copy()
    pos0[::7, 0] += box0[0]
    if vacancy is not None:
        pos0, types = np.delete(pos0, vacancy, axis=0), np.delete(types, vacancy)
    n = len(types)
    rng = np.random.default_rng(3)
    volume = 8.0 + 4.0 * rng.random(n)  # Å³, varied on purpose
    positions, cells, sv, vv = [], [], [], []
    for f, e in enumerate(STRAINS):
        scale = np.array([1.0 + e, 1.0, 1.0])
        p = pos0 * scale
        if moved_o is not None and f == len(STRAINS) - 1:
            p[moved_o[0]] += moved_o[1]
        positions.append(p)
        cells.append(box0 * scale)
        # trace / 3 / V * 1e-4 = HYDRO[f]  with diagonal (1, 2, 3) * k * V  ->  k = HYDRO[f] / 2e-4.
        k = HYDRO[f] / 2.0e-4
        s = np.zeros((n, 6))
        s[:, :3] = np.array([1.0, 2.0, 3.0]) * k * volume[:, None]
        s[:, 3:] = rng.normal(0.0, 1.0e4, (n, 3))  # shear must not enter the hydrostatic stress
        sv.append(s)
        vv.append(volume)
    return {
        "positions": np.array(positions, dtype=np.float32),
        "lengths": np.array(cells),
        "types": types.astype(np.int8),
        "stress_volume": np.array(sv, dtype=np.float32),
        "voronoi_volume": np.array(vv, dtype=np.float32),
        "strain": np.array(STRAINS),
        "steps": np.arange(len(STRAINS)),
    }


def _frames_node(arrays: dict[str, np.ndarray]) -> orm.TrajectoryData:
    rest = {k: v for k, v in arrays.items() if k not in ("positions", "lengths", "types", "steps")}
    return frames_trajectory(arrays["positions"], arrays["lengths"], arrays["types"], steps=arrays["steps"], **rest)


def _al_o_bonds(pos: np.ndarray, box: np.ndarray, types: np.ndarray, cutoff: float = 2.25) -> np.ndarray:
    """Brute-force (n_Al, n_O) boolean Al–O bond matrix (independent of the analysis package)."""
    al, o = pos[types == 1].astype(np.float64), pos[types == 2].astype(np.float64)
    d = np.linalg.norm(_min_image(o[None, :, :] - al[:, None, :], box), axis=-1)
    return d <= cutoff, d


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------


def test_parameter_validation():
    # The cut-offs default to the material's: alumina's 2.25 / 3.7 Å (Du et al.), silica's from its file.
    assert validate_deformation_parameters() == {**DEFORMATION_DEFAULTS, "al_o_cutoff": 2.25, "al_al_cutoff": 3.7}
    assert DEFORMATION_DEFAULTS["al_o_cutoff"] is None and DEFORMATION_DEFAULTS["al_al_cutoff"] is None
    silica = validate_deformation_parameters(None, load_material("silica-bks"))
    assert (silica["al_o_cutoff"], silica["al_al_cutoff"]) == (2.35, 3.42)
    assert DEFORMATION_DEFAULTS["d2min_cutoff"] == 4.0 and DEFORMATION_DEFAULTS["d2min_per_neighbor"] is False
    assert validate_deformation_parameters({"d_bins": 10})["d_bins"] == 10
    with pytest.raises(ValueError, match=r"unknown deformation_analysis parameter\(s\) \['d2min_cutof'\]"):
        validate_deformation_parameters({"d2min_cutof": 4.0})
    for bad in ({"profile_bins": 0}, {"d_bins": 2.5}, {"al_o_cutoff": -1.0}, {"d2min_per_neighbor": "yes"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            validate_deformation_parameters(bad)


def test_unknown_parameter_is_refused_by_the_calcfunction(aiida_profile):
    frames = _frames_node(_corundum_frames())
    with pytest.raises(ValueError, match="unknown deformation_analysis parameter"):
        deformation_analysis(frames, orm.Dict({"cutoff": 2.0}))


# ---------------------------------------------------------------------------------------------
# Synthetic frames with known answers
# ---------------------------------------------------------------------------------------------


def test_affine_strain_gives_no_switching_and_zero_d(aiida_profile):
    arrays = _corundum_frames()
    frames = _frames_node(arrays)
    out, node = deformation_analysis.run_get_node(frames)
    assert node.is_finished_ok
    per_atom, summary, curves = out["per_atom"], out["summary"], out["curves"]
    n_al = int(np.count_nonzero(arrays["types"] == 1))
    n_f = len(STRAINS)

    # Shapes and dtypes of the stored per-atom arrays.
    assert per_atom.get_array("cn").shape == (n_f, n_al) and per_atom.get_array("cn").dtype == np.int8
    assert per_atom.get_array("switching").dtype == np.int8
    assert per_atom.get_array("d2min").shape == (n_f - 1, n_al) and per_atom.get_array("d2min").dtype == np.float32
    assert per_atom.get_array("d").shape == (n_al,) and per_atom.get_array("d").dtype == np.float32
    np.testing.assert_array_equal(per_atom.get_array("al_indices"), np.nonzero(arrays["types"] == 1)[0])

    # Corundum: every Al is 6-fold coordinated, and a pure affine strain switches no bond.
    np.testing.assert_array_equal(per_atom.get_array("cn"), 6)
    np.testing.assert_array_equal(per_atom.get_array("initial_species"), 6)
    np.testing.assert_array_equal(
        per_atom.get_array("switching"), per_atom.base.attributes.get("switching_codes")["UC"]
    )
    assert summary["uc_fraction_final"] == 1.0 and summary["dc_fraction_final"] == 0.0
    assert summary["al6_fraction_initial"] == 1.0 and summary["al6_fraction_final"] == 1.0
    np.testing.assert_array_equal(curves.get_array("fraction_uc"), 1.0)
    np.testing.assert_array_equal(curves.get_array("fraction_al6"), 1.0)

    # Non-affine displacement vanishes (up to float32 rounding of the stored positions).
    assert np.all(per_atom.get_array("d") < 1e-3)
    assert summary["d_mean"] < 1e-3 and summary["d_undefined"] == 0
    assert curves.get_array("d_counts").sum() == n_al

    # Hydrostatic stress from the hand-set stress×volume / Voronoi volume (bar -> GPa), shear ignored.
    hydro = per_atom.get_array("hydrostatic_stress")
    assert hydro.shape == (n_f, n_al) and hydro.dtype == np.float32
    np.testing.assert_allclose(hydro, np.broadcast_to(np.array(HYDRO)[:, None], hydro.shape), rtol=1e-5)
    assert summary["hydrostatic_mean_al6_initial"] == pytest.approx(HYDRO[0], rel=1e-5)
    assert summary["hydrostatic_mean_al_final"] == pytest.approx(HYDRO[-1], rel=1e-5)
    assert summary["hydrostatic_mean_al4_initial"] is None and summary["hydrostatic_mean_al5_initial"] is None
    edges = curves.get_array("stress_edges")
    assert len(edges) == DEFORMATION_DEFAULTS["stress_bins"] + 1
    assert edges[0] == pytest.approx(HYDRO[0], rel=1e-5) and edges[-1] == pytest.approx(HYDRO[-1], rel=1e-5)
    for name in ("stress_density_initial", "stress_density_final"):
        dens = curves.get_array(name)
        assert dens.shape == (3, DEFORMATION_DEFAULTS["stress_bins"])
        np.testing.assert_array_equal(dens[:2], 0.0)  # no Al4, no Al5
        assert (dens[2] * np.diff(edges)).sum() == pytest.approx(1.0)
    # All the density at the ends of the common range: initial in the first bin, final in the last.
    assert curves.get_array("stress_density_initial")[2, 0] > 0 and curves.get_array("stress_density_final")[2, -1] > 0

    # The summary carries what was used; no NaN anywhere in the attributes.
    assert summary["al_o_cutoff"] == 2.25 and summary["d2min_cutoff"] == 4.0
    assert summary["d2min_normalization"] == "sum"
    assert summary["final_strain"] == pytest.approx(STRAINS[-1])
    assert all(v is None or not isinstance(v, float) or np.isfinite(v) for v in summary.get_dict().values())
    assert 0.0 <= summary["fracture_plane"] < arrays["lengths"][-1, 0]


def test_o_moved_out_of_shell_gives_dc_and_local_d(aiida_profile):
    # An O vacancy far from Al 0 makes a few Al5 in the reference (mixed initial species).
    base = _corundum_frames()
    _, dist0 = _al_o_bonds(base["positions"][0], base["lengths"][0], base["types"])
    vacancy = int(np.nonzero(base["types"] == 2)[0][np.argmax(dist0[0])])
    ref = _corundum_frames(vacancy=vacancy)
    types, box_last = ref["types"], ref["lengths"][-1]
    last = ref["positions"][-1].astype(np.float64)
    bonds, dist = _al_o_bonds(last, box_last, types)
    cn_ref = bonds.sum(axis=1)
    n_al, n5 = len(cn_ref), int(np.count_nonzero(cn_ref == 5))
    assert n5 == 4 and np.all((cn_ref == 5) | (cn_ref == 6))
    # Move the O of the shortest Al–O bond of Al 0 straight away from that Al by 0.6 Å.
    o_local = int(np.argmin(dist[0]))
    io = int(np.nonzero(types == 2)[0][o_local])
    ia = int(np.nonzero(types == 1)[0][0])
    direction = _min_image(last[io] - last[ia], box_last)
    delta = 0.6 * direction / np.linalg.norm(direction)
    arrays = _corundum_frames(moved_o=(io, delta), vacancy=vacancy)

    # Brute-force expectation: Al atoms that lose the O (all of them Al6; no Al gains it).
    moved = arrays["positions"][-1].astype(np.float64)
    bonds_after, dist_after = _al_o_bonds(moved, box_last, types)
    lost = bonds[:, o_local] & ~bonds_after[:, o_local]
    n_lost, n6 = int(lost.sum()), n_al - n5
    assert not np.any(bonds_after & ~bonds), "test set-up: no Al may gain an O"
    assert lost[0] and np.all(cn_ref[lost] == 6) and np.all(np.abs(dist_after[:, o_local] - 2.25) > 0.02)

    out = deformation_analysis(_frames_node(arrays))
    per_atom, summary, curves = out["per_atom"], out["summary"], out["curves"]
    codes = per_atom.base.attributes.all["switching_codes"]
    sw = per_atom.get_array("switching")
    np.testing.assert_array_equal(sw[1], codes["UC"])  # the intermediate frame is purely affine
    np.testing.assert_array_equal(sw[-1][lost], codes["DC"])
    np.testing.assert_array_equal(sw[-1][~lost], codes["UC"])
    np.testing.assert_array_equal(per_atom.get_array("initial_species"), cn_ref)
    np.testing.assert_array_equal(per_atom.get_array("cn")[-1], cn_ref - lost.astype(int))
    assert summary["dc_fraction_final"] == pytest.approx(n_lost / n_al)
    assert summary["dc_fraction_final_from_al6"] == pytest.approx(n_lost / n_al)
    assert summary["dc_fraction_final_from_al5"] == 0.0
    assert summary["al5_fraction_initial"] == pytest.approx(n5 / n_al)
    assert summary["al5_fraction_final"] == pytest.approx((n5 + n_lost) / n_al)
    assert summary["hydrostatic_mean_al5_initial"] == pytest.approx(HYDRO[0], rel=1e-5)
    np.testing.assert_allclose(curves.get_array("fraction_dc"), [0.0, 0.0, n_lost / n_al])
    # Break-down by initial species (rows Al4, Al5, Al6; columns UC, SC, DC, IC).
    expected_total = np.array([[0, 0, 0, 0], [n5, 0, 0, 0], [n6 - n_lost, 0, n_lost, 0]]) / n_al
    expected_within = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [(n6 - n_lost) / n6, 0, n_lost / n6, 0]])
    np.testing.assert_allclose(curves.get_array("by_species_final"), expected_total)
    np.testing.assert_allclose(curves.get_array("by_species_final_within"), expected_within)
    profile = curves.get_array("profile_counts")
    assert profile.shape == (4, DEFORMATION_DEFAULTS["profile_bins"])
    assert profile.sum() == n_al and profile[2].sum() == n_lost
    pe = curves.get_array("profile_edges")
    assert pe[0] == pytest.approx(-0.5 * box_last[0]) and pe[-1] == pytest.approx(0.5 * box_last[0])

    # D: non-zero only for Al whose 4 Å neighbourhood (in the previous frame) holds the moved O.
    prev = arrays["positions"][1].astype(np.float64)
    al_pos = prev[types == 1]
    r_to_o = np.linalg.norm(_min_image(prev[io] - al_pos, arrays["lengths"][1]), axis=1)
    near = r_to_o <= 4.0
    d = per_atom.get_array("d")
    assert np.all(d[near] > 0.05) and np.all(d[~near] < 1e-3)
    assert summary["d_max"] == pytest.approx(float(d.max()), rel=1e-6)

    # Per-neighbour normalisation: the last step's D²_min divided by the neighbour count (brute force).
    out_pn = deformation_analysis(_frames_node(arrays), orm.Dict({"d2min_per_neighbor": True}))
    assert out_pn["summary"]["d2min_normalization"] == "per_neighbor"
    all_d = np.linalg.norm(_min_image(prev[None, :, :] - al_pos[:, None, :], arrays["lengths"][1]), axis=-1)
    n_neigh = (all_d <= 4.0).sum(axis=1) - 1  # minus self
    np.testing.assert_allclose(
        out_pn["per_atom"].get_array("d2min")[-1][near],
        per_atom.get_array("d2min")[-1][near] / n_neigh[near],
        rtol=1e-5,
    )


def test_deterministic_outputs(aiida_profile):
    arrays = _corundum_frames(moved_o=(200, np.array([0.3, -0.2, 0.1])))
    frames = _frames_node(arrays).store()
    a = deformation_analysis(frames)
    b = deformation_analysis(frames)
    for label in ("per_atom", "summary", "curves"):
        assert a[label].uuid != b[label].uuid
        assert a[label].base.caching.get_hash() == b[label].base.caching.get_hash(), label


def test_rdf_analysis_of_corundum(aiida_profile):
    pos, types, box = corundum_orthorhombic((3, 2, 1))
    structure = structure_from_arrays(pos, types, box, dict(load_material().charges))
    node, calc = rdf_analysis.run_get_node(structure)
    assert node.is_stored and "al_o_cutoff" not in calc.inputs  # the material's cut-offs, recorded below
    r = node.get_array("r")
    assert node.base.attributes.all["r_max"] == pytest.approx(0.49 * box.min())
    assert node.base.attributes.all["al_o_cutoff"] == 2.25 and node.base.attributes.all["al_al_cutoff"] == 3.7
    assert {"g_al_o", "g_al_al", "g_o_o"} <= set(node.get_arraynames())
    # Exactly 6 O around every Al within 2.25 Å: the stored g integrates back to it.
    dr = r[1] - r[0]
    lo, hi = r - 0.5 * dr, r + 0.5 * dr
    shell = 4.0 / 3.0 * np.pi * (hi**3 - lo**3)
    rho_o = np.count_nonzero(types == 2) / np.prod(box)
    inside = hi <= 2.25 + dr
    assert (node.get_array("g_al_o")[inside] * shell[inside]).sum() * rho_o == pytest.approx(6.0, rel=1e-9)
    assert node.base.attributes.all["mean_cn_al_o"] == 6.0
    # Brute-force Al-Al neighbours within 3.7 Å.
    al = pos[types == 1]
    dal = np.linalg.norm(_min_image(al[None] - al[:, None], box), axis=-1)
    assert node.base.attributes.all["mean_cn_al_al"] == pytest.approx(((dal <= 3.7).sum() - len(al)) / len(al))
    # Corundum's first Al–O shell is split (3 O at ≈ 1.86 Å, 3 at ≈ 1.97 Å): the first peak is the
    # short bond and the first minimum of the smoothed g(r) falls between the two sub-shells.
    _, d_alo = _al_o_bonds(pos, box, types, 2.25)
    short, long_ = d_alo.min(axis=1).max(), d_alo[d_alo <= 2.25].max()
    assert long_ - short > 0.1
    assert short < node.base.attributes.all["al_o_first_minimum"] < long_
    assert node.base.attributes.all["al_o_first_peak"] == pytest.approx(short, abs=0.03)

    custom = rdf_analysis(structure, r_max=orm.Float(5.0), n_bins=orm.Int(100), al_o_cutoff=orm.Float(2.4))
    assert custom.get_array("r").shape == (100,) and custom.base.attributes.all["al_o_cutoff"] == 2.4


def test_plastic_energy_vs_d(aiida_profile):
    tension = {f"tension_p{k}": orm.Dict({"plastic_energy": 1.0 + 2.0 * k}) for k in range(3)}
    deform = {f"deformation_p{k}": orm.Dict({"d_mean": 0.5 + k}) for k in range(3)}
    tension["tension_bad"] = orm.Dict({"plastic_energy": None})
    deform["deformation_bad"] = orm.Dict({"d_mean": 3.0})
    res = plastic_energy_vs_d(**tension, **deform)
    assert res["labels"] == ["bad", "p0", "p1", "p2"] and res["n_points"] == 3
    assert res["slope"] == pytest.approx(2.0) and res["intercept"] == pytest.approx(0.0, abs=1e-12)
    assert res["r_value"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="both"):
        plastic_energy_vs_d(tension_x=orm.Dict({"plastic_energy": 1.0}))


# ---------------------------------------------------------------------------------------------
# Integration: smoke quench -> plane strain -> analysis, stored and queryable
# ---------------------------------------------------------------------------------------------


@pytest.mark.lammps
def test_smoke_plane_strain_analysis(lammps_code):
    from aiida_aloxide.workchains.quench import QuenchWorkChain
    from aiida_aloxide.workchains.tension import PlaneStrainWorkChain

    _, quench = run_get_node(QuenchWorkChain.get_builder_from_protocol(lammps_code, 0.0, protocol="smoke"))
    assert quench.is_finished_ok, quench.exit_message
    _, tension = run_get_node(
        PlaneStrainWorkChain.get_builder_from_protocol(lammps_code, quench.outputs.structure, protocol="smoke")
    )
    assert tension.is_finished_ok, tension.exit_message
    frames = tension.outputs.frames
    n_f, n_atoms = frames.get_shape("positions")[:2]
    n_al = int(np.count_nonzero(frames.get_array("types") == 1))

    out, calc = deformation_analysis.run_get_node(frames, orm.Dict({"d_bins": 20}))
    assert calc.is_finished_ok
    per_atom, summary, curves = out["per_atom"], out["summary"], out["curves"]
    assert calc.inputs.frames.uuid == frames.uuid  # provenance

    # Shapes.
    assert per_atom.get_shape("cn") == (n_f, n_al) and per_atom.get_shape("switching") == (n_f, n_al)
    assert per_atom.get_shape("d2min") == (n_f - 1, n_al) and per_atom.get_shape("d") == (n_al,)
    assert per_atom.get_shape("hydrostatic_stress") == (n_f, n_al)
    assert curves.get_shape("by_species_final") == (3, 4) and curves.get_shape("d_counts") == (20,)
    # Fractions add up to 1 (switch classes; species incl. "other"), at every strain.
    classes = sum(curves.get_array(f"fraction_{c}") for c in ("uc", "sc", "dc", "ic"))
    species = sum(curves.get_array(f"fraction_al{s}") for s in ("4", "5", "6", "_other"))
    np.testing.assert_allclose(classes, 1.0)
    np.testing.assert_allclose(species, 1.0)
    assert sum(summary[f"{c}_fraction_final"] for c in ("uc", "sc", "dc", "ic")) == pytest.approx(1.0)
    assert curves.get_array("by_species_final").sum() == pytest.approx(1.0 - summary["al_other_fraction_initial"])
    assert curves.get_array("fraction_uc")[0] == 1.0  # the reference frame itself
    # The strain steps are real: D grows, every Al has a defined D, stresses are finite.
    d = per_atom.get_array("d")
    assert summary["d_undefined"] == 0 and np.all(d > 0)
    assert summary["d_mean"] == pytest.approx(float(d.mean()), rel=1e-5)
    assert summary["stress_undefined"] == 0 and np.all(np.isfinite(per_atom.get_array("hydrostatic_stress")))
    assert summary["final_strain"] == pytest.approx(float(frames.get_array("strain")[-1]))

    # Big arrays in the repository, scalars in attributes.
    stored = set(per_atom.base.repository.list_object_names())
    assert {"cn.npy", "switching.npy", "d2min.npy", "d.npy", "hydrostatic_stress.npy"} <= stored
    assert len(json.dumps(per_atom.base.attributes.all)) < 2000  # only shapes and labels in the database
    qb = orm.QueryBuilder()
    qb.append(orm.TrajectoryData, filters={"id": frames.pk}, tag="frames")
    qb.append(orm.CalcFunctionNode, with_incoming="frames", tag="calc", filters={"label": "deformation_analysis"})
    qb.append(
        orm.Dict,
        with_incoming="calc",
        edge_filters={"label": "summary"},
        filters={"attributes.dc_fraction_final": {">=": 0.0}, "attributes.d_mean": {">": 0.0}},
        project=["id", "attributes.dc_fraction_final"],
    )
    assert qb.all() == [[summary.pk, summary["dc_fraction_final"]]]
    empty = orm.QueryBuilder().append(orm.Dict, filters={"id": summary.pk, "attributes.dc_fraction_final": {">": 1.0}})
    assert empty.count() == 0

    # Plastic energy vs mean D across samples (one here) and the RDF of the quenched sample.
    pairs = plastic_energy_vs_d(tension_p0=tension.outputs.summary, deformation_p0=summary)
    assert pairs["mean_d"] == [summary["d_mean"]] and pairs["slope"] is None
    rdf = rdf_analysis(quench.outputs.structure)
    assert rdf.get_shape("g_al_o") == rdf.get_shape("r")
    assert rdf.base.attributes.all["mean_cn_al_o"] == pytest.approx(quench.outputs.properties["mean_cn_al"])
