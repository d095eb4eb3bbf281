"""Weight-free sky and water detectors for landscape photos.

They serve the automatic motion and the landscape depth prior; a user who needs precise regions draws them (labelme)
or asks for a learned segmenter (`--segmentation learned`). `sky` finds the sky as what lies above the cheapest sky
line; `water` finds calm water by its reflection and rippled water by its colour, texture and place, leaving what it
doubts still.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mom_nerfstudio.synthesis.segmentation.sky import detect_sky
from mom_nerfstudio.synthesis.segmentation.water import DoubtfulWater, WaterSearch, find_water, place_in_words

__all__ = [
    "DoubtfulWater",
    "SkyAndWater",
    "WaterSearch",
    "detect_sky",
    "find_sky_and_water",
    "find_water",
    "place_in_words",
]


@dataclass(frozen=True)
class SkyAndWater:
    """What moves in a landscape photo by default: its sky, and the water found below it."""

    sky: np.ndarray
    """Bool HxW, True on sky."""
    water: WaterSearch


def find_sky_and_water(rgb: np.ndarray) -> SkyAndWater:
    """The weight-free detectors' sky and water of `rgb` (HxWx3 float32 RGB in [0, 1])."""
    sky = detect_sky(rgb)
    return SkyAndWater(sky=sky, water=find_water(rgb, sky))
