"""Dense compositing blocks `[tiles, pixels of a tile, Gaussians]`: how they are cut, filled and composited.

Tiles are grouped by how many Gaussians they hold, and each group is walked along the Gaussian axis in
chunks of at most `chunk_elements` block entries, so memory stays bounded whatever the number of
Gaussians and the image size. Around a tile's centre, `log2(alpha)` before the clamp is a quadratic in
the pixel position, so a block of exponents is a single matrix product of per-pixel features
`[1, x, y, x^2, xy, y^2]` with six coefficients per intersection.

The compositing rule, per pixel and front to back: `alpha = min(ALPHA_MAX, opacity * exp(-sigma))`;
Gaussians with `alpha < ALPHA_MIN` are skipped, and a pixel stops, before the Gaussian, as soon as its
transmittance would fall to `TRANSMITTANCE_MIN` or below.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from mom_nerfstudio.rendering.cpu_rasterizer.tiles import TileIntersections

ALPHA_MAX = 0.999
"""A single Gaussian never makes a pixel more opaque than this (gsplat's clamp)."""
ALPHA_MIN = 1.0 / 255.0
"""Gaussians fainter than this at a pixel are skipped there."""
TRANSMITTANCE_MIN = 1e-4
"""A pixel stops before the Gaussian that would bring its transmittance to this value or below."""
MAX_CHUNK_GAUSSIANS = 128
"""Gaussians per tile in one chunk: shorter chunks let the tiles whose pixels have all stopped drop out
sooner; longer ones cost less per-chunk overhead."""

_TRANSPARENT = -1e30
"""log2-alpha of the padding slots of a block."""


@dataclass
class Chunk:
    """One dense block: `tiles` (ids) times the Gaussians of rank `first .. first + size - 1` in them."""

    tiles: Tensor  # [B]
    first: int
    size: int
    start_transmittance: Tensor  # [B, P] of each pixel before the block, as if no pixel ever stopped


@dataclass
class Block:
    """Front-to-back compositing of one dense block [B, P, G]."""

    alpha: Tensor
    """[B, P, G] alpha each pixel uses: clamped, and 0 where skipped or once the pixel has stopped."""
    transmittance: Tensor
    """[B, P, G + 1] light left before each Gaussian and, last, after the block, as if no pixel ever
    stopped; exact for the Gaussians a pixel uses."""
    weights: Tensor
    """[B, P, G] share of each Gaussian's colour in each pixel: alpha times the transmittance before."""
    stopped: bool
    """Whether some pixel stopped, in this block or before it."""


class Workspace:
    """Scratch tensors reused from block to block.

    Blocks need several temporaries of about `chunk_elements` entries each; allocating them afresh for
    every block costs more in page faults than the arithmetic on them.
    """

    def __init__(self, like: Tensor) -> None:
        self._like = like
        self._buffers: dict[str, Tensor] = {}

    def get(self, name: str, *shape: int) -> Tensor:
        """An uninitialised tensor of `shape`, sharing memory with earlier tensors of the same name."""
        size = math.prod(shape)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.numel() < size:
            buffer = self._buffers[name] = self._like.new_empty(size)
        return buffer[:size].view(shape)


def pixel_features(tile_size: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """`[1, x, y, x^2, x*y, y^2]` [P, 6] of a tile's pixel centres (row-major), from the tile centre."""
    centres = torch.arange(tile_size, dtype=dtype, device=device) + 0.5 - tile_size / 2
    y, x = torch.meshgrid(centres, centres, indexing="ij")
    x, y = x.reshape(-1), y.reshape(-1)
    return torch.stack([torch.ones_like(x), x, y, x * x, x * y, y * y], dim=-1)


def tile_groups(tile_counts: Tensor, pixels_per_tile: int, chunk_elements: int) -> Iterator[tuple[Tensor, int, int]]:
    """Yield `(tile ids, Gaussians per chunk, most Gaussians in one of the tiles)` for groups of tiles.

    Tiles holding Gaussians are visited from the most to the least crowded, so a group's tiles hold
    similar numbers of Gaussians and those still holding some at a given rank come first.
    """
    busy = torch.nonzero(tile_counts > 0).squeeze(1)
    busy = busy[torch.argsort(tile_counts[busy], descending=True, stable=True)]
    counts = tile_counts[busy].tolist()
    start = 0
    while start < len(counts):
        most = counts[start]
        per_chunk = max(1, min(most, MAX_CHUNK_GAUSSIANS, chunk_elements // pixels_per_tile))
        n_tiles = max(1, chunk_elements // (pixels_per_tile * per_chunk))
        yield busy[start : start + n_tiles], per_chunk, most
        start += n_tiles


def block_indices(tiles: TileIntersections, tile_ids: Tensor, first: int, size: int, padding: int) -> Tensor:
    """Intersection indices [B, size] of a block; `padding` where a tile has run out of Gaussians."""
    rank = torch.arange(first, first + size, device=tile_ids.device)
    indices = tiles.tile_starts[tile_ids, None] + rank
    return torch.where(rank < tiles.tile_counts[tile_ids, None], indices, padding)


def with_transparent_slot(coefficients: Tensor, features: Tensor) -> tuple[Tensor, Tensor]:
    """Append an intersection that is transparent everywhere, for the padding slots of blocks."""
    transparent = coefficients.new_zeros(1, 6)
    transparent[0, 0] = _TRANSPARENT
    no_features = features.new_zeros(1, features.shape[1])
    return torch.cat([coefficients, transparent]), torch.cat([features, no_features])


def composite_block(
    coefficients: Tensor, pixel_features: Tensor, start_transmittance: Tensor, workspace: Workspace
) -> Block:
    """Alpha-composite a block, given its Gaussians' coefficients [B, G, 6], front to back.

    Boolean masks are slow on CPUs, so the rules are applied with `threshold` (which keeps the values
    strictly above a bound and zeroes the others) and `sign`, in place where possible.
    """
    n_tiles, n_gaussians = coefficients.shape[:2]
    n_pixels = pixel_features.shape[0]
    alpha = workspace.get("alpha", n_tiles, n_pixels, n_gaussians)
    torch.matmul(pixel_features, coefficients.transpose(1, 2), out=alpha).exp2_().clamp_max_(ALPHA_MAX)
    alpha = F.threshold(alpha, _largest_below(ALPHA_MIN, alpha.dtype), 0.0, inplace=True)
    transmittance = workspace.get("transmittance", n_tiles, n_pixels, n_gaussians + 1)
    transmittance[..., 0] = start_transmittance
    torch.sub(alpha.new_ones(()), alpha, out=transmittance[..., 1:])
    transmittance.cumprod_(dim=-1)
    # Transmittance never increases along a pixel's list, so a pixel uses exactly the Gaussians after
    # which it stays above the threshold.
    stopped = bool(transmittance[..., -1].min() <= TRANSMITTANCE_MIN)
    if stopped:
        alpha.mul_(torch.sign(F.threshold(transmittance[..., 1:], TRANSMITTANCE_MIN, 0.0)))
    weights = workspace.get("weights", n_tiles, n_pixels, n_gaussians)
    torch.mul(alpha, transmittance[..., :-1], out=weights)
    return Block(alpha=alpha, transmittance=transmittance, weights=weights, stopped=stopped)


def _largest_below(value: float, dtype: torch.dtype) -> float:
    """The largest number of `dtype` below `value`."""
    return float(torch.nextafter(torch.tensor(value, dtype=dtype), torch.tensor(-math.inf, dtype=dtype)))
