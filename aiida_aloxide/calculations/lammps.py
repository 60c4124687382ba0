"""``aloxide.lammps``: one LAMMPS stage of the study, built on aiida-lammps' raw calculation.

aiida-lammps' ``LammpsBaseCalculation`` cannot express buck/coul/long + PPPM with
charges, so this CalcJob extends ``LammpsRawCalculation``: instead of taking a
hand-written script it *generates* the script from a validated stage description and
a charged structure. The generated script and data file are stored in the node's
repository (``verdi calcjob inputcat PK aloxide.in``).

The force field is the optional ``material`` input (:func:`aiida_aloxide.materials.material_node`);
absent, it is Matsui alumina, so the alumina runs keep the inputs and cache hashes they always had.
"""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.common.datastructures import CalcInfo, CodeInfo
from aiida.common.folders import Folder
from aiida_lammps.calculations.raw import LammpsRawCalculation

from ..data.structure import structure_arrays, validate_sample
from ..exit_codes import add_exit_codes
from ..lammps_io import write_data
from ..materials import material_from_dict, material_of
from ..schema.stage import stage_work
from ..slots import POOL_PROPERTY
from ..slots import prepend_text as slot_prepend
from ..trajectory import cell_lengths
from .script import (
    DATA_FILENAME,
    FINAL_DUMP,
    FRAMES_DUMP,
    LOG_FILENAME,
    MIN_DUMP,
    RESTART_FILES,
    RESTART_IN,
    STEPS_FILE,
    TRAJ_DUMP,
    StageError,
    frames_dump,
    generate_script,
    validate_stage,
)

__all__ = ["AloxideLammpsCalculation"]


def _validate_parameters(value: orm.Dict, _ctx) -> str | None:
    """Validate the stage description before anything runs."""
    try:
        validate_stage(value.get_dict())
    except StageError as exc:
        return f"invalid stage parameters: {exc}"
    return None


def validate_material(value: orm.Dict, _ctx) -> str | None:
    """A material's content must be a consistent material file (aiida_aloxide.materials)."""
    try:
        material_from_dict(value.get_dict())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"invalid material: {exc}"
    return None


def define_material_input(spec, what: str) -> None:
    """The optional ``material`` input port (an ``orm.Dict``: :func:`aiida_aloxide.materials.material_node`),
    checked as a material file, of every process that takes one; ``what`` says what it is used for there."""
    spec.input(
        "material",
        valid_type=orm.Dict,
        required=False,
        validator=validate_material,
        help=f"The material (aiida_aloxide.materials.material_node): {what}. Absent: alumina-matsui, the "
        "material of every run made before materials were inputs.",
    )


def sample_problem(structure: orm.StructureData, material: orm.Dict | None) -> str | None:
    """Why ``structure`` is not a charged, neutral, periodic sample of ``material`` (absent: alumina), or None.

    Checked with the inputs together (not on the ``structure`` port alone), since what a valid sample is
    depends on the material: a silica sample is refused as alumina and an alumina one as silica.
    """
    try:
        mat = material_of(material)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # reported by the material port
    return validate_sample(structure, mat)


#: LAMMPS accelerator packages a run may ask for (``metadata.options.accelerator``, protocol key ``accelerator``).
ACCELERATORS = frozenset({"none", "omp", "gpu", "kk"})


def _validate_accelerator(value, _ctx) -> str | None:
    """Only the packages LAMMPS names (the string goes on the command line)."""
    if value is not None and value not in ACCELERATORS:
        return f"accelerator must be one of {sorted(ACCELERATORS)}, got {value!r}"
    return None


def accelerator_flags(accelerator: str | None, threads: int = 1, gpus: int | None = None) -> list[str]:
    """Command-line switches of a LAMMPS accelerator package (LAMMPS manual, "Run with accelerator packages").

    ``omp``: ``-sf omp -pk omp T``; ``gpu``: ``-sf gpu -pk gpu G``; ``kk``: ``-k on g G -sf kk`` with GPUs,
    ``-k on t T -sf kk`` without; ``none``: nothing. Unset: OPENMP styles only when ``threads`` > 1.
    """
    if accelerator is None:
        return ["-sf", "omp", "-pk", "omp", str(threads)] if threads > 1 else []
    if accelerator not in ACCELERATORS:
        raise ValueError(f"accelerator must be one of {sorted(ACCELERATORS)}, got {accelerator!r}")
    if accelerator == "omp":
        return ["-sf", "omp", "-pk", "omp", str(max(threads, 1))]
    if accelerator == "gpu":
        return ["-sf", "gpu", "-pk", "gpu", str(gpus or 1)]
    if accelerator == "kk":
        device = ["g", str(gpus)] if gpus else ["t", str(max(threads, 1))]
        return ["-k", "on", *device, "-sf", "kk"]
    return []


class AloxideLammpsCalculation(LammpsRawCalculation):
    """Run one stage (a sequence of MD / minimise / box segments) of a sample (Matsui a-Al2O3 by default)."""

    #: Part of every run's cache hash: bump when the inputs or the script change meaning
    #: (2: ``frames`` input as TrajectoryData; 3: checkpoints and ``restart_file``), so that older runs
    #: are not reused.
    CACHE_VERSION = 3

    FILENAME_INPUT = "aloxide.in"
    FILENAME_OUTPUT = "lammps.out"

    @classmethod
    def define(cls, spec):
        """Inputs: structure + stage parameters (+ velocities); outputs: thermo, structure, frames."""
        super().define(spec)
        spec.inputs["script"].required = False
        spec.inputs["metadata"]["options"]["input_filename"].default = cls.FILENAME_INPUT
        spec.inputs["metadata"]["options"]["parser_name"].default = "aloxide.lammps"
        spec.inputs["metadata"]["options"]["resources"].default = {"num_machines": 1, "num_mpiprocs_per_machine": 1}
        spec.input(
            "metadata.options.accelerator",
            valid_type=str,
            required=False,
            validator=_validate_accelerator,
            help=f"LAMMPS accelerator package: one of {sorted(ACCELERATORS)} (-sf/-pk/-k on the command line); "
            "unset: plain styles (OPENMP styles when resources ask for more than one thread per rank).",
        )
        spec.input(
            "metadata.options.gpus",
            valid_type=int,
            required=False,
            help="GPUs per node for the `gpu` and `kk` accelerators (default 1 for `gpu`; `kk` without it runs on "
            "OpenMP threads).",
        )
        spec.input(
            "structure",
            valid_type=orm.StructureData,
            help="Charged, neutral structure (ChargedStructureData) of the material (default Al2O3) in an "
            "orthorhombic periodic cell; species, charges and stoichiometry must be the material's.",
        )
        define_material_input(spec, "species, charges, force field of the run")
        spec.input(
            "parameters",
            valid_type=orm.Dict,
            validator=_validate_parameters,
            help="Stage description: timestep, thermostat/barostat damping, segments, dumps (see docs).",
        )
        spec.input(
            "velocities",
            valid_type=orm.ArrayData,
            required=False,
            help="Velocities (array 'velocities', Å/ps) to continue the dynamics of a previous stage.",
        )
        spec.input(
            "frames",
            valid_type=orm.TrajectoryData,
            required=False,
            help="Configurations for a `minimize_frames` stage (aiida_aloxide.trajectory.frames_trajectory): "
            "positions (F, N, 3) Å and orthorhombic cells (F, 3, 3) Å, the atoms of `structure` in the same order.",
        )
        spec.input(
            "restart_file",
            valid_type=orm.SinglefileData,
            required=False,
            help="LAMMPS checkpoint of an interrupted run of this stage (its `restart_file` output, attribute "
            "`timestep`); the stage resumes from it (parameter `resume_step`) instead of from the start.",
        )
        spec.inputs.validator = cls.validate_inputs
        spec.output("thermo", valid_type=orm.ArrayData, help="Thermo series: one array per thermo column.")
        spec.output("structure", valid_type=orm.StructureData, required=False, help="Final structure.")
        spec.output("velocities", valid_type=orm.ArrayData, required=False, help="Final velocities (Å/ps), by atom id.")
        spec.output(
            "final_frame",
            valid_type=orm.ArrayData,
            required=False,
            help="Per-atom arrays of the final state (unwrapped positions and any dumped quantity).",
        )
        spec.output(
            "trajectory",
            valid_type=orm.TrajectoryData,
            required=False,
            help="Dumped frames: positions (frames, atoms, 3) unwrapped, cells, steps, times, types, dumped extras.",
        )
        spec.output(
            "minimized_frames",
            valid_type=orm.TrajectoryData,
            required=False,
            help="Plane-strain steps: energy-minimised positions, stress x volume and Voronoi volume per step.",
        )
        spec.output(
            "strain_steps",
            valid_type=orm.ArrayData,
            required=False,
            help="Per strain step: strain, mean σ_xx (GPa, tension +) and its standard error, σ_yy, σ_zz, box.",
        )
        spec.output(
            "restart_file",
            valid_type=orm.SinglefileData,
            required=False,
            help="An interrupted run's newest complete checkpoint (attribute `timestep`), to resume the stage from.",
        )
        add_exit_codes(spec, "aloxide.lammps")  # 310-316 (aiida_aloxide/exit_codes.py)

    @classmethod
    def validate_inputs(cls, value, ctx):
        """Top-level checks: a code is given, the script is generated here (never passed in), velocities fit."""
        if "code" not in value:
            return "a LAMMPS `code` is required (`aiida-aloxide setup` registers one)"
        if "script" in value:
            return "do not pass `script`: aloxide.lammps generates it from `structure` and `parameters`"
        if "structure" in value and (msg := sample_problem(value["structure"], value.get("material"))):
            return msg
        if "velocities" in value and "structure" in value:
            vel = value["velocities"]
            if "velocities" not in vel.get_arraynames():
                return "`velocities` must contain an array named 'velocities'"
            n = len(value["structure"].sites)
            if vel.get_shape("velocities") != (n, 3):
                return f"`velocities` has shape {vel.get_shape('velocities')}, structure has {n} atoms"
            if not np.all(np.isfinite(vel.get_array("velocities"))):
                return "`velocities` must be finite (no NaN or inf)"
        msg = cls._validate_frames(value) or cls._validate_restart(value)
        return msg or super().validate_inputs(value, ctx)

    @staticmethod
    def _validate_restart(value) -> str | None:
        """`restart_file` is given exactly when the stage resumes, and holds the resume step."""
        try:
            stage = validate_stage(value["parameters"].get_dict()) if "parameters" in value else None
        except StageError:
            return None  # reported by the parameters validator
        resume = stage["resume_step"] if stage else None
        if "restart_file" not in value:
            return "a stage with `resume_step` needs the `restart_file` input" if resume is not None else None
        if resume is None:
            return "`restart_file` is only used by a stage with `resume_step`"
        held = value["restart_file"].base.attributes.get("timestep", None)
        if held != resume:
            return f"`restart_file` holds step {held}, the stage resumes at step {resume}"
        return None

    @staticmethod
    def _validate_frames(value) -> str | None:
        """`frames` is given exactly when the stage minimises frames, and fits the structure."""
        try:
            stage = validate_stage(value["parameters"].get_dict()) if "parameters" in value else None
        except StageError:
            return None  # reported by the parameters validator
        wanted = [s for s in stage["segments"] if s["type"] == "minimize_frames"] if stage else []
        if "frames" not in value:
            return "a `minimize_frames` stage needs the `frames` input" if wanted else None
        if not wanted:
            return "`frames` is only used by a `minimize_frames` stage"
        frames = value["frames"]
        if "positions" not in frames.get_arraynames():
            return "`frames` must contain the array 'positions' (F, N, 3)"
        shape = frames.get_shape("positions")
        if len(shape) != 3 or shape[2] != 3:
            return f"`frames` positions have shape {shape}, expected (F, N, 3)"
        try:
            lengths = cell_lengths(frames)
        except ValueError as exc:
            return f"`frames`: {exc}"
        if lengths.shape[0] != shape[0]:
            return f"`frames` holds {shape[0]} positions but {lengths.shape[0]} cells"
        if shape[0] != wanted[0]["n_frames"]:
            return f"`frames` holds {shape[0]} configurations but the stage minimises {wanted[0]['n_frames']}"
        if "structure" in value and shape[1] != len(value["structure"].sites):
            return f"`frames` has {shape[1]} atoms, the structure {len(value['structure'].sites)}"
        if not (np.all(np.isfinite(frames.get_array("positions"))) and np.all(np.isfinite(lengths))
                and np.all(lengths > 0)):  # fmt: skip
            return "`frames` positions and cells must be finite, cells positive"
        return None

    def prepare_for_submission(self, folder: Folder) -> CalcInfo:
        """Write the data file and the generated script; retrieve log, final dump and frames."""
        stage = self.inputs.parameters.get_dict()
        material = material_of(self.inputs.material) if "material" in self.inputs else None
        positions, types, charges, box = structure_arrays(self.inputs.structure, material)
        velocities = None
        if "velocities" in self.inputs:
            velocities = np.asarray(self.inputs.velocities.get_array("velocities"))
        with folder.open(DATA_FILENAME, "w") as handle:
            handle.write(write_data(positions, types, charges, box, velocities=velocities, material=material))
        with folder.open(self.inputs.metadata.options.input_filename, "w") as handle:
            handle.write(generate_script(stage, material=material))
        if "frames" in self.inputs:
            with folder.open(FRAMES_DUMP, "w") as handle:
                frames = self.inputs.frames
                handle.write(frames_dump(frames.get_array("positions"), cell_lengths(frames), types))

        codeinfo = CodeInfo()
        codeinfo.cmdline_params = ["-in", self.inputs.metadata.options.input_filename, "-log", LOG_FILENAME]
        threads = int(self.inputs.metadata.options.resources.get("num_cores_per_mpiproc") or 1)
        options = self.inputs.metadata.options
        codeinfo.cmdline_params += accelerator_flags(options.get("accelerator"), threads, options.get("gpus"))
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.stdout_name = self.inputs.metadata.options.output_filename

        calcinfo = CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.retrieve_list = [self.inputs.metadata.options.output_filename, LOG_FILENAME, FINAL_DUMP, STEPS_FILE]
        # Frames are parsed into compact arrays; the raw text dump is not kept twice.
        # Checkpoints: retrieved whatever the run's fate; the parser keeps the newest complete one.
        calcinfo.retrieve_temporary_list = [TRAJ_DUMP, MIN_DUMP, *RESTART_FILES]
        if "restart_file" in self.inputs:
            restart = self.inputs.restart_file
            calcinfo.local_copy_list = [(restart.uuid, restart.filename, RESTART_IN)]
        pool = self.inputs.code.computer.get_property(POOL_PROPERTY, None)
        if pool:
            res = options.resources
            ranks = int(
                res.get("tot_num_mpiprocs") or res.get("num_machines", 1) * res.get("num_mpiprocs_per_machine", 1)
            )
            # aiida's own `priority` option (not part of the cache hash; the direct scheduler ignores it):
            # the work chains set it to the estimated work of their remaining chain on a computer with a pool.
            try:
                priority = float(options.get("priority"))
            except (TypeError, ValueError):
                priority = stage_work(validate_stage(stage), len(types))
            calcinfo.prepend_text = slot_prepend(pool, ranks * threads, priority)
        if "settings" in self.inputs:
            calcinfo.retrieve_list += self.inputs.settings.get_dict().get("additional_retrieve_list", [])
        return calcinfo
