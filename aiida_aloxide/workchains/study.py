"""``aloxide.study``: the whole study of SPEC.md as one process and one group.

One shared liquid (melt → cool → compress, pressure-independent) → quench of it at every pressure
(concurrently) → plane-strain tension of every sample (concurrently)
→ :func:`deformation_analysis` of every tension's frames → optionally one
:class:`SoftnessWorkChain` on all samples, applied to the tension frames → a ``summary`` Dict.
Every node the study creates (and the inputs it used) is added to the group
``aloxide/study/<label>`` as it goes, so a failed study still has its partial results grouped,
and ``create_archive`` of the group is the study's archive. Its inputs, protocols and their
validators are in :mod:`.study_inputs`.
"""

from __future__ import annotations

from typing import Any

from aiida import orm
from aiida.engine import ToContext, WorkChain, if_

from ..data.softness_model import SoftnessModelData
from ..exit_codes import add_exit_codes
from ..functions.analysis import deformation_analysis
from ..functions.study import study_summary
from ..materials import material_of
from ..slots import POOL_PROPERTY
from .common import MaterialInput, material_input
from .dynamics import DynamicsWorkChain
from .protocols import ProtocolBuilderMixin
from .quench import LiquidWorkChain, QuenchWorkChain
from .softness import SoftnessWorkChain, dynamics_section
from .study_inputs import (
    DEFAULT_PROTOCOL,
    LOADINGS,
    SECTIONS,
    define_inputs,
    replica_seed,
    sample_label,
    study_protocol_inputs,
    study_protocols,
    validate_loading,
    validate_overrides,
    validate_pressures,
    validate_protocol,
)
from .tension import (
    PlaneStrainWorkChain,
    PlaneStressWorkChain,
    TensionEquilibrationWorkChain,
    deformation_inputs,
)

__all__ = [
    "GROUP_PREFIX",
    "LOADINGS",
    "SECTIONS",
    "FractureStudyWorkChain",
    "validate_loading",
    "validate_overrides",
    "validate_pressures",
    "validate_protocol",
]

GROUP_PREFIX = "aloxide/study/"


def merged_overrides(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` overrides (by section, nested) updated by ``over`` key by key, recursively."""
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            merged_overrides(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


#: How a failed child's message starts in the study's exit message (default ``<prefix>: ``).
_FAILURE_PREFIX = {"quench": "", "equilibrate": "equilibration: "}


class FractureStudyWorkChain(ProtocolBuilderMixin, MaterialInput, WorkChain):
    """Quench at every pressure → plane-strain tension → deformation analysis (→ softness) → summary."""

    @classmethod
    def define(cls, spec):
        """Inputs (:func:`.study_inputs.define_inputs`), outline, outputs and exit codes."""
        super().define(spec)
        define_inputs(spec)
        spec.outline(
            cls.setup,
            cls.run_liquid,
            cls.inspect_liquid,
            cls.run_quenches,
            cls.inspect_quenches,
            cls.run_equilibrations,
            cls.inspect_equilibrations,
            cls.run_tensions,
            cls.inspect_tensions,
            cls.analyse,
            if_(cls.do_softness)(cls.wait_dynamics, cls.run_softness, cls.inspect_softness),
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
        add_exit_codes(spec, "aloxide.study")

    @classmethod
    def get_default_protocol(cls) -> str:
        """``demo``, as the ``protocol`` input's default."""
        return DEFAULT_PROTOCOL

    @classmethod
    def get_available_protocols(cls) -> dict[str, str]:
        """The protocols every sub-workflow defines."""
        return study_protocols()

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: dict[str, Any] | None = None) -> dict:
        """``protocol``, ``overrides`` (by section) and every section resolved by its work chain, values checked."""
        return study_protocol_inputs(protocol, overrides)

    @classmethod
    def get_builder_from_parameters(
        cls,
        code: orm.AbstractCode,
        pressures: list[float] | tuple[float, ...],
        parameters: orm.Dict,
        seed: int = 1,
        softness: bool = True,
        options: dict[str, Any] | None = None,
        label: str | None = None,
        loading: list[str] | tuple[str, ...] = LOADINGS,
        softness_model: SoftnessModelData | None = None,
        replicas: int = 1,
        material: str | orm.Dict | None = None,
    ):
        """A ready builder from resolved ``parameters`` (``get_protocol_inputs``'s); reads no protocol file.
        ``material``: a material name or node (absent or alumina-matsui: no ``material`` input)."""
        resolved = parameters.get_dict()
        builder = cls.get_builder()
        builder.code = code
        builder.pressures = orm.List([float(p) for p in pressures])
        builder.protocol = orm.Str(resolved["protocol"])
        if resolved.get("overrides"):
            builder.overrides = orm.Dict(resolved["overrides"])
        # Frozen here: a protocol file edited while the study runs changes nothing in it.
        builder.parameters = {section: orm.Dict(resolved[section]) for section in SECTIONS}
        builder.seed = orm.Int(seed)
        builder.replicas = orm.Int(replicas)
        builder.softness = orm.Bool(softness)
        builder.loading = orm.List(list(loading))
        if options is not None:
            builder.options = orm.Dict(options)
        if label:
            builder.label = orm.Str(label)
        if softness_model is not None:
            builder.softness_model = softness_model
        if (node := material_input(material)) is not None:
            builder.material = node
        pressures_txt = "/".join(f"{float(p):g}" for p in pressures)
        times = f" × {replicas}" if replicas > 1 else ""
        what = "" if node is None else f" {material_of(node).name}"
        builder.metadata.label = label or f"study{what} {resolved['protocol']} {pressures_txt} GPa{times}"  # type: ignore[attr-defined]
        return builder

    @classmethod
    def get_builder_from_protocol(cls, *args: Any, **kwargs: Any):
        """A builder from a protocol; ``material=NAME`` (keyword) makes it a study of that glass.

        The material's own protocol values (:meth:`~aiida_aloxide.materials.Material.protocol_overrides`: its
        packing and liquid densities and temperatures, its thermal-dynamics temperature) become overrides, so the
        stored overrides say so; the caller's overrides replace them key by key.
        """
        node = material_input(kwargs.get("material"))
        if node is not None and (own := material_of(node).protocol_overrides()):
            kwargs["overrides"] = merged_overrides(own, kwargs.get("overrides") or {})
        return super().get_builder_from_protocol(*args, **kwargs)

    def _sample_builder(self, chain: type, label: str, parameters: orm.Dict):
        """A builder of ``chain`` (tension equilibration, a loading, dynamics) for sample ``label``'s quench."""
        return chain.get_builder_from_parameters(
            self.inputs.code,
            self.ctx[f"quench_{label}"].outputs.structure,
            parameters,
            seed=self._seed(label),
            options=self._options(),
            **self._material_kwargs(),
        )

    # -- helpers ---------------------------------------------------------------------------------
    def _parameters(self, section: str) -> orm.Dict:
        """The frozen ``parameters.<section>`` input the sub-workflows are built from."""
        if "parameters" in self.inputs and section in self.inputs.parameters:
            return self.inputs.parameters[section]
        # A study submitted by a version without the `parameters` inputs: resolved from the files, as then.
        overrides = self.inputs.overrides.get_dict().get(section) if "overrides" in self.inputs else None
        return orm.Dict(SECTIONS[section].get_protocol_inputs(self.inputs.protocol.value, overrides))

    def _loadings(self) -> list[tuple[str, str, type]]:
        """(loading, link-label prefix, work chain) of every requested loading condition, plane strain first."""
        chains = {
            "plane_strain": ("tension", PlaneStrainWorkChain),
            "plane_stress": ("plane_stress", PlaneStressWorkChain),
        }
        return [(name, *chains[name]) for name in LOADINGS if name in self.inputs.loading.get_list()]

    def _options(self, ranks: int = 1) -> dict[str, Any] | None:
        """CalcJob options of the children: the ``options`` input if given; on a computer with a slot pool
        (``aiida-aloxide setup``) ``ranks`` MPI ranks per run (default 1: two 1-rank runs use two cores better
        than one 2-rank run, and the pool keeps the machine full), unless a protocol or override sets mpiprocs."""
        if "options" in self.inputs:
            return self.inputs.options.get_dict()
        pool = self.inputs.code.computer.get_property(POOL_PROPERTY, None)
        if not pool or self.ctx.get("fixed_ranks"):
            return None
        return {"resources": {"num_machines": 1, "num_mpiprocs_per_machine": int(ranks)}}

    def _liquid_ranks(self) -> int:
        """Ranks of each melt: the pool's slots shared by the replicas' melts (they run when nothing else does)."""
        pool = self.inputs.code.computer.get_property(POOL_PROPERTY, None) or {}
        return max(int(pool.get("slots", 1)) // len(self.ctx.replica_seeds), 1)

    def _seed(self, label: str) -> int:
        """The seed of sample ``label``'s replica."""
        return self.ctx.replica_seeds[self.ctx.replica[label]]

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

    def _child_failed(self, exit_code, label: str, node, prefix: str = ""):
        """``exit_code`` of a failed child of pressure ``label``: its status and message, after ``prefix``."""
        return self._fail(
            exit_code.format(
                pressure=self.ctx.pressures[label],
                status=node.exit_status,
                message=f"{prefix}{node.exit_message or node.process_state.value}",
            )
        )

    def _fail(self, code):
        """Group what exists, then return the exit code."""
        self._collect()
        return code

    # -- steps -----------------------------------------------------------------------------------
    def setup(self):
        """Pressure labels, the group and the node's extras."""
        n = self.inputs.replicas.value if "replicas" in self.inputs else 1
        self.ctx.replica_seeds = [replica_seed(self.inputs.seed.value, r) for r in range(n)]
        self.ctx.pressures, self.ctx.replica = {}, {}
        for p in self.inputs.pressures.get_list():
            for r in range(n):
                self.ctx.pressures[sample_label(float(p), r, n)] = float(p)
                self.ctx.replica[sample_label(float(p), r, n)] = r
        self.ctx.labels = sorted(self.ctx.pressures, key=lambda k: (self.ctx.pressures[k], self.ctx.replica[k]))
        self.ctx.fixed_ranks = any(self._parameters(name).get("mpiprocs") is not None for name in SECTIONS)
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
                "aloxide_pressures": sorted(set(self.ctx.pressures.values())),
                "aloxide_replicas": len(self.ctx.replica_seeds),
                "aloxide_study_group": group.label,
                "aloxide_softness": self.inputs.softness.value,
                "aloxide_loading": self.inputs.loading.get_list(),
                "aloxide_material": self._material().name,
            }
        )
        pressures = sorted(set(self.ctx.pressures.values()))
        times = f", {n} replicas each (seeds {self.ctx.replica_seeds})" if n > 1 else ""
        self.report(f"study {group.label}: pressures {pressures} GPa{times}")
        self._collect()

    def _liquid_key(self, replica: int) -> str:
        """Context key and call link label of a replica's liquid: ``liquid`` for one replica."""
        return "liquid" if len(self.ctx.replica_seeds) == 1 else f"liquid_r{replica + 1}"

    def run_liquid(self):
        """The pressure-independent melt → cool → compress, once per replica for every pressure (SPEC §2 steps 2-4)."""
        futures = {}
        for r, seed in enumerate(self.ctx.replica_seeds):
            builder = LiquidWorkChain.get_builder_from_parameters(
                self.inputs.code,
                self._parameters("quench"),
                seed=seed,
                options=self._options(self._liquid_ranks()),
                **self._material_kwargs(),
            )
            builder.metadata.call_link_label = self._liquid_key(r)  # type: ignore[attr-defined]
            futures[self._liquid_key(r)] = self.submit(builder)
        self.report(f"melting {len(futures)} liquid(s), one per replica, for every pressure")
        return ToContext(**futures)

    def inspect_liquid(self):
        """Every liquid must have finished."""
        for r in range(len(self.ctx.replica_seeds)):
            node = self.ctx[self._liquid_key(r)]
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
        for label in self.ctx.labels:
            r = self.ctx.replica[label]
            liquid = self.ctx[self._liquid_key(r)].outputs
            builder = QuenchWorkChain.get_builder_from_parameters(
                self.inputs.code,
                self.ctx.pressures[label],
                self._parameters("quench"),
                seed=self._seed(label),
                # as many ranks as the melt: a one-replica quench runs as it always did (identical densities)
                options=self._options(self._liquid_ranks()),
                **self._material_kwargs(),
            )
            builder.liquid = {"structure": liquid.structure, "velocities": liquid.velocities}
            builder.metadata.call_link_label = f"quench_{label}"  # type: ignore[attr-defined]
            node = self.submit(builder)
            # Queryable: QueryBuilder over replicas filters quench nodes on these extras.
            node.base.extras.set_many({"aloxide_replica": r, "aloxide_seed": self._seed(label)})
            futures[f"quench_{label}"] = node
        self.report(f"quenching {len(futures)} samples")
        return ToContext(**futures)

    def _failed_child(self, exit_code, *prefixes: str):
        """``exit_code`` (via :meth:`_child_failed`) for the first child ``<prefix>_<label>`` that did not finish
        ok, in sample order; None when they all did."""
        for label in self.ctx.labels:
            for prefix in prefixes:
                node = self.ctx[f"{prefix}_{label}"]
                if not node.is_finished_ok:
                    return self._child_failed(exit_code, label, node, _FAILURE_PREFIX.get(prefix, f"{prefix}: "))
        return None

    def inspect_quenches(self):
        """Every quench must have finished; expose the samples."""
        if (failed := self._failed_child(self.exit_codes.ERROR_QUENCH_FAILED, "quench")) is not None:
            return failed
        self._expose("quench", samples="structure", properties="properties")
        self._collect()
        return None

    def _expose(self, prefix: str, **outputs: str) -> None:
        """The study's output ``<namespace>.<label>`` from each child ``<prefix>_<label>``'s output
        (``namespace=output``), for every sample that has such a child."""
        for label in self.ctx.labels:
            if f"{prefix}_{label}" in self.ctx:
                node = self.ctx[f"{prefix}_{label}"]
                for namespace, name in outputs.items():
                    self.out(f"{namespace}.{label}", node.outputs[name])

    def run_equilibrations(self):
        """Replicate + NPT once per sample, shared by every loading of it (issue #20)."""
        futures = {}
        for label in self.ctx.labels:
            builder = self._sample_builder(TensionEquilibrationWorkChain, label, self._parameters("tension"))
            builder.metadata.call_link_label = f"equilibrate_{label}"  # type: ignore[attr-defined]
            builder.metadata.label = f"equilibrate {self.inputs.protocol.value} {label}"  # type: ignore[attr-defined]
            futures[f"equilibrate_{label}"] = self.submit(builder)
        self.report(f"equilibrating {len(futures)} samples for tension (shared by the loadings)")
        self._start_dynamics()
        return ToContext(**futures)

    def _start_dynamics(self) -> None:
        """The softness dynamics of every sample, as soon as its quench exists (issue #20): not waited for here,
        so the tensions run beside them; :meth:`wait_dynamics` collects them before the softness chain."""
        self.ctx.dynamics_pks = {}
        if not self.inputs.softness.value:
            return
        p = self._parameters("dynamics").get_dict()
        dyn = dynamics_section(p)
        for label in self.ctx.labels:
            builder = self._sample_builder(DynamicsWorkChain, label, dyn)
            builder.metadata.call_link_label = f"dynamics_{label}"  # type: ignore[attr-defined]
            builder.metadata.label = f"dynamics {label}"  # type: ignore[attr-defined]
            self.ctx.dynamics_pks[label] = self.submit(builder).pk
        self.report(f"thermal dynamics of {len(self.ctx.dynamics_pks)} samples started beside the tensions")

    def wait_dynamics(self):
        """Wait for the dynamics started after the quenches (most are long done by now)."""
        return ToContext(**{f"dynamics_{k}": orm.load_node(pk) for k, pk in self.ctx.dynamics_pks.items()})

    def inspect_equilibrations(self):
        """Every equilibration must have finished."""
        if (failed := self._failed_child(self.exit_codes.ERROR_TENSION_FAILED, "equilibrate")) is not None:
            return failed
        self._collect()
        return None

    def run_tensions(self):
        """Every requested loading condition of every sample, all at once, from its shared equilibration."""
        futures = {}
        for label in self.ctx.labels:
            eq = self.ctx[f"equilibrate_{label}"]
            for loading, prefix, chain in self._loadings():
                builder = self._sample_builder(chain, label, self._parameters("tension"))
                builder.equilibrated = {"structure": eq.outputs.structure, "velocities": eq.outputs.velocities}
                if loading == "plane_strain":
                    builder.analyse = orm.Bool(True)  # its analysis right after its frames (issue #20)
                builder.metadata.call_link_label = f"{prefix}_{label}"  # type: ignore[attr-defined]
                name = loading.replace("_", " ")
                builder.metadata.label = f"{name} {self.inputs.protocol.value} {label}"  # type: ignore[attr-defined]
                futures[f"{prefix}_{label}"] = self.submit(builder)
        self.report(f"tension of {len(self.ctx.labels)} samples: {', '.join(self.inputs.loading.get_list())}")
        return ToContext(**futures)

    def inspect_tensions(self):
        """Every tension must have finished."""
        prefixes = [prefix for _, prefix, _ in self._loadings()]
        if (failed := self._failed_child(self.exit_codes.ERROR_TENSION_FAILED, *prefixes)) is not None:
            return failed
        self._expose("tension", stress_strain="stress_strain", tension="summary")
        self._expose("plane_stress", plane_stress_strain="stress_strain", plane_stress="summary")
        self._collect()
        return None

    def analyse(self):
        """Bond switching, D and atomic stress of every tension's frames (SPEC §4): run by each plane-strain chain
        as soon as its frames exist (``analyse`` input); here they are collected (or run, for a chain without)."""
        self.ctx.deformation = {}
        for label in self.ctx.labels:
            tension = self.ctx[f"tension_{label}"]
            if "deformation" in tension.outputs and "summary" in tension.outputs.deformation:
                result = dict(tension.outputs.deformation)
            else:
                result, node = deformation_analysis.run_get_node(
                    tension.outputs.frames,
                    **deformation_inputs(self._parameters("tension").get_dict()),
                    **self._material_kwargs(),
                    metadata={"call_link_label": f"deformation_{label}"},
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
        trajectories = {}
        for label in self.ctx.labels:
            node = self.ctx.get(f"dynamics_{label}")
            if node is None or not node.is_finished_ok:
                status = (
                    "missing" if node is None else f"[{node.exit_status}] {node.exit_message or node.process_state}"
                )
                return self._fail(self.exit_codes.ERROR_SOFTNESS_FAILED.format(
                    status=getattr(node, "exit_status", None), message=f"dynamics of {label}: {status}"))  # fmt: skip
            trajectories[label] = node.outputs.trajectory
        builder = SoftnessWorkChain.get_builder_from_parameters(
            self.inputs.code,
            samples,
            self._parameters("dynamics"),
            seed=self.inputs.seed.value,
            options=self._options(),
            frames=frames,
            apply_model=self.inputs.get("softness_model"),
            trajectories=trajectories,
            **self._material_kwargs(),
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
                response = f"tension_{label}_response_summary"
                if "applied" in sw.outputs and response in sw.outputs.applied:
                    kwargs[f"response_{label}"] = sw.outputs.applied[response]
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
