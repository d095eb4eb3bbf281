"""Calm water, found by what it mirrors: below a shoreline, the land and sky above it appear upside down, a little
darker and softer.

For every candidate shoreline row (a horizontal mirror axis below the sky line), each pixel below the axis is compared
with its mirror image above it by normalised cross-correlation over a small window; the axis where most pixels match
is the shoreline. A facade's rows of windows or a colonnade can mirror each other too, but as sharply as they are:
a reflection is blurred by the water's ripples, so the matches below the axis must carry clearly less fine texture
(relative to their brightness) than their partners above. The matched pixels seed the water, which GrabCut (colour models and edges) then grows
over the whole calm surface below the shoreline, never into the sky, the land above the axis or foliage.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mom_nerfstudio.synthesis.segmentation.features import vegetation_likeness

MATCH_WINDOW = 7
"""Side (pixels of the decision copy) of the window a pixel and its mirror image are correlated over."""

MATCH_CORRELATION = 0.6
"""A pixel matches its mirror image when their windows correlate by at least this."""

MIN_CONTRAST = 1e-4
"""Windows flatter than this variance (intensity in [0, 1]) above the axis cannot be matched (a plain sky)."""

MIN_MATCHED_ROWS = 10.0
"""An axis is a shoreline when its matched pixels add up to at least this many full rows of the image."""

MAX_TEXTURE_RATIO = 0.8
"""A reflection carries at most this share of its source's fine texture, relative to the local brightness (water
also darkens what it reflects), as the median over the matched pixels."""

SEED_DENSITY = 0.35
"""Matched pixels seed the water where at least this share of their 9 x 9 neighbourhood matches."""

GRABCUT_ITERATIONS = 4


@dataclass(frozen=True)
class Shoreline:
    """The mirror axis of calm water and the pixels that match their mirror images across it."""

    row: int
    matched: np.ndarray
    """bool HxW (the decision copy): pixels below `row` that match their mirror image."""
    matched_rows: float
    """How many full rows of the image the matched pixels add up to."""


def find_shoreline(small: np.ndarray, sky: np.ndarray, texture: np.ndarray) -> Shoreline | None:
    """The shoreline of calm water reflecting the scene, or None (decision copy `small`, its `sky` and fine
    `texture`)."""
    height, width = sky.shape
    grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (0, 0), 0.7)
    columns_with_sky = sky.any(axis=0)
    lowest_sky = np.where(columns_with_sky, height - 1 - np.argmax(sky[::-1], axis=0), 0)
    first_row = max(4, int(np.percentile(lowest_sky, 20)) + 2)
    best: Shoreline | None = None
    for row in range(first_row, height - 6):
        matched = _mirror_matches(grey, row)
        rows = matched.sum() / width
        if rows >= MIN_MATCHED_ROWS and (best is None or rows > best.matched_rows):
            best = Shoreline(row, matched, rows)
    if best is None or _relative_texture_ratio(texture, grey, best) > MAX_TEXTURE_RATIO:
        return None
    return best


def calm_water(small: np.ndarray, sky: np.ndarray, shoreline: Shoreline) -> np.ndarray:
    """The calm surface below `shoreline`, grown by GrabCut from the matched pixels (bool, decision copy)."""
    height, width = sky.shape
    density = cv2.blur(shoreline.matched.astype(np.float32), (9, 9))
    seeds = shoreline.matched & (density > SEED_DENSITY)
    if seeds.sum() < 30:
        return np.zeros((height, width), dtype=bool)
    labels = np.full((height, width), cv2.GC_PR_BGD, dtype=np.uint8)
    never = sky | (vegetation_likeness(small) > 0.5)
    never[: shoreline.row + 1] = True
    near_seeds = cv2.dilate(seeds.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    core = cv2.erode(seeds.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    labels[near_seeds] = cv2.GC_PR_FGD
    labels[core] = cv2.GC_FGD
    labels[never] = cv2.GC_BGD
    if not np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).any():
        return np.zeros((height, width), dtype=bool)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = np.ascontiguousarray((np.clip(small, 0, 1) * 255).astype(np.uint8)[..., ::-1])
    cv2.grabCut(bgr, labels, None, background, foreground, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD))


def _mirror_matches(grey: np.ndarray, row: int) -> np.ndarray:
    """bool HxW: the pixels below `row` whose window correlates with its mirror image above `row`."""
    height, width = grey.shape
    reach = min(row, height - 1 - row)
    below = grey[row + 1 : row + 1 + reach]
    above = grey[row - reach : row][::-1]

    def box(image: np.ndarray) -> np.ndarray:
        return cv2.blur(image, (MATCH_WINDOW, MATCH_WINDOW))

    mean_below, mean_above = box(below), box(above)
    variance_below = box(below * below) - mean_below**2
    variance_above = box(above * above) - mean_above**2
    covariance = box(below * above) - mean_below * mean_above
    correlation = covariance / np.sqrt(np.maximum(variance_below * variance_above, 1e-10))
    matched = np.zeros((height, width), dtype=bool)
    matched[row + 1 : row + 1 + reach] = (correlation > MATCH_CORRELATION) & (variance_above >= MIN_CONTRAST)
    return matched


def _relative_texture_ratio(texture: np.ndarray, grey: np.ndarray, shoreline: Shoreline) -> float:
    """Median fine texture of the matched pixels over that of their mirror images, each relative to its local
    brightness."""
    relative = texture / (cv2.GaussianBlur(grey, (0, 0), 3) + 0.05)
    rows, columns = np.nonzero(shoreline.matched)
    partners = 2 * shoreline.row - rows
    return float(np.median(relative[rows, columns]) / max(float(np.median(relative[partners, columns])), 1e-6))
