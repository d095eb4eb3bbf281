"""Learned residual deformation of the Gaussians: a space-time feature grid decoded into small offsets.

The design is 4DGaussians' HexPlane: nerfstudio's K-Planes encoding over (x, y, z, t) (six planes, their
features multiplied; sampled as `hexplane` explains), decoded by small MLPs into offsets of position, rotation (quaternion) and log-scale.
Opacity and colour are not deformed.

Time loops: the K-Planes time axis spans [-1, 1], and the field at loop time t in [0, 1) blends the grid at
t and at t - 1 with weights (1 - t) and t, the same symmetric scheme as the motion prior. At t = 0 and t -> 1
both sides reduce to the grid at 0, so the residual returns to where it started, continuously.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from nerfstudio.field_components.mlp import MLP
from torch import nn

from mom_nerfstudio.hexplane import LoopingHexPlaneEncoding


@dataclass
class ResidualDeformation:
    """Offsets for a set of Gaussians at one time."""

    means: torch.Tensor  # [N, 3]
    quats: torch.Tensor  # [N, 4], added to the (unnormalised) quaternion
    log_scales: torch.Tensor  # [N, 3]


class LoopingDeformationField(nn.Module):
    """HexPlane features over space and periodic time, decoded into position, rotation and scale offsets.

    Args:
        aabb: [2, 3] box of the deforming Gaussians in world coordinates; points outside use the border features.
        spatial_resolution: grid cells along each spatial axis.
        time_resolution: grid cells along time (covering two loop periods).
        num_components: features per plane.
        hidden_width: width of the decoders' hidden layer.
    """

    def __init__(
        self,
        aabb: torch.Tensor,
        spatial_resolution: int = 64,
        time_resolution: int = 50,
        num_components: int = 32,
        hidden_width: int = 64,
    ) -> None:
        super().__init__()
        self.register_buffer("aabb", aabb.clone().float())
        self.encoding = LoopingHexPlaneEncoding(
            resolution=(spatial_resolution, spatial_resolution, spatial_resolution, time_resolution),
            num_components=num_components,
        )
        self.trunk = MLP(
            in_dim=num_components, num_layers=1, layer_width=hidden_width, out_dim=hidden_width,
            activation=nn.ReLU(), out_activation=nn.ReLU(), implementation="torch",
        )
        self.position_head = nn.Linear(hidden_width, 3)
        self.rotation_head = nn.Linear(hidden_width, 4)
        self.scale_head = nn.Linear(hidden_width, 3)
        for head in (self.position_head, self.rotation_head, self.scale_head):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(self, means: torch.Tensor, loop_time: float) -> ResidualDeformation:
        """Offsets of Gaussians at canonical positions `means` [N, 3] and loop time `loop_time` in [0, 1)."""
        low, high = self.aabb[0], self.aabb[1]
        normalized = ((means - low) / (high - low).clamp(min=1e-6)) * 2.0 - 1.0
        t = loop_time % 1.0
        features = self.encoding.blended_features(normalized, [(t, 1.0 - t), (t - 1.0, t)])
        hidden = self.trunk(features)
        return ResidualDeformation(
            means=self.position_head(hidden),
            quats=self.rotation_head(hidden),
            log_scales=self.scale_head(hidden),
        )

    def spatial_planes(self) -> list[torch.Tensor]:
        """The xy, xz and yz planes, [C, R, R] each."""
        return [plane for plane, axes in zip(self.encoding.plane_coefs, self.encoding.coo_combs) if 3 not in axes]

    def time_planes(self) -> list[torch.Tensor]:
        """The xt, yt and zt planes, [C, T, R] each (time along dimension 1)."""
        return [plane for plane, axes in zip(self.encoding.plane_coefs, self.encoding.coo_combs) if 3 in axes]

    def regularizers(self) -> dict[str, torch.Tensor]:
        """The grid regularisers of 4DGaussians/K-Planes: plane smoothness, time smoothness, time-plane L1."""
        return {
            "plane_tv": sum(total_variation(plane) for plane in self.spatial_planes()),
            "time_smoothness": sum(second_difference_along_time(plane) for plane in self.time_planes()),
            "time_l1": sum((1.0 - plane).abs().mean() for plane in self.time_planes()),
        }


def total_variation(plane: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring cells of a [C, H, W] plane, along both axes."""
    rows = (plane[:, 1:, :] - plane[:, :-1, :]).square().mean()
    cols = (plane[:, :, 1:] - plane[:, :, :-1]).square().mean()
    return rows + cols


def second_difference_along_time(plane: torch.Tensor) -> torch.Tensor:
    """Mean squared second difference along the time axis (dimension 1) of a [C, T, R] plane."""
    first = plane[:, 1:, :] - plane[:, :-1, :]
    return (first[:, 1:, :] - first[:, :-1, :]).square().mean()
