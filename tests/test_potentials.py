"""Matsui potential: parameters from the Matsui combining form, and LAMMPS energies vs the closed form;
the silica-bks material: BKS + 30-6 core pair energies in LAMMPS vs the hand formula."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.lammps_io import parse_log, write_data
from aiida_aloxide.materials import load_material, material_from_text
from aiida_aloxide.materials.forcefield import mie_prefactor, pair_commands

from .helpers import run_lammps

ALUMINA = load_material("alumina-matsui")
SPECIES_TYPES = ALUMINA.types

# Matsui (1994) single-ion parameters (SPEC §1); f0 = 4.184 kJ/mol/Å.
MATSUI_ABC = {"Al": (0.7852, 0.034, 36.82), "O": (1.8215, 0.138, 90.61)}
KJ_PER_MOL_PER_EV = 96.4853  # 1 eV = 96.4853 kJ/mol
COULOMB_EV_A = 14.399645478  # e^2 / (4 pi eps0) in eV·Å (LAMMPS metal 'qqr2e')


@pytest.mark.parametrize("pair", [("Al", "Al"), ("Al", "O"), ("O", "O")])
def test_buckingham_parameters_follow_matsui_form(pair):
    """A = f0 (b_i+b_j) exp((a_i+a_j)/(b_i+b_j)), rho = b_i+b_j, C = c_i c_j (kJ/mol -> eV)."""
    (ai, bi, ci), (aj, bj, cj) = MATSUI_ABC[pair[0]], MATSUI_ABC[pair[1]]
    f0 = 4.184 / KJ_PER_MOL_PER_EV
    expected_a = f0 * (bi + bj) * np.exp((ai + aj) / (bi + bj))
    p = ALUMINA.pairs.get(pair) or ALUMINA.pairs[pair[::-1]]
    assert p["rho"] == pytest.approx(bi + bj, rel=1e-12)
    assert p["A"] == pytest.approx(expected_a, rel=2e-5)
    assert p["C"] == pytest.approx(ci * cj / KJ_PER_MOL_PER_EV, rel=2e-4)


def test_charges_are_neutral_for_al2o3():
    """2 q_Al + 3 q_O = 0 with the Matsui charges."""
    assert 2 * ALUMINA.charges["Al"] + 3 * ALUMINA.charges["O"] == pytest.approx(0.0, abs=1e-12)


def closed_form_energy(positions: np.ndarray, species: list[str], cutoff: float) -> float:
    """Sum over pairs of Buckingham (cut at ``cutoff``, unshifted) + bare Coulomb, computed independently."""
    a_tab = {"Al": MATSUI_ABC["Al"], "O": MATSUI_ABC["O"]}
    q = {"Al": 1.4175, "O": -0.945}
    f0 = 4.184 / KJ_PER_MOL_PER_EV
    e = 0.0
    for i in range(len(species)):
        for j in range(i + 1, len(species)):
            r = float(np.linalg.norm(positions[i] - positions[j]))
            (ai, bi, ci), (aj, bj, cj) = a_tab[species[i]], a_tab[species[j]]
            if r < cutoff:
                big_a = f0 * (bi + bj) * np.exp((ai + aj) / (bi + bj))
                e += big_a * np.exp(-r / (bi + bj)) - ci * cj / KJ_PER_MOL_PER_EV / r**6
            e += COULOMB_EV_A * q[species[i]] * q[species[j]] / r
    return e


@pytest.mark.lammps
@pytest.mark.parametrize(
    ("spacing", "kspace", "tol"),
    [(1.7, "ewald", 2e-4), (1.85, "ewald", 2e-4), (2.2, "ewald", 2e-4), (2.8, "ewald", 5e-4), (1.85, "pppm", 2e-2)],
)
def test_lammps_energy_matches_closed_form(tmp_path, spacing, kspace, tol):
    """A neutral, dipole-free O-Al-O-Al-O chain in a large box: LAMMPS pe = closed form.

    Ewald at 1e-10 tests the pair coefficients and charges tightly; the production PPPM 1e-5
    setting is checked with a tolerance matching its accuracy.
    """
    species = ["O", "Al", "O", "Al", "O"]
    box = np.array([60.0, 60.0, 60.0])
    pos = np.array([[30.0 + (k - 2) * spacing, 30.0, 30.0] for k in range(5)])
    types = np.array([SPECIES_TYPES[s] for s in species])
    charges = np.array([ALUMINA.charges[s] for s in species])
    script = "\n".join(
        [
            "units metal",
            "atom_style charge",
            "boundary p p p",
            "read_data cluster.data",
            *pair_commands(
                ALUMINA, kspace_style=kspace, kspace_accuracy=1e-10 if kspace == "ewald" else ALUMINA.kspace_accuracy
            ),
            "thermo_style custom step pe",
            "thermo_modify format float %.12g",
            "run 0",
        ]
    )
    log = run_lammps(tmp_path, script, {"cluster.data": write_data(pos, types, charges, box)})
    cols, table = parse_log(log).thermo()
    pe = table[-1, cols.index("PotEng")]
    expected = closed_form_energy(pos, species, ALUMINA.cutoff)
    assert pe == pytest.approx(expected, abs=tol), (pe, expected)


# --- silica-bks (issue #21): BKS Buckingham + 30-6 core, LAMMPS vs the hand formula ------------------

SILICA = load_material("silica-bks")
# van Beest, Kramer & van Santen, PRL 64, 1955 (1990): A (eV), b (1/Å), C (eV Å^6); Si-Si none.
BKS = {("Si", "O"): (18003.7572, 4.87318, 133.5381), ("O", "O"): (1388.7730, 2.76000, 175.0000)}
# Saika-Voivod, Sciortino & Poole, PRE 63, 011202 (2000): 4 eps [(sigma/r)^30 - (sigma/r)^6].
CORE = {("Si", "O"): (3.097948e-3, 1.313635), ("O", "O"): (1.05105048e-3, 1.779239)}


def bks_short_range(pair: tuple[str, str], r: np.ndarray, core: bool = True, shift_at: float | None = None):
    """A exp(-b r) - C/r^6 (+ 4 eps [(s/r)^30 - (s/r)^6]), minus its value at ``shift_at``; no Coulomb."""

    def raw(x):
        a, b, c = BKS[pair]
        e = a * np.exp(-b * x) - c / x**6
        if core:
            eps, sig = CORE[pair]
            e = e + 4 * eps * ((sig / x) ** 30 - (sig / x) ** 6)
        return e

    r = np.asarray(r, dtype=float)
    return raw(r) - (raw(shift_at) if shift_at is not None else 0.0)


def silica_pair_energies(tmp_path, pair: tuple[str, str], distances, charged: bool = False) -> np.ndarray:
    """LAMMPS ``run 0`` potential energy of one silica pair at each distance (:func:`pair_energies`)."""
    return pair_energies(tmp_path, SILICA, pair, distances, charged)


def pair_energies(tmp_path, material, pair: tuple[str, str], distances, charged: bool = False) -> np.ndarray:
    """LAMMPS ``run 0`` potential energy of one pair of atoms of ``material`` at each distance (60 Å box).

    Uncharged atoms isolate the short-range part; the k-space solver is still declared (with a
    fixed splitting parameter), as the long-range Coulomb styles require one.
    """
    types = material.types
    q = material.charges if charged else {s: 0.0 for s in types}
    data = "\n".join(
        [
            "two atoms",
            "",
            "2 atoms",
            "2 atom types",
            "",
            "0 60 xlo xhi",
            "0 60 ylo yhi",
            "0 60 zlo zhi",
            "",
            "Masses",
            "",
            *(f"{t} {material.masses[s]}" for s, t in types.items()),
            "",
            "Atoms # charge",
            "",
            f"1 {types[pair[0]]} {q[pair[0]]} 30 30 30",
            f"2 {types[pair[1]]} {q[pair[1]]} 31 30 30",
            "",
        ]
    )
    lines = ["units metal", "atom_style charge", "boundary p p p", "read_data pair.data"]
    lines += pair_commands(material, kspace_style="ewald", kspace_accuracy=1e-8)
    if not charged:
        lines.append("kspace_modify gewald 0.3")  # Ewald cannot derive its splitting from zero charges
    lines += ["thermo_style custom step pe", "thermo_modify norm no"]
    for r in distances:
        lines += [f"set atom 2 x {30 + r:.12f}", "run 0 post no", f'print "ALOXPE {r:.12f} $(pe:%.15g)"']
    log = run_lammps(tmp_path, "\n".join(lines) + "\n", {"pair.data": data})
    values = dict(
        (float(a), float(b)) for a, b in (ln.split()[1:3] for ln in log.splitlines() if ln.startswith("ALOXPE"))
    )
    return np.array([values[float(f"{r:.12f}")] for r in distances])


def test_silica_file_holds_the_published_parameters():
    assert SILICA.types == {"Si": 1, "O": 2} and SILICA.formula_unit == {"Si": 1, "O": 2}
    assert SILICA.charges == {"Si": 2.4, "O": -1.2} and SILICA.masses == {"Si": 28.0855, "O": 15.9994}
    assert set(SILICA.pairs) == set(BKS)  # no Si-Si Buckingham term
    for pair, (a, b, c) in BKS.items():
        assert SILICA.pairs[pair] == {"A": a, "rho": 1.0 / b, "C": c}
    for pair, (eps, sig) in CORE.items():
        assert SILICA.short_range[pair] == {"epsilon": eps, "sigma": sig, "n": 30.0, "m": 6.0}
    assert (SILICA.cutoff, SILICA.coulomb_cutoff, SILICA.shift) == (5.5, 10.0, True)
    assert mie_prefactor(12, 6) == pytest.approx(4.0, rel=1e-15)


#: The force-field lines every alumina script had before materials were data (SPEC §1's Matsui table).
MATSUI_LINES = [
    "pair_coeff 1 1 31570924.2 0.068 14.051",
    "pair_coeff 1 2 28476.909 0.172 34.5779",
    "pair_coeff 2 2 6462.6712 0.276 85.0925",
]


def test_pair_commands_of_alumina_are_the_matsui_lines():
    """The generic builder gives the Matsui lines the alumina scripts always had, so alumina scripts do not
    change."""
    alumina = load_material("alumina-matsui")
    for kwargs, style, kspace in (
        ({}, "pair_style buck/coul/long 10", "kspace_style pppm 1e-05"),
        ({"cutoff": 8.0, "kspace_accuracy": 1e-4}, "pair_style buck/coul/long 8", "kspace_style pppm 0.0001"),
        ({"kspace_style": "ewald"}, "pair_style buck/coul/long 10", "kspace_style ewald 1e-05"),
    ):
        expected = [style, *MATSUI_LINES, kspace]
        assert pair_commands(alumina, **kwargs) == expected
    lines = pair_commands(SILICA)
    assert lines[0] == "pair_style hybrid/overlay buck/coul/long 5.5 10 mie/cut 5.5"
    assert "pair_coeff 1 1 buck/coul/long 0 1 0" in lines and "pair_modify shift yes" in lines


@pytest.mark.lammps
@pytest.mark.parametrize(
    ("pair", "distances"), [(("Si", "O"), [0.9, 1.2, 1.6, 2.5, 4.0]), (("O", "O"), [1.4, 2.0, 2.6, 3.5])]
)
def test_silica_pair_energy_matches_hand_formula(tmp_path, pair, distances):
    """Uncharged pair: LAMMPS pe = BKS Buckingham + 30-6 core, shifted to 0 at 5.5 Å, to 1e-6."""
    pe = silica_pair_energies(tmp_path, pair, distances)
    expected = bks_short_range(pair, np.array(distances), shift_at=SILICA.cutoff)
    np.testing.assert_allclose(pe, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.lammps
@pytest.mark.parametrize(("pair", "r_max"), [(("Si", "O"), 1.5), (("O", "O"), 2.2)])
def test_silica_core_removes_the_short_range_collapse(tmp_path, pair, r_max):
    """Plain BKS turns over and dives (-C/r^6 wins); with the core the energy rises steadily
    as r decreases from r_max to 0.8 Å, in LAMMPS and in the full pair potential with Coulomb."""
    r = np.linspace(r_max, 0.8, 15)
    plain = bks_short_range(pair, r, core=False)
    assert plain[-1] < plain.max() - 10.0  # the collapse the core is there to remove
    pe = silica_pair_energies(tmp_path, pair, r)
    assert np.all(np.diff(pe) > 0), pe
    # With the bare Coulomb term added, no minimum below 1.2 Å (Si-O) / 1.5 Å (O-O).
    q = SILICA.charges
    r_fine = np.linspace(0.8, 1.2 if pair == ("Si", "O") else 1.5, 200)
    total = bks_short_range(pair, r_fine) + COULOMB_EV_A * q[pair[0]] * q[pair[1]] / r_fine
    assert np.all(np.diff(total) < 0), "energy must fall monotonically from 0.8 Å outwards"


# --- the other pair forms a material file may use: Born-Mayer-Huggins and Pedone ---------------------------

FORM_FILES = {
    "born": "{form: born, pairs: {Al-O: {A: 0.2, rho: 0.29, sigma: 2.2, C: 1.5, D: 0.9}}",
    "pedone": "{form: pedone, pairs: {Al-O: {D0: 0.361581, alpha: 1.900442, r0: 2.164818, C0: 0.9}}",
}


def form_material(form: str):
    """The small test oxide of tests/test_materials.py with one Al-O pair of ``form`` (cut-off 8 Å)."""
    return material_from_text(
        "name: form-test\nformula_unit: {Al: 2, O: 3}\n"
        "species: {Al: {mass: 26.98, charge: 1.5}, O: {mass: 16.0, charge: -1.0}}\n"
        f"force_field: {FORM_FILES[form]}, cutoff: 8.0, kspace_accuracy: 1.0e-5}}\n"
        "analysis: {cation: Al, anion: O, coordination_classes: [4, 5, 6], cation_anion_cutoff: 2.25,"
        " cation_cation_cutoff: 3.7}\n"
    )


def form_energy(form: str, t: dict[str, float], r: np.ndarray) -> np.ndarray:
    """The pair energy of ``form`` by hand (no Coulomb, not shifted)."""
    if form == "born":
        return t["A"] * np.exp((t["sigma"] - r) / t["rho"]) - t["C"] / r**6 + t["D"] / r**8
    x = np.exp(-t["alpha"] * (r - t["r0"]))
    return t["D0"] * (x**2 - 2 * x) + t["C0"] / r**12


@pytest.mark.lammps
@pytest.mark.parametrize("form", ["born", "pedone"])
def test_other_pair_forms_match_the_hand_formula(tmp_path, form):
    """A Born-Mayer-Huggins or Pedone material gives LAMMPS pair energies equal to its formula to 1e-6 (uncharged
    pair), and its Coulomb-only pairs stay Coulomb-only."""
    material = form_material(form)
    lines = pair_commands(material)
    assert lines[0] == ("pair_style born/coul/long 8" if form == "born" else
                        "pair_style hybrid/overlay pedone 8 coul/long 8")  # fmt: skip
    distances = [1.6, 1.9, 2.4, 3.5]
    pe = pair_energies(tmp_path, material, ("Al", "O"), distances)
    expected = form_energy(form, material.pairs[("Al", "O")], np.array(distances))
    np.testing.assert_allclose(pe, expected, rtol=1e-6, atol=1e-9)
    assert np.allclose(pair_energies(tmp_path, material, ("O", "O"), [2.5]), 0.0, atol=1e-9)
