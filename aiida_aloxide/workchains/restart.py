"""``aloxide.lammps.restart``: aloxide.lammps wrapped in aiida-core's BaseRestartWorkChain.

Handlers (all tested with real LAMMPS runs):

- a run that stopped part way after writing a checkpoint (exit 316: an MD stage with
  ``checkpoint_every``) resumes from that checkpoint: the same stage with ``resume_step`` and
  the checkpoint as ``restart_file``, so only the remaining steps run, with the thermostat and
  barostat state of the checkpoint. The stage's ``thermo`` (and ``trajectory``) outputs are then
  joined from the runs (``join_resumed_runs``), as one uninterrupted run's.
- a run that stopped part way (killed, out of wall time; exit 311) whose stage is a
  plane-strain ``strain_steps`` loop resumes from the last *completed* strain step: that
  frame (positions, velocities, cell) becomes the new input and only the remaining
  strains are run. Nothing that finished is recomputed. Other stages are rerun whole.
- unstable dynamics (lost atoms 312, NaN energies 313) is retried once with half the
  timestep, the standard remedy for a too-large integration step.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_

from ..calculations.lammps import AloxideLammpsCalculation
from ..exit_codes import add_exit_codes
from ..functions.restart import join_resumed_runs
from ..functions.tension import frame_to_structure

__all__ = ["LammpsRestartWorkChain"]


class LammpsRestartWorkChain(BaseRestartWorkChain):
    """Run an ``aloxide.lammps`` stage until it succeeds, resuming interrupted strain loops."""

    _process_class = AloxideLammpsCalculation

    @classmethod
    def define(cls, spec):
        """Expose the CalcJob's inputs and outputs."""
        super().define(spec)
        spec.expose_inputs(AloxideLammpsCalculation, namespace="lammps")
        spec.expose_outputs(AloxideLammpsCalculation)
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(cls.run_process, cls.inspect_process),
            cls.results,
        )
        add_exit_codes(spec, "aloxide.lammps.restart")  # 320, besides BaseRestartWorkChain's 301, 302, 401, 402

    def setup(self):
        """Start from the exposed CalcJob inputs."""
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(AloxideLammpsCalculation, "lammps"))
        self.ctx.timestep_halved = False
        # (pk, checkpoint step) of each interrupted run the stage was resumed from, in order.
        self.ctx.resumed = []

    def results(self):
        """Attach the outputs of the last run; strain steps and frames of earlier partial runs stay linked."""
        return super().results()

    def get_outputs(self, node):
        """The last run's outputs, with thermo and frames joined over the runs a checkpointed stage resumed from."""
        outputs = dict(super().get_outputs(node))
        if self.ctx.resumed:
            runs = [orm.load_node(pk) for pk, _ in self.ctx.resumed] + [node]
            if all("thermo" in n.outputs for n in runs):
                parts = {f"thermo_{k}": n.outputs.thermo for k, n in enumerate(runs)}
                if all("trajectory" in n.outputs for n in runs):
                    parts.update({f"trajectory_{k}": n.outputs.trajectory for k, n in enumerate(runs)})
                outputs.update(join_resumed_runs(orm.List([step for _, step in self.ctx.resumed]), **parts))
        return outputs

    @process_handler(priority=510, exit_codes=[AloxideLammpsCalculation.exit_codes.ERROR_RUN_INCOMPLETE_CHECKPOINT])
    def handle_checkpoint(self, node):
        """Resume the stage from the interrupted run's newest complete checkpoint: only the remaining steps run."""
        checkpoint = node.outputs.restart_file
        step = int(checkpoint.base.attributes.get("timestep"))
        params = self.ctx.inputs.parameters.get_dict()
        params["resume_step"] = step
        self.ctx.inputs.parameters = orm.Dict(params)
        self.ctx.inputs.restart_file = checkpoint
        self.ctx.resumed.append((node.pk, step))
        total = sum(s.get("steps", 0) for s in params["segments"])
        self.report(f"{node.process_label}<{node.pk}> stopped early: resuming from its checkpoint, step {step}/{total}")
        return ProcessHandlerReport(do_break=True)

    @process_handler(priority=500, exit_codes=[AloxideLammpsCalculation.exit_codes.ERROR_RUN_INCOMPLETE])
    def handle_incomplete(self, node):
        """Resume a strain loop from its last completed step, or rerun the stage."""
        params = self.ctx.inputs.parameters.get_dict()
        seg_k = next((k for k, s in enumerate(params["segments"]) if s["type"] == "strain_steps"), None)
        done = int(node.outputs.strain_steps.get_shape("index")[0]) if "strain_steps" in node.outputs else 0
        if seg_k is None or done == 0 or "trajectory" not in node.outputs:
            where = params.get("resume_step")
            start = "the start" if where is None else f"its checkpoint at step {where}"
            self.report(f"{node.process_label}<{node.pk}> stopped early: running the stage again from {start}")
            return ProcessHandlerReport(do_break=True)
        traj = node.outputs.trajectory
        n_frames = int(traj.get_shape("positions")[0])
        done = min(done, n_frames)
        seg = dict(params["segments"][seg_k])
        remaining = seg["strains"][done:]
        if not remaining:
            self.report("every strain step had completed before the interruption")
            return ProcessHandlerReport(do_break=True)
        material = self.ctx.inputs.get("material")
        resumed = frame_to_structure(traj, orm.Int(done - 1), **({} if material is None else {"material": material}))
        seg["strains"] = remaining
        seg["first_index"] = int(seg.get("first_index", 0)) + done
        # Segments before the strain loop (e.g. an equilibration) were completed already.
        params["segments"] = [seg] + params["segments"][seg_k + 1 :]
        params.pop("velocity_temperature", None)
        self.ctx.inputs.parameters = orm.Dict(params)
        self.ctx.inputs.structure = resumed["structure"]
        self.ctx.inputs.velocities = resumed["velocities"]
        self.report(f"resuming the strain loop after {done} completed steps; {len(remaining)} remain")
        return ProcessHandlerReport(do_break=True)

    @process_handler(
        priority=400,
        exit_codes=[
            AloxideLammpsCalculation.exit_codes.ERROR_LOST_ATOMS,
            AloxideLammpsCalculation.exit_codes.ERROR_NON_FINITE_ENERGY,
        ],
    )
    def handle_unstable(self, node):
        """Retry once with half the timestep (the same simulated time)."""
        if self.ctx.timestep_halved:
            return ProcessHandlerReport(
                do_break=True,
                exit_code=self.exit_codes.ERROR_UNRECOVERABLE.format(
                    message=f"unstable again with a halved timestep: {node.exit_message}"
                ),
            )
        params = self.ctx.inputs.parameters.get_dict()
        # From the start of the stage: a checkpoint's timestep counts steps of the old size.
        params.pop("resume_step", None)
        self.ctx.inputs.pop("restart_file", None)
        self.ctx.resumed = []
        if params.get("checkpoint_every"):
            params["checkpoint_every"] = int(params["checkpoint_every"]) * 2
        params["timestep"] = params.get("timestep", 0.001) / 2
        for seg in params["segments"]:
            for key in ("steps", "equil_steps", "sample_steps"):
                if key in seg:
                    seg[key] = int(seg[key]) * 2
        params["thermo_every"] = int(params.get("thermo_every", 100)) * 2
        if params.get("dump_every"):
            params["dump_every"] = int(params["dump_every"]) * 2
        self.ctx.inputs.parameters = orm.Dict(params)
        self.ctx.timestep_halved = True
        self.report(f"unstable dynamics ({node.exit_message}); retrying with timestep {params['timestep']} ps")
        return ProcessHandlerReport(do_break=True)
