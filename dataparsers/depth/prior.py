"""A weight-free depth prior for landscape photos: a ground plane rising to a horizon, a backdrop, a far sky.

The model is a level camera above flat ground. A ground point seen at row y lies at depth proportional to
1 / (y - horizon), so the disparity (1 / depth) grows linearly from 0 at the horizon to its largest value at the
bottom row, the nearest point of the scene. What rises above the horizon without being sky (mountains, tree
crowns) stands on the ground far away: it is a backdrop at a fixed far depth, which the ground also reaches
just below the horizon. The sky is at SKY_DEPTH.

That geometry knows nothing of the image, so the disparity is then filtered edge-aware, guided by the photo.
With a wide window (a tenth of the image) the guided filter fits the disparity, within each window, as an
affine function of the colours: where colour changes with height (green meadow below orange trees below a grey
mountain) the smooth ramp turns into regions at different depths whose borders follow the image's edges. The
guide is first smoothed by a small self-guided filter, so that fine texture (grass, leaves, rock grain) is not
copied into the depth. The sky takes no part in the filtering and is set back to SKY_DEPTH afterwards, so
neither side of the sky line bleeds into the other.
"""

from dataclasses import dataclass

import numpy as np

from dataparsers.depth.convention import SKY_DEPTH, normalize_depth
from dataparsers.guided_filter import guided_filter

HORIZON_FRACTION_WITHOUT_SKY = 0.2
"""Horizon row, as a fraction of the height from the top, when no sky is visible: a photo without sky looks
down at its subject, so the horizon is above the frame or near its top."""

MIN_SKY_FRACTION = 0.002
"""A sky mask covering less of the image than this is treated as no sky (a few stray pixels)."""


@dataclass(frozen=True)
class LandscapeDepthPrior:
    """Depth of a landscape photo from a ground plane, a backdrop and the sky; deterministic and fast."""

    name: str = "prior"
    sky_line_percentile: float = 80.0
    """The horizon is this percentile of the columns' lowest sky rows (see `horizon_row`)."""
    max_horizon_fraction: float = 0.75
    """The horizon is never lower than this fraction of the height, so some ground always remains."""
    backdrop_depth: float = 0.4 * SKY_DEPTH
    """Depth of the backdrop above the horizon, relative to the bottom row at depth 1."""
    filter_radius_fraction: float = 0.1
    """Radius of the edge-aware depth filter as a fraction of the image's long side."""
    filter_eps: float = 1e-4
    """Regulariser of the depth filter: smaller follows the guide's colours more closely."""
    guide_smoothing_radius_fraction: float = 0.004
    """Radius of the texture-removing filter applied to the guide, as a fraction of the long side."""
    guide_smoothing_eps: float = 1e-2
    """Colour variance (in [0, 1] units) below which the guide is smoothed flat before it guides the depth."""

    def estimate(self, rgb: np.ndarray, sky_mask: np.ndarray) -> np.ndarray:
        """Depth (float32 HxW, project convention) of `rgb` (float32 HxWx3 in [0, 1]) with sky `sky_mask`."""
        height, width = sky_mask.shape
        horizon = horizon_row(sky_mask, self.sky_line_percentile, self.max_horizon_fraction)
        disparity = ground_disparity(height, width, horizon, self.backdrop_depth)
        long_side = max(height, width)
        guide = smooth_texture(rgb, _pixels(self.guide_smoothing_radius_fraction, long_side), self.guide_smoothing_eps)
        radius = _pixels(self.filter_radius_fraction, long_side)
        disparity = guided_filter(guide, disparity, radius, self.filter_eps, weights=(~sky_mask).astype(np.float32))
        disparity = np.clip(disparity, 1.0 / self.backdrop_depth, None)
        return normalize_depth(1.0 / disparity, sky_mask)


def horizon_row(sky_mask: np.ndarray, sky_line_percentile: float = 80.0, max_horizon_fraction: float = 0.75) -> float:
    """Row of the horizon (0 = top, may be fractional).

    With sky: a high percentile of the lowest sky row of each column that has sky, so that columns where trees
    hide the lower sky do not raise it, while a few columns that show sky lower down (through gaps in foliage)
    do not lower it; capped at `max_horizon_fraction` of the height. Without sky (less than MIN_SKY_FRACTION of
    the image): HORIZON_FRACTION_WITHOUT_SKY of the height.
    """
    height = sky_mask.shape[0]
    if sky_mask.mean() < MIN_SKY_FRACTION:
        return HORIZON_FRACTION_WITHOUT_SKY * height
    columns_with_sky = sky_mask.any(axis=0)
    lowest_sky_rows = height - 1 - np.argmax(sky_mask[::-1, columns_with_sky], axis=0)
    sky_line = float(np.percentile(lowest_sky_rows, sky_line_percentile))
    return min(sky_line, max_horizon_fraction * height)


def ground_disparity(height: int, width: int, horizon: float, backdrop_depth: float) -> np.ndarray:
    """Disparity of a ground plane seen by a level camera, 1 at the bottom row, floored at 1 / backdrop_depth.

    Below the horizon it grows linearly with (row - horizon); at and above the horizon it is the backdrop's.
    Returns float32 HxW.
    """
    rows = np.arange(height, dtype=np.float32)
    ground = (rows - horizon) / max(height - 1 - horizon, 1.0)
    column = np.maximum(ground, 1.0 / backdrop_depth)
    return np.repeat(column[:, None], width, axis=1).astype(np.float32)


def smooth_texture(rgb: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Flatten low-contrast texture of `rgb` (HxWx3) while keeping strong edges: each channel guides itself."""
    channels = [guided_filter(rgb[..., c], rgb[..., c], radius, eps) for c in range(3)]
    return np.stack(channels, axis=-1)


def _pixels(fraction: float, long_side: int) -> int:
    return max(1, round(fraction * long_side))
