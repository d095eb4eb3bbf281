"""Weight-free sky and water detectors for landscape photos.

They serve the automatic motion and the landscape depth prior; a user who needs precise regions draws them (labelme)
or asks for a learned segmenter (`--segmentation learned`). `sky` finds the sky as what lies above the cheapest sky
line; `water` finds calm water by its reflection and rippled water by its colour, texture and place, leaving what it
doubts still.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mom_nerfstudio.synthesis.image_io import AlphaMode, load_image
from mom_nerfstudio.synthesis.segmentation.features import TEXTURE_LONG_SIDE, resized_mask
from mom_nerfstudio.synthesis.segmentation.sky import detect_sky
from mom_nerfstudio.synthesis.segmentation.water import DoubtfulWater, WaterSearch, find_water, place_in_words

__all__ = [
    "DoubtfulWater",
    "SkyAndWater",
    "WaterSearch",
    "detect_sky",
    "find_sky_and_water",
    "find_sky_and_water_of",
    "find_water",
    "place_in_words",
]


@dataclass(frozen=True)
class SkyAndWater:
    """What moves in a landscape photo by default: its sky, and the water found below it."""

    sky: np.ndarray
    """Bool HxW, True on sky."""
    water: WaterSearch

    def resized(self, shape: tuple[int, int]) -> SkyAndWater:
        """The same regions at another size (height, width)."""
        water = self.water
        calm = resized_mask(water.calm, shape) if water.calm is not None else None
        return SkyAndWater(
            sky=resized_mask(self.sky, shape),
            water=WaterSearch(water=resized_mask(water.water, shape), doubtful=water.doubtful, calm=calm),
        )


def find_sky_and_water(rgb: np.ndarray) -> SkyAndWater:
    """The weight-free detectors' sky and water of `rgb` (HxWx3 float32 RGB in [0, 1])."""
    sky = detect_sky(rgb)
    return SkyAndWater(sky=sky, water=find_water(rgb, sky))


def find_sky_and_water_of(photo: Path, rgb: np.ndarray, alpha_mode: AlphaMode = "white") -> SkyAndWater:
    """The sky and water of `photo`, whose working copy is `rgb`, at `rgb`'s size.

    The detectors' texture is measured at TEXTURE_LONG_SIDE: a working copy smaller than that is not enlarged
    (which would smooth its texture away) but replaced by the photo loaded at that size, so that a photo is read the
    same way at every working size.
    """
    if max(rgb.shape[:2]) >= TEXTURE_LONG_SIDE:
        return find_sky_and_water(rgb)
    larger = load_image(photo, max_resolution=TEXTURE_LONG_SIDE, alpha_mode=alpha_mode).rgb
    return find_sky_and_water(larger).resized(rgb.shape[:2])
