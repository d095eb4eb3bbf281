"""The labelme annotation a user would draw on a synthetic landscape, made from its ground truth.

Motion polygons trace the true moving regions (contours of the mask, simplified); hint arrows start at points
spread over those regions and show the true image-space flow there: an arrow of length L px stands for a motion
of L / hint_frames px per frame, as `dataparsers.motion_input` reads it.
"""

from __future__ import annotations

import cv2
import numpy as np

POLYGON_TOLERANCE = 1.0
"""Largest distance (pixels) between a motion polygon and the region's true outline."""

MIN_REGION_FRACTION = 5e-4
"""Regions smaller than this fraction of the image get no polygon (a user would not draw them)."""

HINT_MARGIN = 3.0
"""Hints start at least this many pixels inside their region."""

INTERIOR_FRACTION = 0.3
"""Hints start at least this fraction of the region's largest inner distance away from its edges."""


def motion_polygons(mask: np.ndarray) -> list[np.ndarray]:
    """Simplified outlines (K_i, 2) float (x, y) of the regions of a bool mask, outermost contours only.

    Outline points on the image's border are pushed half a pixel outwards, onto the border itself, so that the
    polygon covers the border pixels it encloses.
    """
    height, width = mask.shape
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    polygons = []
    for contour in contours:
        if cv2.contourArea(contour) < MIN_REGION_FRACTION * height * width:
            continue
        simplified = cv2.approxPolyDP(contour, POLYGON_TOLERANCE, closed=True).reshape(-1, 2).astype(np.float64)
        if len(simplified) < 3:
            continue
        for axis, last in ((0, width - 1), (1, height - 1)):
            simplified[simplified[:, axis] == 0, axis] = -0.5
            simplified[simplified[:, axis] == last, axis] = last + 0.5
        polygons.append(simplified)
    return polygons


def spread_points(mask: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `count` pixels (x, y) int well inside `mask`, far from each other, as a user would place hints.

    Candidates lie at least HINT_MARGIN pixels, and at least INTERIOR_FRACTION of the region's largest inner
    distance, from its outline and from the image's border; farthest-point sampling from a random first one.
    """
    padded = np.pad(mask.astype(np.uint8), 1)  # the image's border counts as the region's edge
    inner_distance = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    if count <= 0 or inner_distance.max() < HINT_MARGIN:
        return np.zeros((0, 2), dtype=np.int64)
    rows, cols = np.nonzero(inner_distance >= max(HINT_MARGIN, INTERIOR_FRACTION * inner_distance.max()))
    candidates = np.stack([cols, rows], axis=1)
    chosen = [int(rng.integers(len(candidates)))]
    nearest = np.linalg.norm(candidates - candidates[chosen[0]], axis=1)
    while len(chosen) < min(count, len(candidates)):
        chosen.append(int(np.argmax(nearest)))
        nearest = np.minimum(nearest, np.linalg.norm(candidates - candidates[chosen[-1]], axis=1))
    return candidates[chosen]


def labelme_document(
    image_name: str,
    regions: dict[str, np.ndarray],
    hint_counts: dict[str, int],
    flow: np.ndarray,
    rng: np.random.Generator,
    hint_frames: float = 50.0,
) -> dict:
    """A labelme annotation: a polygon labelled `motion_<region>` around each region of `regions` (bool HxW
    masks by name), and `hint_counts[region]` lines labelled `hint` inside it drawn from the true `flow` (HxWx2,
    px/frame): start at a pixel centre, end at start + hint_frames * flow there."""
    height, width = flow.shape[:2]
    shapes = []
    for region, mask in regions.items():
        for polygon in motion_polygons(mask):
            shapes.append(_shape(f"motion_{region}", polygon.tolist(), "polygon"))
    for region, mask in regions.items():
        for x, y in spread_points(mask, hint_counts.get(region, 0), rng):
            end = (float(x + hint_frames * flow[y, x, 0]), float(y + hint_frames * flow[y, x, 1]))
            shapes.append(_shape("hint", [[float(x), float(y)], list(end)], "line"))
    return {
        "version": "5.4.1",
        "flags": {},
        "shapes": shapes,
        "imagePath": image_name,
        "imageData": None,
        "imageHeight": int(height),
        "imageWidth": int(width),
    }


def _shape(label: str, points: list, shape_type: str) -> dict:
    return {"label": label, "points": points, "group_id": None, "description": "", "shape_type": shape_type,
            "flags": {}}
