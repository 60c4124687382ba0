"""``aloxide.softness``: learn softness from the thermal dynamics of every unstrained sample (SPEC §5).

For each sample (keyed by its pressure label, e.g. ``p0``, ``p4``): :class:`DynamicsWorkChain`
(NVT 300 K, recorded) → :func:`phop_events` → :func:`event_features`; then one
:func:`train_softness` over all samples → ``model`` (:class:`SoftnessModelData`) + ``report``.
Optionally, tension frames given in ``frames`` (keyed by a label) get the model applied
(:func:`apply_softness`: softness of every Al at every frame, high-softness clusters, P_R(S)).

All parameters come from one protocol of ``protocols/dynamics.yaml`` (sections ``dynamics``,
``events``, ``features``, ``training``, ``clusters``, ``rearrangement``), checked before
anything runs.
"""

from __future__ import annotations

from typing import Any

from aiida import orm
from aiida.engine import ToContext, WorkChain, if_

from .. import exit_codes
from ..data.softness_model import SoftnessModelData
from ..functions.softness import (
    check_parameters,
    event_features,
    example_frames,
    phop_events,
    rearrangement_probability_fn,
    softness_clusters,
    softness_of_frames,
    softness_response,
    train_softness,
)
from ..functions.softness_inherent import grid_frames, inherent_trajectory
from ..schema import section_defaults
from ..schema.stage import MINIMIZATION
from .common import LammpsLauncher, calcjob_options, material_inputs_problem, validate_sample
from .dynamics import DynamicsWorkChain, validate_dynamics_parameters
from .protocols import ProtocolMixin

__all__ = ["SECTIONS", "SoftnessWorkChain", "apply_softness", "validate_softness_parameters"]

#: Sections of a resolved dynamics protocol besides ``dynamics`` (calcfunction parameters).
SECTIONS = ("events", "features", "training", "clusters", "rearrangement")


def validate_softness_parameters(value: orm.Dict, _ctx=None) -> str | None:
    """Every section present and valid (unknown keys, ranges), the dynamics section included."""
    p = value.get_dict()
    unknown = set(p) - {"dynamics", "protocol", *SECTIONS}
    if unknown:
        return f"unknown softness protocol sections {sorted(unknown)}"
    if "dynamics" not in p:
        return "missing the 'dynamics' section"
    msg = validate_dynamics_parameters(orm.Dict(p["dynamics"]))
    if msg:
        return f"dynamics: {msg}"
    checked = {}
    for section in SECTIONS:
        try:
            checked[section] = check_parameters(section, p.get(section))
        except ValueError as exc:
            return f"{section}: {exc}"
    ev_checked = checked["events"]
    if ev_checked["labels_from"] == "inherent":
        record = p["dynamics"].get("record_every_ps")
        spacing = ev_checked["inherent_spacing"]
        if isinstance(record, int | float) and spacing < record - 1e-9:
            return (f"events.inherent_spacing {spacing:g} ps is finer than the recording "
                    f"(dynamics.record_every_ps = {record:g} ps)")  # fmt: skip
        if isinstance(record, int | float) and abs(spacing / record - round(spacing / record)) > 1e-6:
            return f"events.inherent_spacing {spacing:g} ps is not a whole multiple of record_every_ps = {record:g} ps"
        if ev_checked["t_r"] / 2 < spacing - 1e-9:
            return (f"events.inherent_spacing {spacing:g} ps is longer than t_r / 2 = {ev_checked['t_r'] / 2:g} ps: "
                    "the p_hop windows would hold no inherent frame")  # fmt: skip
        if checked["features"]["configuration"] != "inherent":
            return "events.labels_from 'inherent' needs features.configuration 'inherent' (its frames are minimised)"
    run_ps = p["dynamics"].get("run_ps")
    if isinstance(run_ps, int | float):
        ev, ft = checked["events"], checked["features"]
        windows = {
            "events.precursor_lag": ev["precursor_lag"],
            "events.quiet_window": 2 * ev["quiet_window"],
            "events.min_time": ev["min_time"],
            "events.t_r": ev["t_r"],
        }
        if ft["configuration"] == "time_averaged":
            windows["features.average_window"] = ft["average_window"]
        for key, span in windows.items():
            if span >= run_ps:
                return f"{key} spans {span:g} ps, not shorter than the recorded dynamics (run_ps = {run_ps:g} ps)"
    return None


def dynamics_section(p: dict[str, Any]) -> orm.Dict:
    """The ``dynamics`` section of a resolved softness protocol as the DynamicsWorkChain's parameters: one
    construction for the softness chain and the study, so both launch identical (cacheable) dynamics."""
    return orm.Dict({**p["dynamics"], "protocol": p.get("protocol", "custom")})


def resolved_events(p: dict[str, Any]) -> dict[str, Any]:
    """The ``events`` section with the start of the examples moved past the averaging window, so every
    time-averaged configuration has its whole past window inside the trajectory."""
    ev = check_parameters("events", p.get("events"))
    ft = check_parameters("features", p.get("features"))
    if ft["configuration"] == "time_averaged":
        ev["min_time"] = max(ev["min_time"], ft["average_window"])
    return ev


#: Settings of the inherent-structure minimisation: the one declaration (``schema.stage.MINIMIZATION``)
#: the plane-strain steps default to, so the model is trained and applied on the same kind of configuration.
INHERENT_MINIMIZATION: dict[str, Any] = section_defaults(MINIMIZATION)


def validate_inputs(value: dict, _ctx) -> str | None:
    """The model that will meet the frames (the one trained here, or `apply_model`) must have been
    trained on the configuration kind the frames hold."""
    from ..functions.softness import frames_configuration

    samples = value.get("samples") or {}
    for key, structure in sorted(samples.items()):
        if (message := material_inputs_problem({"structure": structure, **value}, _ctx)) is not None:
            return f"sample {key!r}: {message.removeprefix('structure: ')}"
    extra = sorted(set(value.get("trajectories") or {}) - set(samples))
    if extra:
        return f"trajectories {extra} have no sample of the same key in `samples` ({sorted(samples)})"
    for key, traj in sorted((value.get("trajectories") or {}).items()):
        shape = traj.get_shape("positions") if "positions" in traj.get_arraynames() else None
        if shape is None or len(shape) != 3 or shape[1] != len(samples[key].sites):
            return (f"trajectory {key!r} has positions of shape {shape}, not (frames, "
                    f"{len(samples[key].sites)}, 3) as its sample")  # fmt: skip
    try:
        training = check_parameters("training", (value["parameters"].get_dict() or {}).get("training"))
    except (KeyError, ValueError):
        training = None  # reported by the parameters validator
    if training and training["loso"] == "always" and len(samples) < 2:
        return f"training.loso 'always' needs at least two samples to hold out one at a time, got {len(samples)}"
    frames = value.get("frames") or {}
    if not frames:
        return None
    if "apply_model" in value:
        from ..functions.softness_application import model_columns_problem

        problem = model_columns_problem(value["apply_model"])
        if problem:
            return f"apply_model: {problem}"
        kind, origin = value["apply_model"].configuration, "`apply_model` was trained on"
    else:
        try:
            kind = check_parameters("features", (value["parameters"].get_dict() or {}).get("features"))["configuration"]
        except (KeyError, ValueError):
            return None  # reported by the parameters validator
        origin = "the model trained here will see (features.configuration)"
    for label, node in frames.items():
        have = frames_configuration(node)
        if have is None:
            return f"frames {label!r} do not say which configuration they hold (attribute 'configuration')"
        if have != kind:
            return f"frames {label!r} hold {have} configurations but {origin} {kind} ones"
    return None


def validate_samples(value: dict, _ctx) -> str | None:
    """At least one sample; each a charged sample of a packaged material (the chain's own: :func:`validate_inputs`)."""
    if not value:
        return "give at least one sample in `samples`"
    for key, structure in value.items():
        msg = validate_sample(structure, None)
        if msg:
            return f"sample {key!r}: {msg}"
    return None


def apply_softness(
    model: orm.Data, frames: orm.TrajectoryData, parameters: orm.Dict | dict[str, Any] | None = None
) -> dict[str, orm.Data]:
    """Apply a softness model to tension frames: S of every Al per frame, clusters per frame, P_R(S).

    ``parameters`` holds the ``clusters`` and ``rearrangement`` sections (defaults otherwise).
    Each step is a calcfunction, so the provenance is complete whether this is called from a
    work chain step or a shell. Returns ``softness``, ``softness_summary``, ``clusters``,
    ``cluster_summary``, ``probability``, ``probability_summary``, ``response``, ``response_summary``
    (:func:`softness_response`: next-step AUC, Δ⟨S⟩ by feature group, S per Al species).
    """
    p = parameters.get_dict() if isinstance(parameters, orm.Dict) else dict(parameters or {})
    s = softness_of_frames(model, frames)
    c = softness_clusters(frames, s["softness"], orm.Dict(check_parameters("clusters", p.get("clusters"))))
    r = rearrangement_probability_fn(
        frames, s["softness"], orm.Dict(check_parameters("rearrangement", p.get("rearrangement")))
    )
    response = softness_response(model, frames, s["softness"])
    return {
        "softness": s["softness"],
        "softness_summary": s["summary"],
        "response": response["response"],
        "response_summary": response["summary"],
        "clusters": c["clusters"],
        "cluster_summary": c["summary"],
        "probability": r["probability"],
        "probability_summary": r["summary"],
    }


class SoftnessWorkChain(ProtocolMixin, LammpsLauncher, WorkChain):
    """Thermal dynamics of every sample → p_hop events → features → one SVM → model + report (+ application)."""

    _protocol_file = "dynamics"

    @classmethod
    def define(cls, spec):
        """Inputs, outline, outputs and exit codes."""
        super().define(spec)
        cls.define_lammps_inputs(spec, validate_softness_parameters, "A resolved dynamics protocol (all sections).")
        spec.input_namespace(
            "samples",
            valid_type=orm.StructureData,
            dynamic=True,
            validator=validate_samples,
            help="Unstrained samples keyed by pressure label (e.g. p0, p4).",
        )
        spec.input(
            "apply_model",
            valid_type=SoftnessModelData,
            required=False,
            help="Model applied to `frames` instead of the one trained here (e.g. the packaged reference "
            "model when the samples are too small for a meaningful model of their own).",
        )
        spec.input_namespace(
            "frames",
            valid_type=orm.TrajectoryData,
            dynamic=True,
            required=False,
            help="Tension frames (e.g. PlaneStrainWorkChain `frames`) to apply the model to, keyed by label.",
        )
        spec.input_namespace(
            "trajectories",
            valid_type=orm.TrajectoryData,
            dynamic=True,
            required=False,
            help="Recorded thermal dynamics of some samples, keyed as `samples` (e.g. imported from an archive, "
            "the `trajectory` of an aloxide.dynamics run): their dynamics is not run again.",
        )
        spec.inputs.validator = validate_inputs
        spec.outline(
            cls.setup,
            cls.run_dynamics,
            cls.inspect_dynamics,
            if_(cls.labels_inherent)(cls.run_inherent_trajectories, cls.inspect_inherent_trajectories),
            cls.label_samples,
            if_(cls.needs_inherent)(cls.run_minimization, cls.inspect_minimization),
            cls.featurize,
            cls.train,
            if_(cls.has_frames)(cls.apply_model),
            cls.finalize,
        )
        spec.output("model", valid_type=SoftnessModelData, help="The trained SoftnessModelData.")
        spec.output("report", valid_type=orm.Dict, help="Accuracies (grouped, time split), ablations, cross-pressure.")
        for name, kind, doc in (
            ("trajectories", orm.TrajectoryData, "Recorded trajectory of each sample."),
            (
                "inherent_trajectories",
                orm.TrajectoryData,
                "Inherent-structure trajectory of each sample (events.labels_from: inherent).",
            ),
            ("events", orm.ArrayData, "Labelled (atom, frame) events of each sample."),
            ("event_counts", orm.Dict, "Event counts of each sample."),
            ("features", orm.ArrayData, "Event features of each sample."),
            ("applied", orm.Data, "Model applied to frames: <label>_softness, _clusters, _probability (+ _summary)."),
        ):
            spec.output_namespace(name, valid_type=kind, dynamic=True, help=doc)
        exit_codes.add_exit_codes(spec, "aloxide.softness")

    @classmethod
    def get_builder_from_parameters(
        cls,
        code: orm.AbstractCode,
        samples: dict[str, orm.StructureData],
        parameters: orm.Dict,
        seed: int = 1,
        options: dict[str, Any] | None = None,
        frames: dict[str, orm.TrajectoryData] | None = None,
        apply_model: SoftnessModelData | None = None,
        trajectories: dict[str, orm.TrajectoryData] | None = None,
        *,
        material: str | orm.Dict | None = None,
    ):
        """A ready builder from a resolved dynamics protocol ``parameters``; reads no protocol file.
        ``material``: a material name or node (absent or alumina-matsui: no ``material`` input)."""
        label = f"softness {parameters.get('protocol', 'custom')} {'/'.join(sorted(samples))}"
        builder = cls.lammps_builder(code, parameters, seed, options, label, material, samples=dict(samples))
        if frames:
            builder.frames = dict(frames)
        if apply_model is not None:
            builder.apply_model = apply_model
        if trajectories:
            builder.trajectories = dict(trajectories)
        return builder

    def setup(self):
        """Resolve the sections; tag the node for queries."""
        p = self.inputs.parameters.get_dict()
        self.ctx.params = p
        self.ctx.labels = sorted(self.inputs.samples)
        self.node.base.extras.set_many(
            {
                "aloxide_workflow": "softness",
                "aloxide_protocol": p.get("protocol", "custom"),
                "aloxide_samples": self.ctx.labels,
            }
        )

    def _trajectory(self, label: str) -> orm.TrajectoryData:
        """The recorded dynamics of sample ``label``: given as input, or made by this chain."""
        given = self.inputs.get("trajectories") or {}
        return given[label] if label in given else self.ctx[f"dynamics_{label}"].outputs.trajectory

    def run_dynamics(self):
        """One DynamicsWorkChain per sample without a given trajectory, all at once."""
        p = self.ctx.params
        dyn = dynamics_section(p)
        futures = {}
        given = self.inputs.get("trajectories") or {}
        for label in self.ctx.labels:
            if label in given:
                continue
            inputs = {
                "code": self.inputs.code,
                "structure": self.inputs.samples[label],
                "parameters": dyn,
                "seed": self.inputs.seed,
                "metadata": {"call_link_label": f"dynamics_{label}", "label": f"dynamics {label}"},
            }
            if "options" in self.inputs:
                inputs["options"] = self.inputs.options
            inputs.update(self._material_kwargs())
            futures[f"dynamics_{label}"] = self.submit(DynamicsWorkChain, **inputs)
        self.report(f"thermal dynamics of {len(futures)} samples ({len(given)} given): {', '.join(self.ctx.labels)}")
        return ToContext(**futures)

    def inspect_dynamics(self):
        """Every sample's dynamics must have finished."""
        for label in self.ctx.labels:
            if f"dynamics_{label}" in self.ctx:
                node = self.ctx[f"dynamics_{label}"]
                if not node.is_finished_ok:
                    return self.exit_codes.ERROR_DYNAMICS_FAILED.format(
                        label=label, message=node.exit_message or node.process_state.value
                    )
            self.out(f"trajectories.{label}", self._trajectory(label))
        return None

    def labels_inherent(self) -> bool:
        """Labels come from the inherent-structure trajectory (``events.labels_from: inherent``)."""
        return check_parameters("events", self.ctx.params.get("events"))["labels_from"] == "inherent"

    def run_inherent_trajectories(self):
        """Every ``inherent_spacing`` ps of each recorded trajectory minimised (one LAMMPS run per sample)."""
        ev = check_parameters("events", self.ctx.params.get("events"))
        dyn = self.ctx.params["dynamics"]
        self.ctx.options = calcjob_options(self.inputs, dyn)
        self.ctx.grids = {}
        futures = {}
        for label in self.ctx.labels:
            grid = grid_frames(self._trajectory(label), orm.Float(ev["inherent_spacing"]))
            self.ctx.grids[label] = grid
            stage = {
                "cutoff": dyn["cutoff"],
                "kspace_accuracy": dyn["kspace_accuracy"],
                "thermo_every": 1000,
                "segments": [{"type": "minimize_frames", "n_frames": int(grid.get_shape("positions")[0]),
                              **INHERENT_MINIMIZATION}],
            }  # fmt: skip
            futures[f"is_trajectory_{label}"] = self._launch(f"is_trajectory_{label}", self.inputs.samples[label],
                                                             stage, frames=grid)  # fmt: skip
        self.report(
            f"inherent-structure trajectories every {ev['inherent_spacing']} ps of {', '.join(self.ctx.labels)}"
        )
        return ToContext(**futures)

    def inspect_inherent_trajectories(self):
        """Join each sample's minimised frames into its inherent-structure trajectory."""
        self.ctx.is_trajectories = {}
        for label in self.ctx.labels:
            node = self.ctx[f"is_trajectory_{label}"]
            if not node.is_finished_ok:
                return self._failed(f"is_trajectory_{label}", node)
            traj = inherent_trajectory(self.ctx.grids[label], node.outputs.minimized_frames)
            self.ctx.is_trajectories[label] = traj
            self.out(f"inherent_trajectories.{label}", traj)
        return None

    def _label_trajectory(self, label: str) -> orm.TrajectoryData:
        """The trajectory the labels (and, with inherent labels, the features) come from."""
        return (self.ctx.get("is_trajectories") or {}).get(label) or self._trajectory(label)

    def label_samples(self):
        """p_hop events of every sample (the examples' frames and labels)."""
        ev_params = orm.Dict(resolved_events(self.ctx.params))
        self.ctx.events = {}
        for label in self.ctx.labels:
            traj = self._label_trajectory(label)
            ev = phop_events(traj, ev_params)
            counts = ev["counts"]
            self.out(f"events.{label}", ev["events"])
            self.out(f"event_counts.{label}", counts)
            self.report(
                f"{label}: {counts['n_rearranging_total']} rearranging examples from "
                f"{counts['n_rearranging_atoms_total']} distinct {self._material().cation} "
                f"(kept {counts['n_rearranging']}), "
                f"{counts['n_non_rearranging_total']} calm candidates"
            )
            if counts["n_rearranging"] == 0 or counts["n_non_rearranging"] == 0:
                return self.exit_codes.ERROR_NO_EVENTS.format(
                    label=label,
                    detail=f"max p_hop {counts['phop_max']} Å², thresholds "
                    f"{counts['rearranging_threshold']} / {counts['non_rearranging_threshold']} Å²",
                )
            self.ctx.events[label] = ev["events"]
        return None

    def needs_inherent(self) -> bool:
        """The features describe inherent structures: the example frames must be minimised first (not when
        the labels came from the inherent-structure trajectory, whose frames are minimised already)."""
        inherent = check_parameters("features", self.ctx.params.get("features"))["configuration"] == "inherent"
        return inherent and not self.labels_inherent()

    def run_minimization(self):
        """Inherent structures of every sample's example frames (one LAMMPS run per sample)."""
        dyn = self.ctx.params["dynamics"]
        self.ctx.options = calcjob_options(self.inputs, dyn)
        futures = {}
        for label in self.ctx.labels:
            traj = self._trajectory(label)
            selected = example_frames(traj, self.ctx.events[label])
            stage = {
                "cutoff": dyn["cutoff"],
                "kspace_accuracy": dyn["kspace_accuracy"],
                "thermo_every": 1000,
                "segments": [{"type": "minimize_frames", "n_frames": selected.base.attributes.get("n_frames"),
                              **INHERENT_MINIMIZATION}],
            }  # fmt: skip
            name = f"inherent_{label}"
            futures[name] = self._launch(name, self.inputs.samples[label], stage, frames=selected)
        self.report(f"inherent structures of the example frames of {', '.join(self.ctx.labels)}")
        return ToContext(**futures)

    def inspect_minimization(self):
        """Every minimisation must have finished."""
        for label in self.ctx.labels:
            node = self.ctx[f"inherent_{label}"]
            if not node.is_finished_ok:
                return self._failed(f"inherent_{label}", node)
        return None

    def featurize(self):
        """Structure functions of every example, on the configuration kind of the protocol."""
        ft_params = orm.Dict(check_parameters("features", self.ctx.params.get("features")))
        self.ctx.features = {}
        for label in self.ctx.labels:
            traj = self._label_trajectory(label)
            extra = {}
            if f"inherent_{label}" in self.ctx:
                extra["relaxed"] = self.ctx[f"inherent_{label}"].outputs.minimized_frames
            elif self.labels_inherent() and ft_params["configuration"] == "inherent":
                extra["relaxed"] = example_frames(traj, self.ctx.events[label])  # already minimised
            feats = event_features(traj, self.ctx.events[label], ft_params, **extra)
            self.out(f"features.{label}", feats)
            self.ctx.features[label] = feats
        return None

    def train(self):
        """One SVM on every sample's events, with validation."""
        params = orm.Dict(check_parameters("training", self.ctx.params.get("training")))
        result = train_softness(params, **self.ctx.features)
        self.ctx.model = result["model"]
        self.out("model", result["model"])
        self.out("report", result["report"])
        r = result["report"]
        self.report(
            f"softness SVM on {r['n_events']} events ({r['n_rearranging_atoms']} distinct rearranging "
            f"{self._material().cation}, "
            f"{r['configuration']} configurations): repeated grouped CV balanced accuracy "
            f"{r['cv_balanced_accuracy']} ± {r['cv_balanced_accuracy_std']}; leave-one-sample-out "
            f"{r['loso_balanced_accuracy']} ± {r['loso_balanced_accuracy_std']}; "
            f"features {r['selected_features']}, C {r['C']}"
        )
        self.node.base.extras.set_many(
            {
                "aloxide_test_accuracy": r["test_accuracy"],
                "aloxide_cv_balanced_accuracy": r["cv_balanced_accuracy"],
                "aloxide_loso_balanced_accuracy": r["loso_balanced_accuracy"],
            }
        )

    def has_frames(self) -> bool:
        """Tension frames were given."""
        return bool(self.inputs.get("frames"))

    def apply_model(self):
        """Softness, clusters and P_R(S) of every given set of frames (with `apply_model` if given)."""
        model = self.inputs.apply_model if "apply_model" in self.inputs else self.ctx.model
        for label, frames in sorted(self.inputs.frames.items()):
            out = apply_softness(model, frames, self.ctx.params)
            for key, node in out.items():
                self.out(f"applied.{label}_{key}", node)
            s = out["softness_summary"]
            self.report(f"{label}: ⟨S⟩ peaks at {s['axis']} {s.get(s['axis'] + '_at_max_mean')}")

    def finalize(self):
        """Nothing left but a closing line."""
        self.report(f"softness done for {', '.join(self.ctx.labels)}")
