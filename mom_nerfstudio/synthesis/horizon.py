"""Where the ground's horizon lies in a landscape photo, from its sky and a camera held about level.

The horizon is the image row of the ground's vanishing line. Nothing on the ground is seen above it, and the
sky is never seen below it, so the lowest sky (the sky line: mountains and trees stand on the ground and rise
above the horizon) bounds it from above. A camera held level puts it at the image centre; landscape photographers
tilt slightly down to frame the foreground, which lifts it by the focal length times the tangent of the tilt.
The horizon is the lower of the two: the sky line when the sky reaches below the level-camera guess (a camera
tilted up), the guess otherwise (mountains rise above the horizon). The guess uses mom4d's default field of view,
as the camera's true one is unknown.
"""

import math

import numpy as np

from mom_nerfstudio.synthesis.config import SynthesisConfig

ASSUMED_TILT_DEGREES = 3.0
"""Downward tilt of the camera assumed when placing the horizon below a sky line that lies higher."""

SKY_LINE_PERCENTILE = 80.0
"""The sky line is this percentile of the columns' lowest sky rows: columns where trees hide the lower sky do
not raise it, while a few columns that show sky lower down (gaps in foliage) do not lower it."""

MAX_HORIZON_FRACTION = 0.75
"""The horizon is never lower than this fraction of the height, so some ground always remains."""

HORIZON_FRACTION_WITHOUT_SKY = 0.2
"""Horizon row, as a fraction of the height from the top, when no sky is visible: a photo without sky looks
down at its subject, so the horizon is above the frame or near its top."""

MIN_SKY_FRACTION = 0.002
"""A sky mask covering less of the image than this is treated as no sky (a few stray pixels)."""


def sky_line_row(sky_mask: np.ndarray) -> float | None:
    """Row of the sky line (0 = top): SKY_LINE_PERCENTILE of the lowest sky row of each column that has sky.

    None when the mask holds less than MIN_SKY_FRACTION of sky.
    """
    if sky_mask.mean() < MIN_SKY_FRACTION:
        return None
    height = sky_mask.shape[0]
    columns_with_sky = sky_mask.any(axis=0)
    lowest_sky_rows = height - 1 - np.argmax(sky_mask[::-1, columns_with_sky], axis=0)
    return float(np.percentile(lowest_sky_rows, SKY_LINE_PERCENTILE))


def horizon_row(sky_mask: np.ndarray, fov_degrees: float = SynthesisConfig.fov_degrees) -> float:
    """Row of the ground's horizon (0 = top, may be fractional) in an image with sky `sky_mask` (bool HxW).

    With sky: the lower of the sky line and the horizon of a camera tilted down by ASSUMED_TILT_DEGREES with a
    field of view of `fov_degrees` along the long side, capped at MAX_HORIZON_FRACTION of the height. Without
    sky: HORIZON_FRACTION_WITHOUT_SKY of the height.
    """
    height, width = sky_mask.shape
    sky_line = sky_line_row(sky_mask)
    if sky_line is None:
        return HORIZON_FRACTION_WITHOUT_SKY * height
    focal = 0.5 * max(height, width) / math.tan(math.radians(fov_degrees) / 2.0)
    tilted_camera = (height - 1) / 2.0 - focal * math.tan(math.radians(ASSUMED_TILT_DEGREES))
    return min(max(sky_line, tilted_camera), MAX_HORIZON_FRACTION * height)
