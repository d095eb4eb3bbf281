"""The motion a photo gets when its user gives none: the sky drifts, flowing water flows, calm water ripples.

Speeds are shares of the frame per loop, so that the motion is as visible at every working size and loop length:
over one loop the clouds drift `sky_drift` of the frame's width to the right, rippled water (a river, the sea's
waves) flows `water_flow` of its height down the image, towards the viewer, and calm water (a lake that mirrors the
scene) ripples: thin horizontal bands of it sway left and right by `calm_ripple` of the width, in alternating
directions, which makes its reflection shimmer. The motion is a dense flow, exactly zero outside the regions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mom_nerfstudio.log import logger
from mom_nerfstudio.synthesis.motion.input import AutomaticSpeeds, MotionInput, MovingRegion, annotation_path
from mom_nerfstudio.synthesis.segmentation import SkyAndWater

RIPPLE_WAVELENGTH = 0.03
"""Height of one light-and-dark pair of the calm water's swaying bands, as a share of the image's height."""


def automatic_motion(
    image_path: Path,
    found: SkyAndWater,
    speeds: AutomaticSpeeds,
    num_frames: int,
    still: np.ndarray | None = None,
    learned_segmenter_used: bool = False,
) -> MotionInput:
    """Animate the sky and the water `found` in the photo `image_path` over a loop of `num_frames`, never its `still`
    pixels.

    One log line names every moving region with its share of the frame, its direction and speed, and what was left
    still and why; water-like regions the detector doubted stay still, and a warning says how to animate them.
    """
    sky, water, calm = found.sky, found.water.water, found.water.calm_water
    if still is not None:
        sky, water, calm = sky & ~still, water & ~still, calm & ~still
    shape = sky.shape
    height, width = shape
    candidates = [
        _region("sky", sky, "drifts right", speeds.sky_drift * width / num_frames, speeds.sky_drift, (1.0, 0.0)),
        _region(
            "flowing water",
            water & ~calm,
            "flows down",
            speeds.water_flow * height / num_frames,
            speeds.water_flow,
            (0.0, 1.0),
        ),
        _region("calm water", calm, "ripples sideways", speeds.calm_ripple * width / num_frames, speeds.calm_ripple),
    ]
    regions = [(region, field) for region, field in candidates if region.mask.any()]
    if found.water.doubtful:
        logger.warning(
            f"Left still in {image_path.name}, as it may not be water: {found.water.describe_doubtful()}. "
            "To animate such a region, draw a polygon labelled 'motion' over it and a line labelled 'hint' "
            f"along its flow in labelme, saved as {annotation_path(image_path).name} beside the photo."
        )
    if not regions:
        logger.warning(f"Neither sky nor water found in {image_path.name}: static scene.")
        _suggest_learned(image_path, learned_segmenter_used)
        return MotionInput.static(shape, "automatic (nothing found: static)")
    flow = np.zeros((*shape, 2), dtype=np.float32)
    for region, field in regions:
        flow[region.mask] = field[region.mask]
    moving = tuple(region for region, _ in regions)
    described = "; ".join(region.describe() for region in moving)
    logger.info(f"Motion of {image_path.name} (automatic): {described}. {_left_still(found, still)}")
    if found.water.doubtful or not water.any():
        _suggest_learned(image_path, learned_segmenter_used)
    return MotionInput(
        mask=np.any([region.mask for region in moving], axis=0),
        hint_starts=np.zeros((0, 2), dtype=np.float32),
        hint_velocities=np.zeros((0, 2), dtype=np.float32),
        flow=flow,
        source="automatic (" + ", ".join(region.name for region in moving) + ")",
        regions=moving,
    )


def _region(
    name: str,
    mask: np.ndarray,
    direction: str,
    speed: float,
    share_per_loop: float,
    constant_direction: tuple[float, float] | None = None,
) -> tuple[MovingRegion, np.ndarray]:
    """A moving region and its flow (pixels per frame): `speed` along `constant_direction` (dx, dy), or swaying
    bands of peak `speed` without one."""
    shape = mask.shape
    unit = _constant(shape, constant_direction) if constant_direction is not None else _swaying_bands(shape)
    return MovingRegion(name, mask, direction, share_per_loop, speed), unit * speed


def _constant(shape: tuple[int, int], direction: tuple[float, float]) -> np.ndarray:
    """A field of unit vectors `direction` (dx, dy) over an image of `shape`."""
    return np.broadcast_to(np.float32(direction), (*shape, 2)).copy()


def _swaying_bands(shape: tuple[int, int]) -> np.ndarray:
    """A field of horizontal bands that move left and right alternately, peak speed 1."""
    height, width = shape
    wavelength = max(4.0, RIPPLE_WAVELENGTH * height)
    rows = np.arange(height, dtype=np.float32)[:, None]
    field = np.zeros((height, width, 2), dtype=np.float32)
    field[..., 0] = np.sin(2 * np.pi * rows / wavelength)
    return field


def _left_still(found: SkyAndWater, still: np.ndarray | None) -> str:
    """What stays still and why, in words."""
    parts = ["Everything else stays still (land and structure)"]
    if found.water.doubtful:
        doubted = sum(region.fraction for region in found.water.doubtful)
        parts.append(f"{100 * doubted:.1f} % of the frame that may not be water is left still (see above)")
    if still is not None and still.any():
        parts.append(f"{100 * still.mean():.1f} % of the frame is transparent and never moves")
    return "; ".join(parts) + "."


def _suggest_learned(image_path: Path, learned_segmenter_used: bool) -> None:
    """Say how to animate what the weight-free detectors may have missed."""
    if learned_segmenter_used:
        return
    logger.info(
        f"If {image_path.name} shows water or sky that does not move, a learned segmenter may find it: "
        "--segmentation learned (a SegFormer trained on ADE20K, downloaded once), or draw the motion in labelme."
    )
