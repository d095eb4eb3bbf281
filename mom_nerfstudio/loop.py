"""The looping scheme shared by the synthesised videos and the model: which copies a loop time shows, and how they mix.

A loop of N frames at time t in [0, 1) shows the scene twice and blends the two: once with the moving content
carried forward by tN frames of its motion (weight 1 - t) and once carried back by (1 - t)N frames (weight t).
At t = 0 only the forward copy counts and as t -> 1 only the backward one, both at rest, so time t and t + 1 look
the same and the loop has no seam. Each copy also has a time coordinate in [-1, 1) for what varies along the loop
besides the motion (the model's residual deformation): t for the forward copy and t - 1 for the backward one,
which meet at 0 where the loop closes.

Blending: each pixel mixes the copies in proportion to weight times coverage, so a copy that left a pixel empty
(the water flowed away) gives way to the other. A plain mix of two shifted copies of a texture has less contrast
than either (0.71 of it for uncorrelated copies mixed half and half) and shows distinct features twice, faintly.
The contrast-preserving blend keeps the mix's local mean and rescales its deviation from it so that its local
variance is the copies' mixed variance, where the copies disagree: a pixel on which they agree (static content, even
beside moving texture) keeps the plain mix exactly, and where they are uncorrelated (moving texture mid-loop) the
contrast of the originals comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

LoopBlend = Literal["contrast-preserving", "linear"]

CONTRAST_RADIUS_FRACTION = 0.03
"""Radius of the window of local means and variances, as a fraction of the image's long side: about the distance
the two copies of moving texture lie apart, up to which their details are uncorrelated."""

_VARIANCE_FLOOR = 1e-4
"""Local variance (of colours in [0, 1]) below which content counts as flat: its deviations are not amplified."""
_DISAGREEMENT_SCALE = 1e-4
"""Squared colour difference between the copies at which a pixel counts as half disagreeing (about 1 % of the range)."""
_EMPTY = 1e-6
_SHRINK_PER_RADIUS = 4
"""Local means are taken on a copy shrunk by the radius over this (their windows then span about 9 pixels)."""


@dataclass(frozen=True)
class LoopTerm:
    """One copy of the scene at a loop time: its blending weight, its motion in frames, its time coordinate."""

    weight: float
    frames: float
    time_coordinate: float


def wrap_time(t: float) -> float:
    """Loop time in [0, 1): times outside wrap around."""
    return float(t) % 1.0


def loop_terms(t: float, num_frames: int) -> list[LoopTerm]:
    """The copies shown at loop time `t` (one at t = 0, two otherwise), with their weights."""
    t = wrap_time(t)
    terms = [LoopTerm(weight=1.0 - t, frames=t * num_frames, time_coordinate=t)]
    if t > 0.0:
        terms.append(LoopTerm(weight=t, frames=-(1.0 - t) * num_frames, time_coordinate=t - 1.0))
    return terms


@dataclass
class BlendedCopies:
    """The blend of a loop time's copies: colour (not premultiplied), coverage, and each copy's per-pixel share."""

    colour: torch.Tensor  # [..., H, W, C]
    coverage: torch.Tensor  # [..., H, W, 1]
    shares: list[torch.Tensor]  # [..., H, W, 1] each; they sum to 1 where anything is covered


def contrast_radius(height: int, width: int) -> int:
    """The local window's radius in pixels for an image of this size."""
    return max(1, round(CONTRAST_RADIUS_FRACTION * max(height, width)))


def blend_copies(
    colours: list[torch.Tensor], coverages: list[torch.Tensor], weights: list[float], blend: LoopBlend = "linear"
) -> BlendedCopies:
    """Blend the copies of a loop time: `colours` [..., H, W, C], `coverages` [..., H, W, 1] in [0, 1], scalar weights.

    Where no copy covers a pixel, the shares fall back to the weights (the colour there is whatever the copies hold).
    """
    weighted = [weight * coverage for weight, coverage in zip(weights, coverages)]
    total = sum(weighted)
    covered = total > _EMPTY
    safe_total = torch.where(covered, total, torch.ones_like(total))
    shares = [
        torch.where(covered, part / safe_total, torch.full_like(total, weight))
        for part, weight in zip(weighted, weights)
    ]
    coverage = sum(share * copy_coverage for share, copy_coverage in zip(shares, coverages))
    if len(colours) == 1 or blend == "linear":
        colour = sum(share * copy for share, copy in zip(shares, colours))
    else:
        colour = _contrast_preserving(colours, coverages, shares)
    return BlendedCopies(colour=colour, coverage=coverage, shares=shares)


def _contrast_preserving(
    colours: list[torch.Tensor], coverages: list[torch.Tensor], shares: list[torch.Tensor]
) -> torch.Tensor:
    height, width = colours[0].shape[-3:-1]
    radius = contrast_radius(height, width)
    mixed = sum(share * colour for share, colour in zip(shares, colours))
    total_coverage = sum(share * coverage for share, coverage in zip(shares, coverages))
    # Local means of every copy and of the mix (each weighted by its coverage), in one filtering pass ...
    images, weights = [*colours, mixed], [*coverages, total_coverage]
    sums = _box_sums(
        torch.cat([part for image, weight in zip(images, weights) for part in (image * weight, weight)], dim=-1), radius
    )
    channels = images[0].shape[-1] + 1
    weight_sums = [
        sums[..., (index + 1) * channels - 1 : (index + 1) * channels].clamp(min=_EMPTY) for index in range(len(images))
    ]
    deviations = [
        image - sums[..., index * channels : (index + 1) * channels - 1] / weight_sum
        for index, (image, weight_sum) in enumerate(zip(images, weight_sums))
    ]
    # ... then the local variances about them in a second.
    squares = torch.cat(
        [deviation.square().mean(dim=-1, keepdim=True) * weight for deviation, weight in zip(deviations, weights)],
        dim=-1,
    )
    variances = _box_sums(squares, radius)
    variances = [variances[..., index : index + 1] / weight_sum for index, weight_sum in enumerate(weight_sums)]
    target_variance = sum(share * variance for share, variance in zip(shares, variances[:-1]))
    # Uncorrelated copies lose a factor sqrt(sum of squared shares) of their deviation: at most that is restored.
    most = torch.rsqrt(sum(share.square() for share in shares).clamp(min=0.5))
    gain = (
        torch.sqrt((target_variance + _VARIANCE_FLOOR) / (variances[-1] + _VARIANCE_FLOOR)).clamp(min=1.0).minimum(most)
    )
    disagreement = sum(
        share * (colour - mixed).square().mean(dim=-1, keepdim=True) for share, colour in zip(shares, colours)
    )
    where_copies_differ = disagreement / (disagreement + _DISAGREEMENT_SCALE)
    return mixed + (gain - 1.0) * where_copies_differ * deviations[-1]


def _box_sums(values: torch.Tensor, radius: int) -> torch.Tensor:
    """Means of `values` [..., H, W, C] over (2r+1)^2 windows, zero outside the image: divided by one another (weighted
    sums by the sums of their weights) they give normalised local means.

    Windows span a few percent of the image, so the means are smooth: they are taken on a copy shrunk by about a
    quarter of the radius (two one-dimensional passes there) and interpolated back, which keeps the cost low at any
    resolution.
    """
    leading = values.shape[:-3]
    height, width, channels = values.shape[-3:]
    planar = values.reshape(-1, height, width, channels).permute(0, 3, 1, 2)
    shrink = max(1, radius // _SHRINK_PER_RADIUS)
    small = F.avg_pool2d(planar, shrink, stride=shrink, ceil_mode=True) if shrink > 1 else planar
    small_radius = max(1, round(radius / shrink))
    size = 2 * small_radius + 1
    small = F.avg_pool2d(small, (size, 1), stride=1, padding=(small_radius, 0))
    small = F.avg_pool2d(small, (1, size), stride=1, padding=(0, small_radius))
    planar = F.interpolate(small, size=(height, width), mode="bilinear", align_corners=False) if shrink > 1 else small
    return planar.permute(0, 2, 3, 1).reshape(*leading, height, width, channels)
