"""nerfstudio's K-Planes encoding, sampled the way a deformation field at one time needs it.

The planes, their layout and initialisation are nerfstudio's `KPlanesEncoding` (so checkpoints and the grid
regularisers see the same parameters); only the sampling differs, for two reasons:

- Every Gaussian of a render is deformed at the same time t. The three time planes (x-t, y-t, z-t) are
  therefore sliced at t into lines first, and the spatial planes, which do not depend on t, are sampled once
  for both copies of the loop (and, when nothing changed since, not at all: see `LoopingDeformationField`).
- `grid_sample`'s backward pass accumulates plane gradients with atomic additions into one copy of the plane.
  Landscape content is flat along some axes (the sky sits at one depth, all Gaussians share one time), so
  hundreds of thousands of Gaussians land in the same few cells and those additions serialise. Here the
  gradients are accumulated into several copies of the plane (neighbouring samples into different copies)
  that are summed afterwards, which bounds the contention on any one cell.

Coordinates get no gradient (the deformation field is evaluated at detached Gaussian centres).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from nerfstudio.field_components.encodings import KPlanesEncoding

_TIME_AXIS = 3


def _cell_coordinates(coordinates: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Lower cell index, upper cell index and interpolation weight of coordinates in [-1, 1] on `size` cells.

    Matches `grid_sample(align_corners=True, padding_mode="border")`: -1 and 1 are the centres of the first
    and last cells, and coordinates outside are clamped to the border.
    """
    position = ((coordinates.detach() + 1.0) * 0.5 * (size - 1)).clamp(0.0, size - 1)
    lower = position.floor().clamp(max=max(size - 2, 0))
    weight = position - lower
    lower = lower.long()
    upper = (lower + 1).clamp(max=size - 1)
    return lower, upper, weight


# Copies of a plane that gradients are spread over on a GPU (memory: copies x cells x features floats).
GRADIENT_COPIES_CUDA = 32


def gradient_copies(grad: torch.Tensor) -> int:
    """How many copies of a plane to spread gradients over (a CPU adds serially: one is enough)."""
    return GRADIENT_COPIES_CUDA if grad.is_cuda else 1


class _WeightedGather(torch.autograd.Function):
    """rows [N, C] = sum_k weights[:, k] * table[cells[:, k]], with a contention-bounded backward pass."""

    @staticmethod
    def forward(ctx, table: torch.Tensor, cells: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(cells, weights)
        ctx.num_cells = table.shape[0]
        # Corner by corner: no [N, corners, C] intermediate (the gathers dominate a rendered frame's deformation).
        rows = table[cells[:, 0]] * weights[:, :1]
        for corner in range(1, cells.shape[1]):
            rows = rows.addcmul_(table[cells[:, corner]], weights[:, corner : corner + 1])
        return rows

    @staticmethod
    def backward(ctx, grad_rows: torch.Tensor):  # type: ignore[override]
        cells, weights = ctx.saved_tensors
        num_samples, num_corners = cells.shape
        copies = gradient_copies(grad_rows)
        copy_of_sample = torch.arange(num_samples, device=cells.device) % copies
        targets = (copy_of_sample[:, None] * ctx.num_cells + cells).reshape(-1)
        contributions = (weights[..., None] * grad_rows[:, None, :]).reshape(num_samples * num_corners, -1)
        spread = torch.zeros(copies * ctx.num_cells, grad_rows.shape[1], device=grad_rows.device, dtype=grad_rows.dtype)
        spread.index_add_(0, targets, contributions)
        return spread.view(copies, ctx.num_cells, -1).sum(dim=0), None, None


def sample_plane(plane: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Bilinear samples [N, C] of a [C, H, W] plane at coordinates u (along W) and v (along H) in [-1, 1]."""
    channels, height, width = plane.shape
    u0, u1, wu = _cell_coordinates(u, width)
    v0, v1, wv = _cell_coordinates(v, height)
    table = plane.reshape(channels, height * width).t()
    corners = torch.stack([v0 * width + u0, v0 * width + u1, v1 * width + u0, v1 * width + u1], dim=-1)
    weights = torch.stack([(1 - wu) * (1 - wv), wu * (1 - wv), (1 - wu) * wv, wu * wv], dim=-1)
    return _WeightedGather.apply(table, corners, weights)


LineCells = tuple[torch.Tensor, torch.Tensor]
"""Where points fall on a line: the two cells [N, 2] around each point and their interpolation weights [N, 2]."""


def line_cells(u: torch.Tensor, size: int) -> LineCells:
    """The cells and weights of coordinates u [N] in [-1, 1] on a line of `size` cells."""
    u0, u1, wu = _cell_coordinates(u, size)
    return torch.stack([u0, u1], dim=-1), torch.stack([1 - wu, wu], dim=-1)


def sample_line(line: torch.Tensor, u: torch.Tensor, cells: LineCells | None = None) -> torch.Tensor:
    """Linear samples [N, C] of a [C, W] line at coordinates u in [-1, 1] (or at `cells`, from `line_cells(u)`)."""
    corners, weights = cells if cells is not None else line_cells(u, line.shape[1])
    return _WeightedGather.apply(line.t(), corners, weights)


def slice_time_plane(plane: torch.Tensor, time_coordinate: float) -> torch.Tensor:
    """The [C, W] line of a [C, T, W] time plane at one time coordinate in [-1, 1] (linear along time)."""
    size = plane.shape[1]
    position = min(max((time_coordinate + 1.0) * 0.5 * (size - 1), 0.0), size - 1.0)
    lower = min(int(math.floor(position)), max(size - 2, 0))
    weight = position - lower
    upper = min(lower + 1, size - 1)
    return plane[:, lower] * (1.0 - weight) + plane[:, upper] * weight


class LoopingHexPlaneEncoding(KPlanesEncoding):
    """A 4D K-Planes encoding (product reduction) sampled at one time per call, blended over several times."""

    def __init__(self, resolution: Sequence[int], num_components: int) -> None:
        if len(resolution) != 4:
            raise ValueError(f"LoopingHexPlaneEncoding needs a 4D (x, y, z, t) resolution, got {tuple(resolution)}")
        super().__init__(resolution=resolution, num_components=num_components, reduce="product")

    def spatial_planes(self) -> list[tuple[torch.Tensor, tuple[int, int]]]:
        """The x-y, x-z and y-z planes [C, R, R], each with the two spatial axes it spans."""
        return [(plane, axes) for plane, axes in zip(self.plane_coefs, self.coo_combs) if _TIME_AXIS not in axes]

    def spatial_features(self, positions: torch.Tensor) -> torch.Tensor:
        """[N, C] product of the x-y, x-z and y-z planes at positions [N, 3] in [-1, 1]."""
        features = None
        for plane, (first, second) in self.spatial_planes():
            sampled = sample_plane(plane, positions[:, first], positions[:, second])
            features = sampled if features is None else features * sampled
        assert features is not None
        return features

    def time_planes(self) -> list[tuple[torch.Tensor, int]]:
        """The x-t, y-t and z-t planes [C, T, R], each with the spatial axis it spans."""
        return [(plane, axis) for plane, (axis, other) in zip(self.plane_coefs, self.coo_combs) if other == _TIME_AXIS]

    def time_plane_cells(self, positions: torch.Tensor) -> list[LineCells]:
        """Where positions [N, 3] in [-1, 1] fall on each time plane's spatial axis (the same at every time)."""
        return [line_cells(positions[:, axis], plane.shape[-1]) for plane, axis in self.time_planes()]

    def time_features(
        self, positions: torch.Tensor, time_coordinate: float, cells: list[LineCells] | None = None
    ) -> torch.Tensor:
        """[N, C] product of the x-t, y-t and z-t planes at positions [N, 3] and one time coordinate in [-1, 1]
        (`cells`, from `time_plane_cells(positions)`, saves finding the positions on the planes again)."""
        features = None
        for index, (plane, axis) in enumerate(self.time_planes()):
            line = slice_time_plane(plane, time_coordinate)
            sampled = sample_line(line, positions[:, axis], None if cells is None else cells[index])
            features = sampled if features is None else features * sampled
        assert features is not None
        return features

    def features_at_times(
        self,
        positions: torch.Tensor,
        time_coordinates: Sequence[float],
        spatial: torch.Tensor | None = None,
        cells: list[LineCells] | None = None,
    ) -> list[torch.Tensor]:
        """encoding(positions, t) [N, C] for each time coordinate t; the spatial planes are sampled once (or not at
        all when their product `spatial`, from `spatial_features(positions)`, is given), and the positions are found
        on the time planes once (or not at all when `cells` are given)."""
        if spatial is None:
            spatial = self.spatial_features(positions)
        if cells is None:
            cells = self.time_plane_cells(positions)
        return [spatial * self.time_features(positions, time_coordinate, cells) for time_coordinate in time_coordinates]
