"""Learned residual deformation of the Gaussians: a space-time feature grid decoded into small offsets.

The design is 4DGaussians' HexPlane: nerfstudio's K-Planes encoding over (x, y, z, t) (six planes, their
features multiplied; sampled as `hexplane` explains), decoded by small MLPs into offsets of position, rotation
(quaternion) and log-scale. Opacity and colour are not deformed.

Space: the grid does not span a box of the world, where near water (a few units wide) and the sky (fifty units
away) would share cells of one size. Positions are first mapped into the input camera's view (`ViewContraction`):
horizontal and vertical image coordinates and disparity (1 / depth), each normalised over the moving seeds. A
cell then covers the same part of the picture near and far, and the sky, at one depth, takes one slab of cells.

Time loops: the field is evaluated at each Gaussian's rest position (it deforms the Gaussian itself, wherever its
path carries it), once per copy of the loop (`mom_nerfstudio.loop`) at that copy's time coordinate: t for the forward
copy and t - 1 for the backward one, on the K-Planes time axis [-1, 1]. The loop closes where both coordinates
reach 0, so the residual returns to where it started, continuously.

Rendering a trained scene, the rest positions and the spatial planes do not change from frame to frame: what is read
from them is kept until a parameter it depends on changes.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import torch
from nerfstudio.field_components.mlp import MLP
from torch import nn

from mom_nerfstudio.hexplane import LineCells, LoopingHexPlaneEncoding


@dataclass(frozen=True)
class _RestSamples:
    """What the field reads at rest positions that does not depend on time."""

    coordinates: torch.Tensor  # [N, 3] contracted
    spatial: torch.Tensor  # [N, C] product of the spatial planes
    cells: list[LineCells]  # where the positions fall on each time plane


@dataclass
class ResidualDeformation:
    """Offsets for a set of Gaussians at one time."""

    means: torch.Tensor  # [N, 3]
    quats: torch.Tensor  # [N, 4], added to the (unnormalised) quaternion
    log_scales: torch.Tensor  # [N, 3]


class ViewContraction(nn.Module):
    """Maps world positions to [-1, 1]^3: image x and y of the input camera and disparity, spanning given points.

    Args:
        camera_to_world: [4, 4] the input camera (nerfstudio's OpenGL convention: it looks along its -z axis).
        points: [M, 3] world positions the coordinates must span (the moving seeds), with a margin around them.
        margin: fraction of each coordinate's range added on both sides.
    """

    def __init__(self, camera_to_world: torch.Tensor, points: torch.Tensor, margin: float = 0.1) -> None:
        super().__init__()
        camera_to_world = camera_to_world.float()
        self.register_buffer("rotation", camera_to_world[:3, :3].clone())
        self.register_buffer("centre", camera_to_world[:3, 3].clone())
        self.register_buffer("low", torch.zeros(3))
        self.register_buffer("high", torch.ones(3))
        view = self._view_coordinates(points.float())
        low, high = view.min(dim=0).values, view.max(dim=0).values
        padding = (high - low).clamp(min=1e-3) * margin
        self.low.copy_(low - padding)
        self.high.copy_(high + padding)

    def _view_coordinates(self, points: torch.Tensor) -> torch.Tensor:
        camera = (points - self.centre) @ self.rotation
        depth = (-camera[:, 2]).clamp(min=1e-3)
        return torch.stack([camera[:, 0] / depth, camera[:, 1] / depth, 1.0 / depth], dim=-1)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """[N, 3] coordinates in [-1, 1] (outside for positions beyond the spanned points) of world positions [N, 3]."""
        return (self._view_coordinates(points) - self.low) / (self.high - self.low) * 2.0 - 1.0


class LoopingDeformationField(nn.Module):
    """HexPlane features over view-contracted space and loop time, decoded into position, rotation and scale offsets.

    Args:
        contraction: maps world positions into the grid's [-1, 1]^3; points outside use the border features.
        spatial_resolution: grid cells along each spatial axis.
        time_resolution: grid cells along time (covering two loop periods).
        num_components: features per plane.
        hidden_width: width of the decoders' hidden layer.
    """

    def __init__(
        self,
        contraction: ViewContraction,
        spatial_resolution: int = 64,
        time_resolution: int = 50,
        num_components: int = 32,
        hidden_width: int = 64,
    ) -> None:
        super().__init__()
        self.contraction = contraction
        self._rest_cache: tuple[Hashable, _RestSamples] | None = None
        self.encoding = LoopingHexPlaneEncoding(
            resolution=(spatial_resolution, spatial_resolution, spatial_resolution, time_resolution),
            num_components=num_components,
        )
        self.trunk = MLP(
            in_dim=num_components,
            num_layers=1,
            layer_width=hidden_width,
            out_dim=hidden_width,
            activation=nn.ReLU(),
            out_activation=nn.ReLU(),
            implementation="torch",
        )
        self.position_head = nn.Linear(hidden_width, 3)
        self.rotation_head = nn.Linear(hidden_width, 4)
        self.scale_head = nn.Linear(hidden_width, 3)
        for head in (self.position_head, self.rotation_head, self.scale_head):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(
        self, means: torch.Tensor, time_coordinates: Sequence[float], cache_key: Hashable | None = None
    ) -> list[ResidualDeformation]:
        """Offsets of Gaussians at rest positions `means` [N, 3] at each of the loop copies' time coordinates in
        [-1, 1). With a `cache_key` (something that changes whenever `means` or the planes do), what does not depend
        on time (the contracted positions, the spatial features, the cells on the time planes) is kept between calls
        with the same key, outside of autograd."""
        if cache_key is None or torch.is_grad_enabled():
            rest = self._at_rest(means)
        else:
            key = (cache_key, *((plane.data_ptr(), plane._version) for plane in self.spatial_planes()))
            if self._rest_cache is None or self._rest_cache[0] != key:
                self._rest_cache = (key, self._at_rest(means))
            rest = self._rest_cache[1]
        features = self.encoding.features_at_times(rest.coordinates, time_coordinates, rest.spatial, rest.cells)
        return [self._decode(copy_features) for copy_features in features]

    def _at_rest(self, means: torch.Tensor) -> _RestSamples:
        coordinates = self.contraction(means)
        return _RestSamples(
            coordinates=coordinates,
            spatial=self.encoding.spatial_features(coordinates),
            cells=self.encoding.time_plane_cells(coordinates),
        )

    def _decode(self, features: torch.Tensor) -> ResidualDeformation:
        """The offsets [N, 3 + 4 + 3] that features [N, C] decode into, by the three heads in one product."""
        heads = (self.position_head, self.rotation_head, self.scale_head)
        hidden = self.trunk(features)
        weight = torch.cat([head.weight for head in heads])
        bias = torch.cat([head.bias for head in heads])
        means, quats, log_scales = torch.nn.functional.linear(hidden, weight, bias).split(
            [head.out_features for head in heads], dim=-1
        )
        return ResidualDeformation(means=means, quats=quats, log_scales=log_scales)

    def spatial_planes(self) -> list[torch.Tensor]:
        """The xy, xz and yz planes, [C, R, R] each."""
        return [plane for plane, _ in self.encoding.spatial_planes()]

    def time_planes(self) -> list[torch.Tensor]:
        """The xt, yt and zt planes, [C, T, R] each (time along dimension 1)."""
        return [plane for plane, _ in self.encoding.time_planes()]

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
