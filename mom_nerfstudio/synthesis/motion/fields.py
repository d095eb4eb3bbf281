"""Dense 2-D motion fields: sparse hint arrows spread over a mask, resizing and smoothing of flows.

A flow is float32 HxWx2 holding (dx, dy) in pixels per frame at the resolution of the array itself.
"""

import cv2
import numpy as np

MAX_CHUNK_ELEMENTS = 1 << 22
"""Pixels x hints evaluated at once by `dense_hint_field`, to bound its memory on large images."""


def default_hint_sigma(height: int, width: int, num_hints: int) -> float:
    """Width (pixels) of each hint's Gaussian influence in `dense_hint_field`.

    Rule: `sigma = min(height, width) / clamp(num_hints, 1, 8)`.

    K hints spread over the short side of the image lie about `short / K` apart; a sigma of that spacing
    blends neighbouring hints smoothly (the weight ratio of two hints a distance d apart changes over a
    band about sigma^2 / d wide). The paper drew sigma at random around H / K; this is its deterministic
    version. Beyond 8 hints the spacing no longer shrinks with K (users add hints across an area, not along
    a line), and a sigma much smaller than the spacing would turn the field into hard-edged cells, so the
    divisor stops at 8. Proportional to the image size, so a field computed at any resolution is the same
    field resized.
    """
    return min(height, width) / min(max(num_hints, 1), 8)


def dense_hint_field(
    mask: np.ndarray, starts: np.ndarray, velocities: np.ndarray, sigma: float | None = None
) -> np.ndarray:
    """Spread sparse motion hints over a mask into a dense flow.

    `h(q) = sum_k w_k(q) m_k / sum_k w_k(q) * M(q)` with `w_k(q) = exp(-(|q - s_k| / sigma)^2)`:
    every masked pixel takes a Gaussian-weighted mean of the hint velocities, dominated by the nearest
    hints. The weights are normalised in the log domain (the largest log-weight subtracted first), so the
    field stays finite and equal to the nearest hint's velocity far from every hint.

    Args:
        mask: bool HxW, True where things move; the field is zero elsewhere.
        starts: (K, 2) hint start points (x, y) in pixels.
        velocities: (K, 2) hint velocities (dx, dy) in pixels per frame.
        sigma: Gaussian width in pixels; `default_hint_sigma` of the image and K when None.

    Returns:
        Float32 HxWx2 flow in pixels per frame (all zeros when K = 0).
    """
    height, width = mask.shape
    starts = np.asarray(starts, dtype=np.float64).reshape(-1, 2)
    velocities = np.asarray(velocities, dtype=np.float64).reshape(-1, 2)
    if len(starts) != len(velocities):
        raise ValueError(f"{len(starts)} hint starts but {len(velocities)} hint velocities")
    flow = np.zeros((height, width, 2), dtype=np.float32)
    if len(starts) == 0 or not mask.any():
        return flow
    if sigma is None:
        sigma = default_hint_sigma(height, width, len(starts))
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")

    # Only the mask's bounding box is evaluated, a band of rows at a time. The squared distance is
    # separable, (x - sx)^2 + (y - sy)^2, so the log-weights are a sum of a per-row and a per-column table.
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    column_terms = -(((np.arange(left, right)[:, None] - starts[None, :, 0]) / sigma) ** 2).astype(np.float32)
    row_terms = -(((np.arange(top, bottom)[:, None] - starts[None, :, 1]) / sigma) ** 2).astype(np.float32)
    velocities = velocities.astype(np.float32)
    band_rows = max(1, MAX_CHUNK_ELEMENTS // ((right - left) * len(starts)))
    for band_top in range(top, bottom, band_rows):
        band_bottom = min(band_top + band_rows, bottom)
        log_weights = row_terms[band_top - top : band_bottom - top, None, :] + column_terms[None, :, :]
        log_weights -= log_weights.max(axis=2, keepdims=True)
        weights = np.exp(log_weights)  # the nearest hint has weight 1, so the sum is >= 1
        flow[band_top:band_bottom, left:right] = (weights @ velocities) / weights.sum(axis=2, keepdims=True)
    flow[~mask] = 0.0
    return flow


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a flow to `size` = (height, width), rescaling dx by the width ratio and dy by the height ratio.

    Area averaging when shrinking, bilinear when enlarging.
    """
    height, width = size
    old_height, old_width = flow.shape[:2]
    if (height, width) == (old_height, old_width):
        return flow.astype(np.float32, copy=True)
    shrinking = height * width < old_height * old_width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized = cv2.resize(np.ascontiguousarray(flow, dtype=np.float32), (width, height), interpolation=interpolation)
    resized[..., 0] *= width / old_width
    resized[..., 1] *= height / old_height
    return resized


def smooth_flow(flow: np.ndarray, mask: np.ndarray, kernel: int = 15) -> np.ndarray:
    """Box-blur a flow inside its mask (method.md item 6: the motion is masked and blurred 15x15).

    A normalised box filter: each masked pixel averages the flow of the masked pixels in its kernel x
    kernel window, so the static zeros outside do not drag the motion down along the mask's border.
    Pixels outside the mask are zero.
    """
    weight = mask.astype(np.float32)
    masked = np.ascontiguousarray(flow, dtype=np.float32) * weight[..., None]
    window = (kernel, kernel)
    summed = cv2.boxFilter(masked, -1, window, normalize=False, borderType=cv2.BORDER_CONSTANT)
    count = cv2.boxFilter(weight, -1, window, normalize=False, borderType=cv2.BORDER_CONSTANT)
    smoothed = summed / np.maximum(count, 1.0)[..., None]
    smoothed[~mask] = 0.0
    return smoothed.astype(np.float32)
