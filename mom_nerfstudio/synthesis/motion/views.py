"""Per-view 2D motion: the input view's motion carried into every synthesised view.

With hint arrows drawn in each view (the paper's per-view motion), each arrow is lifted into 3D at its start
(`mom_nerfstudio.synthesis.motion.lift`), projected into the view, and the view's dense hint field is drawn from the projected
arrows inside the view's own motion mask. Each view's field is thus built independently and they disagree
slightly; 3D-MOM reconciles them. With one motion for every view, each point's 3D velocity is projected instead.
"""

from __future__ import annotations

import numpy as np
import torch

from mom_nerfstudio.synthesis.cameras import (
    Intrinsics,
    project_points,
    transform_points,
    unproject_pixels,
)
from mom_nerfstudio.synthesis.motion.fields import dense_hint_field
from mom_nerfstudio.synthesis.motion.lift import MotionLift, SurfaceSlope, lift_motion

# Arrows are lifted over this many frames of motion before projecting, so that the projected velocity is
# the secant over a short, finite step (not a derivative): the same construction as the arrow itself.
_LIFT_FRAMES = 10.0
# Hints put pixel centres at integer coordinates, the cameras at half-integers (see `mom_nerfstudio.synthesis.cameras`).
_CAMERA_PIXEL_OFFSET = 0.5


def sample_depth(depth: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """Depth at camera pixel coordinates [K, 2] (centres at +0.5): the pixel each lies in, clamped to the image."""
    height, width = depth.shape
    cols = pixels[:, 0].floor().long().clamp(0, width - 1)
    rows = pixels[:, 1].floor().long().clamp(0, height - 1)
    return depth[rows, cols]


def project_hints(
    starts: torch.Tensor,
    velocities: torch.Tensor,
    depth: torch.Tensor,
    intrinsics: Intrinsics,
    world_to_camera: torch.Tensor,
    lift: MotionLift = "surface",
    surface: SurfaceSlope | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Carry input-view hints (starts [K, 2] px, velocities [K, 2] px/frame) into another view.

    Starts, in and out, follow the project's pixel convention (pixel centres at integer coordinates), as
    `motion_input` gives them and `dense_hint_field` reads them. Each hint is lifted into 3D by `lift` (with the
    input view's `surface` for surface lifting). Returns the projected starts, the projected velocities (px/frame)
    and which hints land in front of the camera.
    """
    camera_starts = starts + _CAMERA_PIXEL_OFFSET
    start_depth = sample_depth(depth, camera_starts)
    start_points = unproject_pixels(camera_starts, start_depth, intrinsics)
    velocity = lift_motion(camera_starts, velocities, start_depth, intrinsics, lift, surface)
    end_points = start_points + _LIFT_FRAMES * velocity
    view_starts, start_z = project_points(transform_points(start_points, world_to_camera), intrinsics)
    view_ends, end_z = project_points(transform_points(end_points, world_to_camera), intrinsics)
    in_front = (start_z > 0) & (end_z > 0)
    return view_starts - _CAMERA_PIXEL_OFFSET, (view_ends - view_starts) / _LIFT_FRAMES, in_front


def hint_field_in_view(
    view_mask: np.ndarray,
    starts: torch.Tensor,
    velocities: torch.Tensor,
    depth: torch.Tensor,
    intrinsics: Intrinsics,
    world_to_camera: torch.Tensor,
    sigma: float | None,
    lift: MotionLift = "surface",
    surface: SurfaceSlope | None = None,
) -> np.ndarray:
    """The dense hint field [H, W, 2] of one view, from the input view's hints and the view's motion mask."""
    view_starts, view_velocities, in_front = project_hints(
        starts, velocities, depth, intrinsics, world_to_camera, lift, surface
    )
    return dense_hint_field(
        view_mask,
        view_starts[in_front].cpu().numpy(),
        view_velocities[in_front].cpu().numpy(),
        sigma=sigma,
    )


def projected_point_motion(
    points: torch.Tensor, velocity: torch.Tensor, intrinsics: Intrinsics, world_to_camera: torch.Tensor
) -> torch.Tensor:
    """Each point's 2D motion in a view (px/frame, [P, 2]) under a 3D velocity (world units per frame)."""
    base, _ = project_points(transform_points(points, world_to_camera), intrinsics)
    moved, _ = project_points(transform_points(points + velocity, world_to_camera), intrinsics)
    return moved - base
