"""``aloxide.study``: the whole study of SPEC.md as one process and one group.

One shared liquid (melt → cool → compress, pressure-independent) → quench of it at every pressure
(concurrently) → plane-strain tension of every sample (concurrently)
→ :func:`deformation_analysis` of every tension's frames → optionally one
:class:`SoftnessWorkChain` on all samples, applied to the tension frames → a ``summary`` Dict.
Every node the study creates (and the inputs it used) is added to the group
``aloxide/study/<label>`` as it goes, so a failed study still has its partial results grouped,
and ``create_archive`` of the group is the study's archive.
"""

from __future__ import annotations

import math
from typing import Any

from aiida import orm
from aiida.engine import ToContext, WorkChain, if_

from ..data.softness_model import SoftnessModelData
from ..functions.analysis import deformation_analysis
from ..functions.study import pressure_label, study_summary
from .common import validate_seed
from .protocols import ProtocolError, available_protocols, load_protocol
from .quench import MAX_PRESSURE_GPA, LiquidWorkChain, QuenchWorkChain
from .quench import validate_parameters as validate_quench_parameters
from .softness import SoftnessWorkChain, validate_softness_parameters
from .tension import PlaneStrainWorkChain, PlaneStressWorkChain, validate_tension_parameters

__all__ = ["GROUP_PREFIX", "LOADINGS", "OVERRIDE_SECTIONS", "FractureStudyWorkChain"]

GROUP_PREFIX = "aloxide/study/"
#: Override sections and the protocol file each one is checked against.
OVERRIDE_SECTIONS = {"quench": "quench", "tension": "tension", "dynamics": "dynamics"}
#: Validator of each section's resolved parameters (the input ``parameters.<section>``).
PARAMETER_CHECKS = {
    "quench": validate_quench_parameters,
    "tension": validate_tension_parameters,
    "dynamics": validate_softness_parameters,
}
#: Loading conditions of SPEC §3; plane strain is the one every analysis uses, so it is required.
LOADINGS = ("plane_strain", "plane_stress")


def validate_loading(value: orm.List, _ctx) -> str | None:
    """Unique names from :data:`LOADINGS`, always including ``plane_strain``."""
    values = value.get_list()
    bad = [v for v in values if v not in LOADINGS]
    if bad:
        return f"unknown loading {bad!r}; choose from {list(LOADINGS)}"
    if len(set(values)) != len(values):
        return f"loading conditions must be unique, got {values}"
    if "plane_strain" not in values:
        return "loading must include 'plane_strain' (the analyses and softness use its frames)"
    return None


def validate_pressures(value: orm.List, _ctx) -> str | None:
    """Non-empty, unique, finite, 0–50 GPa."""
    values = value.get_list()
    if not values:
        return "give at least one pressure"
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return f"pressures must be finite numbers, got {v!r}"
        if not 0.0 <= v <= MAX_PRESSURE_GPA:
            return f"pressure must be between 0 and {MAX_PRESSURE_GPA} GPa, got {v}"
    labels = [pressure_label(float(v)) for v in values]
    if len(set(labels)) != len(labels):
        return f"pressures must be unique, got {values}"
    return None


def validate_protocol(value: orm.Str, _ctx) -> str | None:
    """One of the named protocols every sub-workflow defines."""
    known = set(available_protocols("quench")) & set(available_protocols("tension"))
    if value.value not in known:
        return f"unknown protocol {value.value!r}; choose from {sorted(known)}"
    return None


def validate_overrides(value: orm.Dict | None, _ctx) -> str | None:
    """Only the sections quench / tension / dynamics, each with keys its protocol has."""
    if value is None:
        return None
    unknown = set(value.get_dict()) - set(OVERRIDE_SECTIONS)
    if unknown:
        return f"unknown override sections {sorted(unknown)}; known: {sorted(OVERRIDE_SECTIONS)}"
    for section, workflow in OVERRIDE_SECTIONS.items():
        if section in value.get_dict():
            try:
                load_protocol(workflow, None, value[section])
            except ProtocolError as exc:
                return f"overrides.{section}: {exc}"
    return None


def resolve_parameters(protocol: str, overrides: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The resolved parameters of every sub-workflow (protocol file + overrides), by section."""
    return {section: load_protocol(section, protocol, (overrides or {}).get(section)) for section in PARAMETER_CHECKS}


def check_override_values(protocol: str, overrides: dict[str, Any] | None) -> str | None:
    """Why the protocol with ``overrides`` gives invalid quench / tension / dynamics parameters, or None.

    Each section is resolved and checked by the validator of the work chain it feeds, so a bad value
    is refused before the study starts, not when the step that uses it builds its inputs.
    """
    if overrides is not None and not isinstance(overrides, dict):
        return f"overrides must be a dictionary by section, got {type(overrides).__name__}"
    for section, check in PARAMETER_CHECKS.items():
        try:
            params = load_protocol(section, protocol, (overrides or {}).get(section))
        except ProtocolError as exc:
            return f"overrides.{section}: {exc}"
        message = check(orm.Dict(params), None)
        if message:
            return f"overrides.{section}: {message}"
    return None


def validate_study_inputs(value, _ctx) -> str | None:
    """Override values checked for the chosen protocol (unknown protocols and keys are the ports' to report)."""
    protocol = value["protocol"].value if "protocol" in value else "demo"
    if validate_protocol(orm.Str(protocol), None) is not None:
        return None
    overrides = value["overrides"].get_dict() if "overrides" in value else None
    if overrides is not None and validate_overrides(value["overrides"], None) is not None:
        return None
    message = check_override_values(protocol, overrides)
    if message:
        return message
    # The frozen parameters are what runs; they must be what protocol and overrides say (the record).
    resolved = resolve_parameters(protocol, overrides)
    given = value.get("parameters", {})
    for section, params in resolved.items():
        if section in given and given[section].get_dict() != params:
            return (
                f"parameters.{section} differ from protocol {protocol!r} with its overrides (the protocol file "
                "changed since the builder was made?); build the study with get_builder_from_protocol"
            )
    if "softness" in value and not value["softness"].value:
        return None
    # The model that meets the plane-strain frames (energy-minimised) must know that kind.
    if "softness_model" in value:
        kind, origin = value["softness_model"].configuration, "`softness_model` was trained on"
    else:
        from ..functions.softness import check_parameters

        dyn = resolved["dynamics"]
        kind, origin = check_parameters("features", dyn.get("features"))["configuration"], "features.configuration is"
    if kind != "inherent":
        return (
            f"softness is applied to the energy-minimised (inherent) plane-strain frames, but {origin} {kind}; "
            "use an inherent model or set dynamics.features.configuration to 'inherent'"
        )
    return None


class FractureStudyWorkChain(WorkChain):
    """Quench at every pressure → plane-strain tension → deformation analysis (→ softness) → summary."""

    @classmethod
    def define(cls, spec):
        """Inputs, outline, outputs and exit codes."""
        super().define(spec)
        spec.input("code", valid_type=orm.AbstractCode, help="The LAMMPS code.")
        spec.input(
            "pressures",
            valid_type=orm.List,
            default=lambda: orm.List([0.0, 4.0]),
            validator=validate_pressures,
            help="Quench pressures (GPa), unique, 0-50.",
        )
        spec.input(
            "protocol",
            valid_type=orm.Str,
            default=lambda: orm.Str("demo"),
            validator=validate_protocol,
            help="smoke, demo, fast or paper.",
        )
        spec.input(
            "overrides",
            valid_type=orm.Dict,
            required=False,
            validator=validate_overrides,
            help="Protocol overrides by section: quench, tension, dynamics.",
        )
        spec.input(
            "loading",
            valid_type=orm.List,
            default=lambda: orm.List(list(LOADINGS)),
            validator=validate_loading,
            help="Loading conditions: plane_strain (required, analysed) and optionally plane_stress.",
        )
        spec.input("seed", valid_type=orm.Int, default=lambda: orm.Int(1), validator=validate_seed)
        spec.input("options", valid_type=orm.Dict, required=False, help="CalcJob options for every LAMMPS run.")
        spec.input(
            "softness",
            valid_type=orm.Bool,
            default=lambda: orm.Bool(True),
            help="Learn softness from the samples' thermal dynamics and apply it to the tension frames.",
        )
        spec.input(
            "softness_model",
            valid_type=SoftnessModelData,
            required=False,
            help="Model applied to the tension frames instead of the one trained on this study's samples "
            "(e.g. the packaged reference model; the demo's samples are too small for a meaningful one).",
        )
        spec.input("label", valid_type=orm.Str, required=False, help="Study label (group aloxide/study/<label>).")
        spec.input_namespace(
            "parameters",
            help="The resolved parameters (protocol + overrides) of every sub-workflow, fixed at submission: "
            "the sub-workflows are built from these, never from the protocol files.",
        )
        for section, check in PARAMETER_CHECKS.items():
            spec.input(
                f"parameters.{section}",
                valid_type=orm.Dict,
                validator=check,
                help=f"Resolved {section} protocol, as `{section}` work chains take it.",
            )
        spec.inputs.validator = validate_study_inputs
        spec.outline(
            cls.setup,
            cls.run_liquid,
            cls.inspect_liquid,
            cls.run_quenches,
            cls.inspect_quenches,
            cls.run_tensions,
            cls.inspect_tensions,
            cls.analyse,
            if_(cls.do_softness)(cls.run_softness, cls.inspect_softness),
            cls.finalize,
        )
        spec.output("summary", valid_type=orm.Dict, help="Per-pressure table of the study's results.")
        for name, kind, doc in (
            ("samples", orm.StructureData, "Quenched sample per pressure label."),
            ("properties", orm.Dict, "Density and Al coordination per pressure label."),
            ("stress_strain", orm.ArrayData, "Plane-strain σ_xx(ε) per pressure label."),
            ("tension", orm.Dict, "Tension summary per pressure label."),
            ("deformation", orm.Dict, "Deformation-analysis summary per pressure label."),
            ("deformation_curves", orm.ArrayData, "Deformation-analysis curves per pressure label."),
            ("plane_stress_strain", orm.ArrayData, "Plane-stress σ_xx(ε) per pressure label (when run)."),
            ("plane_stress", orm.Dict, "Plane-stress summary per pressure label (when run)."),
        ):
            spec.output_namespace(name, valid_type=kind, dynamic=True, help=doc)
        spec.output_namespace("softness", valid_type=orm.Data, dynamic=True, required=False,
                              help="Softness model and report (when softness is on).")  # fmt: skip
        spec.exit_code(301, "ERROR_QUENCH_FAILED", message="Quench at {pressure} GPa failed [{status}]: {message}")
        spec.exit_code(302, "ERROR_TENSION_FAILED", message="Tension at {pressure} GPa failed [{status}]: {message}")
        spec.exit_code(303, "ERROR_ANALYSIS_FAILED", message="Deformation analysis at {pressure} GPa failed: {message}")
        spec.exit_code(304, "ERROR_SOFTNESS_FAILED", message="Softness failed [{status}]: {message}")
        spec.exit_code(305, "ERROR_LIQUID_FAILED", message="The shared liquid failed [{status}]: {message}")

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        pressures: list[float] | tuple[float, ...] = (0.0, 4.0),
        protocol: str | None = None,
        overrides: dict[str, Any] | None = None,
        seed: int = 1,
        softness: bool = True,
        options: dict[str, Any] | None = None,
        label: str | None = None,
        loading: list[str] | tuple[str, ...] = LOADINGS,
        softness_model: SoftnessModelData | None = None,
    ):
        """A ready builder; ``overrides`` by section, e.g. ``{"tension": {"max_strain": 0.2}}``.

        Raises :class:`ProtocolError` (a ValueError) for an unknown protocol or override key.
        """
        protocol = protocol or "demo"
        if overrides is not None and not isinstance(overrides, dict):
            raise ProtocolError(f"overrides must be a dictionary by section, got {type(overrides).__name__}")
        for workflow in ("quench", "tension", "dynamics"):
            load_protocol(workflow, protocol, (overrides or {}).get(workflow))
        unknown = set(overrides or {}) - set(OVERRIDE_SECTIONS)
        if unknown:
            raise ProtocolError(f"unknown override sections {sorted(unknown)}; known: {sorted(OVERRIDE_SECTIONS)}")
        message = check_override_values(protocol, overrides)
        if message:
            raise ProtocolError(message)
        builder = cls.get_builder()
        builder.code = code
        builder.pressures = orm.List([float(p) for p in pressures])
        builder.protocol = orm.Str(protocol)
        if overrides:
            builder.overrides = orm.Dict(overrides)
        # Frozen here: a protocol file edited while the study runs changes nothing in it.
        builder.parameters = {k: orm.Dict(v) for k, v in resolve_parameters(protocol, overrides).items()}
        builder.seed = orm.Int(seed)
        builder.softness = orm.Bool(softness)
        builder.loading = orm.List(list(loading))
        if options is not None:
            builder.options = orm.Dict(options)
        if label:
            builder.label = orm.Str(label)
        if softness_model is not None:
            builder.softness_model = softness_model
        pressures_txt = "/".join(f"{float(p):g}" for p in pressures)
        builder.metadata.label = label or f"study {protocol} {pressures_txt} GPa"  # type: ignore[attr-defined]
        return builder

    # -- helpers ---------------------------------------------------------------------------------
    def _parameters(self, section: str) -> orm.Dict:
        """The frozen ``parameters.<section>`` input the sub-workflows are built from."""
        if "parameters" in self.inputs and section in self.inputs.parameters:
            return self.inputs.parameters[section]
        # A study submitted by a version without the `parameters` inputs: resolved from the files, as then.
        overrides = self.inputs.overrides.get_dict().get(section) if "overrides" in self.inputs else None
        return orm.Dict(load_protocol(section, self.inputs.protocol.value, overrides))

    def _loadings(self) -> list[tuple[str, str, type]]:
        """(loading, link-label prefix, work chain) of every requested loading condition, plane strain first."""
        chains = {
            "plane_strain": ("tension", PlaneStrainWorkChain),
            "plane_stress": ("plane_stress", PlaneStressWorkChain),
        }
        return [(name, *chains[name]) for name in LOADINGS if name in self.inputs.loading.get_list()]

    def _options(self) -> dict[str, Any] | None:
        return self.inputs.options.get_dict() if "options" in self.inputs else None

    def _group(self) -> orm.Group:
        """The study's group, created in ``setup``."""
        return orm.load_group(self.ctx.group_uuid)

    def _collect(self) -> None:
        """Add every node the study has created so far, with their inputs and outputs, to the group."""
        nodes: dict[int, orm.Node] = {self.node.pk: self.node}
        for node in (*self.node.base.links.get_incoming().all_nodes(), *self.node.called_descendants):
            nodes[node.pk] = node
        for node in list(self.node.called_descendants):
            for neighbour in (
                *node.base.links.get_incoming().all_nodes(),
                *node.base.links.get_outgoing().all_nodes(),
            ):
                if isinstance(neighbour, orm.Data | orm.ProcessNode):
                    nodes[neighbour.pk] = neighbour
        for node in self.ctx.get("extra_nodes", []):
            nodes[node.pk] = node
        stored = [n for n in nodes.values() if n.is_stored and not isinstance(n, orm.AbstractCode)]
        self._group().add_nodes(stored)

    def _fail(self, code):
        """Group what exists, then return the exit code."""
        self._collect()
        return code

    # -- steps -----------------------------------------------------------------------------------
    def setup(self):
        """Pressure labels, the group and the node's extras."""
        self.ctx.pressures = {pressure_label(float(p)): float(p) for p in self.inputs.pressures.get_list()}
        self.ctx.labels = sorted(self.ctx.pressures, key=self.ctx.pressures.get)
        self.ctx.extra_nodes = []
        label = self.inputs.label.value if "label" in self.inputs else str(self.node.pk)
        group, created = orm.Group.collection.get_or_create(f"{GROUP_PREFIX}{label}")
        if not created and group.base.extras.get("aloxide_study_uuid", self.node.uuid) != self.node.uuid:
            group, _ = orm.Group.collection.get_or_create(f"{GROUP_PREFIX}{label}-{self.node.pk}")
        group.base.extras.set("aloxide_study_uuid", self.node.uuid)
        group.description = f"aloxide fracture study PK {self.node.pk} ({self.inputs.protocol.value})"
        self.ctx.group_uuid = group.uuid
        self.node.base.extras.set_many(
            {
                "aloxide_workflow": "study",
                "aloxide_protocol": self.inputs.protocol.value,
                "aloxide_pressures": [self.ctx.pressures[k] for k in self.ctx.labels],
                "aloxide_study_group": group.label,
                "aloxide_softness": self.inputs.softness.value,
                "aloxide_loading": self.inputs.loading.get_list(),
            }
        )
        self.report(f"study {group.label}: pressures {[self.ctx.pressures[k] for k in self.ctx.labels]} GPa")
        self._collect()

    def run_liquid(self):
        """The pressure-independent melt → cool → compress, once for every pressure (SPEC §2 steps 2-4)."""
        builder = LiquidWorkChain.get_builder_from_parameters(
            self.inputs.code, self._parameters("quench"), seed=self.inputs.seed.value, options=self._options()
        )
        builder.metadata.call_link_label = "liquid"  # type: ignore[attr-defined]
        self.report("melting one liquid for every pressure")
        return ToContext(liquid=self.submit(builder))

    def inspect_liquid(self):
        """The liquid must have finished."""
        node = self.ctx.liquid
        if not node.is_finished_ok:
            return self._fail(
                self.exit_codes.ERROR_LIQUID_FAILED.format(
                    status=node.exit_status, message=node.exit_message or node.process_state.value
                )
            )
        self._collect()
        return None

    def run_quenches(self):
        """One QuenchWorkChain per pressure from the shared liquid, all at once."""
        futures = {}
        liquid = {"structure": self.ctx.liquid.outputs.structure, "velocities": self.ctx.liquid.outputs.velocities}
        for label in self.ctx.labels:
            builder = QuenchWorkChain.get_builder_from_parameters(
                self.inputs.code,
                self.ctx.pressures[label],
                self._parameters("quench"),
                seed=self.inputs.seed.value,
                options=self._options(),
            )
            builder.liquid = liquid
            builder.metadata.call_link_label = f"quench_{label}"  # type: ignore[attr-defined]
            futures[f"quench_{label}"] = self.submit(builder)
        self.report(f"quenching {len(futures)} samples")
        return ToContext(**futures)

    def inspect_quenches(self):
        """Every quench must have finished; expose the samples."""
        for label in self.ctx.labels:
            node = self.ctx[f"quench_{label}"]
            if not node.is_finished_ok:
                return self._fail(
                    self.exit_codes.ERROR_QUENCH_FAILED.format(
                        pressure=self.ctx.pressures[label],
                        status=node.exit_status,
                        message=node.exit_message or node.process_state.value,
                    )
                )
            self.out(f"samples.{label}", node.outputs.structure)
            self.out(f"properties.{label}", node.outputs.properties)
        self._collect()
        return None

    def run_tensions(self):
        """Every requested loading condition of every sample, all at once."""
        futures = {}
        for label in self.ctx.labels:
            for loading, prefix, chain in self._loadings():
                builder = chain.get_builder_from_parameters(
                    self.inputs.code,
                    self.ctx[f"quench_{label}"].outputs.structure,
                    self._parameters("tension"),
                    seed=self.inputs.seed.value,
                    options=self._options(),
                )
                builder.metadata.call_link_label = f"{prefix}_{label}"  # type: ignore[attr-defined]
                name = loading.replace("_", " ")
                builder.metadata.label = f"{name} {self.inputs.protocol.value} {label}"  # type: ignore[attr-defined]
                futures[f"{prefix}_{label}"] = self.submit(builder)
        self.report(f"tension of {len(self.ctx.labels)} samples: {', '.join(self.inputs.loading.get_list())}")
        return ToContext(**futures)

    def inspect_tensions(self):
        """Every tension must have finished."""
        for label in self.ctx.labels:
            for _, prefix, _ in self._loadings():
                node = self.ctx[f"{prefix}_{label}"]
                if not node.is_finished_ok:
                    return self._fail(
                        self.exit_codes.ERROR_TENSION_FAILED.format(
                            pressure=self.ctx.pressures[label],
                            status=node.exit_status,
                            message=f"{prefix}: {node.exit_message or node.process_state.value}",
                        )
                    )
            node = self.ctx[f"tension_{label}"]
            self.out(f"stress_strain.{label}", node.outputs.stress_strain)
            self.out(f"tension.{label}", node.outputs.summary)
            if f"plane_stress_{label}" in self.ctx:
                node = self.ctx[f"plane_stress_{label}"]
                self.out(f"plane_stress_strain.{label}", node.outputs.stress_strain)
                self.out(f"plane_stress.{label}", node.outputs.summary)
        self._collect()
        return None

    def analyse(self):
        """Bond switching, D and atomic stress of every tension's frames (SPEC §4)."""
        self.ctx.deformation = {}
        for label in self.ctx.labels:
            frames = self.ctx[f"tension_{label}"].outputs.frames
            result, node = deformation_analysis.run_get_node(
                frames, metadata={"call_link_label": f"deformation_{label}"}
            )
            if not node.is_finished_ok:
                return self._fail(
                    self.exit_codes.ERROR_ANALYSIS_FAILED.format(
                        pressure=self.ctx.pressures[label], message=node.exit_message or node.process_state.value
                    )
                )
            self.ctx.deformation[label] = result["summary"]
            self.out(f"deformation.{label}", result["summary"])
            self.out(f"deformation_curves.{label}", result["curves"])
            s = result["summary"]
            self.report(f"{label}: DC {s['dc_fraction_final']:.3f} at ε={s['final_strain']:.2f}, ⟨D⟩ {s['d_mean']}")
        self._collect()
        return None

    def do_softness(self) -> bool:
        """Softness was requested."""
        return self.inputs.softness.value

    def run_softness(self):
        """One SoftnessWorkChain on every sample, applied to every tension's frames."""
        samples = {label: self.ctx[f"quench_{label}"].outputs.structure for label in self.ctx.labels}
        frames = {f"tension_{label}": self.ctx[f"tension_{label}"].outputs.frames for label in self.ctx.labels}
        builder = SoftnessWorkChain.get_builder_from_parameters(
            self.inputs.code,
            samples,
            self._parameters("dynamics"),
            seed=self.inputs.seed.value,
            options=self._options(),
            frames=frames,
            apply_model=self.inputs.get("softness_model"),
        )
        builder.metadata.call_link_label = "softness"  # type: ignore[attr-defined]
        return ToContext(softness=self.submit(builder))

    def inspect_softness(self):
        """The softness chain must have finished."""
        node = self.ctx.softness
        if not node.is_finished_ok:
            return self._fail(
                self.exit_codes.ERROR_SOFTNESS_FAILED.format(
                    status=node.exit_status, message=node.exit_message or node.process_state.value
                )
            )
        self.out("softness.model", node.outputs.model)
        self.out("softness.report", node.outputs.report)
        self._collect()
        return None

    def finalize(self):
        """The summary Dict; the group gets everything."""
        kwargs: dict[str, orm.Dict] = {}
        for label in self.ctx.labels:
            kwargs[f"properties_{label}"] = self.ctx[f"quench_{label}"].outputs.properties
            kwargs[f"tension_{label}"] = self.ctx[f"tension_{label}"].outputs.summary
            kwargs[f"deformation_{label}"] = self.ctx.deformation[label]
            if f"plane_stress_{label}" in self.ctx:
                kwargs[f"plane_stress_{label}"] = self.ctx[f"plane_stress_{label}"].outputs.summary
        if self.inputs.softness.value:
            sw = self.ctx.softness
            kwargs["softness_report"] = sw.outputs.report
            for label in self.ctx.labels:
                key = f"tension_{label}_softness_summary"
                if "applied" in sw.outputs and key in sw.outputs.applied:
                    kwargs[f"softness_{label}"] = sw.outputs.applied[key]
        summary = study_summary(**kwargs, metadata={"call_link_label": "summary"})
        self.out("summary", summary)
        self.ctx.extra_nodes = [summary]
        self._collect()
        rows = summary["rows"]
        for label in self.ctx.labels:
            r = rows[label]
            self.report(
                f"{label}: ρ {r['density']:.3f} g/cm3, peak {r['peak_stress']:.2f} GPa, "
                f"fracture strain {r['fracture_strain']}, DC {r['dc']:.3f}"
            )
