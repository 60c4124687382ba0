"""Per-atom Voronoi volumes in an orthorhombic periodic box.

Two independent implementations (the tests check them against each other):

``method="clip"`` (default, numba): voro++-style cell construction. Each atom's cell starts
as a cube and is clipped (Sutherland–Hodgman on every face, the cut polygon closing the
hole) by the bisector planes of its K nearest neighbours (periodic cKDTree query), nearest
first. It stops as soon as the next neighbour is farther than twice the farthest cell vertex,
which proves no further plane can cut. Cells not proven complete with K neighbours are redone
with 2K. Volume = Σ_faces |A_f · v_f| / 3 (pyramids from the atom to each face, A_f the
face's area vector). Atoms are processed in parallel blocks (``numba.prange``).

``method="qhull"``: the wrapped atoms plus ghost images within a padding layer go to
``scipy.spatial.Voronoi``; facet polygons (vertices sorted by angle, fan triangulation)
give pyramid volumes area·|pq|/6. The padding is *checked*: every vertex of an inner cell
must have its empty sphere inside the padded region, otherwise the padding grows.

Either way the volumes add up to the box volume (tested). LAMMPS' ``compute voronoi/atom``
gives the same volumes during the runs; this module serves stored frames and benchmarks.
"""

from __future__ import annotations

from itertools import chain

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import Voronoi, cKDTree

from .neighbors import as_box, wrap

__all__ = ["periodic_images", "voronoi_volumes"]

_MAX_FACES = 128
_MAX_VERTS = 64
# Unit cube: 6 faces x 4 ordered vertices.
_CUBE = np.array(
    [
        [[1, -1, -1], [1, 1, -1], [1, 1, 1], [1, -1, 1]],
        [[-1, -1, -1], [-1, -1, 1], [-1, 1, 1], [-1, 1, -1]],
        [[-1, 1, -1], [-1, 1, 1], [1, 1, 1], [1, 1, -1]],
        [[-1, -1, -1], [1, -1, -1], [1, -1, 1], [-1, -1, 1]],
        [[-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]],
        [[-1, -1, -1], [-1, 1, -1], [1, 1, -1], [1, -1, -1]],
    ],
    dtype=np.float64,
)


def voronoi_volumes(
    positions: ArrayLike,
    box: ArrayLike,
    *,
    method: str = "clip",
    n_neighbors: int = 64,
    padding: float | None = None,
) -> NDArray[np.float64]:
    """Voronoi cell volume (Å³) of every atom in an orthorhombic periodic box (origin 0).

    ``method="clip"`` (numba, default) or ``"qhull"`` (scipy); see the module docstring.
    ``n_neighbors`` is the first candidate count of the clip method, ``padding`` (Å) the first
    ghost layer of the qhull method (default 2.5 × mean spacing); both grow automatically.
    """
    b = as_box(box)
    pos = wrap(positions, b)
    n = pos.shape[0]
    if n == 0:
        return np.zeros(0)
    if method == "qhull":
        return _qhull_volumes(pos, b, padding)
    if method != "clip":
        raise ValueError("method must be 'clip' or 'qhull'")
    vols = np.full(n, np.nan)
    todo = np.arange(n)
    tree = cKDTree(pos, boxsize=b)
    k = n_neighbors
    while todo.size:
        kk = min(k, n - 1)
        # Only nearest images are listed: cells are accepted when no vertex reaches a quarter box.
        dist, idx = tree.query(pos[todo], k=kk + 1, workers=-1)
        v, ok = _clip_cells(pos, b, todo, idx, dist, 0.5 * float(b.min()))
        vols[todo[ok]] = v[ok]
        todo = todo[~ok]
        if todo.size and kk >= n - 1:
            # Tiny system (or cells reaching past half the box): fall back to qhull.
            return _qhull_volumes(pos, b, padding)
        k *= 2
    return vols


@numba.njit(cache=True)
def _clip_one(vec, d2, bound, fv, fn, tmp, cut, ang):
    """Volume of one cell from neighbour vectors sorted by distance; -1 if not proven complete."""
    # Initial cube of half-width `bound` (unit-cube template scaled); faces with ordered vertices.
    h = bound
    nf = 6
    for f in range(6):
        fn[f] = 4
        for v in range(4):
            for c in range(3):
                fv[f, v, c] = h * _CUBE[f, v, c]
    maxv2 = 3.0 * h * h
    eps = 1e-10 * bound
    for jn in range(vec.shape[0]):
        if 4.0 * maxv2 < d2[jn]:
            break
        if d2[jn] == 0.0:
            continue  # coincident atom: no bisector plane
        nx, ny, nz = vec[jn, 0], vec[jn, 1], vec[jn, 2]
        nrm = np.sqrt(d2[jn])
        ux, uy, uz = nx / nrm, ny / nrm, nz / nrm
        off = 0.5 * nrm
        # Any vertex strictly outside the bisector plane?
        outside = False
        for f in range(nf):
            for v in range(fn[f]):
                if fv[f, v, 0] * ux + fv[f, v, 1] * uy + fv[f, v, 2] * uz - off > eps:
                    outside = True
                    break
            if outside:
                break
        if not outside:
            continue
        ncut = 0
        nf_new = 0
        for f in range(nf):
            m = fn[f]
            nout = 0
            for v in range(m):
                a0, a1, a2 = fv[f, v, 0], fv[f, v, 1], fv[f, v, 2]
                w = (v + 1) % m
                b0, b1, b2 = fv[f, w, 0], fv[f, w, 1], fv[f, w, 2]
                sa = a0 * ux + a1 * uy + a2 * uz - off
                sb = b0 * ux + b1 * uy + b2 * uz - off
                ina = sa <= eps
                inb = sb <= eps
                if ina:
                    if nout >= _MAX_VERTS:
                        return -1.0
                    tmp[nout, 0], tmp[nout, 1], tmp[nout, 2] = a0, a1, a2
                    nout += 1
                if ina != inb:
                    t = sa / (sa - sb)
                    p0, p1, p2 = a0 + t * (b0 - a0), a1 + t * (b1 - a1), a2 + t * (b2 - a2)
                    if nout >= _MAX_VERTS or ncut >= 2 * _MAX_VERTS:
                        return -1.0
                    tmp[nout, 0], tmp[nout, 1], tmp[nout, 2] = p0, p1, p2
                    nout += 1
                    cut[ncut, 0], cut[ncut, 1], cut[ncut, 2] = p0, p1, p2
                    ncut += 1
            if nout >= 3:
                fn[nf_new] = nout
                for v in range(nout):
                    for c in range(3):
                        fv[nf_new, v, c] = tmp[v, c]
                nf_new += 1
        nf = nf_new
        if ncut >= 3:
            if nf >= _MAX_FACES or ncut > _MAX_VERTS:
                return -1.0
            # Order the cut points by angle about their centroid in the cutting plane.
            cx, cy, cz = 0.0, 0.0, 0.0
            for k in range(ncut):
                cx += cut[k, 0]
                cy += cut[k, 1]
                cz += cut[k, 2]
            cx /= ncut
            cy /= ncut
            cz /= ncut
            if abs(ux) < 0.9:
                hx, hy, hz = 1.0, 0.0, 0.0
            else:
                hx, hy, hz = 0.0, 1.0, 0.0
            e1x, e1y, e1z = uy * hz - uz * hy, uz * hx - ux * hz, ux * hy - uy * hx
            en = np.sqrt(e1x * e1x + e1y * e1y + e1z * e1z)
            e1x, e1y, e1z = e1x / en, e1y / en, e1z / en
            e2x, e2y, e2z = uy * e1z - uz * e1y, uz * e1x - ux * e1z, ux * e1y - uy * e1x
            # Insertion sort by angle straight into the new face (ncut is small).
            for k in range(ncut):
                rx, ry, rz = cut[k, 0] - cx, cut[k, 1] - cy, cut[k, 2] - cz
                a = np.arctan2(rx * e2x + ry * e2y + rz * e2z, rx * e1x + ry * e1y + rz * e1z)
                pos = k
                while pos > 0 and ang[pos - 1] > a:
                    ang[pos] = ang[pos - 1]
                    fv[nf, pos, 0], fv[nf, pos, 1], fv[nf, pos, 2] = (
                        fv[nf, pos - 1, 0],
                        fv[nf, pos - 1, 1],
                        fv[nf, pos - 1, 2],
                    )
                    pos -= 1
                ang[pos] = a
                fv[nf, pos, 0], fv[nf, pos, 1], fv[nf, pos, 2] = cut[k, 0], cut[k, 1], cut[k, 2]
            fn[nf] = ncut
            nf += 1
        maxv2 = 0.0
        for f in range(nf):
            for v in range(fn[f]):
                r2 = fv[f, v, 0] ** 2 + fv[f, v, 1] ** 2 + fv[f, v, 2] ** 2
                if r2 > maxv2:
                    maxv2 = r2
    # Complete only if no further neighbour (beyond the list) could cut: 2 max|v| < bound.
    if 4.0 * maxv2 >= bound * bound:
        return -1.0
    vol = 0.0
    for f in range(nf):
        m = fn[f]
        ax, ay, az = 0.0, 0.0, 0.0
        for v in range(1, m - 1):
            p1x, p1y, p1z = fv[f, v, 0] - fv[f, 0, 0], fv[f, v, 1] - fv[f, 0, 1], fv[f, v, 2] - fv[f, 0, 2]
            q = v + 1
            p2x, p2y, p2z = fv[f, q, 0] - fv[f, 0, 0], fv[f, q, 1] - fv[f, 0, 1], fv[f, q, 2] - fv[f, 0, 2]
            ax += p1y * p2z - p1z * p2y
            ay += p1z * p2x - p1x * p2z
            az += p1x * p2y - p1y * p2x
        vol += abs(0.5 * (ax * fv[f, 0, 0] + ay * fv[f, 0, 1] + az * fv[f, 0, 2])) / 3.0
    return vol


@numba.njit(cache=True, parallel=True)
def _clip_cells(pos, box, atoms, idx, dist, bound):
    """Clip-method volumes of ``atoms`` from their sorted neighbours (``idx``/``dist`` rows, self first).

    ok[k] is False where the cell could not be proven complete.
    """
    n = atoms.size
    kk = idx.shape[1] - 1
    vols = np.empty(n)
    ok = np.zeros(n, dtype=np.bool_)
    n_blocks = min(n, 64)
    for blk in numba.prange(n_blocks):
        fv = np.empty((_MAX_FACES, _MAX_VERTS, 3))
        fn = np.empty(_MAX_FACES, dtype=np.int64)
        tmp = np.empty((_MAX_VERTS, 3))
        cut = np.empty((2 * _MAX_VERTS, 3))
        ang = np.empty(2 * _MAX_VERTS)
        vec = np.empty((kk, 3))
        d2 = np.empty(kk)
        for k in range(blk, n, n_blocks):
            i = atoms[k]
            for q in range(kk):
                j = idx[k, q + 1]
                for a in range(3):
                    d = pos[j, a] - pos[i, a]
                    vec[q, a] = d - box[a] * np.floor(d / box[a] + 0.5)
                d2[q] = dist[k, q + 1] * dist[k, q + 1]
            # bound: no listed-out neighbour is closer than the last listed distance, and any
            # second image of an atom is at least half a box away.
            bnd = min(dist[k, kk], bound)
            v = _clip_one(vec, d2, bnd, fv, fn, tmp, cut, ang)
            vols[k] = v
            ok[k] = v >= 0.0
    return vols, ok


def periodic_images(
    positions: ArrayLike, box: ArrayLike, padding: float
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Wrapped atoms followed by their ghost images within ``padding`` of the box: ``(points, source_index)``.

    The first N points are the wrapped atoms themselves (``source_index[:N] == arange(N)``).
    """
    b = as_box(box)
    pos = wrap(positions, b)
    n = pos.shape[0]
    reach = np.ceil(padding / b).astype(np.int64)
    rng = [np.arange(-k, k + 1) for k in reach]
    shifts = np.stack(np.meshgrid(*rng, indexing="ij"), -1).reshape(-1, 3)
    shifts = shifts[np.any(shifts != 0, axis=1)]
    imgs = (pos[None, :, :] + (shifts * b)[:, None, :]).reshape(-1, 3)
    src = np.tile(np.arange(n, dtype=np.int64), len(shifts))
    keep = np.all((imgs >= -padding) & (imgs < b + padding), axis=1)
    return np.vstack([pos, imgs[keep]]), np.concatenate([np.arange(n, dtype=np.int64), src[keep]])


def _qhull_volumes(pos: NDArray[np.float64], box: NDArray[np.float64], padding: float | None) -> NDArray:
    """Qhull-method volumes, growing the padding ×1.5 until provably exact."""
    pad = 2.5 * (np.prod(box) / pos.shape[0]) ** (1.0 / 3.0) if padding is None else float(padding)
    for _ in range(8):
        vols = _try_qhull(pos, box, pad)
        if vols is not None:
            return vols
        pad *= 1.5
    raise RuntimeError(f"Voronoi padding did not converge (last padding {pad / 1.5:.2f} Å)")


def _try_qhull(pos: NDArray[np.float64], box: NDArray[np.float64], pad: float) -> NDArray[np.float64] | None:
    """Volumes with padding ``pad``, or None if the padding is provably insufficient."""
    n = pos.shape[0]
    pts, _ = periodic_images(pos, box, pad)
    vor = Voronoi(pts)
    rp = vor.ridge_points.astype(np.int64)
    inner_ridge = (rp[:, 0] < n) | (rp[:, 1] < n)
    lengths = np.fromiter(map(len, vor.ridge_vertices), dtype=np.int64, count=len(vor.ridge_vertices))
    flat = np.fromiter(chain.from_iterable(vor.ridge_vertices), dtype=np.int64, count=int(lengths.sum()))
    ridge_of_vertex = np.repeat(np.arange(len(lengths)), lengths)
    sel = inner_ridge[ridge_of_vertex]
    rid_old, vidx = ridge_of_vertex[sel], flat[sel]
    if np.any(vidx < 0):
        return None  # an inner cell is unbounded: padding too thin
    ridges = np.nonzero(inner_ridge)[0]
    remap = np.full(len(lengths), -1, dtype=np.int64)
    remap[ridges] = np.arange(ridges.size)
    rid = remap[rid_old]
    m = ridges.size
    p, q = pts[rp[ridges, 0]], pts[rp[ridges, 1]]
    verts = vor.vertices[vidx]

    # Padding check: the empty sphere of each vertex must lie inside the padded region.
    radius = np.linalg.norm(verts - p[rid], axis=1)
    if np.any(verts - radius[:, None] < -pad) or np.any(verts + radius[:, None] > box + pad):
        return None

    # Polygon area of each ridge: sort vertices by angle about the centroid in the bisector plane.
    cnt = np.bincount(rid, minlength=m)
    centroid = np.stack([np.bincount(rid, weights=verts[:, k], minlength=m) for k in range(3)], -1)
    centroid /= np.maximum(cnt, 1)[:, None]
    normal = q - p
    dist = np.linalg.norm(normal, axis=1)
    normal /= dist[:, None]
    helper = np.where(np.abs(normal[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    e1 = np.cross(normal, helper)
    e1 /= np.linalg.norm(e1, axis=1)[:, None]
    e2 = np.cross(normal, e1)
    rel = verts - centroid[rid]
    ang = np.arctan2(np.einsum("ij,ij->i", rel, e2[rid]), np.einsum("ij,ij->i", rel, e1[rid]))
    order = np.lexsort((ang, rid))
    rid_s, rel_s = rid[order], rel[order]
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    pos_in = np.arange(rid_s.size) - start[rid_s]
    nxt = start[rid_s] + (pos_in + 1) % cnt[rid_s]
    tri = 0.5 * np.einsum("ij,ij->i", np.cross(rel_s, rel_s[nxt]), normal[rid_s])
    area = np.bincount(rid_s, weights=tri, minlength=m)
    area[cnt < 3] = 0.0

    pyramid = np.abs(area) * dist / 6.0
    a_idx, b_idx = rp[ridges, 0], rp[ridges, 1]
    vols = np.bincount(a_idx[a_idx < n], weights=pyramid[a_idx < n], minlength=n)
    vols += np.bincount(b_idx[b_idx < n], weights=pyramid[b_idx < n], minlength=n)
    return vols
