"""Lifting image motion (pixels per frame in the input view) into 3D velocities of the scene's points.

Water lies on the ground and flows along its bed; a cloud drifts across the sky. A motion drawn in the image says
where a point goes on screen, not how its depth changes; the depth change comes from the surface the point lies
on. `surface` lifting moves each point within the tangent plane of the depth surface at its pixel: the end of its
motion takes the depth the surface has there. Water flowing toward the horizon therefore recedes along its bed,
and the sky, at one depth, keeps moving on it. `constant-depth` lifting (3D-Cinemagraphy's, and this project's
earlier one) moves each point within its depth plane, so the same water rises vertically instead.

The tangent plane is read from the disparity (1 / depth): a plane's disparity is an affine function of the pixel
coordinates, so its gradient is the plane's slope. Gradients are taken inside the motion region only, across no
depth discontinuity (where the disparity jumps between neighbours), and averaged over a window, so that a stream's
slope is not pulled by the rock beside it nor by noise in the depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from mom_nerfstudio.synthesis.cameras import Intrinsics, pixel_grid, unproject_pixels

MotionLift = Literal["surface", "constant-depth"]

DISCONTINUITY = 0.1
"""A disparity step between neighbouring pixels larger than this fraction of the disparity is a depth edge."""

SLOPE_RADIUS_FRACTION = 0.02
"""The window over which the surface's slope is averaged, as a fraction of the image's long side."""

_MIN_DISPARITY_FRACTION = 0.25
"""A lifted end point never moves farther than 4x its start's depth (a motion straight at the horizon)."""


@dataclass(frozen=True)
class SurfaceSlope:
    """The input view's surface as disparity and its slope: [H, W] disparity and [H, W, 2] d(disparity)/d(x, y)."""

    disparity: torch.Tensor
    gradient: torch.Tensor

    @classmethod
    def of(cls, depth: torch.Tensor, region: torch.Tensor) -> SurfaceSlope:
        """The slope of `depth` [H, W] inside `region` [H, W] bool (the motion mask), averaged over a window."""
        disparity = 1.0 / depth.float()
        height, width = disparity.shape
        gradients, weights = [], []
        for axis in (1, 0):  # x (columns), then y (rows)
            step = disparity.diff(dim=axis)
            pair_inside = region.narrow(axis, 0, step.shape[axis]) & region.narrow(axis, 1, step.shape[axis])
            smaller = torch.minimum(
                disparity.narrow(axis, 0, step.shape[axis]), disparity.narrow(axis, 1, step.shape[axis])
            )
            valid = pair_inside & (step.abs() <= DISCONTINUITY * smaller)
            padding = (0, 1) if axis == 1 else (0, 0, 0, 1)
            gradients.append(F.pad(step * valid, padding))
            weights.append(F.pad(valid.float(), padding))
        radius = max(1, round(SLOPE_RADIUS_FRACTION * max(height, width)))
        stacked = torch.stack([*gradients, *weights])[None]
        averaged = F.avg_pool2d(stacked, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)[0]
        gradient = averaged[:2] / averaged[2:].clamp(min=1e-6)
        return cls(disparity=disparity, gradient=gradient.permute(1, 2, 0))


def lift_motion(
    pixels: torch.Tensor,
    motion: torch.Tensor,
    depth: torch.Tensor,
    intrinsics: Intrinsics,
    lift: MotionLift,
    surface: SurfaceSlope | None = None,
) -> torch.Tensor:
    """3D velocities [N, 3] (camera frame, units per frame) of the points at `pixels` [N, 2] moving by `motion` [N, 2].

    `pixels` are camera pixel coordinates (centres at +0.5) and `depth` [N] the points' z-depths; `surface` (needed
    for `surface` lifting) is the view's `SurfaceSlope`. The velocity is the secant over one frame.
    """
    start = unproject_pixels(pixels, depth, intrinsics)
    end_depth = depth
    if lift == "surface":
        if surface is None:
            raise ValueError("surface lifting needs the view's SurfaceSlope")
        height, width = surface.disparity.shape
        cols = pixels[:, 0].floor().long().clamp(0, width - 1)
        rows = pixels[:, 1].floor().long().clamp(0, height - 1)
        start_disparity = 1.0 / depth
        end_disparity = start_disparity + (surface.gradient[rows, cols] * motion).sum(dim=-1)
        end_depth = 1.0 / end_disparity.clamp(min=_MIN_DISPARITY_FRACTION * start_disparity)
    elif lift != "constant-depth":
        raise ValueError(f"unknown motion lift {lift!r}")
    return unproject_pixels(pixels + motion, end_depth, intrinsics) - start


def lift_motion_map(
    motion: torch.Tensor, depth: torch.Tensor, region: torch.Tensor, intrinsics: Intrinsics, lift: MotionLift
) -> torch.Tensor:
    """Velocities [H * W, 3] (row-major, like `unproject_depth_map`) of every pixel's point under a dense motion [H, W, 2].

    Points outside `region` [H, W] bool do not move.
    """
    height, width = depth.shape
    surface = SurfaceSlope.of(depth, region) if lift == "surface" else None
    pixels = pixel_grid(height, width, device=depth.device).reshape(-1, 2)
    velocity = lift_motion(pixels, motion.reshape(-1, 2).float(), depth.reshape(-1).float(), intrinsics, lift, surface)
    return velocity * region.reshape(-1, 1)
