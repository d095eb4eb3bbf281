"""`--depth file`: a depth or disparity map supplied by the user, brought into the project's convention.

Formats: `.npy` (a 2-D numeric array), `.png` (8- or 16-bit) and `.exr`, the images with one channel (or one
channel repeated as three). The map is resampled to the working resolution with validity-weighted interpolation:
area averaging when shrinking, bilinear when enlarging, where pixels without a usable value (zero, negative,
NaN, infinite) take no part and a pixel with no usable neighbour stays without a value (it ends far away).
Values that cannot be what the file says it holds (NaN, negative, and zero depth or infinite disparity) are
reported with a warning.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger
from mom_nerfstudio.synthesis.depth.convention import (
    depth_from_disparity,
    normalize_depth,
)

# OpenCV's EXR codec is off unless this option is set; OpenCV reads it at the first EXR decode, so setting it at
# import time here is early enough even when cv2 was imported before.
os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

DepthFileKind = Literal["depth", "disparity"]
SUPPORTED_SUFFIXES = (".npy", ".png", ".exr")
MAX_ASPECT_RATIO_DIFFERENCE = 0.01


@dataclass(frozen=True)
class DepthFromFile:
    """A depth estimator that reads the user's depth or disparity map instead of estimating one."""

    path: Path
    kind: DepthFileKind = "depth"
    photo_size: tuple[int, int] | None = None
    """(height, width) of the photo file, for messages; default: the working image's size."""
    name: str = "file"

    def estimate(self, rgb: np.ndarray, sky_mask: np.ndarray) -> np.ndarray:
        """Depth (float32 HxW, project convention) from the file, at the size of `rgb`; sky at SKY_DEPTH."""
        return load_depth_file(self.path, rgb.shape[:2], self.kind, sky_mask, self.photo_size)


def load_depth_file(
    path: Path,
    size: tuple[int, int],
    kind: DepthFileKind = "depth",
    sky_mask: np.ndarray | None = None,
    photo_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read a depth (or disparity) map, resample it to `size` (height, width) and convert it to our convention.

    Raises Mom4dInputError for a missing, unreadable or unsupported file, a map that is not 2-D, an aspect
    ratio that differs from the photo's (`photo_size`, height and width; default `size`) by more than 1 %, or a
    map without any positive finite value. Warns when some of its values are invalid (see `_invalid_values`).
    """
    path = Path(path)
    if kind not in ("depth", "disparity"):
        raise Mom4dInputError(f"--depth-file-kind {kind!r} is not known; use 'depth' or 'disparity'.")
    values = read_depth_map(path)
    _check_aspect_ratio(path, values.shape, photo_size or size)
    if not np.any(_usable(values)):
        raise Mom4dInputError(
            f"The {kind} file {path} has no positive finite value; every pixel is zero, negative, NaN or infinite. "
            f"Pass a map where larger values mean {'farther' if kind == 'depth' else 'nearer'}."
        )
    resampled = values.shape != tuple(size)
    _warn_about_invalid_values(path, values, kind, resampled)
    if resampled:
        logger.info(f"Resampling the {kind} map from {values.shape[1]}x{values.shape[0]} to {size[1]}x{size[0]}.")
        values = resample_valid(values, size)
    if kind == "disparity":
        return depth_from_disparity(values, sky_mask)
    return normalize_depth(values, sky_mask)


def read_depth_map(path: Path) -> np.ndarray:
    """The 2-D float64 map stored in `path` (.npy, .png or .exr), values as stored (not yet interpreted)."""
    if not path.exists():
        raise Mom4dInputError(f"Depth file {path} does not exist; check the path given for the depth file.")
    if not path.is_file():
        raise Mom4dInputError(f"Depth file {path} is not a file; pass the path of a .npy, .png or .exr map.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise Mom4dInputError(
            f"Depth file {path} has the unsupported extension {path.suffix!r}; "
            f"save the map as one of {', '.join(SUPPORTED_SUFFIXES)}."
        )
    values = _read_npy(path) if suffix == ".npy" else _read_with_opencv(path)
    if suffix != ".npy" and values.ndim == 3 and values.shape[2] == 3 and _channels_equal(values):
        values = values[:, :, 0]  # a grey map stored as three equal channels
    if values.ndim != 2:
        hint = " It looks like a colour image: save the depth as a single-channel map." if values.ndim == 3 else ""
        raise Mom4dInputError(f"Depth file {path} holds an array of shape {values.shape}, not a 2-D map.{hint}")
    return values.astype(np.float64)


def resample_valid(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample `values` to `size` (height, width), averaging only usable values (positive and finite).

    Uses area interpolation when shrinking and bilinear when enlarging; a pixel with no usable source value
    becomes NaN.
    """
    height, width = size
    shrinking = height * width < values.shape[0] * values.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    usable = _usable(values)
    weights = cv2.resize(usable.astype(np.float64), (width, height), interpolation=interpolation)
    sums = cv2.resize(np.where(usable, values, 0.0), (width, height), interpolation=interpolation)
    resampled = np.full((height, width), np.nan)
    supported = weights > 1e-6
    resampled[supported] = sums[supported] / weights[supported]
    return resampled


def _read_npy(path: Path) -> np.ndarray:
    try:
        values = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise Mom4dInputError(f"Depth file {path} could not be read as a numpy array ({error}).") from error
    if not isinstance(values, np.ndarray) or not np.issubdtype(values.dtype, np.number) or values.dtype == bool:
        raise Mom4dInputError(f"Depth file {path} does not hold a numeric array; save a 2-D float array with np.save.")
    return values


def _read_with_opencv(path: Path) -> np.ndarray:
    try:
        values = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:  # raised, for instance, when the EXR codec is missing or disabled
        raise Mom4dInputError(
            f"Depth file {path} could not be read by OpenCV ({error.err}); save the map as .npy instead."
        ) from error
    if values is None:
        raise Mom4dInputError(f"Depth file {path} could not be read; it is not a valid {path.suffix} image.")
    return values


def _channels_equal(values: np.ndarray) -> bool:
    return bool(np.array_equal(values[:, :, 0], values[:, :, 1]) and np.array_equal(values[:, :, 0], values[:, :, 2]))


def _invalid_values(values: np.ndarray, kind: DepthFileKind) -> tuple[np.ndarray, str]:
    """Where a map holds values that cannot be a `kind` (bool mask), and what they are, in words.

    NaN and negative values are invalid for both; so are zero depths (no depth) and infinite disparities (a
    point at the camera). Infinite depth and zero disparity are valid: infinitely far.
    """
    if kind == "depth":
        return np.isnan(values) | (values <= 0), "NaN, zero or negative"
    return np.isnan(values) | (values < 0) | np.isposinf(values), "NaN, negative or infinite"


def _warn_about_invalid_values(path: Path, values: np.ndarray, kind: DepthFileKind, resampled: bool) -> None:
    invalid, description = _invalid_values(values, kind)
    count = int(np.count_nonzero(invalid))
    if not count:
        return
    fate = (
        "they take no part in the resampling, and a pixel left without a valid value is placed at the sky depth "
        "(far away)"
        if resampled
        else "they are placed at the sky depth (far away)"
    )
    logger.warning(
        f"Depth file {path}: {count} of {values.size} pixels ({count / values.size:.2%}) are {description}; {fate}."
    )


def _check_aspect_ratio(path: Path, map_shape: tuple[int, ...], photo_size: tuple[int, int]) -> None:
    map_ratio = map_shape[1] / map_shape[0]
    photo_ratio = photo_size[1] / photo_size[0]
    if abs(map_ratio / photo_ratio - 1.0) > MAX_ASPECT_RATIO_DIFFERENCE:
        raise Mom4dInputError(
            f"Depth file {path} is {map_shape[1]} x {map_shape[0]} (width x height) but the photo is "
            f"{photo_size[1]} x {photo_size[0]}: their aspect ratios differ by more than 1 %. Pass a map of this photo."
        )


def _usable(values: np.ndarray) -> np.ndarray:
    return np.isfinite(values) & (values > 0)
