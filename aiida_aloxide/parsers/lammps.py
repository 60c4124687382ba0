"""``aloxide.lammps`` parser: log -> thermo + results, dumps -> structure, arrays and ``TrajectoryData`` frames.

Everything that can be read is stored before an exit code is returned, so a failed
or killed run still leaves its thermo series and the frames it finished.
"""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers.parser import Parser

from ..calculations.script import (
    FINAL_DUMP,
    LOG_FILENAME,
    MIN_DUMP,
    RESTART_FILES,
    STEP_COLUMNS,
    STEP_TAG,
    STEPS_FILE,
    TRAJ_DUMP,
    restart_timestep,
    validate_stage,
)
from ..data.structure import structure_from_arrays
from ..lammps_io import DumpFormatError, mass_density, parse_dump, parse_log
from ..materials import material_of
from ..trajectory import frames_trajectory
from ..values import finite_values

__all__ = ["AloxideLammpsParser"]

GPA_PER_BAR = 1.0e-4


class AloxideLammpsParser(Parser):
    """Parse the files of an ``aloxide.lammps`` calculation."""

    #: Part of every run's cache hash: bump when the outputs change (2: frames as TrajectoryData;
    #: 3: ``restart_file`` of an interrupted run), so that runs parsed by an older version are not reused.
    CACHE_VERSION = 3

    def parse(self, **kwargs) -> ExitCode | None:
        """Store thermo, results, final structure/velocities and frames; return a named exit code."""
        retrieved = self.retrieved
        names = retrieved.base.repository.list_object_names()
        if LOG_FILENAME not in names:
            return self.exit_codes.ERROR_LOG_MISSING
        log = parse_log(retrieved.base.repository.get_object_content(LOG_FILENAME))
        stage = validate_stage(self.node.inputs.parameters.get_dict())

        columns, table = log.thermo()
        thermo = orm.ArrayData()
        for c, name in enumerate(columns):
            thermo.set_array(name.lower(), table[:, c].astype(np.float64))
        thermo.base.attributes.set("columns", [c.lower() for c in columns])
        thermo.base.attributes.set("units", {"pressure": "bar", "energy": "eV", "time": "ps", "length": "Å"})
        self.out("thermo", thermo)

        results: dict = {
            "lammps_version": log.version,
            "completed": log.completed,
            "wall_time_s": log.wall_time_s,
            "loop_time_s": float(sum(log.loop_times_s)),
            "n_warnings": len(log.warnings),
            "warnings": log.warnings[:20],
            "errors": log.errors,
            "n_thermo_rows": int(table.shape[0]),
        }
        if table.shape[0]:
            last = dict(zip([c.lower() for c in columns], table[-1], strict=True))
            results.update(
                {
                    "final_step": int(last.get("step", 0)),
                    "final_temperature": float(last.get("temp", np.nan)),
                    "final_pressure_gpa": float(last.get("press", np.nan)) * GPA_PER_BAR,
                    "final_pe": float(last.get("poteng", np.nan)),
                    "final_volume": float(last.get("volume", np.nan)),
                    "final_density": float(last.get("density", np.nan)),
                }
            )

        rows = []
        if STEPS_FILE in names:
            for line in retrieved.base.repository.get_object_content(STEPS_FILE).splitlines():
                parts = line.split()
                if parts and parts[0] == STEP_TAG:
                    try:
                        rows.append([float(v) for v in parts[1:]])
                    except ValueError:
                        break
        if rows:
            table_steps = np.array([r for r in rows if len(r) == len(STEP_COLUMNS)], dtype=np.float64)
            steps_node = orm.ArrayData()
            for c, name in enumerate(STEP_COLUMNS):
                steps_node.set_array(name, table_steps[:, c])
            n = table_steps[:, STEP_COLUMNS.index("n_samples")]
            mean = table_steps[:, STEP_COLUMNS.index("sxx")]
            var = np.clip(table_steps[:, STEP_COLUMNS.index("sxx2")] - mean**2, 0.0, None)
            steps_node.set_array("sxx_sem", np.sqrt(var / np.maximum(n - 1, 1)))
            steps_node.base.attributes.set("units", {"stress": "GPa (tension positive)", "length": "Å"})
            steps_node.base.attributes.set("n_steps", int(table_steps.shape[0]))
            self.out("strain_steps", steps_node)
            results["n_strain_steps"] = int(table_steps.shape[0])

        trajectory_error = self._parse_trajectory(kwargs.get("retrieved_temporary_folder"), stage)
        final_error = self._parse_final(names)
        self.out("results", orm.Dict(finite_values(results)))

        # Exit codes, most specific first.
        for err in log.errors:
            if "Lost atoms" in err:
                return self.exit_codes.ERROR_LOST_ATOMS.format(error=err)
        if table.size and not np.all(np.isfinite(table)):
            bad = [c for k, c in enumerate(columns) if not np.all(np.isfinite(table[:, k]))]
            return self.exit_codes.ERROR_NON_FINITE_ENERGY.format(detail=f"non-finite columns {bad}")
        if log.errors:
            return self.exit_codes.ERROR_PARSER_DETECTED_LAMMPS_RUN_ERROR.format(error=" | ".join(log.errors))
        if not log.completed:
            last = results.get("final_step", "none")
            detail = f"log ends without 'Total wall time'; last step {last}"
            checkpoint = self._parse_checkpoint(kwargs.get("retrieved_temporary_folder"))
            if checkpoint is not None:
                return self.exit_codes.ERROR_RUN_INCOMPLETE_CHECKPOINT.format(detail=detail, checkpoint=checkpoint)
            return self.exit_codes.ERROR_RUN_INCOMPLETE.format(detail=detail)
        if trajectory_error:
            return self.exit_codes.ERROR_DUMP_CORRUPT.format(detail=trajectory_error)
        if final_error:
            if final_error == "missing":
                return self.exit_codes.ERROR_FINAL_STRUCTURE_MISSING
            return self.exit_codes.ERROR_DUMP_CORRUPT.format(detail=final_error)
        return None

    def _parse_checkpoint(self, temp_folder) -> int | None:
        """The newest complete checkpoint of an interrupted run as the ``restart_file`` output; its timestep."""
        if temp_folder is None:
            return None
        import io
        from pathlib import Path

        best: tuple[int, bytes] | None = None
        for name in RESTART_FILES:
            path = Path(temp_folder) / name
            if path.exists():
                data = path.read_bytes()
                step = restart_timestep(data)  # None while LAMMPS was still writing it
                if step is not None and (best is None or step > best[0]):
                    best = (step, data)
        if best is None:
            return None
        node = orm.SinglefileData(io.BytesIO(best[1]), filename="checkpoint.restart")
        node.base.attributes.set("timestep", best[0])
        self.out("restart_file", node)
        return best[0]

    def _parse_final(self, names: list[str]) -> str | None:
        """Final dump -> structure (box origin shifted to 0), velocities and per-atom arrays.

        Species, charges and masses are the run's ``material`` input's (absent: alumina).
        """
        if FINAL_DUMP not in names:
            return "missing"
        try:
            frames, truncated = parse_dump(self.retrieved.base.repository.get_object_content(FINAL_DUMP))
        except DumpFormatError as exc:
            return f"{FINAL_DUMP}: {exc}"
        if truncated or not frames:
            return f"{FINAL_DUMP} is truncated"
        fr = frames[0]
        c = fr.columns
        lo = fr.box[:, 0]
        box = fr.lengths
        wrapped = np.column_stack([c["x"], c["y"], c["z"]]) - lo
        wrapped = np.mod(wrapped, box)
        types = c["type"].astype(np.int64)
        given = self.node.inputs.material if "material" in self.node.inputs else None
        material = material_of(given)
        structure = structure_from_arrays(wrapped, types, box, dict(material.charges), material)
        self.out("structure", structure)
        vel = orm.ArrayData()
        vel.set_array("velocities", np.column_stack([c["vx"], c["vy"], c["vz"]]))
        self.out("velocities", vel)
        final = orm.ArrayData()
        final.set_array("positions", np.column_stack([c["xu"], c["yu"], c["zu"]]) - lo)
        final.set_array("types", types.astype(np.int8))
        final.set_array("cell", box)
        for name, value in _extra_columns(c).items():
            final.set_array(name, value)
        counts = {sp: int(np.count_nonzero(types == t)) for sp, t in material.types.items()}
        final.base.attributes.set("step", int(fr.timestep))
        final.base.attributes.set("density", mass_density(counts, material.masses, float(np.prod(box))))
        self.out("final_frame", final)
        return None

    def _parse_trajectory(self, temp_folder, stage: dict) -> str | None:
        """Frame dumps (temporary retrieve) -> TrajectoryData: ``trajectory`` and ``minimized_frames``."""
        if temp_folder is None:
            return None
        from pathlib import Path

        has_steps = any(s["type"] == "strain_steps" for s in stage["segments"])
        min_frames = [s["n_frames"] for s in stage["segments"] if s["type"] == "minimize_frames"]
        errors = []
        for filename, label, expected in (
            (TRAJ_DUMP, "trajectory", stage["dump_every"] > 0 or has_steps),
            (MIN_DUMP, "minimized_frames", has_steps or bool(min_frames)),
        ):
            path = Path(temp_folder) / filename
            if not path.exists():
                if expected:
                    errors.append(f"{filename} missing")
                continue
            try:
                frames, truncated = parse_dump(path.read_text())
            except DumpFormatError as exc:
                errors.append(f"{filename}: {exc}")
                continue
            if frames:
                given = self.node.inputs.material if "material" in self.node.inputs else None
                species = material_of(given).type_species
                self.out(label, _frames_node(frames, stage["timestep"], truncated, species))
            if truncated:
                errors.append(f"{filename}: last frame truncated ({len(frames)} complete frames kept)")
            elif label == "minimized_frames" and min_frames and len(frames) != min_frames[0]:
                errors.append(f"{filename}: {len(frames)} minimised frames, expected {min_frames[0]}")
        return "; ".join(errors) or None


def _frames_node(frames: list, timestep: float, truncated: bool, species: dict[int, str]) -> orm.TrajectoryData:
    """Dump frames -> one TrajectoryData (unwrapped positions with box origin 0, cells, steps, times, extras;
    elements ``species`` by type, the run's material's)."""
    lo = np.stack([f.box[:, 0] for f in frames])
    pos = np.stack([np.column_stack([f.columns["xu"], f.columns["yu"], f.columns["zu"]]) for f in frames])
    pos -= lo[:, None, :]
    steps = np.array([f.timestep for f in frames], dtype=np.int64)
    vel = None
    if "vx" in frames[0].columns:
        vel = np.stack([np.column_stack([f.columns["vx"], f.columns["vy"], f.columns["vz"]]) for f in frames])
    # Only the computed columns are stacked (positions and velocities are already).
    extras = _extra_columns(
        {k: np.stack([f.columns[k] for f in frames]) for k in frames[0].columns if k.startswith("c_")}
    )
    node = frames_trajectory(
        pos,
        np.stack([f.lengths for f in frames]),
        frames[0].columns["type"].astype(np.int64),
        steps=steps,
        times=steps * timestep,
        velocities=vel,
        species=species,
        **extras,
    )
    node.base.attributes.set("truncated", truncated)
    return node


def _extra_columns(cols: dict) -> dict[str, np.ndarray]:
    """Stress (6 components), Voronoi volume and potential energy columns when dumped, as float32 arrays."""
    out = {}
    stress_keys = [f"c_aloxStress[{k}]" for k in range(1, 7)]
    if all(k in cols for k in stress_keys):
        out["stress_volume"] = np.stack([cols[k] for k in stress_keys], axis=-1).astype(np.float32)
    if "c_aloxVoro[1]" in cols:
        out["voronoi_volume"] = np.asarray(cols["c_aloxVoro[1]"], dtype=np.float32)
    if "c_aloxPE" in cols:
        out["pe"] = np.asarray(cols["c_aloxPE"], dtype=np.float32)
    return out
