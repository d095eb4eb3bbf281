"""What every point of the photo carries into the synthesised views, and when a view counts a pixel as seen."""

from __future__ import annotations

import cv2
import numpy as np

RGB = slice(0, 3)
"""The point's colour."""
MOVING = 3
"""The motion mask's value at the point's pixel (above 0.5: the point moves)."""
OPAQUE = 4
"""The opacity of the point's pixel (below 0.5: a transparent pixel of a cut-out, never trusted)."""
NUM_FEATURES = 5

COVERAGE_THRESHOLD = 0.5
"""A pixel whose splat weight reaches this fraction of a full pixel counts as seen."""

MOTION_FRINGE_FRACTION = 1 / 512
"""Width, as a fraction of the image's long side (2 pixels at 1024), of the motion region's border with still
content whose pixels stay still. Their colour mixes both sides (the rim of a ridge against the sky, a bank's edge in
the water), and carried along with the moving content they drag a halo of the still side across it. At the image's
own border the region keeps every pixel."""

MIN_KEPT_SHARE = 0.5
"""A part of the motion region keeps its fringe when removing it would leave less than this share of the part: a
thin stream must not stop moving."""


def moving_pixels(motion_mask: np.ndarray) -> np.ndarray:
    """[H, W] bool: the pixels of `motion_mask` (bool) whose points move, without its fringe against still content."""
    fringe = round(MOTION_FRINGE_FRACTION * max(motion_mask.shape))
    if fringe == 0 or not motion_mask.any():
        return motion_mask.astype(bool)
    mask = motion_mask.astype(np.uint8)
    kernel = np.ones((2 * fringe + 1, 2 * fringe + 1), np.uint8)
    inner = cv2.erode(mask, kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    count, parts = cv2.connectedComponents(mask, connectivity=8)
    kept_share = np.bincount(parts[inner], minlength=count) / np.maximum(
        np.bincount(parts.reshape(-1), minlength=count), 1
    )
    keeps_fringe = kept_share < MIN_KEPT_SHARE
    return inner | (mask.astype(bool) & keeps_fringe[parts])
