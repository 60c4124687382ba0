"""Study archives: the full AiiDA archive, and a slim one without the thermal-dynamics trajectories.

AiiDA's export always follows a workflow to every calculation it called and a calculation to
all of its outputs, so a trajectory cannot be left out by choosing nodes. The slim archive is
the full archive with the *contents* of those trajectory nodes removed: every node, attribute
and link stays (the provenance graph is complete and queryable, array shapes included), only
the ``.npy`` files of the dropped trajectories are not in the archive, and each such node
carries the attribute ``aloxide_slim`` saying so. Everything the report reads is kept.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from aiida import orm

__all__ = ["SLIM_NOTE", "dynamics_trajectories", "export_study", "slim_archive"]

#: Attribute set on every node whose arrays a slim archive leaves out.
SLIM_NOTE = "arrays left out of this slim archive (aiida-aloxide study export --slim); the full archive has them"


def dynamics_trajectories(study: orm.WorkflowNode) -> list[orm.Data]:
    """Every trajectory made inside the thermal-dynamics work chains of ``study`` (chunks and merged)."""
    out: dict[str, orm.Data] = {}
    for proc in study.called_descendants:
        if proc.process_label != "DynamicsWorkChain":
            continue
        for sub in proc.called_descendants:
            for node in sub.base.links.get_outgoing(node_class=orm.TrajectoryData).all_nodes():
                out[node.uuid] = node
    return list(out.values())


def _keys(tree: dict[str, Any]) -> set[str]:
    """Object-store keys of a node's ``repository_metadata`` tree."""
    keys = set()
    for entry in (tree or {}).get("o", {}).values():
        if "k" in entry:
            keys.add(entry["k"])
        keys |= _keys(entry)
    return keys


def slim_archive(full: str | Path, slim: str | Path, drop: list[str]) -> dict[str, int]:
    """Write ``slim``: the archive ``full`` without the repository files of the nodes with UUIDs ``drop``.

    Returns counts: nodes emptied, repository objects removed, bytes before and after.
    """
    full, slim = Path(full), Path(slim)
    drop_set = set(drop)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "db.sqlite3"
        with zipfile.ZipFile(full) as zin:
            with zin.open("db.sqlite3") as src, open(db, "wb") as dst:
                shutil.copyfileobj(src, dst)
            metadata = json.loads(zin.read("metadata.json"))
            con = sqlite3.connect(db)
            try:
                rows = con.execute("SELECT id, uuid, repository_metadata, attributes FROM db_dbnode").fetchall()
                kept_keys: set[str] = set()
                dropped_keys: set[str] = set()
                emptied = 0
                for pk, uuid, repo, attrs in rows:
                    tree = json.loads(repo) if repo else {}
                    if uuid in drop_set:
                        dropped_keys |= _keys(tree)
                        attributes = json.loads(attrs) if attrs else {}
                        attributes["aloxide_slim"] = SLIM_NOTE
                        con.execute("UPDATE db_dbnode SET repository_metadata = ?, attributes = ? WHERE id = ?",
                                    (json.dumps({}), json.dumps(attributes), pk))  # fmt: skip
                        emptied += 1
                    else:
                        kept_keys |= _keys(tree)
                con.commit()
                con.execute("VACUUM")
            finally:
                con.close()
            removed = dropped_keys - kept_keys
            metadata["aloxide_slim"] = {"note": SLIM_NOTE, "nodes_emptied": emptied, "objects_removed": len(removed)}
            tmp_out = Path(tmp) / "slim.aiida"
            with zipfile.ZipFile(tmp_out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zout:
                for info in zin.infolist():  # same order: metadata.json must stay among the first entries
                    if info.filename == "metadata.json":
                        zout.writestr(info, json.dumps(metadata))
                    elif info.filename == "db.sqlite3":
                        zout.write(db, "db.sqlite3")
                    elif info.filename.startswith("repo/") and info.filename[len("repo/") :] in removed:
                        continue
                    else:
                        with zin.open(info) as src, zout.open(info, "w") as dst:
                            shutil.copyfileobj(src, dst)
        shutil.move(tmp_out, slim)
    return {"nodes_emptied": emptied, "objects_removed": len(removed), "bytes_full": full.stat().st_size,
            "bytes_slim": slim.stat().st_size}  # fmt: skip


def export_study(
    study: orm.WorkflowNode, group: orm.Group, filename: str | Path, overwrite: bool = False, slim: bool = False
) -> tuple[Path, dict[str, int] | None]:
    """Archive ``group`` (the study's) into ``filename``; ``slim``: without the arrays of its dynamics trajectories.

    Returns the archive's path and, for a slim archive, the counts of :func:`slim_archive`.
    """
    from aiida.tools.archive import create_archive

    if not slim:
        return create_archive([group], filename=filename, overwrite=overwrite), None
    drop = [n.uuid for n in dynamics_trajectories(study)]
    with tempfile.TemporaryDirectory() as tmp:
        full = create_archive([group], filename=Path(tmp) / "full.aiida")
        stats = slim_archive(full, filename, drop)
    return Path(filename), stats
