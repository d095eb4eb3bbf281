"""The looping motion prior: every moving Gaussian drifts along its 3D-MOM velocity, and time wraps seamlessly.

A loop of N frames at time t in [0, 1) is rendered the way the training videos were made: once with the moving
Gaussians pushed forward to x + tN v and once pulled back to x - (1 - t)N v (static Gaussians sit in both),
and the two renders are blended with weights (1 - t) and t, normalised by their alphas so that a hole in one
render is filled by the other. At t = 0 only the forward render counts and as t -> 1 only the backward one,
both at rest, so rendering at t and at t + 1 gives the same image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LoopTerm:
    """One of the two renders of a loop time: its blending weight and how many frames of motion it applies."""

    weight: float
    frames: float


def wrap_time(t: float) -> float:
    """Loop time in [0, 1): times outside wrap around."""
    return float(t) % 1.0


def loop_terms(t: float, num_frames: int) -> list[LoopTerm]:
    """The renders needed at loop time `t` (one at t = 0, two otherwise), with their weights."""
    t = wrap_time(t)
    terms = [LoopTerm(weight=1.0 - t, frames=t * num_frames)]
    if t > 0.0:
        terms.append(LoopTerm(weight=t, frames=-(1.0 - t) * num_frames))
    return terms


@dataclass
class RenderLayer:
    """A render before compositing on the background: premultiplied colour, alpha and optional expected depth."""

    premultiplied: torch.Tensor  # [..., H, W, 3]
    alpha: torch.Tensor  # [..., H, W, 1]
    depth: torch.Tensor | None = None  # [..., H, W, 1], expected depth (normalised by alpha)


def blend_loop_renders(layers: list[RenderLayer], weights: list[float]) -> RenderLayer:
    """Blend the renders of a loop time, each pixel normalised by the renders' alphas.

    Pixel weights are w_i * alpha_i / sum_j(w_j * alpha_j): a render that left a pixel empty gives way to the
    other, so moving content never shows the background through it mid-loop.
    """
    if len(layers) == 1:
        return layers[0]
    weighted_alphas = [weight * layer.alpha for weight, layer in zip(weights, layers)]
    total = sum(weighted_alphas)
    safe_total = torch.where(total > 1e-8, total, torch.ones_like(total))
    shares = [torch.where(total > 1e-8, weighted / safe_total, torch.full_like(total, weight)) for weighted, weight in zip(weighted_alphas, weights)]
    depth = None
    if all(layer.depth is not None for layer in layers):
        depth = sum(share * layer.depth for share, layer in zip(shares, layers))
    return RenderLayer(
        premultiplied=sum(share * layer.premultiplied for share, layer in zip(shares, layers)),
        alpha=sum(share * layer.alpha for share, layer in zip(shares, layers)),
        depth=depth,
    )
