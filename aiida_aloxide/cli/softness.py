"""``aiida-aloxide softness``: learn softness from thermal dynamics (``train``), apply a stored model (``predict``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from .common import finished_with, load_code, load_node, load_softness_model, sample_material, with_profile
from .options import CODE_OPTION, MATERIAL_OPTION, OUTPUT_DIR_OPTION, PROTOCOL_OPTION, SAMPLES_OPTION, SEED_OPTION

if TYPE_CHECKING:
    from aiida import orm

__all__ = ["softness"]


@click.group()
def softness() -> None:
    """Softness: learn it from thermal dynamics (train), apply a stored model (predict)."""


def _label_of(node: orm.Node) -> str:
    """A link-label-safe name for a sample: p<pressure> from its quench, else pk<PK>."""
    from ..functions.study import pressure_label

    p = node.base.extras.get("aloxide_pressure", None)
    return pressure_label(p) if p is not None else f"pk{node.pk}"


def _pct(v: float | None) -> str:
    """A fraction as a percentage with one decimal, ``–`` when unknown."""
    return "–" if v is None else f"{100 * v:.1f} %"


def _echo_training(wc: orm.WorkflowNode, seconds: float) -> None:
    """What a finished softness work chain learned: events, cross-validation, ablations, applied summaries."""
    r = wc.outputs.report.get_dict()
    click.echo(
        f"softness work chain PK {wc.pk} ({seconds:.0f} s): {r['n_events']} labelled events, "
        f"{r.get('n_rearranging_atoms')} distinct rearranging Al, {r.get('configuration')} configurations"
    )
    if r.get("warning"):
        click.echo(f"  WARNING: {r['warning']}", err=True)
    cv = r.get("cross_validation") or {}
    if cv:
        click.echo(
            f"  repeated grouped CV ({cv['repeats']} x {cv['folds']} folds, balanced accuracy): "
            f"{_pct(cv['balanced_accuracy'])} ± {_pct(cv['balanced_accuracy_std'])}; "
            f"model: {r.get('selected_features')}, C = {r.get('C')}"
        )
    if r.get("time_split"):
        ts = r["time_split"]
        click.echo(f"  time split (gap {ts.get('gap_ps')} ps): test {_pct(ts['test_accuracy'])}")
    for name, res in (r.get("ablation") or {}).items():
        if res:
            click.echo(
                f"  ablation {name:>14}: {_pct(res.get('balanced_accuracy'))} ± "
                f"{_pct(res.get('balanced_accuracy_std'))}"
            )
    if r.get("loso"):
        lo = r["loso"]
        per = ", ".join(f"{k} {_pct(v['balanced_accuracy'])}" for k, v in lo["per_sample"].items())
        click.echo(
            f"  leave-one-sample-out ({lo['n_samples']} samples, a glass the model never saw): "
            f"{_pct(lo['balanced_accuracy'])} ± {_pct(lo['balanced_accuracy_std'])}, AUC {lo['auc']:.2f} ({per})"
        )
    if r.get("cross_pressure"):
        cp = r["cross_pressure"]
        click.echo(f"  cross-pressure: keys {cp['keys']}, accuracy {cp['accuracy']}, worst {_pct(cp['worst'])}")


@softness.command("train")
@with_profile
@SAMPLES_OPTION(help="Quench work chain PK/UUID.")
@click.option("-t", "--tension", "tensions", multiple=True, help="Plane-strain work chain whose frames get softness.")
@PROTOCOL_OPTION()
@SEED_OPTION()
@CODE_OPTION()
@MATERIAL_OPTION(help="Material file name [the samples' own: the packaged material of their elements].")
@OUTPUT_DIR_OPTION(default="softness-report")
def softness_train(
    samples_: tuple[str, ...], tensions: tuple[str, ...], protocol: str, seed: int, code_label: str | None,
    material: str | None, output_dir: str,
) -> None:  # fmt: skip
    """Learn softness from the thermal dynamics of quenched samples (SPEC §5) and apply it to tension frames."""
    from aiida import orm
    from aiida.engine import run_get_node

    from ..workchains.protocols import ProtocolError
    from ..workchains.softness import SoftnessWorkChain

    code = load_code(code_label)
    samples = {}
    for ident in samples_:
        node = load_node(ident)
        if not isinstance(node, orm.WorkflowNode) or "structure" not in node.outputs:
            raise click.ClickException(f"node {ident!r} is not a quench work chain with a `structure` output")
        samples[_label_of(node)] = node.outputs.structure
    frames = {}
    tension_nodes = {}
    for wc in finished_with(tensions, "frames", "not finished tension work chains with frames"):
        sample = wc.inputs.structure
        quench = next((n for n in sample.base.links.get_incoming().all_nodes() if n.base.extras.get(
            "aloxide_pressure", None) is not None), None)  # fmt: skip
        key = f"tension_{_label_of(quench) if quench else f'pk{wc.pk}'}"
        frames[key] = wc.outputs.frames
        tension_nodes[key] = wc
    try:
        name = sample_material(next(iter(samples.values())), material)
        builder = SoftnessWorkChain.get_builder_from_protocol(
            code, samples, protocol=protocol, seed=seed, frames=frames or None, material=name
        )
    except (ProtocolError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    from .sqlite_guard import ensure_single_writer

    ensure_single_writer()
    t0 = time.monotonic()
    _, wc = run_get_node(builder)
    if not wc.is_finished_ok:
        raise click.ClickException(f"softness failed [{wc.exit_status}] {wc.exit_message}")
    _echo_training(wc, time.monotonic() - t0)
    applied = wc.outputs.applied if "applied" in wc.outputs else {}
    for key in sorted(k for k in applied if k.endswith("_softness_summary")):
        label = key[: -len("_softness_summary")]
        s = applied[key]
        c = applied.get(f"{label}_cluster_summary")
        pr = applied.get(f"{label}_probability_summary")
        click.echo(
            f"  {label}: <S> unstrained {s['unstrained_mean_softness']:.3f}, max <S> at strain "
            f"{s.get('strain_at_max_mean')}; clusters unstrained {c['unstrained_n_clusters'] if c else '–'}, "
            f"largest max {c['max_largest'] if c else '–'}; P_R fit a = {pr['fit_a'] if pr else '–'}"
        )
    if applied:
        from ..report.figures import softness_figures

        paths = softness_figures(dict(applied), tension_nodes, output_dir)
        click.echo("figures: " + ", ".join(str(p) for p in paths))


@softness.command("predict")
@with_profile
@click.argument("model_id")
@click.argument("structure")
@click.option(
    "--configuration",
    type=click.Choice(["thermal", "time_averaged", "inherent"]),
    default="inherent",
    show_default=True,
    help="What STRUCTURE is: an energy-minimised (inherent) structure, a thermal snapshot or a time average.",
)
@click.option("--minimize", is_flag=True, help="Minimise STRUCTURE with LAMMPS first (it becomes inherent).")
@CODE_OPTION(help="LAMMPS code for --minimize [lammps@localhost-aloxide].")
@click.option("-o", "--output", type=click.Path(), default=None, help="CSV file: atom index, softness, out of domain.")
def softness_predict(
    model_id: str, structure: str, configuration: str, minimize: bool, code_label: str | None, output: str | None
) -> None:
    """Softness of every Al in STRUCTURE (a node PK/UUID or a structure file) with a stored model.

    MODEL_ID is a SoftnessModelData PK/UUID or ``reference`` (the packaged model trained on the fast
    samples). The model refuses a configuration kind it was not trained on.
    """
    import numpy as np
    from aiida import orm

    from ..functions.softness import softness_of_frames
    from ..functions.softness_application import model_columns_problem
    from ..functions.structure import structure_as_frame
    from ..report.runs import write_softness_csv

    model = load_softness_model(model_id)
    problem = model_columns_problem(model)
    if problem:
        raise click.ClickException(problem)
    node = _structure(structure)
    if minimize:
        node, configuration = _minimized(node, code_label), "inherent"
    if configuration != model.configuration:
        hint = " (add --minimize to relax it into its inherent structure)" if model.configuration == "inherent" else ""
        raise click.ClickException(
            f"the model was trained on {model.configuration} configurations, the structure is {configuration}{hint}"
        )
    result = softness_of_frames(model, structure_as_frame(node, orm.Str(configuration)))
    values = result["softness"].get_array("softness")[0]
    ood = result["softness"].get_array("out_of_domain")[0]
    idx = result["softness"].get_array("al_index")
    inside = values[~ood]
    click.echo(
        f"{len(values)} Al: <S> = {inside.mean() if inside.size else float('nan'):.3f} over the "
        f"{inside.size} in-domain Al ({ood.mean():.1%} out of domain), median "
        f"{np.median(inside) if inside.size else float('nan'):.3f}, {(inside > 0).mean() if inside.size else 0:.1%} "
        f"with S > 0 (model {model.pk}, {model.base.attributes.get('source', 'trained')}; softness node PK "
        f"{result['softness'].pk})"
    )
    if output:
        write_softness_csv(output, idx, values, ood)
        click.echo(f"written {output}")


def _structure(structure: str) -> orm.StructureData:
    """STRUCTURE of ``softness predict``: a structure file, a structure node or a work chain's ``structure`` output."""
    from pathlib import Path

    from aiida import orm

    from ..functions.structure import structure_from_file

    node: Any
    if Path(structure).exists():
        try:
            node = structure_from_file(structure)
        except Exception as exc:  # noqa: BLE001 - ASE raises many types for unreadable files
            raise click.ClickException(f"cannot read {structure}: {exc}") from exc
    else:
        try:
            node = orm.load_node(structure)
        except Exception as exc:  # noqa: BLE001
            raise click.ClickException(f"{structure!r} is neither a file nor a node: {exc}") from exc
        if isinstance(node, orm.WorkflowNode) and "structure" in node.outputs:
            node = node.outputs.structure
    if not isinstance(node, orm.StructureData):
        raise click.ClickException(f"{structure!r} is not a structure")
    return node


def _minimized(structure: orm.StructureData, code_label: str | None) -> orm.StructureData:
    """The inherent structure of ``structure``: one ``minimize_frames`` LAMMPS run (the tension steps' settings)."""
    import numpy as np
    from aiida import orm
    from aiida.engine import run_get_node

    from ..calculations.lammps import AloxideLammpsCalculation
    from ..data.structure import structure_arrays, structure_from_arrays, structure_material
    from ..trajectory import frames_trajectory
    from ..workchains.common import material_input
    from ..workchains.softness import INHERENT_MINIMIZATION

    material = structure_material(structure)
    positions, types, _, box = structure_arrays(structure, material)
    frames = frames_trajectory(positions[None], box[None], types, species=material.type_species)
    stage = {"segments": [{"type": "minimize_frames", "n_frames": 1, **INHERENT_MINIMIZATION}], "thermo_every": 1000}
    extra = {} if (node := material_input(material.name)) is None else {"material": node}
    _, calc = run_get_node(
        AloxideLammpsCalculation, code=load_code(code_label), structure=structure, parameters=orm.Dict(stage),
        frames=frames, **extra,
    )  # fmt: skip
    if not calc.is_finished_ok:
        raise click.ClickException(f"minimisation failed [{calc.exit_status}] {calc.exit_message}")
    pos = np.asarray(calc.outputs.minimized_frames.get_array("positions")[0], dtype=np.float64)
    return structure_from_arrays(np.mod(pos, box), types, box, dict(material.charges), material)
