"""The copies of a loop time rasterised together, from one camera: one tile sort and one rasterisation for all.

The copies share every Gaussian parameter but the posed means, rotations and scales. gsplat renders a batch of
cameras in one pass over the tiles; here the batch is the copies. Each copy is projected on its own (gsplat's
projection takes one set of means for the whole batch), the projections are stacked as if they came from as many
cameras, and the tile intersection, its sort and the rasterisation then run once. Each copy's render is what
`rasterization` gives for that copy alone. View-dependent colour is evaluated from the camera's centre as given
(`rasterization` inverts the view matrix for it, which waits for the GPU to finish what it was given before).

Rendering for display only: nothing here keeps what densification needs, so training rasterises copy by copy.
Off CUDA, the copies go through `rendering.rasterization` one after another (`rasterize_copy`, which training uses
for each copy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from mom_nerfstudio.rendering.cpu_rasterizer.options import RasterizeMode
from mom_nerfstudio.rendering.rasterize import rasterization

NEAR_PLANE = 0.01
FAR_PLANE = 1e10
TILE_SIZE = 16
EPS_2D = 0.3
_DEPTH_ALPHA_FLOOR = 1e-10
"""Alpha under which the accumulated depth is not normalised by it (gsplat's expected-depth floor)."""


@dataclass(frozen=True)
class View:
    """A camera as the rasteriser takes it."""

    viewmat: Tensor  # [1, 4, 4] world to camera, OpenCV axes
    intrinsics: Tensor  # [1, 3, 3]
    camera_centre: Tensor  # [3] the camera's position in the world (for view-dependent colour)
    width: int
    height: int
    with_depth: bool
    """Render the expected depth as a fourth channel."""


def rasterize_copies(
    copies: Sequence[dict[str, Tensor]],
    opacities: Tensor,
    colors: Tensor,
    sh_degree: int | None,
    view: View,
    rasterize_mode: RasterizeMode = "classic",
) -> tuple[Tensor, Tensor]:
    """Renders [C, H, W, 3 (+1 expected depth)] and alphas [C, H, W, 1] of C copies seen from `view`.

    Args:
        copies: each copy's `means` [N, 3], `quats` [N, 4] and `scales` [N, 3] (activated).
        opacities: [N] in [0, 1], shared.
        colors: [N, 3], or [N, K, 3] spherical-harmonic coefficients with `sh_degree`, shared.
    """
    if copies[0]["means"].is_cuda:
        return _rasterize_copies_cuda(copies, opacities, colors, sh_degree, view, rasterize_mode)
    renders = [rasterize_copy(copy, opacities, colors, sh_degree, view, rasterize_mode) for copy in copies]
    return torch.cat([render for render, _, _ in renders]), torch.cat([alpha for _, alpha, _ in renders])


def rasterize_copy(
    copy: dict[str, Tensor],
    opacities: Tensor,
    colors: Tensor,
    sh_degree: int | None,
    view: View,
    rasterize_mode: RasterizeMode = "classic",
    absgrad: bool = False,
) -> tuple[Tensor, Tensor, dict]:
    """One copy through `rasterization` (gsplat's, or ours off CUDA): render [1, H, W, 3 (+1)], alpha [1, H, W, 1],
    and the statistics densification reads. The arguments are `rasterize_copies`'s."""
    return rasterization(
        **copy,
        opacities=opacities,
        colors=colors,
        viewmats=view.viewmat,
        Ks=view.intrinsics,
        width=view.width,
        height=view.height,
        near_plane=NEAR_PLANE,
        far_plane=FAR_PLANE,
        eps2d=EPS_2D,
        tile_size=TILE_SIZE,
        sh_degree=sh_degree,
        packed=False,
        sparse_grad=False,
        absgrad=absgrad,
        render_mode="RGB+ED" if view.with_depth else "RGB",
        rasterize_mode=rasterize_mode,
    )


def _rasterize_copies_cuda(
    copies: Sequence[dict[str, Tensor]],
    opacities: Tensor,
    colors: Tensor,
    sh_degree: int | None,
    view: View,
    rasterize_mode: RasterizeMode,
) -> tuple[Tensor, Tensor]:
    from gsplat.cuda._wrapper import (
        fully_fused_projection,
        isect_offset_encode,
        isect_tiles,
        rasterize_to_pixels,
        spherical_harmonics,
    )

    antialiased = rasterize_mode == "antialiased"
    projections = [
        fully_fused_projection(
            copy["means"],
            None,
            copy["quats"],
            copy["scales"],
            view.viewmat,
            view.intrinsics,
            view.width,
            view.height,
            eps2d=EPS_2D,
            near_plane=NEAR_PLANE,
            far_plane=FAR_PLANE,
            packed=False,
            calc_compensations=antialiased,
        )
        for copy in copies
    ]
    radii, means2d, depths, conics = (torch.cat([projection[part] for projection in projections]) for part in range(4))
    count = len(copies)
    batch_opacities = opacities.expand(count, -1)
    if antialiased:
        batch_opacities = batch_opacities * torch.cat([projection[4] for projection in projections])
    if sh_degree is None:
        batch_colors = colors.expand(count, -1, -1)
    else:
        directions = torch.stack([copy["means"] for copy in copies]) - view.camera_centre
        batch_colors = (
            spherical_harmonics(sh_degree, directions, colors.expand(count, -1, -1, -1), masks=radii > 0)
            .add(0.5)
            .clamp_min(0.0)
        )
    if view.with_depth:
        batch_colors = torch.cat((batch_colors, depths[..., None]), dim=-1)
    tile_width, tile_height = math.ceil(view.width / TILE_SIZE), math.ceil(view.height / TILE_SIZE)
    _, isect_ids, flatten_ids = isect_tiles(
        means2d, radii, depths, TILE_SIZE, tile_width, tile_height, packed=False, n_cameras=count
    )
    isect_offsets = isect_offset_encode(isect_ids, count, tile_width, tile_height)
    renders, alphas = rasterize_to_pixels(
        means2d, conics, batch_colors, batch_opacities, view.width, view.height, TILE_SIZE, isect_offsets, flatten_ids
    )
    if view.with_depth:
        renders = torch.cat((renders[..., :-1], renders[..., -1:] / alphas.clamp(min=_DEPTH_ALPHA_FLOOR)), dim=-1)
    return renders, alphas
