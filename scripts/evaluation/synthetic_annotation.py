"""The labelme annotation a user would draw on a synthetic landscape, made from its ground truth.

A user draws a few coarse polygons around the water and the sky, not a traced mask, and a handful of hint arrows
roughly along the motion they see, on the photo at its full size (mom4d resizes the annotation with the photo). So
the annotation is written in the frame of the photo at ANNOTATION_LONG_SIDE pixels, whatever the working size:
- each region's few largest outlines are simplified to within POLYGON_TOLERANCE of the true outline (a polygon of
  a few dozen clicks), vertices near the image's border are snapped onto it, and the others are moved by a random
  error of POLYGON_JITTER (a hand's imprecision);
- each moving region gets a few hint arrows (HINT_COUNT) spread over it, each along the true image flow at its
  start turned by up to HINT_ANGLE_ERROR, its length off by up to a factor HINT_LENGTH_ERROR and rounded to
  HINT_LENGTH_STEP pixels, its ends at whole pixels (where a user clicks). An arrow of length L stands for a motion
  of L / hint_frames pixels per frame, as `mom_nerfstudio.synthesis.motion.sources` reads it.
Lengths are fractions of the annotation's long side where they say so.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

ANNOTATION_LONG_SIDE = 1024
"""Long side (pixels) of the photo as the user annotates it."""

POLYGON_TOLERANCE = 0.01
"""Largest distance between a simplified outline and the true one, as a fraction of the long side."""

POLYGON_JITTER = 0.004
"""Standard deviation of the random error of each polygon vertex (per axis), as a fraction of the long side."""

BORDER_SNAP = 0.02
"""Vertices this close to the image's border (fraction of the long side) are put on the border, as users do."""

MAX_POLYGONS_PER_REGION = 3
"""A user outlines the few largest parts of a region, not every sliver."""

MIN_REGION_FRACTION = 2e-3
"""Parts smaller than this fraction of the image get no polygon (a user would not draw them)."""

HINT_COUNT = (3, 8)
"""Fewest and most hint arrows per moving region."""

HINT_ANGLE_ERROR = math.radians(15.0)
"""Largest error of an arrow's direction."""

HINT_LENGTH_ERROR = 1.25
"""An arrow's length is the true one times a factor between 1 / HINT_LENGTH_ERROR and HINT_LENGTH_ERROR."""

HINT_LENGTH_STEP = 5.0
"""Arrow lengths are rounded to a multiple of this many pixels (of the annotated photo), at least one step."""

HINT_MARGIN = 3.0
"""Hints start at least this many (working) pixels inside their region."""

INTERIOR_FRACTION = 0.3
"""Hints start at least this fraction of the region's largest inner distance away from its edges."""


def annotation_size(width: int, height: int) -> tuple[int, int]:
    """Width and height of the annotated photo: the working image's aspect at ANNOTATION_LONG_SIDE pixels."""
    scale = ANNOTATION_LONG_SIDE / max(width, height)
    return round(width * scale), round(height * scale)


def coarse_polygons(mask: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> list[np.ndarray]:
    """The polygons (K_i, 2) float (x, y) a user would draw around the regions of a bool mask, in the pixels of the
    annotated photo of `size` (width, height), pixel centres at whole coordinates.

    The MAX_POLYGONS_PER_REGION largest outer outlines of at least MIN_REGION_FRACTION of the image, simplified to
    within POLYGON_TOLERANCE, vertices near the border snapped onto it and the others jittered by POLYGON_JITTER.
    """
    height, width = mask.shape
    scale = np.array([size[0] / width, size[1] / height])
    long_side = max(size)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contours = sorted(contours, key=cv2.contourArea, reverse=True)[:MAX_POLYGONS_PER_REGION]
    polygons = []
    for contour in contours:
        if cv2.contourArea(contour) < MIN_REGION_FRACTION * height * width:
            continue
        outline = ((contour.reshape(-1, 2) + 0.5) * scale - 0.5).astype(np.float32)
        simplified = cv2.approxPolyDP(outline[:, None], POLYGON_TOLERANCE * long_side, closed=True).reshape(-1, 2)
        if len(simplified) < 3:
            continue
        polygons.append(_hand_drawn(simplified.astype(np.float64), size, rng))
    return polygons


def _hand_drawn(vertices: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Vertices near the border put on it (the image's edge, half a pixel beyond the outer pixel centres), the
    others moved by a random error."""
    long_side = max(size)
    low, high = -0.5, np.array(size, dtype=np.float64) - 0.5
    near_low = vertices - low < BORDER_SNAP * long_side
    near_high = high - vertices < BORDER_SNAP * long_side
    on_border = (near_low | near_high).any(axis=1)
    jittered = vertices + rng.normal(0.0, POLYGON_JITTER * long_side, vertices.shape) * ~on_border[:, None]
    jittered = np.where(near_low, low, np.where(near_high, high, jittered))
    return np.clip(jittered, low, high)


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


def rough_hints(
    mask: np.ndarray,
    flow: np.ndarray,
    count: int,
    size: tuple[int, int],
    hint_frames: float,
    rng: np.random.Generator,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to `count` hint arrows (start, end) in the pixels of the annotated photo of `size` (width, height), drawn
    roughly along the true `flow` (HxWx2, working px/frame) at points spread over `mask` (bool HxW, working size)."""
    height, width = mask.shape
    scale = np.array([size[0] / width, size[1] / height])
    arrows = []
    for x, y in spread_points(mask, count, rng):
        velocity = flow[y, x] * scale  # px/frame of the annotated photo
        speed = float(np.linalg.norm(velocity))
        if speed == 0.0:
            continue
        angle = math.atan2(velocity[1], velocity[0]) + rng.uniform(-HINT_ANGLE_ERROR, HINT_ANGLE_ERROR)
        length = hint_frames * speed * HINT_LENGTH_ERROR ** rng.uniform(-1.0, 1.0)
        length = HINT_LENGTH_STEP * max(1.0, round(length / HINT_LENGTH_STEP))
        start = np.round((np.array([x, y]) + 0.5) * scale - 0.5)
        end = np.round(start + length * np.array([math.cos(angle), math.sin(angle)]))
        arrows.append((start, end))
    return arrows


def labelme_document(
    image_name: str,
    regions: dict[str, np.ndarray],
    hint_counts: dict[str, int],
    flow: np.ndarray,
    rng: np.random.Generator,
    hint_frames: float = 50.0,
) -> dict:
    """A labelme annotation as a user would draw it on the photo at ANNOTATION_LONG_SIDE pixels: coarse polygons
    labelled `motion_<region>` around each region of `regions` (bool HxW masks by name, working size), and
    `hint_counts[region]` rough lines labelled `hint` inside it along the true `flow` (HxWx2, working px/frame)."""
    height, width = flow.shape[:2]
    size = annotation_size(width, height)
    shapes = []
    for region, mask in regions.items():
        for polygon in coarse_polygons(mask, size, rng):
            shapes.append(_shape(f"motion_{region}", polygon.tolist(), "polygon"))
    for region, mask in regions.items():
        for start, end in rough_hints(mask, flow, hint_counts.get(region, 0), size, hint_frames, rng):
            shapes.append(_shape("hint", [start.tolist(), end.tolist()], "line"))
    return {
        "version": "5.4.1",
        "flags": {},
        "shapes": shapes,
        "imagePath": image_name,
        "imageData": None,
        "imageHeight": int(size[1]),
        "imageWidth": int(size[0]),
    }


def _shape(label: str, points: list, shape_type: str) -> dict:
    return {
        "label": label,
        "points": points,
        "group_id": None,
        "description": "",
        "shape_type": shape_type,
        "flags": {},
    }
