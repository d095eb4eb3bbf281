"""The detectors the synthesis reads a photo with, by name, and their measurement against ground truth.

A `Detector` finds the sky and the automatic motion mask of a photo. `DETECTORS` holds them by name; another
detector (a learned segmenter) joins with `register`. Depth is measured with the depth methods of
`mom_nerfstudio.synthesis.depth` (by their names there), given the detector's sky, as the synthesis does.

`measure_detector` scores one detector and one depth method on one scene: motion-mask IoU and the share of truly
static pixels it animates, sky IoU, depth AbsRel and texture copy (`detection_metrics`), and the seconds each
took. Only public functions of `dataparsers` are called, so that the detectors of another checkout (an older
commit) can be measured by the same code.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.detection_metrics import (
    depth_abs_rel,
    false_positive_share,
    mask_iou,
    texture_copy,
)
from evaluation.synthetic_ground_truth import LandscapeGroundTruth
from evaluation.synthetic_landscape import LandscapeParams, write_scene
from mom_nerfstudio.synthesis.depth import estimate_depth
from mom_nerfstudio.synthesis.image_io import load_image
from mom_nerfstudio.synthesis.motion.sources import resolve_motion_input
from mom_nerfstudio.synthesis.segmentation import detect_sky

MaskFinder = Callable[[np.ndarray], np.ndarray]
"""Photo (float32 HxWx3 in [0, 1]) -> bool HxW mask."""


@dataclass(frozen=True)
class Detector:
    """A way of reading, off a photo, where the sky is and what moves when the user gave no motion."""

    name: str
    sky: MaskFinder
    motion: MaskFinder
    description: str = ""


DETECTORS: dict[str, Detector] = {}
"""Detector name -> detector."""


def register(detector: Detector) -> Detector:
    """Add `detector` to DETECTORS under its name (a name can be registered once)."""
    if detector.name in DETECTORS:
        raise ValueError(f"a detector named {detector.name!r} is already registered")
    DETECTORS[detector.name] = detector
    return detector


def automatic_motion_mask(rgb: np.ndarray) -> np.ndarray:
    """The motion mask mom4d animates for a photo that comes with no motion (its automatic default)."""
    with tempfile.TemporaryDirectory() as folder:  # a photo with no annotation beside it
        return resolve_motion_input(Path(folder) / "photo.png", rgb, 1.0).mask


register(
    Detector(
        name="heuristic",
        sky=detect_sky,
        motion=automatic_motion_mask,
        description="mom4d's weight-free colour, texture and layout rules (mom_nerfstudio/synthesis/segmentation.py)",
    )
)


@dataclass(frozen=True)
class Truth:
    """What is known about a scene: always its photo, then whatever ground truth it has."""

    name: str
    rgb: np.ndarray
    motion: np.ndarray | None = None
    """Bool HxW: what moves (water and sky of a synthetic scene, the motion polygons of an annotated photo)."""
    sky: np.ndarray | None = None
    depth: np.ndarray | None = None
    """True z-depth in the project's convention (synthetic scenes)."""


def measure_detector(truth: Truth, detector: Detector, depth_method: str = "prior") -> dict[str, float]:
    """Run `detector` and the depth method on the scene's photo and score them against what the scene knows."""
    values: dict[str, float] = {}
    started = time.perf_counter()
    sky = detector.sky(truth.rgb)
    values["sky_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    motion = detector.motion(truth.rgb)
    values["motion_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    depth = estimate_depth(truth.rgb, sky, method=depth_method)
    values["depth_seconds"] = time.perf_counter() - started
    values["moving_share"] = float(motion.mean())
    if truth.motion is not None:
        values["motion_iou"] = mask_iou(motion, truth.motion)
        values["static_marked_moving"] = false_positive_share(motion, truth.motion)
    if truth.sky is not None:
        values["sky_iou"] = mask_iou(sky, truth.sky)
    if truth.depth is not None and truth.sky is not None:
        values["depth_abs_rel"] = depth_abs_rel(depth, truth.depth, ~truth.sky)
        values["texture_copy"] = texture_copy(depth, truth.depth, ~truth.sky, truth.rgb)
    return values


def synthetic_truth(seed: int, folder: Path, width: int) -> Truth:
    """The procedural landscape of `seed` at `width` pixels with its ground truth, written into `folder` once."""
    name = f"landscape{seed}"
    scene_folder = Path(folder) / name
    photo = scene_folder / f"{name}.png"
    if not photo.exists():
        write_scene(scene_folder, LandscapeParams.random(seed), width=width, name=name)
    truth = LandscapeGroundTruth.load(scene_folder)
    rgb = load_image(photo, max_resolution=width).rgb
    return Truth(name, rgb, motion=truth.input_motion_mask(), sky=truth.sky_mask(), depth=truth.input_depth())


def photo_truth(photo: Path, max_resolution: int = 1024) -> Truth:
    """A photo as the synthesis loads it, with the motion polygons of its labelme annotation (the JSON of the same
    name beside it) as its true motion, when it has one."""
    image = load_image(photo, max_resolution=max_resolution)
    motion = None
    if Path(photo).with_suffix(".json").is_file():
        motion = resolve_motion_input(Path(photo), image.rgb, image.scale).mask
    return Truth(Path(photo).stem, image.rgb, motion=motion)
