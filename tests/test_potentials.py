"""Matsui potential: parameters from the Matsui combining form, and LAMMPS energies vs the closed form."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_aloxide.lammps_io import parse_log, write_data
from aiida_aloxide.potentials import MATSUI, SPECIES_TYPES

from .helpers import run_lammps

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
    p = MATSUI.pair(*pair)
    assert p.rho == pytest.approx(bi + bj, rel=1e-12)
    assert p.A == pytest.approx(expected_a, rel=2e-5)
    assert p.C == pytest.approx(ci * cj / KJ_PER_MOL_PER_EV, rel=2e-4)


def test_charges_are_neutral_for_al2o3():
    """2 q_Al + 3 q_O = 0 with the Matsui charges."""
    assert 2 * MATSUI.charges["Al"] + 3 * MATSUI.charges["O"] == pytest.approx(0.0, abs=1e-12)


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
    charges = np.array([MATSUI.charges[s] for s in species])
    script = "\n".join(
        [
            "units metal",
            "atom_style charge",
            "boundary p p p",
            "read_data cluster.data",
            *MATSUI.lammps_commands(
                kspace_style=kspace, kspace_accuracy=1e-10 if kspace == "ewald" else MATSUI.kspace_accuracy
            ),
            "thermo_style custom step pe",
            "thermo_modify format float %.12g",
            "run 0",
        ]
    )
    log = run_lammps(tmp_path, script, {"cluster.data": write_data(pos, types, charges, box)})
    cols, table = parse_log(log).thermo()
    pe = table[-1, cols.index("PotEng")]
    expected = closed_form_energy(pos, species, MATSUI.cutoff)
    assert pe == pytest.approx(expected, abs=tol), (pe, expected)
