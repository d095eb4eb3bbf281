"""Where each moving point is after s frames of motion, for s in [-N, N]: the paths the loop carries it along.

`field` paths follow the 3D velocity field: a point at x moves with the velocity of the point of the input view
that x projects onto, zero outside the motion region, so water stays in its bed around bends and stops at the
region's border instead of flowing over the bank. `straight` paths (the earlier behaviour) move every point along
its own velocity, x + s v, wherever that leads.

A path table (`dataparsers.dataset_format.PathTable`, part of the dataset) samples every moving point's offset from
its rest position at evenly spaced times from -N to N frames; offsets in between are interpolated linearly. The
synthesised looping videos and the model's motion prior read the same table, so they move the same points the same
way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from dataparsers.dataset_format import PathTable
from mom_nerfstudio.synthesis.cameras import Intrinsics, project_points

MotionPaths = Literal["field", "straight"]

SAMPLES_PER_DIRECTION = 16
"""A path is stored at most this many samples ahead and as many behind its rest position."""

SUBSTEPS_PER_FRAME = 2
"""Integration steps (midpoint rule) per frame of motion."""

_INSIDE = 0.5
"""A position moves when at least this share of the velocity map's pixels around it belong to the motion region."""


def path_times(num_frames: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The sample times of a path table for a loop of `num_frames` frames: -N to N, integers when N is small."""
    per_direction = min(num_frames, SAMPLES_PER_DIRECTION)
    return torch.linspace(-float(num_frames), float(num_frames), 2 * per_direction + 1, device=device)


@dataclass(frozen=True)
class VelocityField:
    """The input view's velocity map: a 3D velocity for every position, read where the position projects."""

    velocity: torch.Tensor  # [H, W, 3] units per frame, zero outside the region
    region: torch.Tensor  # [H, W] bool, where things move
    world_to_input: torch.Tensor  # [4, 4]
    intrinsics: Intrinsics

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        """Velocities [M, 3] at world positions [M, 3]; zero where the position projects outside the region."""
        camera = points @ self.world_to_input[:3, :3].T + self.world_to_input[:3, 3]
        pixels, _ = project_points(camera, self.intrinsics)
        height, width = self.region.shape
        grid = torch.stack([pixels[:, 0] / width * 2 - 1, pixels[:, 1] / height * 2 - 1], dim=-1)[None, None]
        stacked = torch.cat([self.velocity * self.region[..., None], self.region[..., None].float()], dim=-1)
        sampled = F.grid_sample(stacked.permute(2, 0, 1)[None], grid, mode="bilinear", align_corners=False)[0, :, 0].T
        share = sampled[:, 3:]
        inside = (share >= _INSIDE) & (camera[:, 2:] > 0)
        return torch.where(inside, sampled[:, :3] / share.clamp(min=_INSIDE), torch.zeros_like(sampled[:, :3]))


def trace_paths(
    points: torch.Tensor, velocity: torch.Tensor, field: VelocityField | None, num_frames: int, paths: MotionPaths
) -> PathTable:
    """The path table of moving `points` [M, 3] with their own `velocity` [M, 3], over a loop of `num_frames` frames.

    `field` is needed for `field` paths; `straight` paths use the points' own velocities.
    """
    times = path_times(num_frames, points.device)
    if paths == "straight":
        return PathTable(times=times, offsets=velocity[:, None, :] * times[None, :, None])
    if paths != "field" or field is None:
        raise ValueError(
            f"{paths!r} paths need a velocity field" if paths == "field" else f"unknown motion paths {paths!r}"
        )
    per_direction = (len(times) - 1) // 2
    offsets = torch.zeros(points.shape[0], len(times), 3, device=points.device, dtype=points.dtype)
    for direction in (1.0, -1.0):
        position = points.clone()
        sample_spacing = num_frames / per_direction
        for sample in range(1, per_direction + 1):
            position = _advance(position, field, direction * sample_spacing)
            offsets[:, per_direction + int(direction) * sample] = position - points
    return PathTable(times=times, offsets=offsets)


def _advance(position: torch.Tensor, field: VelocityField, frames: float) -> torch.Tensor:
    """Move positions along the field for `frames` frames (negative: backwards), by the midpoint rule."""
    steps = max(1, math.ceil(abs(frames) * SUBSTEPS_PER_FRAME))
    step = frames / steps
    for _ in range(steps):
        midpoint = position + 0.5 * step * field(position)
        position = position + step * field(midpoint)
    return position
