"""The sky of a landscape photo: what lies above its sky line, clouds and glow included.

The sky line is found as the cheapest path across the image (`skyline`), one boundary row per column. What the path
puts in the sky pays for every pixel that looks like ground, is paid for every pixel that looks like sky, and the
path is drawn to strong horizontal edges (a ridge, a roof, the sea's horizon). A pixel looks like sky when it is soft
(little fine texture: clear sky, clouds, haze, a sunset's gradient) and has the sky's colour: the colour of the
soft pixels along the top of this photo (an orange dusk, a grey storm, a dark night sky), or a daytime sky's blue or
grey-white. Pixels much darker than the top of their column (hazy mountains), green pixels (foliage) and the lowest
part of the frame look like ground. A photo whose top is not soft, or is dark and neither a smooth night sky nor
brighter than the rest (water or foliage filling the frame), has no sky. Clouds never draw long straight edges
that are not level: the pixels along such edges (a mast, a tower, a gable) stay out of the sky, and what they cut off
from the top of the frame with it.

Smooth pale ground that touches the sky with no edge between (fog with nothing in it, a snowfield at the horizon)
cannot be told from the sky and may be taken as sky.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mom_nerfstudio.synthesis.segmentation.features import (
    DECISION_LONG_SIDE,
    TEXTURE_LONG_SIDE,
    ramp,
    resized_mask,
    shrunk,
    sky_colour_likeness,
    texture_at,
    vegetation_likeness,
)
from mom_nerfstudio.synthesis.segmentation.lines import straight_edges
from mom_nerfstudio.synthesis.segmentation.masks import components_touching_top, snapped_to_edges
from mom_nerfstudio.synthesis.segmentation.skyline import cheapest_skyline

MIN_SKY_FRACTION = 0.005
"""Less sky than this fraction of the image is treated as no sky (bright gaps in foliage, glare)."""


@dataclass(frozen=True)
class SkyCosts:
    """The weights of the sky line's path (per pixel of the decision copy; a sky pixel earns 1)."""

    soft_texture: float = 0.006
    """Fine texture below which a pixel is soft, like the sky."""
    textured: float = 0.02
    """Fine texture above which a pixel is textured, like the ground."""
    ground: float = 3.0
    """What a textured pixel without the sky's colour costs in the sky: ground is never given up lightly."""
    soft_ground: float = 0.05
    """What a soft pixel without the sky's colour costs (sand, a wall, glare): edges decide."""
    textured_sky: float = 0.3
    """What a textured pixel of the sky's colour costs (a cloud's crisp edge, a snowy crown): edges decide."""
    frame_bottom: float = 3.0
    """What a pixel in the bottom row costs, growing from nothing at LOW_START of the height: the sky rarely
    reaches the foot of a photo."""
    edge: float = 3.0
    """What a boundary on a strong horizontal edge earns."""
    strong_edge: float = 12.0
    """Colour difference (CIELAB) between neighbouring rows that counts as a strong edge."""
    step: float = 0.3
    """What the sky line pays per row it moves between neighbouring columns."""
    jump: float = 6.0
    """The most the sky line pays for a move between neighbouring columns (the side of a tower)."""


LOW_START = 0.55
"""Fraction of the height below which the frame-bottom cost starts to grow."""

TOP_BAND = 1 / 12
"""Height of the band along the top, as a fraction of the image, whose soft pixels give the sky's colour."""

MIN_SOFT_TOP = 0.15
"""A photo with less of its top band soft than this has no sky (foliage or structure fills the top)."""

DARKER_THAN_TOP = (0.08, 0.18)
"""A pixel darker than the top of its column by the first (HSV value) starts, by the second fully, to look like
ground: hazy mountains can have a sky's hue, not its brightness."""

SKY_PASSES = 3
"""The sky line is found this many times, each pass taking the sky's colours from the soft sky the last one found."""

SEED_COLOURS = 256
"""At most this many of the top band's soft pixels stand for the sky's colours."""

SEED_COLOUR_DISTANCE = (6.0, 20.0)
"""CIELAB distance to the nearest of the sky's colours at which a pixel has fully, and no longer, the sky's colour."""

STRUCTURE_LINE_LENGTH = 0.03
"""Straight edges at least this long (a share of the long side) are drawn by structure, never by clouds: a mast, a
tower, a gable or a rocket rising into the sky is not swallowed by it."""

STRUCTURE_MAX_TILT = 70.0
"""... when they are at most this many degrees away from vertical: a flat horizon over the sea is a straight edge
too, and the sky reaches down to it."""

STRUCTURE_MARGIN = 0.006
"""Pixels within this share of the long side of such an edge stay out of the sky."""


def detect_sky(rgb: np.ndarray, costs: SkyCosts = SkyCosts()) -> np.ndarray:
    """Find the sky of a photo (HxWx3 float32 RGB in [0, 1]): bool HxW, True on sky, all False without sky."""
    small = shrunk(rgb, DECISION_LONG_SIDE)
    height, width = small.shape[:2]
    texture = texture_at(rgb, (height, width))
    soft = ramp(texture, costs.textured, costs.soft_texture)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
    band = max(2, round(TOP_BAND * height))
    seeds = _sky_seeds(small, soft, texture, band)
    if seeds is None:
        return np.zeros(rgb.shape[:2], dtype=bool)
    not_ground = (1.0 - vegetation_likeness(small)) * (1.0 - _darker_than_top(small, band))
    generic = sky_colour_likeness(small)
    seed_colours = lab[:band][seeds]
    for _ in range(SKY_PASSES):
        colour = np.maximum(_likeness_to(lab, seed_colours), generic) * not_ground
        unary = _boundary_costs(_pixel_costs(soft, colour, costs), lab, costs)
        line = cheapest_skyline(unary, costs.step, costs.jump)
        sky = np.arange(height)[:, None] < line[None, :]
        # A sky's colour changes gradually down to the horizon (a dusk's glow): the soft sky found so far gives the
        # colours of the next pass.
        found = sky & (soft > 0.7)
        if not found.any():
            break
        seed_colours = lab[found]
    if sky.mean() < MIN_SKY_FRACTION:
        return np.zeros(rgb.shape[:2], dtype=bool)
    full = resized_mask(sky, rgb.shape)
    radius = round(6 * max(1.0, max(rgb.shape[:2]) / TEXTURE_LONG_SIDE))
    sky = snapped_to_edges(full, rgb, radius)
    margin = max(1, round(STRUCTURE_MARGIN * max(rgb.shape[:2])))
    sky &= ~straight_edges(rgb, STRUCTURE_LINE_LENGTH, STRUCTURE_MAX_TILT, margin)
    return components_touching_top(sky)


def _sky_seeds(small: np.ndarray, soft: np.ndarray, texture: np.ndarray, band: int) -> np.ndarray | None:
    """The soft, bright pixels of the top band that stand for the sky's colour; None when the top is not sky."""
    candidates = soft[:band] > 0.7
    if candidates.mean() < MIN_SOFT_TOP:
        return None
    value = small.max(axis=2)
    top_value = value[:band]
    candidates &= top_value >= 0.6 * np.percentile(top_value[candidates], 90)
    colours = small[:band][candidates]
    brighter_than_ground = np.median(colours.max(axis=1)) >= 0.8 * np.median(value[value.shape[0] // 2 :])
    if not (brighter_than_ground or _is_night_sky(colours, texture[:band][candidates], soft[:band])):
        return None
    return candidates


def _is_night_sky(colours: np.ndarray, texture: np.ndarray, soft_top: np.ndarray) -> bool:
    """Whether a dark top band is a night or dusk sky: very smooth, not green, and blue or filling the band (water
    and foliage at the top of a photo carry ripples or leaves, or are green)."""
    red, green, blue = np.median(colours, axis=0)
    very_smooth = np.median(texture) < 0.004
    is_green = green - max(red, blue) > 0.02
    is_blue = blue - max(red, green) > 0.05
    return bool(very_smooth and not is_green and (is_blue or (soft_top > 0.7).mean() >= 0.9))


def _likeness_to(lab: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """How close each pixel's colour is to the nearest seed colour, in [0, 1]."""
    stride = max(1, len(seeds) // SEED_COLOURS)
    reference = seeds[::stride][:SEED_COLOURS]
    distance = np.full(lab.shape[:2], np.inf, dtype=np.float32)
    for colour in reference:
        distance = np.minimum(distance, np.linalg.norm(lab - colour, axis=2))
    near, far = SEED_COLOUR_DISTANCE
    return ramp(distance, far, near)


def _darker_than_top(small: np.ndarray, band: int) -> np.ndarray:
    """How much darker each pixel is than the top of its column (smoothed across columns), in [0, 1]."""
    value = small.max(axis=2)
    window = max(3, small.shape[1] // 8)
    top = np.median(value[:band], axis=0)[None].astype(np.float32)
    top = cv2.blur(top, (window, 1), borderType=cv2.BORDER_REFLECT)
    start, full = DARKER_THAN_TOP
    return ramp(top - value, start, full)


def _pixel_costs(soft: np.ndarray, colour: np.ndarray, costs: SkyCosts) -> np.ndarray:
    """What each pixel costs in the sky (negative: it pays for being there)."""
    height = soft.shape[0]
    rows = (np.arange(height, dtype=np.float32) / height)[:, None]
    low = costs.frame_bottom * ramp(rows, LOW_START, 1.0) ** 2
    return (
        -soft * colour
        + costs.ground * (1 - soft) * (1 - colour)
        + costs.soft_ground * soft * (1 - colour)
        + costs.textured_sky * (1 - soft) * colour
        + low
    )


def _boundary_costs(pixel_costs: np.ndarray, lab: np.ndarray, costs: SkyCosts) -> np.ndarray:
    """[rows + 1, columns]: the cost of the sky ending above row b in each column, less its edge's reward."""
    width = lab.shape[1]
    blurred = cv2.GaussianBlur(lab, (0, 0), 1.0)
    edge = np.zeros((lab.shape[0] + 1, width), dtype=np.float32)
    edge[1:-1] = ramp(np.linalg.norm(blurred[1:] - blurred[:-1], axis=2), 0.0, costs.strong_edge)
    above = np.vstack([np.zeros((1, width)), np.cumsum(pixel_costs, axis=0)])
    return above - costs.edge * edge
