"""Seed points handed over by the `mom4d-data` DataParser: where the Gaussians start, and how they move.

The DataParser hands them over as metadata (`dataparsers.dataset_format.seed_metadata`). A moving seed has a row in
the dataset's path table (`dataparsers.dataset_format.PathTable`): its offset from its rest position at each sampled
time of the loop. Static seeds have row -1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import torch

from dataparsers.dataset_format import SEED_KEYS, PathTable
from mom_nerfstudio.errors import Mom4dInputError


@dataclass
class SeedCloud:
    """One point per input pixel: position, colour, motion-mask value, pixel footprint, and the paths of the moving."""

    xyz: torch.Tensor  # [P, 3] world
    rgb: torch.Tensor  # [P, 3] uint8
    moving: torch.Tensor  # [P] motion-mask value in [0, 1]
    footprint: torch.Tensor  # [P] width of the pixel the point was lifted from, world units
    path_rows: torch.Tensor  # [P] long, each seed's row of `paths` (-1: static)
    paths: PathTable

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> SeedCloud:
        """Read the seeds from the dataparser's metadata; explain what is missing or not finite otherwise."""
        missing = [key for key in SEED_KEYS if key not in metadata]
        if missing:
            raise ValueError(
                f"mom4d needs the seed points of the mom4d-data dataparser (missing: {', '.join(missing)}). "
                "Train with `ns-train mom4d --data photo.jpg` (mom4d-data is its default dataparser)."
            )
        for key in SEED_KEYS:
            values = torch.as_tensor(metadata[key])
            if values.is_floating_point() and not bool(torch.isfinite(values).all()):
                bad = int((~torch.isfinite(values)).sum())
                raise Mom4dInputError(
                    f"The seed points hold {bad} NaN or infinite value(s) in {key}, so training cannot start: the "
                    "synthesised dataset is damaged. Synthesise it again: "
                    "`ns-train mom4d --data photo.jpg mom4d-data --force True`."
                )
        return cls(
            xyz=torch.as_tensor(metadata["points3D_xyz"]),
            rgb=torch.as_tensor(metadata["points3D_rgb"]),
            moving=torch.as_tensor(metadata["points3D_moving"]),
            footprint=torch.as_tensor(metadata["points3D_footprint"]),
            path_rows=torch.as_tensor(metadata["points3D_path_rows"]).long(),
            paths=PathTable(
                times=torch.as_tensor(metadata["path_times"]).float(),
                offsets=torch.as_tensor(metadata["path_offsets"]).float(),
            ),
        )

    def subsampled(self, max_points: Optional[int]) -> SeedCloud:
        """At most `max_points` seeds, taken at an even stride; footprints grow so the samples still tile the surface."""
        count = self.xyz.shape[0]
        if max_points is None or count <= max_points:
            return self
        stride = math.ceil(count / max_points)
        keep = torch.arange(0, count, stride)
        return SeedCloud(
            xyz=self.xyz[keep],
            rgb=self.rgb[keep],
            moving=self.moving[keep],
            footprint=self.footprint[keep] * math.sqrt(stride),
            path_rows=self.path_rows[keep],
            paths=self.paths,
        )

    def moving_points(self) -> torch.Tensor:
        """[M, 3] the seeds that move (all seeds when none move)."""
        return self.xyz[self.moving > 0] if bool((self.moving > 0).any()) else self.xyz
