"""Weight-free sky and water detectors for landscape photos.

Both are hand-tuned colour and texture heuristics, not learned segmenters: they are meant for the automatic
motion default and for the landscape depth prior, and a user who needs precise regions draws them (labelme).
Features are computed on a copy scaled to a fixed long side, so the thresholds on texture (intensity
gradients, intensities in [0, 1]) mean the same at every input resolution; the masks are then scaled back
to the input size. The thresholds were tuned on real landscape photos (an overcast sky above a pale rock
ridge, a forest stream with white water).
"""

import cv2
import numpy as np

ANALYSIS_LONG_SIDE = 512
"""Long side (pixels) of the copy the features are computed on."""

MIN_SKY_FRACTION = 0.005
"""Less sky than this fraction of the image is treated as no sky (bright gaps in foliage, glare)."""

MIN_WATER_FRACTION = 0.003
"""Water regions smaller than this fraction of the image are dropped as noise."""


def detect_sky(rgb: np.ndarray) -> np.ndarray:
    """Find the sky: bright, grey-white or blue, smooth pixels connected to the top border.

    The coarse mask found on the analysis copy is snapped to the image's edges at full resolution. Smooth
    pale ground that touches the sky without an edge between them (fog, a snowfield) is taken as sky.

    Args:
        rgb: HxWx3 float32 RGB image in [0, 1].

    Returns:
        Bool HxW mask, True on sky. All False when the image shows no (or almost no) sky.
    """
    small = _analysis_copy(rgb)
    sky_coloured = _sky_coloured(small)
    # Rock and snow can be as bright and as grey as an overcast sky, but they are textured: that is what
    # keeps a pale mountain ridge out of the sky.
    candidate = sky_coloured & (_fine_texture(small) < 0.008)

    sky = _components_touching_top(candidate)
    sky = _open(sky, 5)  # cuts thin bridges along which the sky could leak into the ground
    sky = _components_touching_top(sky)
    sky = _fill_sky_holes(_close(sky, 5), sky_coloured)
    if sky.mean() < MIN_SKY_FRACTION:
        return np.zeros(rgb.shape[:2], dtype=bool)
    return _refine_boundary(_to_input_size(sky, rgb.shape[:2]), rgb)


def detect_water(rgb: np.ndarray, sky: np.ndarray) -> np.ndarray:
    """Find water a landscape photo is likely to show: white water (foam) and grey rippled streams or pools.

    A heuristic, and an honest one: it looks for colourless pixels below the sky that are either bright
    and cool (foam, cascades) or streaked along the horizontal (ripples, reflections), and keeps the
    regions where such pixels are dense. It has no notion of what water is: pale rock with horizontal
    strata can pass, and dark or coloured water (a green lake) is missed.

    Args:
        rgb: HxWx3 float32 RGB image in [0, 1].
        sky: bool HxW sky mask (from `detect_sky`); sky is never water, and water lies below it.

    Returns:
        Bool HxW mask, True on water. All False when nothing looks like water.
    """
    if sky.shape != rgb.shape[:2]:
        raise ValueError(f"sky mask of shape {sky.shape} for an image of shape {rgb.shape[:2]}")
    small = _analysis_copy(rgb)
    sky_small = _analysis_copy(sky.astype(np.float32)) > 0.5
    value, saturation = _value_saturation(small)
    red, blue = small[..., 0], small[..., 2]
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    # The skyline is a strong edge but no water texture: gradients next to the sky are not counted.
    off_skyline = ~_dilate(sky_small, 3)
    grad_x = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)) * off_skyline
    grad_y = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)) * off_skyline
    texture = cv2.blur(grad_x + grad_y, (5, 5))
    # Ripples and falling sheets of water are streaks across the flow: intensity changes mostly vertically.
    streakiness = cv2.blur(grad_y, (9, 9)) / (cv2.blur(grad_x, (9, 9)) + 1e-3)

    colourless = saturation < 0.3
    cool = blue > red + 0.05
    foam = colourless & cool & (value > 0.75) & (texture > 0.5)
    rippled = colourless & (blue > red - 0.03) & (value > 0.25) & (streakiness > 1.8) & (texture > 0.2)
    evidence = (foam | rippled) & ~sky_small & _below_sky(sky_small)

    # Water is where the evidence is dense, not a scatter of single pixels on rock or bark.
    density = cv2.blur(evidence.astype(np.float32), (15, 15))
    water = (density > 0.25) & colourless & ~sky_small
    water = _open(_close(water, 7), 5)
    water = _drop_small_components(water, MIN_WATER_FRACTION)
    return _to_input_size(water, rgb.shape[:2]) & ~sky


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


def _components_touching_top(mask: np.ndarray) -> np.ndarray:
    """Keep the 8-connected components of `mask` that reach the top row."""
    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    top_labels = np.unique(labels[0])
    top_labels = top_labels[top_labels != 0]
    return np.isin(labels, top_labels)


def _sky_coloured(rgb: np.ndarray) -> np.ndarray:
    """Pixels with the colour of a sky: bright grey-white (overcast, clouds) or blue."""
    value, saturation = _value_saturation(rgb)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    grey_white = (value > 0.55) & (saturation < 0.25)
    blue_sky = (value > 0.35) & (blue > red + 0.05) & (blue >= green)
    return grey_white | blue_sky


def _fill_sky_holes(sky: np.ndarray, sky_coloured: np.ndarray) -> np.ndarray:
    """Fill the holes of the sky that are not ground.

    Such a hole does not reach the bottom border, and it is either enclosed by sky (a bird, a textured
    cloud) or mostly sky-coloured (a cloud cut off by a side border).
    """
    count, labels = cv2.connectedComponents((~sky).astype(np.uint8), connectivity=4)
    if count <= 1:
        return sky
    on_bottom = np.zeros(count, dtype=bool)
    on_bottom[labels[-1]] = True
    on_border = on_bottom.copy()
    on_border[np.concatenate([labels[0], labels[:, 0], labels[:, -1]])] = True
    sizes = np.maximum(np.bincount(labels.ravel(), minlength=count), 1)
    coloured_fraction = np.bincount(labels.ravel(), weights=sky_coloured.ravel(), minlength=count) / sizes
    fill = ~on_bottom & (~on_border | (coloured_fraction > 0.6))
    fill[0] = False  # label 0 is the sky itself
    return sky | fill[labels]


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


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), _ellipse(2 * radius + 1)).astype(bool)


def _near_boundary(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels within `radius` of the other side of the mask's boundary, on either side."""
    inside = mask.astype(np.uint8)
    distance_in = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    distance_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    return np.where(mask, distance_in, distance_out) <= radius


def _open(mask: np.ndarray, size: int) -> np.ndarray:
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, _ellipse(size)).astype(bool)


def _close(mask: np.ndarray, size: int) -> np.ndarray:
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, _ellipse(size)).astype(bool)
