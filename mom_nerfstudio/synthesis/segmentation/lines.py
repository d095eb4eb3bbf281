"""Long straight edges (LSD line segments): what buildings, masts and other structure draw, and clouds and ripples
never do."""

from __future__ import annotations

import cv2
import numpy as np


def straight_edges(rgb: np.ndarray, min_length: float, max_tilt: float, half_width: int = 1) -> np.ndarray:
    """bool HxW: the pixels within `half_width` of a straight edge at least `min_length` (a share of the long side)
    long and at most `max_tilt` degrees away from vertical."""
    grey = (cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) * 255).astype(np.uint8)
    segments = cv2.createLineSegmentDetector().detect(grey)[0]
    lines = np.zeros(grey.shape, dtype=np.uint8)
    minimum = min_length * max(grey.shape)
    steepness = np.tan(np.radians(max_tilt))
    # OpenCV returns the segments as Nx1x4 or Nx4 depending on its version.
    for x0, y0, x1, y1 in segments.reshape(-1, 4) if segments is not None else ():
        if np.hypot(x1 - x0, y1 - y0) >= minimum and abs(x1 - x0) <= steepness * abs(y1 - y0):
            cv2.line(lines, (round(x0), round(y0)), (round(x1), round(y1)), 1, 2 * half_width)
    return lines.astype(bool)
