"""Z-buffered splatting of a coloured point cloud into a pinhole view (vectorised torch).

Each point lands on the four pixels around its projection with bilinear weights, which closes the cracks a
one-pixel splat leaves when a view magnifies the cloud slightly. A z-buffer keeps only the front surface:
the front depth of a pixel is the nearest point whose projection falls in it, or, for a pixel no projection
falls in, the nearest point splatting into it; contributions farther than a relative tolerance behind that
front are discarded.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dataparsers.cameras import Intrinsics, project_points

NEAR_PLANE = 1e-3


@dataclass
class PointRender:
    """The result of splatting points into one view."""

    features: torch.Tensor  # [H, W, C], weight-normalised; zero where nothing landed
    depth: torch.Tensor  # [H, W], weight-averaged depth of the front surface; inf where nothing landed
    weight: torch.Tensor  # [H, W], summed splat weight of the front surface (about 1 inside a surface)
    visible: torch.Tensor  # [P] bool, the point is in view and on the front surface at its own pixel

    def coverage(self, threshold: float = 0.3) -> torch.Tensor:
        """Pixels reached by the front surface with enough weight to trust their colour."""
        return self.weight > threshold


def render_points(
    points_camera: torch.Tensor,
    features: torch.Tensor,
    intrinsics: Intrinsics,
    depth_tolerance: float = 0.03,
) -> PointRender:
    """Splat camera-frame points [P, 3] carrying features [P, C] into the view of `intrinsics`."""
    height, width = intrinsics.height, intrinsics.width
    device = points_camera.device
    num_pixels = height * width
    uv, z = project_points(points_camera, intrinsics)
    in_front = z > NEAR_PLANE

    # Continuous pixel-index coordinates: pixel (i, j) has its centre at (j, i).
    x = uv[:, 0] - 0.5
    y = uv[:, 1] - 0.5
    x0 = torch.floor(x)
    y0 = torch.floor(y)
    fx = x - x0
    fy = y - y0
    corner_dx = torch.tensor([0, 1, 0, 1], device=device)
    corner_dy = torch.tensor([0, 0, 1, 1], device=device)
    cols = x0.long()[:, None] + corner_dx  # [P, 4]
    rows = y0.long()[:, None] + corner_dy
    corner_weights = torch.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], dim=1)
    inside = in_front[:, None] & (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    corner_index = torch.where(inside, rows * width + cols, torch.zeros_like(cols))

    nearest_col = torch.round(x).long()
    nearest_row = torch.round(y).long()
    nearest_inside = in_front & (nearest_col >= 0) & (nearest_col < width) & (nearest_row >= 0) & (nearest_row < height)
    nearest_index = torch.where(nearest_inside, nearest_row * width + nearest_col, torch.zeros_like(nearest_col))

    infinity = torch.tensor(float("inf"), device=device)
    front_nearest = torch.full((num_pixels,), float("inf"), device=device)
    front_nearest.scatter_reduce_(0, nearest_index, torch.where(nearest_inside, z, infinity), reduce="amin")
    front_any = torch.full((num_pixels,), float("inf"), device=device)
    corner_z = torch.where(inside, z[:, None].expand(-1, 4), infinity)
    front_any.scatter_reduce_(0, corner_index.reshape(-1), corner_z.reshape(-1), reduce="amin")
    front = torch.where(torch.isfinite(front_nearest), front_nearest, front_any)

    accepted = inside & (corner_z <= front[corner_index] * (1.0 + depth_tolerance))
    weights = torch.where(accepted, corner_weights, torch.zeros_like(corner_weights)).reshape(-1)
    flat_index = corner_index.reshape(-1)
    num_channels = features.shape[1]
    weighted = torch.cat(
        [features.repeat_interleave(4, dim=0), z.repeat_interleave(4)[:, None], torch.ones_like(weights)[:, None]],
        dim=1,
    ) * weights[:, None]
    sums = torch.zeros((num_pixels, num_channels + 2), device=device, dtype=weighted.dtype)
    sums.index_add_(0, flat_index, weighted)

    weight = sums[:, -1]
    has_weight = weight > 1e-6
    safe_weight = torch.where(has_weight, weight, torch.ones_like(weight))
    image = torch.where(has_weight[:, None], sums[:, :num_channels] / safe_weight[:, None], torch.zeros_like(sums[:, :num_channels]))
    depth = torch.where(has_weight, sums[:, num_channels] / safe_weight, infinity)
    visible = nearest_inside & (z <= front[nearest_index] * (1.0 + depth_tolerance))
    return PointRender(
        features=image.reshape(height, width, num_channels),
        depth=depth.reshape(height, width),
        weight=weight.reshape(height, width),
        visible=visible,
    )
