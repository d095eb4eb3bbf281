"""Shape operations on bool masks that the detectors share."""

from __future__ import annotations

import cv2
import numpy as np


def opened(mask: np.ndarray, size: int) -> np.ndarray:
    """Morphological opening with a disc of diameter `size`: removes what is thinner than it."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disc).astype(bool)


def components_touching_top(mask: np.ndarray) -> np.ndarray:
    """The 8-connected components of `mask` that reach the top row."""
    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    top_labels = np.unique(labels[0])
    return np.isin(labels, top_labels[top_labels != 0])


def drop_small_components(mask: np.ndarray, min_fraction: float) -> np.ndarray:
    """`mask` without its 8-connected components smaller than `min_fraction` of the image."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    large = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= min_fraction * mask.size)
    return np.isin(labels, large[large != 0])


def below_lowest(mask: np.ndarray) -> np.ndarray:
    """True below the lowest True pixel of each column of `mask` (everywhere in columns without one)."""
    height = mask.shape[0]
    lowest = np.where(mask.any(axis=0), height - 1 - np.argmax(mask[::-1], axis=0), -1)
    return np.arange(height)[:, None] > lowest[None, :]


def near_boundary(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels within `radius` of the other side of the mask's boundary, on either side."""
    inside = mask.astype(np.uint8)
    distance_in = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    distance_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    return np.where(mask, distance_in, distance_out) <= radius


def snapped_to_edges(mask: np.ndarray, rgb: np.ndarray, radius: int) -> np.ndarray:
    """`mask` (found on a smaller copy, scaled to `rgb`'s size) with its boundary snapped to the photo's edges: in a
    band of `radius` pixels around it, each pixel goes to whichever side's local mean colour it is nearer to."""
    band = near_boundary(mask, radius)
    window = (4 * radius + 1, 4 * radius + 1)
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)

    def local_mean(region: np.ndarray) -> np.ndarray:
        weight = cv2.blur(region.astype(np.float32), window)[..., None]
        return cv2.blur(rgb * region[..., None], window) / np.maximum(weight, 1e-6)

    to_inside = np.sum((rgb - local_mean(mask & ~band)) ** 2, axis=2)
    to_outside = np.sum((rgb - local_mean(~mask & ~band)) ** 2, axis=2)
    return np.where(band, to_inside < to_outside, mask)
