"""What the detectors read off a photo: copies at fixed sizes, fine texture, colour classes.

Texture is measured on a copy with a fixed long side, so that its thresholds (intensities in [0, 1]) mean the same
at every input resolution; decisions are made on a smaller copy and their masks scaled back.
"""

from __future__ import annotations

import cv2
import numpy as np

TEXTURE_LONG_SIDE = 512
"""Long side (pixels) of the copy fine texture is measured on."""

DECISION_LONG_SIDE = 256
"""Long side (pixels) of the copy the sky line and the water are decided on."""


def shrunk(image: np.ndarray, long_side: int) -> np.ndarray:
    """`image` (float32) shrunk by area averaging so its long side is at most `long_side`; smaller images as they are
    (enlarging would only smooth away the texture the detectors look at)."""
    image = np.ascontiguousarray(image, dtype=np.float32)
    height, width = image.shape[:2]
    factor = long_side / max(height, width)
    if factor >= 1:
        return image
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def resized_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A bool mask scaled to `shape` (height, width), with smooth rather than blocky edges."""
    height, width = shape[:2]
    if mask.shape == (height, width):
        return mask
    interpolation = cv2.INTER_AREA if height < mask.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(mask.astype(np.float32), (width, height), interpolation=interpolation) > 0.5


def fine_texture(rgb: np.ndarray) -> np.ndarray:
    """Local mean of the intensity's fine detail (what a small blur removes).

    Soft cloud edges carry little fine detail, rock, foliage and grass a lot, so this separates a cloudy sky from a
    pale ridge better than the gradient magnitude, which also responds to soft edges.
    """
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    detail = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.5))
    return cv2.blur(detail, (5, 5))


def texture_at(rgb: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Fine texture of the photo `rgb` measured at TEXTURE_LONG_SIDE, averaged down to `shape` (height, width)."""
    texture = fine_texture(shrunk(rgb, TEXTURE_LONG_SIDE))
    return cv2.resize(texture, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def value_saturation(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HSV value and saturation of an RGB image in [0, 1]."""
    value = rgb.max(axis=2)
    saturation = (value - rgb.min(axis=2)) / np.maximum(value, 1e-6)
    return value, saturation


def ramp(values: np.ndarray, start: float, end: float) -> np.ndarray:
    """0 at `start`, 1 at `end`, linear between (either direction)."""
    return np.clip((values - start) / (end - start), 0.0, 1.0)


def sky_colour_likeness(rgb: np.ndarray) -> np.ndarray:
    """How much each pixel has a daytime sky's colour, in [0, 1]: bright grey-white (overcast, clouds) or blue."""
    value, saturation = value_saturation(rgb)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    grey_white = ramp(value, 0.45, 0.65) * ramp(saturation, 0.3, 0.2)
    blue_sky = ramp(blue - red, 0.02, 0.1) * (blue >= green - 0.02) * ramp(value, 0.25, 0.4)
    return np.maximum(grey_white, blue_sky)


def vegetation_likeness(rgb: np.ndarray) -> np.ndarray:
    """How green each pixel is, in [0, 1]: green exceeding red and blue is foliage or grass, never sky or water."""
    return ramp(rgb[..., 1] - np.maximum(rgb[..., 0], rgb[..., 2]), 0.01, 0.06)


def gradient_anisotropy(rgb: np.ndarray) -> np.ndarray:
    """Local ratio of vertical to horizontal intensity-gradient energy (about 1 for texture with no direction)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    vertical = cv2.GaussianBlur(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) ** 2, (0, 0), 3)
    horizontal = cv2.GaussianBlur(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) ** 2, (0, 0), 3)
    return vertical / (horizontal + 1e-6)
