"""Tile intersection: which projected Gaussians each square tile of the image must composite.

A Gaussian joins every tile that its square `mean +- radius` touches (gsplat's rule, hence gsplat's
culling), and each tile's list is sorted front to back by depth, ties in Gaussian order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from mom_nerfstudio.rendering.cpu_rasterizer.projection import Projection


@dataclass(frozen=True)
class TileIntersections:
    """Which Gaussians touch which tile, every tile's list sorted front to back.

    Tiles are numbered `camera * tiles_per_image + row * tiles_x + column`; intersection `k` joins tile
    `tile_ids[k]` and Gaussian `flatten_ids[k]` (an index into arrays [C, N] flattened).
    """

    tile_size: int
    tiles_x: int
    tiles_y: int
    n_cameras: int
    flatten_ids: Tensor  # [M] int64
    tile_ids: Tensor  # [M] int64, non-decreasing
    tile_starts: Tensor  # [C * tiles_per_image] int64, the first intersection of each tile
    tile_counts: Tensor  # [C * tiles_per_image] int64
    tiles_per_gauss: Tensor  # [C, N] int32
    isect_ids: Tensor  # [M] int64, gsplat's sort keys: camera | tile | depth bits

    @property
    def tiles_per_image(self) -> int:
        """Tiles in one camera's image."""
        return self.tiles_x * self.tiles_y

    @property
    def pixels_per_tile(self) -> int:
        """Pixels in one tile, counting those beyond the image's right and bottom edges."""
        return self.tile_size * self.tile_size


@torch.no_grad()
def intersect_tiles(projection: Projection, tile_size: int, width: int, height: int) -> TileIntersections:
    """Bin Gaussians into the tiles their `mean +- radius` squares touch; sort every tile by depth."""
    means2d, radii, depths = projection.means2d, projection.radii, projection.depths
    n_cameras, n_gaussians = radii.shape
    tiles_x, tiles_y = math.ceil(width / tile_size), math.ceil(height / tile_size)
    tiles_per_image = tiles_x * tiles_y

    tile_radius = radii.to(means2d.dtype) / tile_size
    centre = means2d / tile_size
    x_min = torch.floor(centre[..., 0] - tile_radius).clamp(0, tiles_x).long()
    x_max = torch.ceil(centre[..., 0] + tile_radius).clamp(0, tiles_x).long()
    y_min = torch.floor(centre[..., 1] - tile_radius).clamp(0, tiles_y).long()
    y_max = torch.ceil(centre[..., 1] + tile_radius).clamp(0, tiles_y).long()
    tiles_per_gauss = (x_max - x_min) * (y_max - y_min) * (radii > 0)

    # Intersections emitted in (depth, Gaussian index) order, then stable-sorted by tile, give every
    # tile a front-to-back list whose ties keep Gaussian order, as gsplat's radix sort does.
    counts = tiles_per_gauss.reshape(-1)
    touching = torch.nonzero(counts > 0).squeeze(1)
    touching = touching[torch.argsort(depths.reshape(-1)[touching], stable=True)]
    counts = counts[touching]
    flatten_ids = touching.repeat_interleave(counts)
    first_of_gaussian = (torch.cumsum(counts, 0) - counts).repeat_interleave(counts)
    rank = torch.arange(flatten_ids.numel(), device=radii.device) - first_of_gaussian
    span_x = (x_max - x_min).reshape(-1)[flatten_ids]
    tile_x = x_min.reshape(-1)[flatten_ids] + rank % span_x
    tile_y = y_min.reshape(-1)[flatten_ids] + rank // span_x
    tile_ids = (flatten_ids // n_gaussians) * tiles_per_image + tile_y * tiles_x + tile_x
    tile_ids, order = torch.sort(tile_ids, stable=True)
    flatten_ids = flatten_ids[order]

    tile_counts = torch.bincount(tile_ids, minlength=n_cameras * tiles_per_image)
    depth_bits = depths.float().reshape(-1)[flatten_ids].view(torch.int32).long()
    tile_in_image = tile_ids % tiles_per_image
    camera_ids = tile_ids // tiles_per_image
    isect_ids = (camera_ids << (32 + tiles_per_image.bit_length())) | (tile_in_image << 32) | depth_bits
    return TileIntersections(
        tile_size=tile_size,
        tiles_x=tiles_x,
        tiles_y=tiles_y,
        n_cameras=n_cameras,
        flatten_ids=flatten_ids,
        tile_ids=tile_ids,
        tile_starts=torch.cumsum(tile_counts, 0) - tile_counts,
        tile_counts=tile_counts,
        tiles_per_gauss=tiles_per_gauss.int(),
        isect_ids=isect_ids,
    )


def tile_centres(tiles: TileIntersections) -> Tensor:
    """Pixel coordinates [M, 2] of the centre of each intersection's tile."""
    tile_in_image = tiles.tile_ids % tiles.tiles_per_image
    half = tiles.tile_size / 2
    centre_x = (tile_in_image % tiles.tiles_x) * tiles.tile_size + half
    centre_y = (tile_in_image // tiles.tiles_x) * tiles.tile_size + half
    return torch.stack([centre_x, centre_y], dim=-1)


def tiles_to_images(values: Tensor, tiles: TileIntersections, width: int, height: int) -> Tensor:
    """Rearrange tile-major values [C * tiles, P, D], a tile's pixels row-major, into images [C, H, W, D]."""
    size, channels = tiles.tile_size, values.shape[-1]
    images = values.reshape(tiles.n_cameras, tiles.tiles_y, tiles.tiles_x, size, size, channels)
    images = images.permute(0, 1, 3, 2, 4, 5)
    images = images.reshape(tiles.n_cameras, tiles.tiles_y * size, tiles.tiles_x * size, channels)
    return images[:, :height, :width]
