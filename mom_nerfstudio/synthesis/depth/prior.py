"""A weight-free depth prior for landscape photos: a ground plane rising to a horizon, a backdrop, a far sky.

The model is a camera above flat ground. A ground point seen at row y lies at depth proportional to
1 / (y - horizon), so the disparity (1 / depth) grows linearly from 0 at the horizon to its largest value at the
bottom row, the nearest point of the scene. What rises above the horizon without being sky (mountains, tree
crowns) stands on the ground far away: it is a backdrop at a fixed far depth, which the ground also reaches
just below the horizon. The sky is at SKY_DEPTH. The horizon comes from `mom_nerfstudio.synthesis.horizon`: the sky line, or
lower, where a camera tilted slightly down would see it.

That geometry knows nothing of the image. The image's structure may then bend it, but its texture may not: the
photo is first cleared of everything smaller than a few percent of its size (a rolling guidance filter wipes
out planks, stripes, stains, grass and ripples, and restores the edges of what is larger), and the disparity is
filtered edge-aware, guided by that cleared image, in windows of a few percent of the image. Where a large region
meets another of a different colour at a different height (a meadow below a tree line, the foot of a mountain),
the disparity steps at their border; inside a region, where the cleared image is flat, it keeps the plane's
smooth ramp. The sky takes no part in the filtering and is set back to SKY_DEPTH afterwards, so neither side of
the sky line bleeds into the other. The work is done on a copy of DEPTH_LONG_SIDE pixels and the disparity
enlarged back, which keeps the prior well under a second at 1024 px.

The horizon assumes mom4d's default field of view: the prior is not told the one the user chose.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from mom_nerfstudio.synthesis.depth.convention import SKY_DEPTH, normalize_depth
from mom_nerfstudio.synthesis.guided_filter import guided_filter, rolling_guidance
from mom_nerfstudio.synthesis.horizon import horizon_row

DEPTH_LONG_SIDE = 384
"""Long side (pixels) of the copy the prior works on; the disparity is smooth, so little is lost."""


@dataclass(frozen=True)
class LandscapeDepthPrior:
    """Depth of a landscape photo from a ground plane, a backdrop and the sky; deterministic and fast."""

    name: str = "prior"
    backdrop_depth: float = 0.5 * SKY_DEPTH
    """Depth of the backdrop above the horizon, relative to the bottom row at depth 1."""
    texture_size: float = 0.04
    """Image detail smaller than this fraction of the long side is texture: it never shapes the depth."""
    edge_radius: float = 0.05
    """Radius of the windows of the edge-aware depth filter, as a fraction of the long side."""
    edge_eps: float = 0.003
    """Regulariser of that filter: colour variances well below it are too weak to place a depth edge."""

    def estimate(self, rgb: np.ndarray, sky_mask: np.ndarray) -> np.ndarray:
        """Depth (float32 HxW, project convention) of `rgb` (float32 HxWx3 in [0, 1]) with sky `sky_mask`."""
        height, width = sky_mask.shape
        small_rgb, small_sky = _working_copy(rgb, sky_mask)
        small_height, small_width = small_sky.shape
        horizon = horizon_row(small_sky)
        disparity = ground_disparity(small_height, small_width, horizon, self.backdrop_depth)
        long_side = max(small_height, small_width)
        structure = rolling_guidance(small_rgb, self.texture_size * long_side)
        radius = max(1, round(self.edge_radius * long_side))
        disparity = guided_filter(structure, disparity, radius, self.edge_eps, weights=(~small_sky).astype(np.float32))
        if disparity.shape != (height, width):
            disparity = cv2.resize(disparity, (width, height), interpolation=cv2.INTER_LINEAR)
        disparity = np.clip(disparity, 1.0 / self.backdrop_depth, None)
        return normalize_depth(1.0 / disparity, sky_mask)


def ground_disparity(height: int, width: int, horizon: float, backdrop_depth: float) -> np.ndarray:
    """Disparity of a ground plane seen by a level camera, 1 at the bottom row, floored at 1 / backdrop_depth.

    Below the horizon it grows linearly with (row - horizon); at and above the horizon it is the backdrop's.
    Returns float32 HxW.
    """
    rows = np.arange(height, dtype=np.float32)
    ground = (rows - horizon) / max(height - 1 - horizon, 1.0)
    column = np.maximum(ground, 1.0 / backdrop_depth)
    return np.repeat(column[:, None], width, axis=1).astype(np.float32)


def _working_copy(rgb: np.ndarray, sky_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The image and its sky shrunk (area averaging) to a long side of at most DEPTH_LONG_SIDE."""
    height, width = sky_mask.shape
    factor = DEPTH_LONG_SIDE / max(height, width)
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    if factor >= 1:
        return rgb, sky_mask
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small_sky = cv2.resize(sky_mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), small_sky
