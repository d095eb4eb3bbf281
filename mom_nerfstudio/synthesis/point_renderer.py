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

from mom_nerfstudio.synthesis.cameras import Intrinsics, project_points

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
    num_channels = features.shape[1]
    uv, z = project_points(points_camera, intrinsics)

    # Continuous pixel-index coordinates (pixel (i, j) has its centre at (j, i)), shifted by one so that the
    # four splat corners of every point that can touch the image fall inside a one-pixel padded canvas.
    x = uv[:, 0] + 0.5
    y = uv[:, 1] + 0.5
    in_reach = (z > NEAR_PLANE) & (x >= 0) & (x < width + 1) & (y >= 0) & (y < height + 1)
    kept = torch.nonzero(in_reach, as_tuple=True)[0]
    x, y, z, kept_features = x[kept], y[kept], z[kept], features[kept]
    padded_width = width + 2
    num_padded = (height + 2) * padded_width

    x0 = torch.floor(x)
    y0 = torch.floor(y)
    fx = x - x0
    fy = y - y0
    top_left = y0.long() * padded_width + x0.long()
    corner_index = top_left[:, None] + torch.tensor([0, 1, padded_width, padded_width + 1], device=device)
    corner_weights = torch.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], dim=1)
    nearest_index = torch.round(y).long() * padded_width + torch.round(x).long()

    front_nearest = torch.full((num_padded,), float("inf"), device=device)
    front_nearest.scatter_reduce_(0, nearest_index, z, reduce="amin")
    front_any = torch.full((num_padded,), float("inf"), device=device)
    front_any.scatter_reduce_(0, corner_index.reshape(-1), z.repeat_interleave(4), reduce="amin")
    front = torch.where(torch.isfinite(front_nearest), front_nearest, front_any)

    limit = z * (1.0 / (1.0 + depth_tolerance))
    accepted = front[corner_index] >= limit[:, None]
    weights = (corner_weights * accepted).reshape(-1)
    flat_index = corner_index.reshape(-1)
    weight = torch.zeros(num_padded, device=device).index_add_(0, flat_index, weights)
    depth_sum = torch.zeros(num_padded, device=device).index_add_(0, flat_index, weights * z.repeat_interleave(4))
    feature_sum = torch.zeros((num_padded, num_channels), device=device, dtype=features.dtype)
    feature_sum.index_add_(
        0, flat_index, (kept_features[:, None, :] * (corner_weights * accepted)[..., None]).reshape(-1, num_channels)
    )

    def crop(padded: torch.Tensor) -> torch.Tensor:
        return padded.reshape(height + 2, padded_width, *padded.shape[1:])[1:-1, 1:-1]

    weight, depth_sum, feature_sum = crop(weight), crop(depth_sum), crop(feature_sum)
    has_weight = weight > 1e-6
    safe_weight = torch.where(has_weight, weight, torch.ones_like(weight))
    visible = torch.zeros(points_camera.shape[0], dtype=torch.bool, device=device)
    visible[kept] = (front[nearest_index] >= limit) & _inside_image(nearest_index, padded_width, height, width)
    return PointRender(
        features=feature_sum / safe_weight[..., None] * has_weight[..., None],
        depth=torch.where(has_weight, depth_sum / safe_weight, torch.full_like(weight, float("inf"))),
        weight=weight,
        visible=visible,
    )


def _inside_image(padded_index: torch.Tensor, padded_width: int, height: int, width: int) -> torch.Tensor:
    """Whether padded-canvas pixel indices lie in the image proper, not in the padding."""
    rows = padded_index // padded_width
    cols = padded_index % padded_width
    return (rows >= 1) & (rows <= height) & (cols >= 1) & (cols <= width)
