"""Water in a landscape photo: calm water by what it mirrors (`reflection`), and rippled water by its colour, its
texture and its place.

The rippled-water rule is built to be wrong on the safe side: a region moves only when its colour, its texture and
its place all say water. Candidates are cool pixels (bluer than red, and bluer than the photo's land) below the sky
and, when the photo shows sky, below the horizon (`mom_nerfstudio.synthesis.horizon`), where they are dense. A
candidate region is water when most of it is textured (ripples, foam), its texture is streaked along the horizontal, as
ripples are on a surface seen at a grazing angle, and no long upright straight edges cross it (a glass facade, columns,
masts); inside it, only the cool pixels away from upright edges count (a sail or a boat on the water stays out). Regions that fail a test are doubtful and stay still: a smooth or hazy one may be calm
water, fog, distant haze, a road or a slab; an evenly textured one rock or foliage. Wood, earth and grey rock are not
cooler than the land and never candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mom_nerfstudio.synthesis.horizon import horizon_row, sky_line_row
from mom_nerfstudio.synthesis.segmentation.features import (
    DECISION_LONG_SIDE,
    TEXTURE_LONG_SIDE,
    fine_texture,
    gradient_anisotropy,
    resized_mask,
    shrunk,
    texture_at,
)
from mom_nerfstudio.synthesis.segmentation.lines import straight_edges
from mom_nerfstudio.synthesis.segmentation.masks import below_lowest, drop_small_components, opened
from mom_nerfstudio.synthesis.segmentation.reflection import calm_water, find_shoreline

MIN_WATER_FRACTION = 0.003
"""Water regions smaller than this fraction of the image are dropped as noise."""

MIN_COOLNESS = 0.02
"""Water is cool: its blue exceeds its red by at least this (it reflects the sky, or is deep or white water)."""

COOLER_THAN_LAND = 0.04
"""... and by this much more than the land does, so that a colour cast of the whole photo (fog, a blue hour)
does not turn its rock and wood into water."""

LAND_PERCENTILE = 25.0
"""The land's coolness is this percentile of the non-sky pixels' coolness: the warmer quarter of the ground is
land (wood, earth, rock, plants) unless water covers nearly all of it."""

WATER_MIN_TEXTURE = 0.012
"""Fine texture above which a pixel shows ripples, foam or reflections rather than a smooth or hazy surface
(distant haze, which has a water's colour, carries less)."""

WATER_MIN_TEXTURED_SHARE = 0.5
"""A water region is textured when at least this share of its pixels is: smooth regions are left still."""

MAX_UPRIGHT_LINES = 0.015
"""A rippled region is structure (a glass facade, a colonnade, masts) when more than this share of it lies on long,
nearly vertical straight edges: ripples never draw them."""

UPRIGHT_LINE_LENGTH = 0.04
"""Length (share of the long side) from which a straight edge within 15 degrees of vertical counts."""

WATER_MIN_ANISOTROPY = 1.5
"""Ripples on a surface seen at a grazing angle are streaks along the horizontal: the intensity changes faster
down the image than across it. A region is rippled when the median ratio of vertical to horizontal gradient
energy is at least this; rock, foliage and most structure come close to 1."""


@dataclass(frozen=True)
class DoubtfulWater:
    """A region that looks partly like water but was left still."""

    fraction: float
    """Its share of the image."""
    centre: tuple[float, float]
    """Its centre (x, y) as fractions of the image's width and height."""
    reason: str
    """Why it was left still, in a few words."""

    def where(self) -> str:
        """Where in the image the region lies, in words ("lower left")."""
        return place_in_words(self.centre)


def place_in_words(centre: tuple[float, float]) -> str:
    """Where a point (x, y as fractions of the width and height) lies in the image, in words ("lower left")."""
    x, y = centre
    vertical = "upper" if y < 1 / 3 else "middle" if y < 2 / 3 else "lower"
    horizontal = "left" if x < 1 / 3 else "centre" if x < 2 / 3 else "right"
    return "centre" if (vertical, horizontal) == ("middle", "centre") else f"{vertical} {horizontal}"


@dataclass(frozen=True)
class WaterSearch:
    """What the water detector found: water it is sure of (calm or rippled), and regions it doubted."""

    water: np.ndarray
    """Bool HxW, True on water that should move."""
    doubtful: tuple[DoubtfulWater, ...]
    """Water-like regions left still, largest first."""
    calm: np.ndarray | None = None
    """Bool HxW, the part of `water` that is calm (it mirrors the scene); None when not known."""

    @property
    def calm_water(self) -> np.ndarray:
        """Bool HxW: the calm part of the water (nothing when not known)."""
        return self.calm if self.calm is not None else np.zeros_like(self.water)

    def describe_doubtful(self, limit: int = 3) -> str:
        """The doubtful regions in words, the `limit` largest by name ("2.5 % of the image at the centre (why)")."""
        shown = self.doubtful[:limit]
        described = "; ".join(
            f"{100 * region.fraction:.1f} % of the image at the {region.where()} ({region.reason})" for region in shown
        )
        hidden = len(self.doubtful) - len(shown)
        return described + (f"; and {hidden} smaller" if hidden else "")


def find_water(rgb: np.ndarray, sky: np.ndarray) -> WaterSearch:
    """Find the water of a photo (HxWx3 float32 RGB in [0, 1]) below its `sky` (bool HxW): calm water that mirrors
    the scene, and rippled water whose colour, texture and place say water; doubtful regions stay still."""
    if sky.shape != rgb.shape[:2]:
        raise ValueError(f"sky mask of shape {sky.shape} for an image of shape {rgb.shape[:2]}")
    small = shrunk(rgb, DECISION_LONG_SIDE)
    small_sky = resized_mask(sky, small.shape)
    shoreline = find_shoreline(small, small_sky, texture_at(rgb, small.shape[:2]))
    calm = np.zeros(rgb.shape[:2], dtype=bool)
    if shoreline is not None:
        calm = resized_mask(calm_water(small, small_sky, shoreline), rgb.shape) & ~sky
    rippled, doubtful = _rippled_water(rgb, sky, calm)
    return WaterSearch(water=calm | rippled, doubtful=doubtful, calm=calm)


def _rippled_water(rgb: np.ndarray, sky: np.ndarray, calm: np.ndarray) -> tuple[np.ndarray, tuple[DoubtfulWater, ...]]:
    """Rippled water (bool HxW) and the water-like regions doubted, largest first; regions mostly inside the `calm`
    water already found are neither."""
    small = shrunk(rgb, TEXTURE_LONG_SIDE)
    sky_small = resized_mask(sky, small.shape)
    calm_small = resized_mask(calm, small.shape)
    on_ground = _on_ground(sky_small)
    cool = _water_coloured(small, ~sky_small)
    # Water is where cool pixels are dense, not a scatter of single pixels on rock or bark.
    regions = (cv2.blur((cool & on_ground).astype(np.float32), (15, 15)) > 0.5) & on_ground
    regions = drop_small_components(opened(regions, 5), MIN_WATER_FRACTION)
    textured = fine_texture(small) > WATER_MIN_TEXTURE
    anisotropy = gradient_anisotropy(small)
    upright = straight_edges(small, UPRIGHT_LINE_LENGTH, max_tilt=15.0)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(regions.astype(np.uint8), connectivity=8)
    water = np.zeros_like(regions)
    doubtful = []
    for label in range(1, count):
        region = labels == label
        if calm_small[region].mean() > 0.5:
            continue
        reason = _doubt(region, textured, anisotropy, upright)
        if reason is None:
            water |= region
            continue
        height, width = region.shape
        centre = (float(centroids[label][0]) / width, float(centroids[label][1]) / height)
        doubtful.append(DoubtfulWater(stats[label, cv2.CC_STAT_AREA] / region.size, centre, reason))
    doubtful.sort(key=lambda region: region.fraction, reverse=True)
    # Inside a rippled region only the cool pixels away from upright edges are water: a sail, a mast or a hull on it is
    # not.
    colour = cv2.blur(small, (5, 5))
    near_upright = cv2.dilate(upright.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    water = opened(water & (colour[..., 2] > colour[..., 0]) & ~near_upright, 3)
    return resized_mask(water, rgb.shape) & ~sky, tuple(doubtful)


def _on_ground(sky: np.ndarray) -> np.ndarray:
    """Where water can lie: below the sky in every column and, when the photo shows sky, below the horizon
    (hazy blue mountains and low clouds rise above it)."""
    on_ground = below_lowest(sky) & ~sky
    if sky_line_row(sky) is not None:
        on_ground &= np.arange(sky.shape[0])[:, None] > horizon_row(sky)
    return on_ground


def _water_coloured(rgb: np.ndarray, ground: np.ndarray) -> np.ndarray:
    """Pixels cool enough to be water: blue exceeds red by MIN_COOLNESS, and by COOLER_THAN_LAND more than it does
    on the land (`ground`: bool mask of the pixels that are not sky)."""
    colour = cv2.blur(rgb, (5, 5))
    coolness = colour[..., 2] - colour[..., 0]
    land = float(np.percentile(coolness[ground], LAND_PERCENTILE)) if ground.any() else 0.0
    return coolness > max(MIN_COOLNESS, land + COOLER_THAN_LAND)


def _doubt(region: np.ndarray, textured: np.ndarray, anisotropy: np.ndarray, upright: np.ndarray) -> str | None:
    """Why a water-coloured `region` should be left still, or None when it looks like water."""
    if textured[region].mean() < WATER_MIN_TEXTURED_SHARE:
        return "it is smooth or hazy: calm water looks like that, but so do fog, distant haze, a road or a slab"
    if np.median(anisotropy[region]) < WATER_MIN_ANISOTROPY:
        return "its texture is not streaked like ripples: rock or foliage look like that"
    if upright[region].mean() > MAX_UPRIGHT_LINES:
        return "long upright straight edges cross it: a facade, columns or masts look like that"
    return None
