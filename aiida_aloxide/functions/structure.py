"""Calcfunctions that make and characterise samples: packing in, structure out; structure in, numbers out."""

from __future__ import annotations

import numpy as np
from aiida import orm

from ..analysis.coordination import coordination_numbers, species_fractions
from ..data.structure import structure_arrays, structure_from_arrays, structure_material
from ..lammps_io import mass_density
from ..materials import material_of
from ..packing import random_packing
from ..trajectory import frames_trajectory
from .versioning import calcfunction

__all__ = ["random_alumina", "sample_properties", "structure_as_frame", "structure_from_file"]


@calcfunction
def random_alumina(
    n_units: orm.Int,
    density: orm.Float,
    min_distance: orm.Float,
    seed: orm.Int,
    material: orm.Dict | None = None,
):
    """Random packing (seeded) of ``n_units`` formula units with the material's charges: a quench's start.

    Without ``material``: Al2O3 with Matsui charges (the name stays for the alumina provenance graphs).
    """
    mat = material_of(material)
    pos, types, box = random_packing(n_units.value, density.value, min_distance.value, seed.value, material=mat)
    return structure_from_arrays(pos, types, box, dict(mat.charges), mat)


@calcfunction
def sample_properties(
    structure: orm.StructureData,
    pressure: orm.Float | None = None,
    al_o_cutoff: orm.Float | None = None,
    material: orm.Dict | None = None,
) -> orm.Dict:
    """Density and Al coordination (Al4/Al5/Al6 fractions, mean CN) of a sample quenched at ``pressure``.

    With ``material``: the density from its masses and the coordination of its ``analysis.cation`` by its
    ``analysis.anion`` within ``cation_anion_cutoff`` (``al_o_cutoff`` overrides it), in its
    ``coordination_classes``; the keys are named by the cation (``si4``, ``n_si``, ``mean_cn_si``,
    ``si_o_cutoff``, ...), for alumina exactly the keys above, plus ``material`` (its name).
    """
    props = _material_properties(structure, pressure, al_o_cutoff, material_of(material))
    if material is None:
        del props["material"]  # the alumina keys of every sample made before materials were inputs
    return orm.Dict(props)


def _material_properties(structure, pressure, cutoff_node, mat) -> dict:
    """The content of :func:`sample_properties` for a given material (keys named by its cation)."""
    cation, anion = mat.analysis["cation"], mat.analysis["anion"]
    cutoff = float(mat.analysis["cation_anion_cutoff"]) if cutoff_node is None else cutoff_node.value
    classes = tuple(int(k) for k in mat.analysis.get("coordination_classes", (4, 5, 6)))
    positions, types, _, box = structure_arrays(structure, mat)
    centre = types == mat.types[cation]
    cn = coordination_numbers(positions, box, centre, types == mat.types[anion], cutoff)
    fractions = species_fractions(cn, classes)
    volume = float(np.prod(box))
    counts = {sp: int(np.count_nonzero(types == t)) for sp, t in mat.types.items()}
    c, a = cation.lower(), anion.lower()
    return {
        "material": mat.name,
        "pressure": None if pressure is None else pressure.value,
        "n_atoms": int(len(types)),
        f"n_{c}": int(centre.sum()),
        "volume": volume,
        "density": mass_density(counts, mat.masses, volume),
        f"{c}_{a}_cutoff": cutoff,
        f"mean_cn_{c}": float(cn.mean()) if cn.size else None,
        **{f"{c}{k}": fractions[f"Al{k}"] for k in classes},
        f"{c}_other": fractions["other"],
    }


def coordination_keys(material_name: str | None = None) -> list[str]:
    """The coordination-fraction keys of :func:`sample_properties` (``al4``... or e.g. ``si4``...)."""
    from ..materials import load_material

    mat = load_material() if material_name is None else load_material(material_name)
    c = mat.analysis["cation"].lower()
    return [f"{c}{int(k)}" for k in mat.analysis.get("coordination_classes", (4, 5, 6))]


@calcfunction
def structure_as_frame(structure: orm.StructureData, configuration: orm.Str | None = None) -> orm.TrajectoryData:
    """One structure as a one-frame ``frames`` TrajectoryData (positions, cell, types, Voronoi volumes).

    ``configuration`` says what the structure is (thermal, time_averaged or inherent), so that a
    softness model trained on another kind refuses it.
    """
    from ..analysis.configurations import CONFIGURATION_KINDS
    from ..analysis.voronoi import voronoi_volumes

    mat = structure_material(structure)
    positions, types, _, box = structure_arrays(structure, mat)
    frame = frames_trajectory(
        positions[None], box[None], types, species=mat.type_species,
        voronoi_volume=voronoi_volumes(positions, box)[None].astype(np.float32),
    )  # fmt: skip
    if configuration is not None:
        if configuration.value not in CONFIGURATION_KINDS:
            raise ValueError(f"configuration must be one of {CONFIGURATION_KINDS}, got {configuration.value!r}")
        frame.base.attributes.set("configuration", configuration.value)
    return frame


def structure_from_file(path: str, material: str | None = None) -> orm.StructureData:
    """Read a structure file (any ASE format: LAMMPS data/dump, extxyz, CIF, ...) as a charged sample of
    ``material`` (a name; default: the packaged material of the file's elements, else alumina-matsui)."""
    import ase.io

    from ..materials import load_material, material_of_elements

    atoms = ase.io.read(path)
    cell = np.asarray(atoms.cell[:])
    if np.any(np.abs(cell - np.diag(np.diag(cell))) > 1e-8):
        raise ValueError(f"{path}: only orthorhombic cells are supported")
    symbols = atoms.get_chemical_symbols()
    if material is not None:
        mat = load_material(material)
    else:
        mat = material_of_elements(set(symbols))
    names = list(mat.types)
    if set(symbols) - set(names):
        # LAMMPS files carry types, not elements: ASE names type 1 H, type 2 He, ...
        mapping = {
            ase_name: mat.type_species[t] for t, ase_name in ((1, "H"), (2, "He"), (3, "Li")) if t in mat.type_species
        }
        if set(symbols) - set(mapping):
            known = "/".join(names)
            raise ValueError(f"{path}: elements {sorted(set(symbols))} are not {known} (or LAMMPS types of {mat.name})")
        symbols = [mapping[s] for s in symbols]
    types = np.array([mat.types[s] for s in symbols])
    return structure_from_arrays(
        np.mod(atoms.get_positions(), np.diag(cell)), types, np.diag(cell), dict(mat.charges), mat
    )
