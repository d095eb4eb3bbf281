"""Metrics of a loop seen from a fixed camera: its seam, its ghosting and its leakage.

A loop is N frames at times 0, 1/N, ..., (N - 1)/N, float [N, H, W, 3] in [0, 1], played over and over; masks are
bool HxW. Each metric has a known value for a good loop and comes out bad for the faults it names:
- seam: the step from the last frame back to the first, relative to the mean step between consecutive frames
  (about 1 for a good loop; far above for a loop that jumps back to its start);
- ghosting: the texture contrast of the moving region at mid-loop relative to t = 0 (1 when the texture stays as
  crisp as it starts; about 0.71 where two uncorrelated copies are cross-faded half and half);
- leakage: the share of the pixels outside the (slightly dilated) true motion mask that change over the loop
  (0 when only what moves changes).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from evaluation.metrics import ArrayLike, as_float64, checked_mask

SEAM_TARGET = (0.8, 1.25)
"""Range of the seam ratio of a good loop: its seam is a step like the others."""

CONTRAST_SIGMA = 1.5
"""Width (pixels) of the Gaussian local mean about which the texture contrast is measured."""

CONTRAST_MARGIN = math.ceil(3 * CONTRAST_SIGMA)
"""Radius of the local mean's window; contrast is measured this many pixels inside the mask, where that window
sees the region alone."""

LEAKAGE_THRESHOLD = 2.0 / 255.0
"""A pixel changes when a channel differs from frame 0 by more than this: a change that survives 8-bit output, a
little above the renders' own noise (away from the motion, a CPU-trained mom4d scene changes over its loop by
0.44/255 at the 99th percentile, by 1.5e-5/255 at the median) and below any change a viewer notices."""

MOTION_MARGIN = 0.01
"""What must stay still is what lies farther than this fraction of the image's long side (at least a pixel) from
the true motion mask: splats at the edge of moving content may spill over a pixel or two without harm."""


def loop_seam_ratio(frames: ArrayLike) -> float:
    """The step from the last frame to the first over the mean step between consecutive frames.

    A step is the mean absolute difference of two frames. A good loop scores about 1 (SEAM_TARGET); a loop that
    jumps back to its start scores far above 1. A loop without any change has no step to compare with: NaN.
    """
    loop = _loop(frames, minimum=3)
    steps = [float(np.abs(following - previous).mean()) for previous, following in zip(loop, loop[1:])]
    mean_step = float(np.mean(steps))
    if mean_step == 0.0:
        return math.nan
    return float(np.abs(loop[0] - loop[-1]).mean()) / mean_step


def texture_contrast(image: ArrayLike, mask: ArrayLike) -> float:
    """The texture's contrast inside `mask`: the root mean square, over the mask's pixels, of the grey image minus
    its local mean (a Gaussian of CONTRAST_SIGMA px): a high-pass energy, blind to brightness and slow gradients."""
    grey = _grey(image)
    region = checked_mask(mask, grey.shape)
    window = 2 * CONTRAST_MARGIN + 1
    local_mean = cv2.GaussianBlur(grey, (window, window), CONTRAST_SIGMA, borderType=cv2.BORDER_REFLECT_101)
    return float(np.sqrt(np.mean((grey - local_mean)[region] ** 2)))


def ghosting_ratio(first_frame: ArrayLike, later_frame: ArrayLike, mask: ArrayLike) -> float:
    """Texture contrast of `later_frame` (mid-loop) over that of `first_frame` (t = 0) inside the moving region.

    1 means no ghosting; a cross-fade of two uncorrelated copies, half and half, scores about 0.71 (1 / sqrt 2). The
    contrast is measured CONTRAST_MARGIN px inside `mask` (the whole mask when that leaves nothing), so that the
    edges of the region, which do not fade, do not count.
    """
    region = checked_mask(mask, _grey(first_frame).shape)
    inner = cv2.erode(region.astype(np.uint8), np.ones((2 * CONTRAST_MARGIN + 1,) * 2, np.uint8)).astype(bool)
    if inner.any():
        region = inner
    first_contrast = texture_contrast(first_frame, region)
    if first_contrast == 0.0:
        raise ValueError("ghosting_ratio: the first frame has no texture inside the mask to compare with")
    return texture_contrast(later_frame, region) / first_contrast


def still_region(true_mask: ArrayLike) -> np.ndarray:
    """Where a frame must not move: bool HxW, the pixels farther than MOTION_MARGIN from the true motion mask."""
    moving = as_float64(true_mask).astype(np.uint8)
    height, width = moving.shape
    margin = max(1, round(MOTION_MARGIN * max(height, width)))
    return ~cv2.dilate(moving, np.ones((2 * margin + 1,) * 2, np.uint8)).astype(bool)


def leakage(frames: ArrayLike, true_mask: ArrayLike, threshold: float = LEAKAGE_THRESHOLD) -> float:
    """Share of the pixels that must stay still (`still_region` of the true motion mask) that change over the
    loop: whose largest difference from frame 0, over the frames and channels, exceeds `threshold`."""
    loop = _loop(frames, minimum=2)
    still = still_region(checked_mask(true_mask, loop.shape[1:3]))
    if not still.any():
        raise ValueError("leakage: the motion mask and its margin cover the whole image; nothing is left to judge")
    change = np.abs(loop - loop[:1]).max(axis=(0, 3))
    return float((change[still] > threshold).mean())


def _loop(frames: ArrayLike, minimum: int) -> np.ndarray:
    """The frames as float64 [N, H, W, C], at least `minimum` of them."""
    loop = np.stack([as_float64(frame) for frame in frames]) if not hasattr(frames, "shape") else as_float64(frames)
    if loop.ndim != 4:
        raise ValueError(f"a loop must be N frames HxWxC, got shape {loop.shape}")
    if loop.shape[0] < minimum:
        raise ValueError(f"a loop needs at least {minimum} frames here, got {loop.shape[0]}")
    return loop


def _grey(image: ArrayLike) -> np.ndarray:
    """An RGB HxWx3 (or grey HxW) image as float32 grey."""
    array = as_float64(image).astype(np.float32)
    if array.ndim == 3 and array.shape[2] == 3:
        return cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)
    if array.ndim == 2:
        return array
    raise ValueError(f"expected an HxWx3 RGB or HxW grey image, got shape {array.shape}")
