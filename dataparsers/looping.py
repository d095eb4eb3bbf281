"""Looping video of a moving point cloud by symmetric splatting in 3D.

Frame t of N blends two z-buffered renders: one with the moving points pushed forward to x + t v and one with
them pulled back to x - (N - t) v, weighted (1 - t/N) and t/N and normalised by each render's coverage. Where
the forward render has left a hole (the water flowed away) the backward one fills it, and frame N equals frame 0,
so the video loops. Static points appear identically in both renders.

Static and moving points are splatted as two layers and merged per pixel by depth: the static layer of a view
is rendered once and reused by every frame, so a frame costs only the moving points' splats.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dataparsers.cameras import Intrinsics, transform_points
from dataparsers.point_renderer import PointRender, render_points


@dataclass
class MovingCloud:
    """A point cloud in world coordinates, split into its static and its moving part."""

    points: torch.Tensor  # [P, 3]
    features: torch.Tensor  # [P, C], e.g. RGB
    velocity: torch.Tensor  # [P, 3], world units per frame
    moving: torch.Tensor  # [P] bool

    def __post_init__(self) -> None:
        self._static = (self.points[~self.moving], self.features[~self.moving])
        self._moving = (self.points[self.moving], self.features[self.moving], self.velocity[self.moving])

    def static_part(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Points and features that never move."""
        return self._static

    def moving_part(self, frames: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Moving points displaced by `frames` frames of motion (negative: backwards), with their features."""
        points, features, velocity = self._moving
        return points + frames * velocity, features


@dataclass
class Layer:
    """Unnormalised splat sums of one layer: features times weight, weight, and front depth."""

    weighted_features: torch.Tensor  # [H, W, C]
    weight: torch.Tensor  # [H, W]
    depth: torch.Tensor  # [H, W], inf where empty

    @staticmethod
    def from_render(render: PointRender) -> "Layer":
        """Turn a normalised render back into sums that can be merged with other layers."""
        return Layer(render.features * render.weight[..., None], render.weight, render.depth)


def merge_layers(first: Layer, second: Layer, depth_tolerance: float = 0.03) -> Layer:
    """Per-pixel z-buffer of two layers: each contributes where it lies within the tolerance of the front."""
    front = torch.minimum(first.depth, second.depth)
    keep_first = (first.depth <= front * (1.0 + depth_tolerance)).to(first.weight.dtype)
    keep_second = (second.depth <= front * (1.0 + depth_tolerance)).to(second.weight.dtype)
    return Layer(
        weighted_features=first.weighted_features * keep_first[..., None] + second.weighted_features * keep_second[..., None],
        weight=first.weight * keep_first + second.weight * keep_second,
        depth=front,
    )


def render_layer(points: torch.Tensor, features: torch.Tensor, world_to_camera: torch.Tensor, intrinsics: Intrinsics) -> Layer:
    """Splat world points into a view as a mergeable layer."""
    if points.shape[0] == 0:
        height, width = intrinsics.height, intrinsics.width
        return Layer(
            weighted_features=torch.zeros((height, width, features.shape[1]), device=features.device),
            weight=torch.zeros((height, width), device=features.device),
            depth=torch.full((height, width), float("inf"), device=features.device),
        )
    return Layer.from_render(render_points(transform_points(points, world_to_camera), features, intrinsics))


@dataclass
class LoopFrame:
    """One frame of a looping view."""

    features: torch.Tensor  # [H, W, C]
    coverage: torch.Tensor  # [H, W] in [0, 1]: how much of the pixel the point cloud covered


class LoopingView:
    """Renders the frames of one view's looping video; the static layer is splatted once."""

    def __init__(self, cloud: MovingCloud, world_to_camera: torch.Tensor, intrinsics: Intrinsics, num_frames: int) -> None:
        if num_frames < 1:
            raise ValueError(f"a loop needs at least one frame, got {num_frames}")
        self.cloud = cloud
        self.world_to_camera = world_to_camera
        self.intrinsics = intrinsics
        self.num_frames = num_frames
        self.static_layer = render_layer(*cloud.static_part(), world_to_camera, intrinsics)

    def _layer_at(self, frames: float) -> Layer:
        moving_layer = render_layer(*self.cloud.moving_part(frames), self.world_to_camera, self.intrinsics)
        return merge_layers(self.static_layer, moving_layer)

    def frame(self, index: int) -> LoopFrame:
        """Frame `index`; any integer is taken modulo the loop length, so the video repeats seamlessly."""
        return self.frame_at(float(index % self.num_frames))

    def frame_at(self, t: float) -> LoopFrame:
        """The symmetric splat at time `t` in [0, N] frames; t = N gives back frame 0 exactly."""
        backward_weight = t / self.num_frames
        forward_weight = 1.0 - backward_weight
        layers = []
        if forward_weight > 0.0:
            layers.append((forward_weight, self._layer_at(t)))
        if backward_weight > 0.0:
            layers.append((backward_weight, self._layer_at(t - self.num_frames)))
        weighted_features = sum(weight * layer.weighted_features for weight, layer in layers)
        weight = sum(weight * layer.weight for weight, layer in layers)
        coverage = sum(weight * layer.weight.clamp(max=1.0) for weight, layer in layers)
        return _normalise(weighted_features, weight, coverage)


def _normalise(weighted_features: torch.Tensor, weight: torch.Tensor, coverage: torch.Tensor) -> LoopFrame:
    has_weight = weight > 1e-6
    safe = torch.where(has_weight, weight, torch.ones_like(weight))
    features = torch.where(has_weight[..., None], weighted_features / safe[..., None], torch.zeros_like(weighted_features))
    return LoopFrame(features=features, coverage=coverage)
