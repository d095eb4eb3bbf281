"""Weight-free sky and water detectors for landscape photos.

Both are hand-made colour, texture and layout rules, not learned segmenters: they serve the automatic motion
default and the landscape depth prior, and a user who needs precise regions draws them (labelme). Features are
computed on a copy scaled to a fixed long side, so the thresholds on texture (intensities in [0, 1]) mean the
same at every input resolution; the masks are then scaled back to the input size.

The water detector is built to be wrong on the safe side: a region is animated only when its colour, its texture
and its place all say water. Regions that look only partly like water are reported as doubtful (with the reason)
and left still, because a rippling pier or a melting rock is worse than a lake that does not move.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from mom_nerfstudio.synthesis.horizon import horizon_row, sky_line_row

ANALYSIS_LONG_SIDE = 512
"""Long side (pixels) of the copy the features are computed on."""

MIN_SKY_FRACTION = 0.005
"""Less sky than this fraction of the image is treated as no sky (bright gaps in foliage, glare)."""

SKY_MAX_TEXTURE = 0.008
"""Fine texture (see `_fine_texture`) above which a pixel is textured: pale relief is densely textured."""

SKY_END_RUN = 0.03
"""The ground of a column starts at its first run of pixels without a sky's colour this long (fraction of the
analysis long side); shorter runs (a bird, a branch, a cloud's shadow) are inside the sky."""

SKY_DARKER = 0.25
"""Pixels darker than the top of their column by this much (HSV value) are relief, not sky, whatever their hue."""

SKY_LEAK_WINDOW = 0.125
"""Width (fraction of the image width) of the neighbourhood a column's sky line is compared with."""

SKY_LEAK_MARGIN = 0.04
"""A column's sky may reach at most this far (fraction of the height) below its neighbourhood's median sky
line: deeper tongues are pale ground (fog, haze, a snowfield) reached through a gap in the skyline."""

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

WATER_MIN_ANISOTROPY = 1.5
"""Ripples on a surface seen at a grazing angle are streaks along the horizontal: the intensity changes faster
down the image than across it. A region is rippled when the median ratio of vertical to horizontal gradient
energy is at least this; rock, foliage and most structure come close to 1."""


def detect_sky(rgb: np.ndarray) -> np.ndarray:
    """Find the sky: in each column, what lies above the ground and the pale textured relief standing on it.

    Scanning down a column, the ground starts at the first long run of pixels that do not have a sky's colour
    (trees, grass, dark rock) or are much darker than the top of the column (hazy mountains); thin interruptions
    (a bird, a wire, a cloud's shadow) stay inside the sky. Pale relief can have a sky's colour (a grey ridge under
    an overcast sky, snowy peaks): the densely textured pixels stacked directly on top of the ground are relief
    too. Everything above is sky, clouds included, however textured they are. What lies below a solid structure
    is never sky, so fog or haze below a faint tree line or shore stays out; and a column's sky never reaches far
    below its neighbours' (a pale band of fog seen through a gap in the skyline is not sky). The coarse mask found
    on the analysis copy is snapped to the image's edges at full resolution. Smooth pale ground that touches the sky with no structure in between (a snowfield, fog
    with nothing visible in it) cannot be told from the sky and is taken as sky.

    Args:
        rgb: HxWx3 float32 RGB image in [0, 1].

    Returns:
        Bool HxW mask, True on sky. All False when the image shows no (or almost no) sky.
    """
    small = _analysis_copy(rgb)
    height, width = small.shape[:2]
    run = max(2, round(SKY_END_RUN * max(height, width)))
    ground = _open_vertically(~_sky_coloured(small) | _darker_than_sky_above(small), run)
    ground_top = np.where(ground.any(axis=0), np.argmax(ground, axis=0), height)
    textured = cv2.blur((_fine_texture(small) > SKY_MAX_TEXTURE).astype(np.float32), (9, 9)) > 0.5
    sky_end = ground_top - _run_length_above(textured, ground_top)
    sky_end = _cap_leaks(sky_end, height, width)
    sky = np.arange(height)[:, None] < sky_end[None, :]
    sky = _open(sky, 5)  # cuts thin bridges along which the sky could leak into the ground
    sky = _components_touching_top(sky)
    if sky.mean() < MIN_SKY_FRACTION:
        return np.zeros(rgb.shape[:2], dtype=bool)
    return _refine_boundary(_to_input_size(sky, rgb.shape[:2]), rgb)


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
        x, y = self.centre
        vertical = "upper" if y < 1 / 3 else "middle" if y < 2 / 3 else "lower"
        horizontal = "left" if x < 1 / 3 else "centre" if x < 2 / 3 else "right"
        return "centre" if (vertical, horizontal) == ("middle", "centre") else f"{vertical} {horizontal}"


@dataclass(frozen=True)
class WaterSearch:
    """What the water detector found: water it is sure of, and regions it doubted."""

    water: np.ndarray
    """Bool HxW, True on water that should move."""
    doubtful: tuple[DoubtfulWater, ...]
    """Water-like regions left still, largest first."""

    def describe_doubtful(self, limit: int = 3) -> str:
        """The doubtful regions in words, the `limit` largest by name ("2.5 % of the image at the centre (why)")."""
        shown = self.doubtful[:limit]
        described = "; ".join(
            f"{100 * region.fraction:.1f} % of the image at the {region.where()} ({region.reason})" for region in shown
        )
        hidden = len(self.doubtful) - len(shown)
        return described + (f"; and {hidden} smaller" if hidden else "")


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


def find_water(rgb: np.ndarray, sky: np.ndarray) -> WaterSearch:
    """Find water a landscape photo shows, keeping only regions whose colour, texture and place all say water.

    Candidates are cool pixels (bluer than red, and bluer than the photo's land) below the sky and, when the
    photo shows sky, below the horizon (`mom_nerfstudio.synthesis.horizon`), where they are dense. A candidate region is water
    when most of it is textured (ripples, foam, reflections) and its texture is streaked along the horizontal, as
    ripples are on a surface seen at a grazing angle. Regions that fail a test are doubtful: a smooth or hazy one
    may be calm water, fog, distant haze, a road or a slab; an evenly textured one rock or foliage. Wood, earth
    and grey rock are not cooler than the land and never candidates. Dark or coloured water (a green lake) and
    water with no texture are missed: they stay still.

    Args:
        rgb: HxWx3 float32 RGB image in [0, 1].
        sky: bool HxW sky mask (from `detect_sky`); sky is never water, and water lies below it.

    Returns:
        The water to animate (bool HxW) and the doubtful regions, with the reason each was left still.
    """
    if sky.shape != rgb.shape[:2]:
        raise ValueError(f"sky mask of shape {sky.shape} for an image of shape {rgb.shape[:2]}")
    small = _analysis_copy(rgb)
    sky_small = _analysis_copy(sky.astype(np.float32)) > 0.5
    on_ground = _on_ground(sky_small)
    candidates = _water_coloured(small, ~sky_small) & on_ground
    # Water is where cool pixels are dense, not a scatter of single pixels on rock or bark.
    regions = (cv2.blur(candidates.astype(np.float32), (15, 15)) > 0.5) & on_ground
    regions = _drop_small_components(_open(regions, 5), MIN_WATER_FRACTION)

    textured = _fine_texture(small) > WATER_MIN_TEXTURE
    anisotropy = _gradient_anisotropy(small)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(regions.astype(np.uint8), connectivity=8)
    water = np.zeros_like(regions)
    doubtful = []
    for label in range(1, count):
        region = labels == label
        reason = _doubt(region, textured, anisotropy)
        if reason is None:
            water |= region
            continue
        height, width = region.shape
        centre = (float(centroids[label][0]) / width, float(centroids[label][1]) / height)
        doubtful.append(DoubtfulWater(stats[label, cv2.CC_STAT_AREA] / region.size, centre, reason))
    doubtful.sort(key=lambda region: region.fraction, reverse=True)
    return WaterSearch(water=_to_input_size(water, rgb.shape[:2]) & ~sky, doubtful=tuple(doubtful))


def _on_ground(sky: np.ndarray) -> np.ndarray:
    """Where water can lie: below the sky in every column and, when the photo shows sky, below the horizon
    (hazy blue mountains and low clouds rise above it)."""
    on_ground = _below_sky(sky) & ~sky
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


def _doubt(region: np.ndarray, textured: np.ndarray, anisotropy: np.ndarray) -> str | None:
    """Why a water-coloured `region` should be left still, or None when it looks like water."""
    if textured[region].mean() < WATER_MIN_TEXTURED_SHARE:
        return "it is smooth or hazy: calm water looks like that, but so do fog, distant haze, a road or a slab"
    if np.median(anisotropy[region]) < WATER_MIN_ANISOTROPY:
        return "its texture is not streaked like ripples: rock or foliage look like that"
    return None


def _gradient_anisotropy(rgb: np.ndarray) -> np.ndarray:
    """Local ratio of vertical to horizontal intensity-gradient energy (about 1 for texture with no direction)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    vertical = cv2.GaussianBlur(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) ** 2, (0, 0), 3)
    horizontal = cv2.GaussianBlur(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) ** 2, (0, 0), 3)
    return vertical / (horizontal + 1e-6)


def _analysis_copy(image: np.ndarray) -> np.ndarray:
    """Shrink `image` (area averaging) so its long side is at most ANALYSIS_LONG_SIDE.

    Smaller images are analysed as they are: enlarging would only smooth away the texture the detectors
    look at.
    """
    image = np.ascontiguousarray(image, dtype=np.float32)
    height, width = image.shape[:2]
    factor = ANALYSIS_LONG_SIDE / max(height, width)
    if factor >= 1:
        return image
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _to_input_size(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Scale a bool mask back to `shape` (height, width) with smooth, not blocky, edges."""
    height, width = shape[:2]
    if mask.shape == (height, width):
        return mask
    resized = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return resized > 0.5


def _value_saturation(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HSV value and saturation of an RGB image in [0, 1]."""
    value = rgb.max(axis=2)
    saturation = (value - rgb.min(axis=2)) / np.maximum(value, 1e-6)
    return value, saturation


def _fine_texture(rgb: np.ndarray) -> np.ndarray:
    """Local mean of the intensity's fine detail (what a small blur removes).

    Soft cloud edges carry little fine detail, rock, foliage and grass a lot, so this separates a cloudy
    sky from a pale ridge better than the gradient magnitude, which also responds to soft edges.
    """
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    detail = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.5))
    return cv2.blur(detail, (5, 5))


def _sky_coloured(rgb: np.ndarray) -> np.ndarray:
    """Pixels with the colour of a sky: bright grey-white (overcast, clouds) or blue."""
    value, saturation = _value_saturation(rgb)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    grey_white = (value > 0.55) & (saturation < 0.25)
    blue_sky = (value > 0.35) & (blue > red + 0.05) & (blue >= green)
    return grey_white | blue_sky


def _darker_than_sky_above(rgb: np.ndarray) -> np.ndarray:
    """Pixels much darker than the top of their column: hazy mountains can have a sky's hue, not its brightness.

    The top row stands for the sky (where it is a tree instead, its pixels are not sky-coloured anyway); it is
    smoothed across columns so that a bird or a branch at the top does not change the reference.
    """
    value = rgb.max(axis=2)
    window = max(3, round(SKY_LEAK_WINDOW * rgb.shape[1]))
    top = cv2.blur(value[:1], (window, 1), borderType=cv2.BORDER_REFLECT)
    return value < top - SKY_DARKER


def _open_vertically(mask: np.ndarray, length: int) -> np.ndarray:
    """Keep the vertical runs of `mask` at least `length` pixels long."""
    kernel = np.ones((length, 1), dtype=np.uint8)
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)


def _run_length_above(mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each column x, how many consecutive True pixels of `mask` end just above row `rows[x]`."""
    height, width = mask.shape
    run = np.zeros((height + 1, width), dtype=np.int32)  # run[r]: True pixels ending at row r - 1
    for row in range(height):
        run[row + 1] = np.where(mask[row], run[row] + 1, 0)
    return run[rows, np.arange(width)]


def _cap_leaks(sky_end: np.ndarray, height: int, width: int) -> np.ndarray:
    """Limit each column's sky end (first non-sky row) to SKY_LEAK_MARGIN below its neighbourhood's median."""
    window = max(3, round(SKY_LEAK_WINDOW * width)) | 1
    padded = np.pad(sky_end.astype(np.float32), window // 2, mode="edge")
    neighbourhood = np.lib.stride_tricks.sliding_window_view(padded, window)
    cap = np.median(neighbourhood, axis=1) + SKY_LEAK_MARGIN * height
    return np.minimum(sky_end, np.round(cap).astype(sky_end.dtype))


def _components_touching_top(mask: np.ndarray) -> np.ndarray:
    """Keep the 8-connected components of `mask` that reach the top row."""
    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    top_labels = np.unique(labels[0])
    top_labels = top_labels[top_labels != 0]
    return np.isin(labels, top_labels)


def _refine_boundary(sky: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Snap the sky boundary to the image's edges at full resolution.

    The texture feature blurs across the horizon, so the coarse mask stops a few pixels short of it. In a
    band around the boundary, each pixel goes to whichever side's local mean colour it is nearer to.
    """
    # The band covers how far the texture feature spreads: about 6 pixels of the analysis copy.
    radius = round(6 * max(1.0, max(sky.shape) / ANALYSIS_LONG_SIDE))
    band = _near_boundary(sky, radius)
    window = (4 * radius + 1, 4 * radius + 1)
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)

    def local_mean(region: np.ndarray) -> np.ndarray:
        weight = cv2.blur(region.astype(np.float32), window)[..., None]
        return cv2.blur(rgb * region[..., None], window) / np.maximum(weight, 1e-6)

    core_sky = sky & ~band
    core_ground = ~sky & ~band
    to_sky = np.sum((rgb - local_mean(core_sky)) ** 2, axis=2)
    to_ground = np.sum((rgb - local_mean(core_ground)) ** 2, axis=2)
    refined = np.where(band, to_sky < to_ground, sky)
    return _components_touching_top(refined)


def _drop_small_components(mask: np.ndarray, min_fraction: float) -> np.ndarray:
    """Remove the 8-connected components of `mask` smaller than `min_fraction` of the image."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    large = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= min_fraction * mask.size)
    large = large[large != 0]
    return np.isin(labels, large)


def _below_sky(sky: np.ndarray) -> np.ndarray:
    """True below the lowest sky pixel of each column (everywhere in columns without sky)."""
    height = sky.shape[0]
    rows = np.arange(height)[:, None]
    lowest_sky_row = np.where(sky.any(axis=0), height - 1 - np.argmax(sky[::-1], axis=0), -1)
    return rows > lowest_sky_row[None, :]


def _ellipse(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _near_boundary(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels within `radius` of the other side of the mask's boundary, on either side."""
    inside = mask.astype(np.uint8)
    distance_in = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    distance_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    return np.where(mask, distance_in, distance_out) <= radius


def _open(mask: np.ndarray, size: int) -> np.ndarray:
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, _ellipse(size)).astype(bool)
