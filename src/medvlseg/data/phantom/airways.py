"""Volume-filling tree growth (Kitaoka/Tawhai style) used for the bronchovascular tree and the veins.

Hand-written: no library grows a space-filling branching tree in an arbitrary 3D domain. Each branch owns a set
of lung sample points; it splits them by a plane through their centroid that contains the parent direction,
each child points at the centroid of its half, is `length_fraction` of the way there, bends ≤ `max_angle`,
and takes a radius from Murray's law with the point fraction as its share of the flow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Tree:
    """A rooted tree of tubes: node positions (N, 3) mm, parent index (-1 = root), radius (mm) of the segment
    that ends at each node, generation (0 = root node), and the number of lung points each node supplies."""

    points: np.ndarray
    parent: np.ndarray
    radius: np.ndarray
    generation: np.ndarray
    supply: np.ndarray


@dataclass
class GrowthParams:
    """Branching statistics shared by arteries and veins (lengths in mm)."""

    gamma: float = 2.8  # Murray exponent
    stop_radius: float = 0.5  # children thinner than this are not grown
    min_length: float = 2.0  # children shorter than this are not grown
    length_fraction: float = 0.4  # child length / distance to the centroid of its points
    max_angle_deg: float = 60.0  # largest angle between parent and child direction
    min_points: int = 2  # a branch needs at least this many points per child to split
    max_nodes: int = 40000  # safety cap


def _unit(v: np.ndarray) -> np.ndarray:
    """v / |v| (returns v for a zero vector)."""
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else v


def _limit_angle(direction: np.ndarray, parent_dir: np.ndarray, max_angle: float) -> np.ndarray:
    """Rotate unit `direction` towards unit `parent_dir` until their angle is ≤ max_angle (radians)."""
    cos = float(np.clip(direction @ parent_dir, -1.0, 1.0))
    if np.arccos(cos) <= max_angle:
        return direction
    ortho = direction - cos * parent_dir
    ortho = _unit(ortho) if np.linalg.norm(ortho) > 1e-9 else _unit(np.cross(parent_dir, [0.3, 0.5, 0.8]))
    return np.cos(max_angle) * parent_dir + np.sin(max_angle) * ortho


def _split(cloud: np.ndarray, parent_dir: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split points (M, 3) by a plane containing parent_dir; the smaller half holds 20–50 % of them."""
    q = cloud - cloud.mean(axis=0)
    q_perp = q - np.outer(q @ parent_dir, parent_dir)  # (M, 3) components across the parent axis
    _, _, vt = np.linalg.svd(q_perp, full_matrices=False)
    proj = q_perp @ vt[0]
    frac = rng.uniform(0.25, 0.5)
    thr = np.quantile(proj, frac)
    return proj <= thr, proj > thr


def grow_tree(start: np.ndarray, end: np.ndarray, radius: float, cloud: np.ndarray,
              inside: Callable[[np.ndarray], np.ndarray], rng: np.random.Generator,
              params: GrowthParams) -> Tree:
    """Grow a tree from the root segment start→end (mm, `radius` mm) into the sample points `cloud` (M, 3)."""
    pts: list[np.ndarray] = [np.asarray(start, float), np.asarray(end, float)]
    parent, rad, gen, supply = [-1, 0], [radius, radius], [0, 1], [len(cloud), len(cloud)]
    stack: list[tuple[int, np.ndarray]] = [(1, np.arange(len(cloud)))]
    max_angle = np.deg2rad(params.max_angle_deg)
    while stack and len(pts) < params.max_nodes:
        node, idx = stack.pop()
        if len(idx) < 2 * params.min_points:
            continue
        p = pts[node]
        pdir = _unit(p - pts[parent[node]])
        halves = _split(cloud[idx], pdir, rng)
        for half in halves:
            sub = idx[half]
            r_child = rad[node] * (len(sub) / len(idx)) ** (1.0 / params.gamma)
            if r_child < params.stop_radius or len(sub) < params.min_points:
                continue
            target = cloud[sub].mean(axis=0)
            direction = _limit_angle(_unit(target - p), pdir, max_angle)
            length = params.length_fraction * float(np.linalg.norm(target - p))
            length = min(length, rng.uniform(1.5, 4.5) * 2.0 * r_child * 2.5)  # L/D ~ 3 ± 1.5 (x2.5 slack)
            end_pt = p + length * direction
            for _ in range(3):
                if bool(inside(end_pt[None])[0]):
                    break
                length *= 0.5
                end_pt = p + length * direction
            if length < params.min_length:
                continue
            pts.append(end_pt)
            parent.append(node)
            rad.append(r_child)
            gen.append(gen[node] + 1)
            supply.append(len(sub))
            stack.append((len(pts) - 1, sub))
    return Tree(points=np.array(pts), parent=np.array(parent), radius=np.array(rad),
                generation=np.array(gen), supply=np.array(supply))
