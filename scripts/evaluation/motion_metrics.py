"""Metrics of motion in 3D: velocities against the truth, and the multi-view consistency of per-view 2D motions.

- `velocity_errors`: the median relative error and the median cosine of estimated 3D velocities against the true
  ones. Predicting no motion scores a relative error of 1 and a cosine of 0; the right motion 0 and 1.
- `multiview_consistency`: the paper's multi-view consistency error (3D-MOM, Jin et al. 2025: 0.152 px/frame
  without its 3D motion fit, 0.003 with it): each animated view's 2D motion carried into the input view through
  the depth and compared point by point with the input view's own motion.

Cameras follow the synthesis (`mom_nerfstudio.synthesis.cameras`): OpenCV camera frames, world-to-camera [4, 4] transforms,
pixel centres at half-integers, z-depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from evaluation.metrics import ArrayLike, as_float64
from mom_nerfstudio.synthesis.cameras import (
    Intrinsics,
    pixel_grid,
    project_points,
    transform_points,
    unproject_pixels,
)
from mom_nerfstudio.synthesis.motion.fit import sample_flow_at

VISIBILITY_TOLERANCE = 0.03
"""A point carried into the input view counts as seen there when its depth is within this fraction of the input
view's depth at that pixel (otherwise something nearer hides it)."""


@dataclass(frozen=True)
class VelocityErrors:
    """How estimated 3D velocities compare with the true ones, point by point."""

    median_relative_error: float
    """Median of |estimated - true| / |true|: 0 for the truth, 1 for no motion."""
    median_cosine: float
    """Median cosine of the angle between estimated and true velocity: 1 for the right direction, 0 for no motion
    (a zero vector has no direction and counts as perpendicular), -1 for the opposite one."""


def velocity_errors(estimated: ArrayLike, true: ArrayLike) -> VelocityErrors:
    """Compare estimated velocities [N, 3] with true ones [N, 3] (any units, the same for both; true speeds > 0)."""
    estimated_array, true_array = as_float64(estimated), as_float64(true)
    if estimated_array.shape != true_array.shape or true_array.ndim != 2 or true_array.shape[1] != 3:
        raise ValueError(
            f"velocity_errors: expected two [N, 3] arrays, got {estimated_array.shape} and {true_array.shape}"
        )
    if len(true_array) == 0:
        raise ValueError("velocity_errors: no point to compare")
    true_speed = np.linalg.norm(true_array, axis=1)
    if not (true_speed > 0).all():
        raise ValueError("velocity_errors: some true velocities are zero; compare only points that truly move")
    estimated_speed = np.linalg.norm(estimated_array, axis=1)
    relative = np.linalg.norm(estimated_array - true_array, axis=1) / true_speed
    dot = (estimated_array * true_array).sum(axis=1)
    cosine = np.where(estimated_speed > 0, dot / np.maximum(estimated_speed * true_speed, 1e-300), 0.0)
    return VelocityErrors(median_relative_error=float(np.median(relative)), median_cosine=float(np.median(cosine)))


@dataclass(frozen=True)
class ViewConsistency:
    """The multi-view consistency error of each animated view against the input view, px/frame."""

    per_view: dict[int, float]
    """Mean end-point error of each view's carried motion, by view index."""

    @property
    def mean(self) -> float:
        """The mean over the views (each view weighs the same)."""
        return float(np.mean(list(self.per_view.values())))


def multiview_consistency(
    flows: ArrayLike,
    depths: ArrayLike,
    world_to_cameras: ArrayLike,
    intrinsics: Intrinsics,
    input_view: int = 0,
    views: Sequence[int] | None = None,
) -> ViewConsistency:
    """The multi-view consistency error of per-view 2D motions (3D-MOM's ablation), in px/frame.

    Each pixel p of an animated view v with a known depth is lifted to its 3D point X, and the end of its motion,
    p + F_v(p), to the point X' on the view's depth surface there (the inverse depth bilinearly sampled at the end).
    X and X' are projected into the input view, and their difference, the carried motion, is compared with the input
    view's motion at X's projection (bilinearly sampled): the end-point error |carried - F_input|. Points count
    where they land inside the input view, are seen there (their depth within VISIBILITY_TOLERANCE of the input
    view's), have a known depth at both ends of their motion, and move in either view. Carrying through the depth
    surface is exact for motion along the surface seen (water on its surface, clouds on the sky): flows that are
    projections of one such 3D motion score about 0, and a view whose motion is off by a vector scores about that
    vector's length.

    Args:
        flows: [V, H, W, 2] each view's motion, px/frame.
        depths: [V, H, W] each view's z-depth at t = 0; 0 (or not finite) where unknown.
        world_to_cameras: [V, 4, 4] each view's world-to-camera transform (OpenCV camera).
        intrinsics: shared by every view.
        input_view: the view every other one is compared with.
        views: the animated views to compare (default: every view but the input one).

    Returns:
        The mean error of each compared view; NaN for a view with no point to compare.
    """
    flow_stack = torch.from_numpy(as_float64(flows)).float()
    depth_stack = torch.from_numpy(np.nan_to_num(as_float64(depths), nan=0.0, posinf=0.0, neginf=0.0)).float()
    transforms = torch.from_numpy(as_float64(world_to_cameras)).float()
    count, height, width = depth_stack.shape
    if flow_stack.shape != (count, height, width, 2) or transforms.shape != (count, 4, 4):
        raise ValueError(
            f"multiview_consistency: flows {tuple(flow_stack.shape)}, depths {tuple(depth_stack.shape)} and poses "
            f"{tuple(transforms.shape)} must describe the same {count} views of {height}x{width} pixels"
        )
    if (intrinsics.height, intrinsics.width) != (height, width):
        raise ValueError(
            f"multiview_consistency: intrinsics of {intrinsics.width}x{intrinsics.height}, maps of {width}x{height}"
        )
    compared = [view for view in range(count) if view != input_view] if views is None else list(views)
    input_flow, input_depth = flow_stack[input_view], depth_stack[input_view]
    per_view = {}
    for view in compared:
        errors = _carried_errors(
            flow_stack[view],
            depth_stack[view],
            transforms[view],
            transforms[input_view],
            input_flow,
            input_depth,
            intrinsics,
        )
        per_view[view] = float(errors.mean()) if errors.numel() else float("nan")
    return ViewConsistency(per_view=per_view)


def _carried_errors(
    flow: torch.Tensor,
    depth: torch.Tensor,
    world_to_camera: torch.Tensor,
    input_world_to_camera: torch.Tensor,
    input_flow: torch.Tensor,
    input_depth: torch.Tensor,
    intrinsics: Intrinsics,
) -> torch.Tensor:
    """End-point errors [K] of one view's motion carried into the input view, at the points that count."""
    height, width = depth.shape
    pixels = pixel_grid(height, width).reshape(-1, 2)
    motion = flow.reshape(-1, 2)
    known = depth.reshape(-1) > 0
    ends = pixels + motion
    # Inverse depth is what varies linearly across the image of a plane, so it is what is interpolated; every
    # depth the bilinear sample mixes must be known, or the end's depth is not the surface's.
    inverse_depth = torch.where(depth > 0, 1.0 / depth.clamp_min(1e-12), torch.zeros_like(depth))
    end_inverse_depth = sample_flow_at(inverse_depth[..., None], ends)[:, 0]
    end_known = sample_flow_at(((depth > 0).float())[..., None], ends)[:, 0] > 1.0 - 1e-4
    end_depth = 1.0 / end_inverse_depth.clamp_min(1e-12)
    camera_to_world = torch.linalg.inv(world_to_camera)
    start_points = transform_points(unproject_pixels(pixels, depth.reshape(-1), intrinsics), camera_to_world)
    end_points = transform_points(unproject_pixels(ends, end_depth, intrinsics), camera_to_world)
    start_seen, start_z = project_points(transform_points(start_points, input_world_to_camera), intrinsics)
    end_seen, _ = project_points(transform_points(end_points, input_world_to_camera), intrinsics)
    inside = (start_z > 0) & (start_seen[:, 0] >= 0) & (start_seen[:, 0] < width)
    inside &= (start_seen[:, 1] >= 0) & (start_seen[:, 1] < height)
    columns = start_seen[:, 0].clamp(0, width - 1).long()
    rows = start_seen[:, 1].clamp(0, height - 1).long()
    seen_depth = input_depth[rows, columns]
    visible = (seen_depth > 0) & ((start_z - seen_depth).abs() <= VISIBILITY_TOLERANCE * seen_depth)
    input_motion = sample_flow_at(input_flow, start_seen)
    moving = (motion.abs().sum(-1) > 0) | (input_flow[rows, columns].abs().sum(-1) > 0)
    counted = known & end_known & inside & visible & moving
    return torch.linalg.norm((end_seen - start_seen - input_motion)[counted], dim=-1)
