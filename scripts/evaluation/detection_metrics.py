"""Metrics of what the synthesis reads off the photo, against ground truth: masks (sky, motion) and depth.

Masks are bool HxW; depth maps float HxW in the project's convention (`mom_nerfstudio.synthesis.depth.convention`: z-depth whose
1st percentile over the non-sky pixels is 1, the sky at SKY_DEPTH). Scores are plain Python floats.

Depth is scored on the pixels that are solid in the truth. Both maps are already scaled by the convention (the
nearest scene points at 1), and that scale is what the rest of the pipeline uses (camera paths and view orbits
are stated in it), so depth is compared as it is, with no further alignment.
"""

from __future__ import annotations

import cv2
import numpy as np

from mom_nerfstudio.synthesis.depth.convention import SKY_DEPTH

RELIEF_SCALE = 0.01
"""Standard deviation (fraction of the image's long side) of the blur that separates fine relief from shape."""

COPY_WINDOW = 0.05
"""Size (fraction of the long side) of the windows in which depth relief is compared with the image's texture."""

SMOOTH_RELIEF = 0.01
"""Pixels whose true fine relief is below this are on a smooth surface (their depth bends by less than 1 %)."""


def mask_iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two bool masks; 1.0 when both are empty (nothing to find, nothing found)."""
    predicted, truth = _masks(predicted, truth)
    union = np.count_nonzero(predicted | truth)
    return 1.0 if union == 0 else np.count_nonzero(predicted & truth) / union


def false_positive_share(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Share of the pixels that are False in `truth` (static) that `predicted` marks True (moving)."""
    predicted, truth = _masks(predicted, truth)
    negatives = np.count_nonzero(~truth)
    return 0.0 if negatives == 0 else np.count_nonzero(predicted & ~truth) / negatives


def depth_abs_rel(estimated: np.ndarray, truth: np.ndarray, solid: np.ndarray) -> float:
    """Mean absolute relative error |estimated - truth| / truth over the `solid` pixels (not sky in the truth)."""
    estimated, truth = _depth_pair(estimated, truth, solid)
    return float(np.mean(np.abs(estimated[solid] - truth[solid]) / truth[solid]))


def fine_relief(depth: np.ndarray, valid: np.ndarray, scale: float = RELIEF_SCALE) -> np.ndarray:
    """Relative fine relief of a depth map: how far each pixel's disparity stands out of its blurred surroundings,
    as a fraction of its own disparity (positive: nearer than its neighbourhood, a ridge; negative: a hollow).

    A plane has a disparity linear in the image coordinates, which the blur leaves unchanged: its relief is 0.
    Only `valid` pixels enter the blur; the result is meaningful where the whole blur window is valid.
    """
    sigma = max(1.0, scale * max(depth.shape))
    disparity = np.where(valid, 1.0 / np.maximum(depth, 1e-6), 0.0).astype(np.float64)
    weight = cv2.GaussianBlur(valid.astype(np.float64), (0, 0), sigma)
    surroundings = cv2.GaussianBlur(disparity, (0, 0), sigma) / np.maximum(weight, 1e-12)
    return np.where(valid, 1.0 - surroundings * depth, 0.0)


def texture_copy(
    estimated: np.ndarray, truth: np.ndarray, solid: np.ndarray, rgb: np.ndarray, scale: float = RELIEF_SCALE
) -> float:
    """How much depth relief follows the image's texture: the RMS of the part of the relief error (estimated minus
    true fine relief) that the image's own fine detail explains, over smooth true surfaces.

    In windows of COPY_WINDOW of the long side, the relief error is regressed on the image's fine detail (grey
    level minus its blur at the relief's scale, so both see the same band of sizes); the fitted part is what was
    copied from the texture (a bright plank as a ridge, a dark stain as a hollow), whatever its sign in each
    window. Errors that do not follow the texture (a misplaced horizon, a missed depth edge: AbsRel sees those)
    barely count. Measured on the pixels solid in both maps, away from their borders, whose true relief is below
    SMOOTH_RELIEF. Units: relative depth, 0.01 is a 1 % ripple.
    """
    estimated, truth = _depth_pair(estimated, truth, solid)
    if rgb.shape[:2] != truth.shape:
        raise ValueError(f"image of shape {rgb.shape[:2]} for depth maps of shape {truth.shape}")
    valid = solid & (estimated < SKY_DEPTH)
    sigma = max(1.0, scale * max(truth.shape))
    inside = cv2.erode(valid.astype(np.uint8), np.ones((2 * round(2 * sigma) + 1,) * 2, np.uint8)).astype(bool)
    true_relief = fine_relief(truth, valid, scale)
    smooth = inside & (np.abs(true_relief) < SMOOTH_RELIEF)
    if not smooth.any():
        return float("nan")
    error = np.where(smooth, fine_relief(estimated, valid, scale) - true_relief, 0.0)
    grey = cv2.cvtColor(np.asarray(rgb, dtype=np.float32), cv2.COLOR_RGB2GRAY).astype(np.float64)
    detail = np.where(smooth, grey - cv2.GaussianBlur(grey, (0, 0), sigma), 0.0)
    window = (2 * round(COPY_WINDOW * max(truth.shape) / 2) + 1,) * 2
    count = np.maximum(cv2.blur(smooth.astype(np.float64), window), 1e-12)

    def mean(values: np.ndarray) -> np.ndarray:
        return cv2.blur(values, window) / count

    mean_detail, mean_error = mean(detail), mean(error)
    variance = mean(detail * detail) - mean_detail**2
    slope = (mean(detail * error) - mean_detail * mean_error) / (variance + 1e-8)
    copied = slope * (detail - mean_detail)
    return float(np.sqrt(np.mean(copied[smooth] ** 2)))


def _masks(predicted: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predicted, truth = np.asarray(predicted, dtype=bool), np.asarray(truth, dtype=bool)
    if predicted.shape != truth.shape:
        raise ValueError(f"masks differ in shape: {predicted.shape} and {truth.shape}")
    return predicted, truth


def _depth_pair(estimated: np.ndarray, truth: np.ndarray, solid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    estimated, truth = np.asarray(estimated, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if estimated.shape != truth.shape or np.shape(solid) != truth.shape:
        raise ValueError(f"depth maps and mask differ in shape: {estimated.shape}, {truth.shape}, {np.shape(solid)}")
    if not np.any(solid):
        raise ValueError("no solid pixel to measure depth on")
    return estimated, truth
