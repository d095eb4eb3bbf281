"""Hole filling that keeps the texture of what was seen: a smooth colour base plus the seen detail, mirrored.

The holes of a synthesised view are mostly bands beyond the photo's frame. Diffusion-style inpainting (Telea,
Navier-Stokes) continues the colours of the band's edge along straight lines: smooth, streaked smears that a
camera path shows at the frame's borders. Here a hole is filled in two layers:

- the base: a push-pull fill (the seen colours averaged down an image pyramid, weighted by how much of each
  pixel was seen, then pulled back up into the holes), which blends the surrounding colours smoothly and
  isotropically, with no streaks;
- the detail: the high frequencies of the seen content, mirrored across the hole's edge (each hole pixel takes
  the pixel reflected through its nearest seen pixel), so the fill has the texture, contrast and orientation
  of the content beside it. Beyond `REFLECTION_DEPTH` of the long side the mirror image folds back (a deep hole
  repeats the band next to its edge), so it never brings in far-away structure (the horizon into a ground band).

Only the detail is mirrored: the mirrored structure itself (a river bank reflected into a zig-zag) would be
worse than a smooth guess, while its fine texture reads as a continuation of the ground, water or sky.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

REFLECTION_DEPTH = 0.08
"""Depth of the band mirrored before the mirror image folds back, as a fraction of the image's long side."""

DETAIL_SIGMA = 2.0
"""Gaussian scale (pixels) separating the mirrored detail from its own low frequencies, at 512 px; it scales with
the image's long side."""

_DETAIL_REFERENCE_SIDE = 512
_SATURATED_WEIGHT = 4.0
"""A pyramid pixel counts as fully seen once a quarter of the finer pixels beneath it were seen."""


def reflect_fill(rgb: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """`rgb` (float32 HxWx3 in [0, 1]) with `holes` (bool HxW, not all True) filled: smooth base plus mirrored detail.

    Pixels outside the holes are returned unchanged.
    """
    base = push_pull_fill(rgb, holes)
    mirrored = mirror_fill(rgb, holes)
    sigma = DETAIL_SIGMA * max(holes.shape) / _DETAIL_REFERENCE_SIDE
    detail = mirrored - cv2.GaussianBlur(mirrored, (0, 0), sigma)
    filled = np.clip(base + detail, 0.0, 1.0)
    return np.where(holes[..., None], filled, rgb).astype(np.float32)


def push_pull_fill(rgb: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """A smooth fill of `holes`: seen colours averaged down a pyramid with their coverage, then pulled back up."""
    weight = (~holes).astype(np.float32)
    levels = [(np.asarray(rgb, np.float32) * weight[..., None], weight)]
    while min(levels[-1][1].shape) > 2:
        premultiplied, level_weight = levels[-1]
        summed_colour = cv2.pyrDown(premultiplied)
        summed_weight = cv2.pyrDown(level_weight)
        colour = summed_colour / np.maximum(summed_weight, 1e-6)[..., None]
        coarse_weight = np.clip(summed_weight * _SATURATED_WEIGHT, 0.0, 1.0)
        levels.append((colour * coarse_weight[..., None], coarse_weight))
    filled = levels[-1][0] / np.maximum(levels[-1][1], 1e-6)[..., None]
    for premultiplied, level_weight in reversed(levels[:-1]):
        height, width = level_weight.shape
        coarse = cv2.pyrUp(filled, dstsize=(width, height)).reshape(height, width, 3)
        filled = premultiplied + coarse * (1.0 - level_weight[..., None])
    return np.where(holes[..., None], filled, rgb).astype(np.float32)


def mirror_fill(rgb: np.ndarray, holes: np.ndarray, depth_fraction: float = REFLECTION_DEPTH) -> np.ndarray:
    """`holes` filled with the seen content mirrored across the hole's edge.

    A hole pixel at distance d from its nearest seen pixel p, in direction u, takes the colour found at
    p - fold(d) u, where fold(d) rises with d up to the band depth B (`depth_fraction` of the long side), falls back
    to 0 at 2B, and so on: the band next to the edge is its mirror image, the band beyond is the mirror image of
    that, and a deep hole repeats the content near its edge. Where that point falls outside the image or in a
    hole (the seen region is thinner than B there), the fold is halved until it lands on a seen pixel; at a fold of
    0 the pixel takes p's colour.
    """
    height, width = holes.shape
    band = max(1.0, depth_fraction * max(height, width))
    distance, (nearest_rows, nearest_columns) = ndimage.distance_transform_edt(holes, return_indices=True)
    rows, columns = np.nonzero(holes)
    near_row = nearest_rows[rows, columns].astype(np.float64)
    near_column = nearest_columns[rows, columns].astype(np.float64)
    depth = distance[rows, columns]
    # Unit direction from the nearest seen pixel into the hole.
    step_row = (rows - near_row) / depth
    step_column = (columns - near_column) / depth
    source_rows = near_row.astype(np.int64)
    source_columns = near_column.astype(np.int64)
    pending = np.ones(len(rows), bool)
    while pending.any() and band >= 1.0:
        phase = np.mod(depth[pending], 2.0 * band)
        fold = np.minimum(phase, 2.0 * band - phase)
        candidate_rows = np.rint(near_row[pending] - fold * step_row[pending]).astype(np.int64)
        candidate_columns = np.rint(near_column[pending] - fold * step_column[pending]).astype(np.int64)
        inside = (
            (candidate_rows >= 0) & (candidate_rows < height) & (candidate_columns >= 0) & (candidate_columns < width)
        )
        seen = np.zeros_like(inside)
        seen[inside] = ~holes[candidate_rows[inside], candidate_columns[inside]]
        indices = np.flatnonzero(pending)[seen]
        source_rows[indices] = candidate_rows[seen]
        source_columns[indices] = candidate_columns[seen]
        pending[indices] = False
        band /= 2.0
    filled = np.asarray(rgb, np.float32).copy()
    filled[rows, columns] = filled[source_rows, source_columns]
    return filled
