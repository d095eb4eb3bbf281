"""Seed points handed over by the `mom4d-data` DataParser: where the Gaussians start, and how they move."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import torch

from dataparsers.errors import Mom4dInputError

REQUIRED_KEYS = ("points3D_xyz", "points3D_rgb", "points3D_velocity", "points3D_moving", "points3D_footprint")


@dataclass
class SeedCloud:
    """One point per input pixel: position, colour, 3D-MOM velocity, motion-mask value and pixel footprint."""

    xyz: torch.Tensor  # [P, 3] world
    rgb: torch.Tensor  # [P, 3] uint8
    velocity: torch.Tensor  # [P, 3] world units per frame
    moving: torch.Tensor  # [P] motion-mask value in [0, 1]
    footprint: torch.Tensor  # [P] width of the pixel the point was lifted from, world units

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> "SeedCloud":
        """Read the seeds from the dataparser's metadata; explain what is missing or not finite otherwise."""
        missing = [key for key in REQUIRED_KEYS if key not in metadata]
        if missing:
            raise ValueError(
                f"mom4d needs the seed points of the mom4d-data dataparser (missing: {', '.join(missing)}). "
                "Train with `ns-train mom4d --data photo.jpg` (mom4d-data is its default dataparser)."
            )
        for key in REQUIRED_KEYS:
            values = torch.as_tensor(metadata[key])
            if values.is_floating_point() and not bool(torch.isfinite(values).all()):
                bad = int((~torch.isfinite(values)).sum())
                raise Mom4dInputError(
                    f"The seed points hold {bad} NaN or infinite value(s) in {key}, so training cannot start: the "
                    "synthesised dataset is damaged. Synthesise it again: "
                    "`ns-train mom4d --data photo.jpg mom4d-data --force True`."
                )
        return cls(
            xyz=metadata["points3D_xyz"],
            rgb=metadata["points3D_rgb"],
            velocity=metadata["points3D_velocity"],
            moving=metadata["points3D_moving"],
            footprint=metadata["points3D_footprint"],
        )

    def subsampled(self, max_points: Optional[int]) -> "SeedCloud":
        """At most `max_points` seeds, taken at an even stride; footprints grow so the samples still tile the surface."""
        count = self.xyz.shape[0]
        if max_points is None or count <= max_points:
            return self
        stride = math.ceil(count / max_points)
        keep = torch.arange(0, count, stride)
        return SeedCloud(
            xyz=self.xyz[keep],
            rgb=self.rgb[keep],
            velocity=self.velocity[keep],
            moving=self.moving[keep],
            footprint=self.footprint[keep] * math.sqrt(stride),
        )

    def moving_bounds(self, padding: float = 0.1) -> torch.Tensor:
        """[2, 3] box around the moving seeds (all seeds when none move), padded by a fraction of its size."""
        points = self.xyz[self.moving > 0] if bool((self.moving > 0).any()) else self.xyz
        low, high = points.min(dim=0).values, points.max(dim=0).values
        margin = (high - low).clamp(min=1e-3) * padding
        return torch.stack([low - margin, high + margin])
