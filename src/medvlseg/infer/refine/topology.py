"""`predict --refine topology`: relabel whole vessel segments artery or vein from the network's probabilities.

Pipeline: the union vessel mask of the decided labels, less its islands below `min_island_mm3` (a vessel tree is
connected; isolated fragments are mostly false positives) → (coarsened to `graph_spacing_mm` when the grid is
finer) → vessel graph (medvlseg.infer.refine.graph) → the network's artery−vein evidence summed over each
segment's territory (mask voxels whose nearest skeleton segment it is, scipy's Euclidean distance transform),
shifted so the segment vote keeps the network's artery share (`balance`: the shipped model leans to vein on weak
voxels), roots amplified, optional bronchus prior from the CT (medvlseg.infer.refine.priors) → exact two-label
energy minimum (medvlseg.infer.refine.labelling) → every mask voxel takes its segment's label. Apart from the
dropped islands the vessel mask is never changed, only which class each voxel has.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cc3d
import numpy as np
from scipy import ndimage

from medvlseg.infer.refine.graph import VesselGraph, build_graph
from medvlseg.infer.refine.labelling import min_cut_labels, pair_weights
from medvlseg.infer.refine.priors import beside_airway, block_min, lumen_distance

log = logging.getLogger(__name__)

REFINE_MODES = ("none", "topology")
ARTERY, VEIN = 1, 2


@dataclass
class TopologyOptions:
    """Weights of the segment labelling (territory voxels, mm)."""

    beta: float = 1.0  # continuity weight per territory voxel of the smaller segment
    root_radius_mm: float = 3.5  # segments at least this thick are roots (trunk, main PAs, atrium, ostia)
    root_gain: float = 4.0  # root segments' evidence is multiplied by this
    graph_spacing_mm: float = 2.0  # grids finer than this are block-coarsened for the skeleton, mm
    crossings_from_segments: bool = False  # at a junction whose segments disagree: the nearest segment's label
    # (fewer pieces) instead of the network's voxel label (kept: better av_accuracy on the tuning set)
    balance: bool = True  # shift the evidence so the segment vote keeps the network's artery/vein voxel share
    evidence_floor: float = 0.0  # |p_artery − p_vein| below this is no evidence (the voxel's share shrinks by it)
    min_island_mm3: float = 1000.0  # vessel-mask islands (26-connected) below this are dropped, mm³ (0 keeps all)
    airway_weight: float = 0.0  # bronchus prior per territory voxel (p_artery − p_vein units; 0: off, see docs)
    airway_reach_mm: float = 3.0  # lumen within the segment's radius + this counts as "beside an airway", mm


def _crop(mask: np.ndarray) -> tuple[slice, ...]:
    """Bounding box (+1 voxel) of a non-empty mask."""
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    return tuple(slice(max(0, b.start - 1), min(n, b.stop + 1)) for b, n in zip(box, mask.shape))


def _factors(spacing: Sequence[float], graph_spacing_mm: float) -> np.ndarray:
    """Integer block size per axis that brings `spacing` (mm) up to about `graph_spacing_mm`."""
    return np.maximum(1, np.floor(graph_spacing_mm / np.asarray(spacing, dtype=np.float64) + 1e-6)).astype(np.int64)


def nearest_skeleton(graph: VesselGraph, spacing: np.ndarray) -> np.ndarray:
    """Id of the nearest skeleton voxel everywhere: segment 1..n, or n + junction id (Euclidean, mm)."""
    skeleton = np.where(graph.junctions > 0, graph.junctions + graph.n, graph.segments)
    nearest = ndimage.distance_transform_edt(skeleton == 0, sampling=spacing, return_distances=False,
                                             return_indices=True)
    return skeleton[tuple(nearest)].astype(np.int64)


def _junction_labels(graph: VesselGraph, seg_label: np.ndarray) -> np.ndarray:
    """(m,) label per junction: its segments' common label, or 0 where they disagree (a crossing or contact)."""
    m = int(graph.junctions.max(initial=0))
    first = np.zeros(m + 1, dtype=np.int64)
    mixed = np.zeros(m + 1, dtype=bool)
    for j, s in graph.incidence.tolist():
        lab = int(seg_label[s - 1])
        mixed[j] |= first[j] not in (0, lab)
        first[j] = first[j] or lab
    return np.where(mixed, 0, first)[1:]


def _paint(nearest: np.ndarray, seg_label: np.ndarray, junction_label: np.ndarray, voxel_label: np.ndarray,
           nearest_segment: np.ndarray | None) -> np.ndarray:
    """Label of each vessel voxel: its segment's; near a junction the junction's, or where the junction's segments
    disagree (a crossing) the label of its nearest segment (`nearest_segment`, 1..n) or, if None, the network's."""
    n = seg_label.size
    out = np.empty_like(voxel_label)
    on_seg = nearest <= n
    out[on_seg] = seg_label[nearest[on_seg] - 1]
    jl = junction_label[nearest[~on_seg] - n - 1] if junction_label.size else np.zeros(0, np.int64)
    fallback = voxel_label[~on_seg] if nearest_segment is None else seg_label[nearest_segment[~on_seg] - 1]
    out[~on_seg] = np.where(jl > 0, jl, fallback)
    return out


def _nearest_segment(graph: VesselGraph, spacing: np.ndarray) -> np.ndarray:
    """Id 1..n of the nearest segment voxel (junctions left out) everywhere (Euclidean, mm)."""
    nearest = ndimage.distance_transform_edt(graph.segments == 0, sampling=spacing, return_distances=False,
                                             return_indices=True)
    return graph.segments[tuple(nearest)].astype(np.int64)


def balance_shift(mean_evidence: np.ndarray, territory: np.ndarray, artery_voxels: float) -> float:
    """Evidence offset c such that the segments with mean evidence > c cover about `artery_voxels` territory voxels
    (the network's own artery share), so a segment vote keeps the class balance instead of the network's bias."""
    if mean_evidence.size == 0:
        return 0.0
    order = np.argsort(-mean_evidence)
    covered = np.concatenate([[0.0], np.cumsum(territory[order])])  # territory of the top-k segments, k = 0..n
    k = int(np.argmin(np.abs(covered - artery_voxels)))  # segments order[:k] hold the artery share
    if k == 0:
        return float(mean_evidence[order[0]]) + 1e-6
    if k == order.size:
        return float(mean_evidence[order[-1]]) - 1e-6
    return 0.5 * float(mean_evidence[order[k - 1]] + mean_evidence[order[k]])


def drop_islands(labels: np.ndarray, spacing: Sequence[float], min_mm3: float) -> np.ndarray:
    """Labels with the vessel mask's 26-connected islands below `min_mm3` (mm³) set to background (a copy)."""
    out = labels.copy()
    if min_mm3 <= 0 or not out.any():
        return out
    cc, n = cc3d.connected_components((out > 0).astype(np.uint8), connectivity=26, return_N=True)
    volume = np.bincount(cc.ravel(), minlength=n + 1) * float(np.prod(spacing))
    small = volume < min_mm3
    small[0] = False
    out[small[cc]] = 0
    return out


def _airway_term(graph: VesselGraph, image: np.ndarray, mask: np.ndarray, spacing: Sequence[float],
                 box: tuple[slice, ...], f: np.ndarray, territory: np.ndarray, options: TopologyOptions) -> np.ndarray:
    """(n,) bronchus prior: + for segments beside an airway lumen, − for the others, relative to this CT's share."""
    margin = float(graph.radius_mm.max(initial=0.0)) + options.airway_reach_mm + 2.0
    dist = lumen_distance(image, mask, spacing, box, margin)
    if dist is None:
        return np.zeros(graph.n)
    coarse = block_min(dist, f)[tuple(slice(0, n) for n in graph.segments.shape)]
    beside = beside_airway(graph.segments, graph.n, graph.radius_mm, coarse, options.airway_reach_mm)
    share = float(np.sum(beside * territory) / max(float(territory.sum()), 1e-9))
    return options.airway_weight * territory * (beside - share)


def refine_topology(labels: np.ndarray, evidence: np.ndarray, spacing: Sequence[float],
                    options: TopologyOptions | None = None, image: np.ndarray | None = None) -> np.ndarray:
    """Labels (X, Y, Z; 1 artery, 2 vein) + evidence (X, Y, Z: p_artery − p_vein) [+ the CT in HU, for the
    bronchus prior] → refined labels (same vessel mask)."""
    options = options or TopologyOptions()
    if labels.shape != evidence.shape or (image is not None and image.shape != labels.shape):
        raise ValueError(f"labels {labels.shape}, evidence {evidence.shape} and image "
                         f"{None if image is None else image.shape} must have the same shape")
    labels = drop_islands(labels, spacing, options.min_island_mm3)
    mask = labels > 0
    if not mask.any():
        return labels
    box = _crop(mask)
    idx = np.nonzero(mask[box])  # fine mask voxels, crop coordinates
    offset = tuple(b.start for b in box)
    fine = tuple(i + o for i, o in zip(idx, offset))
    voxel_evidence = evidence[fine].astype(np.float64)  # (N,) artery − vein
    voxel_evidence = np.sign(voxel_evidence) * np.maximum(np.abs(voxel_evidence) - options.evidence_floor, 0.0)
    f = _factors(spacing, options.graph_spacing_mm)
    coarse_idx = tuple(i // k for i, k in zip(idx, f))
    coarse_shape = tuple(int(-(-(b.stop - b.start) // k)) for b, k in zip(box, f))
    coarse = np.zeros(coarse_shape, dtype=bool)
    coarse[coarse_idx] = True
    coarse_spacing = np.asarray(spacing, dtype=np.float64) * f
    graph = build_graph(coarse, coarse_spacing)
    if graph.n == 0:
        return labels.copy()
    seg = nearest_skeleton(graph, coarse_spacing)[coarse_idx]  # (N,) 1..n segment, n+1.. junction
    on_seg = seg <= graph.n
    territory = np.bincount(seg[on_seg] - 1, minlength=graph.n).astype(np.float64)
    unary = np.bincount(seg[on_seg] - 1, weights=voxel_evidence[on_seg], minlength=graph.n)
    if options.balance:
        artery_voxels = float(np.count_nonzero(labels[fine][on_seg] == ARTERY))
        unary = unary - territory * balance_shift(unary / np.maximum(territory, 1.0), territory, artery_voxels)
    unary = np.where(graph.radius_mm >= options.root_radius_mm, options.root_gain * unary, unary)
    if image is not None and options.airway_weight > 0:
        unary = unary + _airway_term(graph, image, mask, spacing, box, f, territory, options)
    artery = min_cut_labels(unary, graph.pairs, pair_weights(graph, territory, options.beta))
    seg_label = np.where(artery, ARTERY, VEIN).astype(labels.dtype)
    out = labels.copy()
    nearest_seg = _nearest_segment(graph, coarse_spacing)[coarse_idx] if options.crossings_from_segments else None
    out[fine] = _paint(seg, seg_label, _junction_labels(graph, seg_label), labels[fine], nearest_seg)
    changed = int(np.count_nonzero(out[fine] != labels[fine]))
    log.info("topology refinement: %d segments, %d junction pairs, %d of %d vessel voxels relabelled", graph.n,
             graph.pairs.shape[0], changed, fine[0].size)
    return out


def av_evidence(fg: np.ndarray, dim: int = 0) -> np.ndarray:
    """Artery − vein evidence from foreground probabilities along `dim`: (artery, vein) or (LA, LV, RA, RV)."""
    fg = np.moveaxis(np.asarray(fg), dim, 0)
    if fg.shape[0] == 2:
        return fg[0] - fg[1]
    if fg.shape[0] == 4:
        return np.maximum(fg[0], fg[2]) - np.maximum(fg[1], fg[3])
    raise ValueError(f"artery/vein evidence needs 2 or 4 foreground channels, got {fg.shape[0]}")


def refine_labels(labels: np.ndarray, evidence: np.ndarray, spacing: Sequence[float], five_class: bool,
                  options: TopologyOptions | None = None, image: np.ndarray | None = None) -> np.ndarray:
    """Refine 3-class labels (1 artery, 2 vein) or 5-class labels (1 LA, 2 LV, 3 RA, 4 RV: artery/vein from the
    refinement, left/right kept from the network) with the artery − vein `evidence` (+ the CT in HU); mm."""
    if not five_class:
        return refine_topology(labels, evidence, spacing, options, image)
    av = np.where(labels > 0, (labels.astype(np.int16) - 1) % 2 + 1, 0).astype(labels.dtype)
    refined = refine_topology(av, evidence, spacing, options, image)
    return np.where(labels >= 3, refined + 2 * (refined > 0), refined).astype(labels.dtype)
