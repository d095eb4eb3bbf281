"""Compositing: every pixel's colour and alpha from its tile's Gaussians, front to back, differentiably.

The colour is the sum of `alpha * T * colour` (`T` the transmittance before the Gaussian, `alpha`
evaluated at the pixel centre, `+0.5`, gsplat's convention), the rendered alpha `1 - T_final`, and a
background adds `T_final * background`. The per-intersection coefficients of `log2(alpha)` come from
the means, conics and opacities by ordinary autograd; the compositing itself is an autograd function
whose backward pass is analytic: it recomputes each dense block (nothing per block entry is kept
between the passes) and walks every tile back to front, as gsplat's CUDA backward pass does. It also
yields gsplat's "absgrad" (per-pixel absolute gradients of the 2-D means, summed) on request.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from mom_nerfstudio.rendering.cpu_rasterizer.blocks import (
    ALPHA_MAX,
    TRANSMITTANCE_MIN,
    Chunk,
    Workspace,
    block_indices,
    composite_block,
    pixel_features,
    tile_groups,
    with_transparent_slot,
)
from mom_nerfstudio.rendering.cpu_rasterizer.projection import Projection
from mom_nerfstudio.rendering.cpu_rasterizer.tiles import (
    TileIntersections,
    tile_centres,
    tiles_to_images,
)

_LOG2_E = 1.0 / math.log(2.0)
_MIN_OPACITY = 1e-30
"""Opacities are clamped to this before their logarithm (anything this faint is skipped anyway)."""


def composite(
    projection: Projection,
    features: Tensor,
    backgrounds: Tensor | None,
    tiles: TileIntersections,
    width: int,
    height: int,
    chunk_elements: int,
    absgrad: bool,
) -> tuple[Tensor, Tensor]:
    """Render `(features [C, H, W, D], alpha [C, H, W, 1])` of the projected Gaussians.

    With `absgrad`, the backward pass also leaves `projection.means2d.absgrad` [C, N, 2].
    """
    coefficients = _log2_alpha_coefficients(projection, tiles)
    isect_features = features.reshape(-1, features.shape[-1])[tiles.flatten_ids]
    absgrad_sink = _AbsGradSink(projection.means2d, projection.conics, tiles) if absgrad else None
    tile_colors, tile_transmittance = _TileCompositing.apply(
        coefficients, isect_features, tiles, chunk_elements, absgrad_sink
    )
    render = tiles_to_images(tile_colors, tiles, width, height)
    transmittance = tiles_to_images(tile_transmittance[..., None], tiles, width, height)
    if backgrounds is not None:
        render = render + transmittance * backgrounds[:, None, None, :]
    return render, 1.0 - transmittance


def _log2_alpha_coefficients(projection: Projection, tiles: TileIntersections) -> Tensor:
    """Coefficients [M, 6] of each intersection's `log2(opacity * exp(-sigma))` over its tile.

    With `(mx, my)` the mean and `(x, y)` a pixel centre, both relative to the tile centre (which
    keeps the expanded terms, and so their rounding errors, small), and `(a, b, c)` the conic, the value
    at that pixel is `coefficients . [1, x, y, x^2, x*y, y^2]`.
    """
    ids = tiles.flatten_ids
    means2d = projection.means2d.reshape(-1, 2)[ids] - tile_centres(tiles).to(projection.means2d.dtype)
    mx, my = means2d.unbind(-1)
    a, b, c = projection.conics.reshape(-1, 3)[ids].unbind(-1)
    log_opacity = torch.log(projection.opacities.reshape(-1)[ids].clamp_min(_MIN_OPACITY))
    coefficients = torch.stack(
        [
            log_opacity - 0.5 * a * mx * mx - b * mx * my - 0.5 * c * my * my,
            a * mx + b * my,
            b * mx + c * my,
            -0.5 * a,
            -b,
            -0.5 * c,
        ],
        dim=-1,
    )
    return coefficients * _LOG2_E


class _AbsGradSink:
    """Receives per-intersection absolute gradients of the 2-D means; keeps them as `means2d.absgrad`."""

    def __init__(self, means2d: Tensor, conics: Tensor, tiles: TileIntersections) -> None:
        self.means2d = means2d
        self.flatten_ids = tiles.flatten_ids
        with torch.no_grad():
            # Per intersection: the mean relative to the tile centre, then the conic (a, b, c).
            mean = means2d.reshape(-1, 2)[tiles.flatten_ids] - tile_centres(tiles).to(means2d.dtype)
            self.geometry = torch.cat([mean, conics.reshape(-1, 3)[tiles.flatten_ids]], dim=-1)
        means2d.absgrad = torch.zeros_like(means2d)

    def deliver(self, per_intersection: Tensor) -> None:
        """Sum `per_intersection` [M, 2] into one value per camera and Gaussian."""
        absgrad = torch.zeros_like(self.means2d).reshape(-1, 2)
        absgrad.index_add_(0, self.flatten_ids, per_intersection)
        self.means2d.absgrad = absgrad.reshape(self.means2d.shape)


class _TileCompositing(torch.autograd.Function):
    """Front-to-back compositing of all tiles, with an analytic, chunk-recomputing backward pass.

    Inputs: per-intersection log2-alpha coefficients [M, 6] and features [M, D]. Outputs, tile-major
    with the P pixels of a tile row-major: colours [tiles, P, D] and final transmittance [tiles, P].
    """

    @staticmethod
    def forward(ctx, coefficients, features, tiles, chunk_elements, absgrad_sink):
        n_isects, n_channels = features.shape
        n_tiles, n_pixels = tiles.tile_counts.numel(), tiles.pixels_per_tile
        pixels = pixel_features(tiles.tile_size, coefficients.dtype, coefficients.device)
        padded_coefficients, padded_features = with_transparent_slot(coefficients, features)

        workspace = Workspace(coefficients)
        colors = features.new_zeros(n_tiles, n_pixels, n_channels)
        transmittance = coefficients.new_ones(n_tiles, n_pixels)
        unstopped_transmittance = coefficients.new_ones(n_tiles, n_pixels)
        chunks: list[Chunk] = []
        for group, per_chunk, most in tile_groups(tiles.tile_counts, n_pixels, chunk_elements):
            group_counts = tiles.tile_counts[group]
            for first in range(0, most, per_chunk):
                active = group[group_counts > first]
                active = active[unstopped_transmittance[active].amax(dim=1) > TRANSMITTANCE_MIN]
                if active.numel() == 0:  # every pixel of the group has stopped
                    break
                indices = block_indices(tiles, active, first, per_chunk, padding=n_isects)
                start = unstopped_transmittance[active]
                block = composite_block(padded_coefficients[indices], pixels, start, workspace)
                colors[active] += _weighted_sum(block.weights, padded_features[indices])
                if block.stopped:  # the light the block's Gaussians took is all that is gone
                    transmittance[active] -= block.weights.sum(dim=-1)
                else:
                    transmittance[active] = block.transmittance[..., -1]
                unstopped_transmittance[active] = block.transmittance[..., -1]
                chunks.append(Chunk(active, first, per_chunk, start))

        ctx.save_for_backward(coefficients, features, transmittance)
        ctx.tiles, ctx.chunks, ctx.absgrad_sink = tiles, chunks, absgrad_sink
        return colors, transmittance

    @staticmethod
    def backward(ctx, grad_colors, grad_transmittance):
        coefficients, features, final_transmittance = ctx.saved_tensors
        tiles, sink = ctx.tiles, ctx.absgrad_sink
        n_isects = features.shape[0]
        pixels = pixel_features(tiles.tile_size, coefficients.dtype, coefficients.device)
        padded_coefficients, padded_features = with_transparent_slot(coefficients, features)
        workspace = Workspace(coefficients)
        grad_coefficients = torch.zeros_like(padded_coefficients)
        grad_features = torch.zeros_like(padded_features)
        if sink is not None:
            absgrad = coefficients.new_zeros(n_isects + 1, 2)
            padded_geometry = torch.cat([sink.geometry, sink.geometry.new_zeros(1, 5)])

        # Walking each tile back to front, `behind` [tiles, P] is the derivative of the loss with respect
        # to a pixel's transmittance before the Gaussians still to visit, times that transmittance: the
        # colour those Gaussians add, weighted by dL/dcolour, plus the final transmittance's share.
        behind = final_transmittance * grad_transmittance
        for chunk in reversed(ctx.chunks):
            indices = block_indices(tiles, chunk.tiles, chunk.first, chunk.size, padding=n_isects)
            start = chunk.start_transmittance
            block = composite_block(padded_coefficients[indices], pixels, start, workspace)
            weights, shape = block.weights, block.weights.shape
            grad_color = grad_colors[chunk.tiles]
            color_gain = workspace.get("color_gain", *shape)
            torch.bmm(grad_color, padded_features[indices].transpose(1, 2), out=color_gain)
            contribution = torch.mul(weights, color_gain, out=workspace.get("contribution", *shape))
            total = contribution.sum(dim=-1, keepdim=True)
            behind_chunk = behind[chunk.tiles]
            behind[chunk.tiles] = behind_chunk + total[..., 0]

            # dL/d alpha_i = T_i * gain_i - (sum of contribution_j for j > i, plus behind) / (1 - alpha_i)
            cumulative = torch.cumsum(contribution, dim=-1, out=workspace.get("cumulative", *shape))
            from_behind = torch.sub(total + behind_chunk[..., None], cumulative, out=cumulative)
            one = block.alpha.new_ones(())
            from_behind.div_(torch.sub(one, block.alpha, out=workspace.get("one_minus_alpha", *shape)))
            grad_alpha = color_gain.mul_(block.transmittance[..., :-1]).sub_(from_behind)
            # Only the Gaussians a pixel used, unclamped, pass a gradient on to their opacity and shape;
            # there d alpha / d log2(alpha) = alpha * ln 2: alpha is negated here, ln 2 and the sign are
            # applied to the (much smaller) products below.
            negated_alpha = torch.neg(block.alpha, out=workspace.get("negated_alpha", *shape))
            negated_unclamped_alpha = F.threshold(negated_alpha, -ALPHA_MAX, 0.0, inplace=True)
            grad_alpha.mul_(negated_unclamped_alpha)

            # The products read the large [B, P, G] operand in its own layout, which is much faster.
            grad_log2_coefficients = torch.matmul(pixels.T, grad_alpha).mul_(-math.log(2.0))
            grad_coefficients[indices] = grad_log2_coefficients.transpose(1, 2)
            grad_features[indices] = torch.bmm(grad_color.transpose(1, 2), weights).transpose(1, 2)
            if sink is not None:
                grad_log2_alpha = grad_alpha.mul_(-math.log(2.0))
                geometry = padded_geometry[indices]
                absgrad[indices] = _abs_mean_gradients(grad_log2_alpha, geometry, pixels)

        if sink is not None:
            sink.deliver(absgrad[:n_isects])
        return grad_coefficients[:n_isects], grad_features[:n_isects], None, None, None


def _weighted_sum(weights: Tensor, features: Tensor) -> Tensor:
    """`weights [B, P, G] @ features [B, G, D]`, computed transposed, which is faster for small D."""
    return torch.bmm(features.transpose(1, 2), weights.transpose(1, 2)).transpose(1, 2)


def _abs_mean_gradients(grad_log2_alpha: Tensor, geometry: Tensor, pixel_features: Tensor) -> Tensor:
    """Sums over pixels of |dL/d mean2d| for each Gaussian of a block, [B, G, 2] (gsplat's absgrad)."""
    mx, my, a, b, c = geometry.unbind(-1)  # [B, G] each
    # d log2(alpha) / d mean = -(conic @ d) / ln 2 with d = mean - pixel; a dx + b dy = (a mx + b my) - a px - b py,
    # one batched product per axis (the absolute value keeps the sum over pixels from factoring further).
    negated_pixels = pixel_features[:, 1:3].neg().expand(geometry.shape[0], -1, -1)  # [B, P, 2]
    sums = []
    for first, second in ((a, b), (b, c)):
        along = torch.baddbmm((first * mx + second * my)[:, None, :], negated_pixels, torch.stack([first, second], 1))
        sums.append(along.mul_(grad_log2_alpha).abs_().sum(dim=1))
    return torch.stack(sums, dim=-1).mul_(_LOG2_E)
