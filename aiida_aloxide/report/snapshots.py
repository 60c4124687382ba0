"""Atom snapshot panels of the paper (Fig. 1B, 2D, 5A–B) as slab projections, from stored nodes only.

Each panel shows the atoms of a slab through the middle of the sample (thickness
:data:`SLAB_THICKNESS` along z, the plane-strain direction of fixed length) projected on the x–y
plane, x being the loading axis. Colours come from the per-atom columns of
:func:`aiida_aloxide.report.atoms.tension_atoms`, so every PNG names the frames, deformation,
softness and cluster nodes it shows in its metadata, like the other figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from aiida import orm  # noqa: E402
from matplotlib.colors import ListedColormap, TwoSlopeNorm  # noqa: E402

from ..analysis.bond_switching import CLASS_NAMES  # noqa: E402
from ..atoms_io import AtomFrame  # noqa: E402
from .atoms import TensionAtoms, tension_atoms  # noqa: E402
from .figures import current_cation, run_label, save_figure  # noqa: E402

__all__ = ["FRACTURE_STRAIN", "SLAB_THICKNESS", "slab_mask", "snapshot_figures"]

#: Thickness (Å) of the slab drawn: about two Al–O shells, so that the projection is not crowded.
SLAB_THICKNESS = 6.0
#: Strain of the paper's Fig. 1B snapshot.
FRACTURE_STRAIN = 0.35
#: Colours of the switching classes (UC grey: nothing happened) and of the cation / anion (Al / O, Si / O).
CLASS_COLOURS = {"UC": "0.80", "SC": "tab:green", "DC": "tab:red", "IC": "tab:blue"}
CATION_COLOUR, ANION_COLOUR = "tab:gray", "tab:red"


def slab_mask(frame: AtomFrame, thickness: float = SLAB_THICKNESS, axis: int = 2) -> np.ndarray:
    """Atoms within ``thickness`` / 2 of the box middle along ``axis`` (positions wrapped into the box)."""
    mid = 0.5 * frame.lengths[axis]
    return np.abs(np.mod(frame.positions[:, axis], frame.lengths[axis]) - mid) <= 0.5 * thickness


def _nearest(atoms: TensionAtoms, strain: float) -> int:
    """Index of the frame whose strain is nearest ``strain``."""
    e = np.array([f.info["strain"] for f in atoms.frames], dtype=float)
    return int(np.nanargmin(np.abs(e - strain)))


def _marker(lx: float, ax) -> float:
    """Marker area (pt²) giving atoms of about 1.6 Å across at the axis' scale (x spans ``lx`` Å)."""
    fig = ax.figure
    fig.canvas.draw()  # the constrained layout fixes the axes' size only when drawn
    width_in = ax.get_position().width * fig.get_figwidth()
    pts_per_A = 72.0 * width_in / max(lx, 1e-9)
    return float((1.6 * pts_per_A) ** 2)


def _panel(ax, lx: float, ly: float, title: str) -> None:
    """Common axis limits (the widest box of the figure), aspect, labels and title of one projection."""
    ax.set_xlim(0, lx)
    ax.set_ylim(0, ly)
    ax.set_aspect("equal")
    ax.set_xlabel("x (Å, loading axis)", fontsize=7)
    ax.set_ylabel("y (Å)", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.set_title(title, fontsize=7.5)


def _figure(n_rows: int, n_cols: int, frames: Sequence[AtomFrame], colorbar: bool = False):
    """Figure, axes and the common (lx, ly) of ``frames``, sized so that panels keep the box aspect."""
    lx = max(float(f.lengths[0]) for f in frames)
    ly = max(float(f.lengths[1]) for f in frames)
    panel_w = 4.2 if n_cols < 3 else 3.6
    width = panel_w * n_cols + (0.8 if colorbar else 0.0)
    height = n_rows * (panel_w * ly / lx + 0.75) + 0.55
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width, height), squeeze=False, layout="constrained")
    return fig, axes, lx, ly


def _note(fig, text: str, colour: str = "0.3") -> None:
    """Small print under the panels: slab, model, sizes."""
    fig.supxlabel(text, fontsize=6.5, color=colour, x=0.01, ha="left")


def _sources(runs: Sequence[TensionAtoms], keys: Sequence[str]) -> list[orm.Node]:
    """The stored nodes named ``keys`` behind ``runs`` (for the PNG metadata)."""
    return [orm.load_node(r.sources[k]) for r in runs for k in keys if k in r.sources]


def fracture_snapshot(runs: dict[str, TensionAtoms], path: Path) -> Path:
    """Fig. 1B: all atoms of the slab at ε ≈ 0.35, Al and O coloured, one panel per pressure."""
    frames = {label: atoms.frames[_nearest(atoms, FRACTURE_STRAIN)] for label, atoms in runs.items()}
    fig, axes, lx, ly = _figure(1, len(runs), list(frames.values()))
    for ax, (label, frame) in zip(axes[0], frames.items(), strict=True):
        mask = slab_mask(frame)
        _panel(ax, lx, ly, f"{label}: ε = {frame.info['strain']:.2f}")
        size = _marker(lx, ax)
        cation = frame.symbols == current_cation()
        anion = str(frame.symbols[~cation][0]) if (~cation).any() else "O"
        for sel, name, colour, scale in ((cation, current_cation(), CATION_COLOUR, 0.7), (~cation, anion, ANION_COLOUR,
                                                                                          1.0)):  # fmt: skip
            ax.scatter(*frame.positions[mask & sel, :2].T, s=size * scale, c=colour, linewidths=0, label=name)
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside upper center", ncol=2, fontsize=7, frameon=False, markerscale=0.5)
    _note(fig, f"slab of {SLAB_THICKNESS:g} Å through the middle along z, projected on x–y (plane strain)")
    return save_figure(fig, path, _sources(list(runs.values()), ["frames"]), "atoms at strain 0.35")


def switching_snapshot(runs: dict[str, TensionAtoms], path: Path) -> Path:
    """Fig. 2D: Al of the slab coloured by bond-switching class vs ε = 0, at ε ≈ 0.35, per pressure."""
    frames = {label: atoms.frames[_nearest(atoms, FRACTURE_STRAIN)] for label, atoms in runs.items()}
    fig, axes, lx, ly = _figure(1, len(runs), list(frames.values()))
    cmap = ListedColormap([CLASS_COLOURS[c] for c in CLASS_NAMES])
    for ax, (label, frame) in zip(axes[0], frames.items(), strict=True):
        mask = slab_mask(frame)
        all_al = frame.symbols == current_cation()
        counts = np.bincount(frame.columns["switching"][all_al], minlength=len(CLASS_NAMES))
        share = ", ".join(f"{n} {100 * c / max(counts.sum(), 1):.0f} %" for n, c in zip(CLASS_NAMES, counts,
                                                                                        strict=True))  # fmt: skip
        _panel(ax, lx, ly, f"{label}: ε = {frame.info['strain']:.2f} (all Al: {share})")
        size = _marker(lx, ax)
        o = mask & ~all_al
        ax.scatter(*frame.positions[o, :2].T, s=0.35 * size, c="0.93", linewidths=0)
        al = mask & all_al
        ax.scatter(*frame.positions[al, :2].T, s=size, c=frame.columns["switching"][al], cmap=cmap, vmin=-0.5,
                   vmax=len(CLASS_NAMES) - 0.5, linewidths=0)  # fmt: skip
    for name in CLASS_NAMES:
        axes[0, 0].scatter([], [], c=CLASS_COLOURS[name], s=20, label=name)
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside upper center", ncol=len(CLASS_NAMES), fontsize=7, frameon=False)
    _note(fig, f"Al of a {SLAB_THICKNESS:g} Å slab (O light grey); DC / IC: coordination decreased / increased vs "
               "ε = 0, SC: same number, another O; UC: unchanged")  # fmt: skip
    return save_figure(fig, path, _sources(list(runs.values()), ["frames", "per_atom"]), "bond switching snapshot")


def _fracture_frames(atoms: TensionAtoms, summary: dict) -> list[tuple[int, str]]:
    """Frames of Fig. 5A–B: before loading, at the stress peak (crack onset), at fracture (or the end)."""
    peak = _nearest(atoms, summary.get("strain_at_peak") or 0.0)
    if summary.get("fractured") and summary.get("fracture_strain") is not None:
        end, end_txt = _nearest(atoms, summary["fracture_strain"]), "at fracture"
    else:
        end, end_txt = len(atoms.frames) - 1, "last frame, not fractured"
    return [(0, "before loading"), (peak, "stress peak"), (end, end_txt)]


def softness_snapshot(runs: dict[str, TensionAtoms], summaries: dict[str, dict], path: Path,
                      model_note: tuple[str, bool] = ("", False)) -> Path:  # fmt: skip
    """Fig. 5A–B: Al of the slab coloured by softness before loading, at the stress peak and at fracture.

    Rows are pressures; out-of-domain Al (softness extrapolated) are drawn as open grey circles.
    The colour scale is symmetric about S = 0 over the in-domain Al of all panels.
    """
    chosen = {label: _fracture_frames(atoms, summaries[label]) for label, atoms in runs.items()}
    shown = [runs[label].frames[k] for label, picks in chosen.items() for k, _ in picks]
    fig, axes, lx, ly = _figure(len(runs), 3, shown, colorbar=True)
    cation = current_cation()
    values = np.concatenate([f.columns["softness"][(f.symbols == cation) & (f.columns.get("out_of_domain", 0) != 1)]
                             for f in shown])  # fmt: skip
    values = values[np.isfinite(values)]
    lim = max(float(np.percentile(np.abs(values), 98)) if values.size else 1.0, 1e-6)
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    mappable = None
    for row, (label, picks) in zip(axes, chosen.items(), strict=True):
        for ax, (k, what) in zip(row, picks, strict=True):
            frame = runs[label].frames[k]
            mask = slab_mask(frame) & (frame.symbols == cation)
            ood = frame.columns.get("out_of_domain", np.zeros(len(mask), dtype=np.int64)) == 1
            _panel(ax, lx, ly, f"{label}, {what}: ε = {frame.info['strain']:.2f}")
            size = _marker(lx, ax)
            inside = mask & ~ood
            mappable = ax.scatter(*frame.positions[inside, :2].T, s=size, c=frame.columns["softness"][inside],
                                  cmap="RdBu_r", norm=norm, linewidths=0)  # fmt: skip
            ax.scatter(*frame.positions[mask & ood, :2].T, s=size, facecolors="none", edgecolors="0.5",
                       linewidths=0.5)  # fmt: skip
    if mappable is not None:
        cbar = fig.colorbar(mappable, ax=axes, shrink=0.8, pad=0.01)
        cbar.set_label("softness S (colour scale clipped at the 98th percentile of |S|)", fontsize=7)
        cbar.ax.tick_params(labelsize=6)
    note, small = model_note
    text = f"Al of a {SLAB_THICKNESS:g} Å slab; open grey: out of the model's training domain. {note}"
    _note(fig, text.replace("\n", "; "), "firebrick" if small else "0.3")
    return save_figure(fig, path, _sources(list(runs.values()), ["frames", "softness", "model"]),
                       "softness snapshots")  # fmt: skip


def snapshot_figures(runs: dict[str, orm.WorkflowNode], out_dir: str | Path, applied: dict | None = None,
                     model_note: tuple[str, bool] = ("", False)) -> list[Path]:  # fmt: skip
    """snapshot_fracture.png, snapshot_switching.png and (with softness) snapshot_softness.png.

    ``runs``: label → plane-strain tension work chain (with frames); ``applied``: the softness
    work chain's ``applied`` outputs (``<label>_softness``, ``<label>_clusters``) when softness ran.
    """
    out_dir = Path(out_dir)
    atoms = {}
    for label, wc in runs.items():
        soft = applied.get(f"{label}_softness") if applied else None
        clus = applied.get(f"{label}_clusters") if applied else None
        atoms[label] = tension_atoms(wc, softness=soft, clusters=clus)
    # Panel titles name the sample by its quench pressure (as the other figures' legends do).
    display = {k: run_label(wc) for k, wc in runs.items()}
    names = {display[k]: v for k, v in atoms.items()}
    paths = [fracture_snapshot(names, out_dir / "snapshot_fracture.png")]
    if all("switching" in a.frames[0].columns for a in atoms.values()):
        paths.append(switching_snapshot(names, out_dir / "snapshot_switching.png"))
    if all("softness" in a.frames[0].columns for a in atoms.values()):
        summaries = {display[k]: wc.outputs.summary.get_dict() for k, wc in runs.items()}
        paths.append(softness_snapshot(names, summaries, out_dir / "snapshot_softness.png", model_note))
    return paths
