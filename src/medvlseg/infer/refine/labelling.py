"""Artery/vein labelling of whole vessel segments: a two-label energy minimised exactly by a minimum cut.

Hand-written (no maintained library labels vessel graphs): the energy and its weights. Energy over segments
s with label A (artery) or V (vein): Σ_s U_s(l_s) + Σ_(i,j) w_ij [l_i ≠ l_j], where
- U_s: the network's evidence over the segment's territory, t_s = Σ (p_artery − p_vein) over its voxels
  (paying |t_s| for going against its sign), amplified `root_gain` times on root segments (calibre ≥
  `root_radius_mm`: trunk, main pulmonary arteries, left atrium and venous ostia, where the network's own
  decision is reliable and anchors the trees), plus the bronchus prior (artery evidence for segments that run
  beside an airway lumen, vein evidence for those that do not; `airway_weight` per territory voxel), all
  computed by medvlseg.infer.refine.topology;
- w_ij: continuity across a junction, `beta` × the smaller territory × straightness² × calibre ratio. A branch
  continues its parent (small branch angle, similar calibre); an artery/vein contact or crossing meets at a
  wide angle (a side-on contact: ~90°) or, at a 4-way junction, as two straight lines: there only mutually
  straightest pairs are tied.
Pairwise weights are non-negative, so the energy is submodular and `scipy.sparse.csgraph.maximum_flow` gives
the global minimum (capacities scaled to integers).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from medvlseg.infer.refine.graph import VesselGraph

CAPACITY_MAX = 2**30  # total integer capacity bound for maximum_flow (int32)


def pair_weights(graph: VesselGraph, territory: np.ndarray, beta: float) -> np.ndarray:
    """(P,) continuity weights of the junction pairs (territory: voxels per segment)."""
    if graph.pairs.shape[0] == 0:
        return np.zeros(0)
    i, j = graph.pairs[:, 0], graph.pairs[:, 1]
    r_i, r_j = graph.radius_mm[i], graph.radius_mm[j]
    calibre = np.minimum(r_i, r_j) / np.maximum(np.maximum(r_i, r_j), 1e-6)
    w = beta * np.minimum(territory[i], territory[j]) * np.clip(graph.straight, 0.0, 1.0) ** 2 * calibre
    return np.where(_mutual_best(graph) | (graph.degree < 4), w, 0.0)


def _mutual_best(graph: VesselGraph) -> np.ndarray:
    """(P,) True where each segment of the pair is the other's straightest continuation at that junction."""
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for (a, b), s, j in zip(graph.pairs.tolist(), graph.straight.tolist(), graph.junction.tolist()):
        for x, y in ((a, b), (b, a)):
            if (j, x) not in best or s > best[(j, x)][0]:
                best[(j, x)] = (s, y)
    return np.array([best[(j, a)][1] == b and best[(j, b)][1] == a
                     for (a, b), j in zip(graph.pairs.tolist(), graph.junction.tolist())], dtype=bool)


def min_cut_labels(unary: np.ndarray, pairs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Exact minimiser of Σ cost(unary_s) + Σ w_ij [l_i ≠ l_j]: True = artery (unary > 0 favours artery)."""
    n = unary.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    total = float(np.abs(unary).sum() + 2 * np.abs(weights).sum())
    scale = min(1000.0, CAPACITY_MAX / max(total, 1e-9))
    src, snk = n, n + 1
    u = np.rint(np.abs(unary) * scale).astype(np.int64)
    w = np.rint(weights * scale).astype(np.int64)
    nodes = np.arange(n)
    rows = np.concatenate([np.full(n, src), nodes, pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([nodes, np.full(n, snk), pairs[:, 1], pairs[:, 0]])
    cap = np.concatenate([np.where(unary > 0, u, 0), np.where(unary < 0, u, 0), w, w])
    graph = sparse.csr_matrix((cap.astype(np.int32), (rows, cols)), shape=(n + 2, n + 2))
    graph.sum_duplicates()
    graph.sort_indices()
    flow = maximum_flow(graph, src, snk).flow
    residual = (graph - flow).tocsr()
    residual.data = np.where(residual.data > 0, 1, 0).astype(np.int32)
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, src, directed=True, return_predecessors=False)
    artery = np.zeros(n + 2, dtype=bool)
    artery[reached] = True
    return artery[:n]
