"""Pinhole cameras for the synthesised views: intrinsics, the paper's view set, projection and lifting.

Conventions used throughout the synthesis:
- camera frame as in OpenCV: x right, y down, z forward; the world frame is the input camera's frame;
- pixel centres at half-integers, as in nerfstudio and gsplat: the centre of column j is at x = j + 0.5;
- depth is z-depth along the optical axis (see `mom_nerfstudio.synthesis.depth.convention`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of an image of `width` x `height` pixels."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def matrix(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """The 3x3 calibration matrix K."""
        return torch.tensor(
            [[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]], dtype=torch.float32, device=device
        )


def intrinsics_from_fov(width: int, height: int, fov_degrees: float) -> Intrinsics:
    """Square-pixel intrinsics whose field of view along the image's long side is `fov_degrees`."""
    if not 1.0 <= fov_degrees <= 170.0:
        raise ValueError(f"field of view must lie in [1, 170] degrees, got {fov_degrees}")
    focal = 0.5 * max(width, height) / math.tan(math.radians(fov_degrees) / 2.0)
    return Intrinsics(fx=focal, fy=focal, cx=width / 2.0, cy=height / 2.0, width=width, height=height)


@dataclass(frozen=True)
class ViewPose:
    """One synthesised view: a look-around rotation composed with a small orbit about the pivot."""

    name: str
    yaw_degrees: float
    pitch_degrees: float
    orbit_yaw_degrees: float
    orbit_pitch_degrees: float
    cam_to_world: torch.Tensor  # [4, 4], OpenCV camera convention


def rotation_yaw_pitch(yaw_degrees: float, pitch_degrees: float) -> torch.Tensor:
    """Rotation turning a camera right by `yaw` (about its y axis) then up by `pitch` (about its x axis)."""
    yaw, pitch = math.radians(yaw_degrees), math.radians(pitch_degrees)
    about_y = torch.tensor([[math.cos(yaw), 0.0, math.sin(yaw)], [0.0, 1.0, 0.0], [-math.sin(yaw), 0.0, math.cos(yaw)]])
    # y points down, so looking up turns the forward axis towards -y.
    about_x = torch.tensor(
        [[1.0, 0.0, 0.0], [0.0, math.cos(pitch), -math.sin(pitch)], [0.0, math.sin(pitch), math.cos(pitch)]]
    )
    return about_y @ about_x


def orbit_pose(orbit_yaw_degrees: float, orbit_pitch_degrees: float, pivot_depth: float) -> torch.Tensor:
    """Camera-to-world pose on a sphere about the point `pivot_depth` ahead, still looking at that point."""
    rotation = rotation_yaw_pitch(orbit_yaw_degrees, orbit_pitch_degrees)
    pivot = torch.tensor([0.0, 0.0, pivot_depth])
    pose = torch.eye(4)
    pose[:3, :3] = rotation
    pose[:3, 3] = pivot - rotation @ pivot
    return pose


def look_around_pose(yaw_degrees: float, pitch_degrees: float) -> torch.Tensor:
    """Camera-to-world pose of a pure rotation in place."""
    pose = torch.eye(4)
    pose[:3, :3] = rotation_yaw_pitch(yaw_degrees, pitch_degrees)
    return pose


def paper_view_set(
    pivot_depth: float,
    yaw_degrees: float = 20.0,
    pitch_degrees: float = 22.5,
    orbit_degrees: float = 5.0,
) -> list[ViewPose]:
    """The 25 views of 3D-MOM: 5 look-around rotations x 5 orbit poses about a pivot `pivot_depth` ahead.

    Rotations are {(0, 0), (+-yaw, 0), (0, +-pitch)} and orbits {(0, 0), (+-orbit, 0), (0, +-orbit)}. Views are
    ordered rotation-major, so view 0 (no rotation, no orbit) is the input view and views 0-4 are the orbits
    seen straight ahead.
    """
    offsets = [(0.0, 0.0), (1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)]
    views = []
    for rotation_index, (ry, rp) in enumerate(offsets):
        for orbit_index, (oy, op) in enumerate(offsets):
            yaw, pitch = ry * yaw_degrees, rp * pitch_degrees
            orbit_yaw, orbit_pitch = oy * orbit_degrees, op * orbit_degrees
            pose = orbit_pose(orbit_yaw, orbit_pitch, pivot_depth) @ look_around_pose(yaw, pitch)
            views.append(
                ViewPose(
                    name=f"r{rotation_index}o{orbit_index}",
                    yaw_degrees=yaw,
                    pitch_degrees=pitch,
                    orbit_yaw_degrees=orbit_yaw,
                    orbit_pitch_degrees=orbit_pitch,
                    cam_to_world=pose,
                )
            )
    return views


def pixel_grid(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Pixel centres as [H, W, 2] (x, y) coordinates."""
    ys, xs = torch.meshgrid(
        torch.arange(height, device=device, dtype=torch.float32) + 0.5,
        torch.arange(width, device=device, dtype=torch.float32) + 0.5,
        indexing="ij",
    )
    return torch.stack([xs, ys], dim=-1)


def unproject_pixels(pixels: torch.Tensor, depth: torch.Tensor, intrinsics: Intrinsics) -> torch.Tensor:
    """Lift pixel coordinates [..., 2] with z-depth [...] to camera-frame points [..., 3]."""
    x = (pixels[..., 0] - intrinsics.cx) / intrinsics.fx * depth
    y = (pixels[..., 1] - intrinsics.cy) / intrinsics.fy * depth
    return torch.stack([x, y, depth], dim=-1)


def unproject_depth_map(depth: torch.Tensor, intrinsics: Intrinsics) -> torch.Tensor:
    """One camera-frame point per pixel of a [H, W] depth map, as [H * W, 3] in row-major order."""
    pixels = pixel_grid(depth.shape[0], depth.shape[1], device=depth.device)
    return unproject_pixels(pixels, depth, intrinsics).reshape(-1, 3)


def transform_points(points: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
    """Apply a 4x4 rigid transform to points [..., 3]."""
    return points @ transform[:3, :3].T + transform[:3, 3]


def project_points(points_camera: torch.Tensor, intrinsics: Intrinsics) -> tuple[torch.Tensor, torch.Tensor]:
    """Project camera-frame points [..., 3] to pixel coordinates [..., 2]; also returns their z-depth [...].

    Points at or behind the camera project to meaningless (but finite) coordinates; callers keep z > 0 only.
    """
    z = points_camera[..., 2]
    safe_z = torch.where(z.abs() > 1e-8, z, torch.full_like(z, 1e-8))
    u = points_camera[..., 0] / safe_z * intrinsics.fx + intrinsics.cx
    v = points_camera[..., 1] / safe_z * intrinsics.fy + intrinsics.cy
    return torch.stack([u, v], dim=-1), z
