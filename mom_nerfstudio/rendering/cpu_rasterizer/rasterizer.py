"""The PyTorch rasteriser's entry point: projection, tile intersection and compositing, chained."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from mom_nerfstudio.rendering.cpu_rasterizer.compositing import composite
from mom_nerfstudio.rendering.cpu_rasterizer.inputs import check_inputs
from mom_nerfstudio.rendering.cpu_rasterizer.options import RasterOptions
from mom_nerfstudio.rendering.cpu_rasterizer.projection import (
    Projection,
    project_gaussians,
    view_dependent_colors,
    world_covariances,
)
from mom_nerfstudio.rendering.cpu_rasterizer.tiles import (
    TileIntersections,
    intersect_tiles,
)


def rasterize_gaussians_torch(
    means: Tensor,
    quats: Tensor | None,
    scales: Tensor | None,
    opacities: Tensor,
    colors: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    width: int,
    height: int,
    *,
    backgrounds: Tensor | None = None,
    covars: Tensor | None = None,
    **option_values: Any,
) -> tuple[Tensor, Tensor, dict]:
    """Render Gaussians like `gsplat.rasterization(..., packed=False)`, differentiably, on any device.

    Args:
        means: Gaussian centres, [N, 3].
        quats: Rotations as wxyz quaternions (normalised here), [N, 4]; unused when `covars` is given.
        scales: Standard deviations along the rotated axes, [N, 3]; unused when `covars` is given.
        opacities: Opacities in [0, 1], [N].
        colors: Post-activation colours [N, D] or [C, N, D] without `sh_degree`, else
            spherical-harmonics coefficients [N, K, 3] or [C, N, K, 3] with K >= (sh_degree + 1)^2.
        viewmats: World-to-camera transforms, [C, 4, 4].
        Ks: Camera intrinsics, [C, 3, 3].
        width: Image width in pixels.
        height: Image height in pixels.
        backgrounds: Per-camera background colours, [C, D], seen through the Gaussians.
        covars: World-space covariances [N, 3, 3], to use instead of `quats` and `scales`.
        **option_values: Fields of `RasterOptions`, by name: gsplat's rendering options (`near_plane`,
            `sh_degree`, `render_mode`, `absgrad`, ...) with gsplat's defaults, and `chunk_elements`.

    Returns:
        `(render [C, H, W, channels], alpha [C, H, W, 1], info)`. `info` holds gsplat's keys for an
        unpacked render: `means2d` [C, N, 2] (the tensor the compositing used: `retain_grad()` on it
        gives screen-space gradients), `radii` [C, N] int32, `depths`, `conics`, `opacities`,
        `camera_ids` and `gaussian_ids` (None), `tile_width`, `tile_height`, `tiles_per_gauss`,
        `isect_ids`, `flatten_ids`, `isect_offsets`, `width`, `height`, `tile_size`, `n_cameras`.

    Raises:
        ValueError: a tensor of the wrong shape or an option out of range, named.
        TypeError: an option `RasterOptions` does not have.
    """
    options = RasterOptions(**option_values)
    check_inputs(means, quats, scales, covars, opacities, colors, viewmats, Ks, backgrounds, options.sh_degree)
    if covars is None:
        covars = world_covariances(quats, scales)
    projection = project_gaussians(means, covars, opacities, viewmats, Ks, width, height, options)
    features = view_dependent_colors(means, colors, viewmats, options.sh_degree)
    if options.renders_depth:
        features, backgrounds = _with_depth_channel(features, backgrounds, projection.depths, options)

    tiles = intersect_tiles(projection, options.tile_size, width, height)
    render, alpha = composite(
        projection, features, backgrounds, tiles, width, height, options.chunk_elements, options.absgrad
    )
    if options.normalises_depth:
        render = torch.cat([render[..., :-1], render[..., -1:] / alpha.clamp(min=1e-10)], dim=-1)
    return render, alpha, _info(projection, tiles, width, height)


def _with_depth_channel(
    colors: Tensor, backgrounds: Tensor | None, depths: Tensor, options: RasterOptions
) -> tuple[Tensor, Tensor | None]:
    """Features and backgrounds for a depth mode: depth appended ("RGB+...") or alone, over background 0."""
    n_cameras = depths.shape[0]
    if not options.renders_colour:
        return depths[..., None], None if backgrounds is None else backgrounds.new_zeros(n_cameras, 1)
    colors = torch.cat([colors, depths[..., None]], dim=-1)
    if backgrounds is not None:
        backgrounds = torch.cat([backgrounds, backgrounds.new_zeros(n_cameras, 1)], dim=-1)
    return colors, backgrounds


def _info(projection: Projection, tiles: TileIntersections, width: int, height: int) -> dict:
    """gsplat's `meta` dictionary of an unpacked render."""
    return {
        "camera_ids": None,
        "gaussian_ids": None,
        "radii": projection.radii,
        "means2d": projection.means2d,
        "depths": projection.depths,
        "conics": projection.conics,
        "opacities": projection.opacities,
        "tile_width": tiles.tiles_x,
        "tile_height": tiles.tiles_y,
        "tiles_per_gauss": tiles.tiles_per_gauss,
        "isect_ids": tiles.isect_ids,
        "flatten_ids": tiles.flatten_ids.int(),
        "isect_offsets": tiles.tile_starts.int().reshape(tiles.n_cameras, tiles.tiles_y, tiles.tiles_x),
        "width": width,
        "height": height,
        "tile_size": tiles.tile_size,
        "n_cameras": tiles.n_cameras,
    }
