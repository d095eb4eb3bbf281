"""Looping video of a moving point cloud by symmetric splatting in 3D.

Frame t of N blends two z-buffered renders (`mom_nerfstudio.loop`): one with the moving points carried forward along
their paths by t frames and one carried back by N - t frames, weighted (1 - t/N) and t/N per pixel by coverage.
Where the forward render has left a hole (the water flowed away) the backward one fills it, and frame N equals
frame 0, so the video loops. Static points appear identically in both renders. The paths are a
`mom_nerfstudio.synthesis.motion.paths.PathTable`, the same the model's motion prior reads.

Static and moving points are splatted as two layers and merged per pixel by depth: the static layer of a view
is rendered once and reused by every frame, so a frame costs only the moving points' splats.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mom_nerfstudio.loop import LoopBlend, blend_copies, loop_terms
from mom_nerfstudio.synthesis.cameras import Intrinsics, transform_points
from mom_nerfstudio.synthesis.motion.paths import PathTable
from mom_nerfstudio.synthesis.point_renderer import PointRender, render_points


@dataclass
class MovingCloud:
    """A point cloud in world coordinates, split into its static and its moving part, with the moving points' paths."""

    points: torch.Tensor  # [P, 3]
    features: torch.Tensor  # [P, C], e.g. RGB
    moving: torch.Tensor  # [P] bool
    paths: PathTable | None = None
    """Paths of the moving points, in their order in `points`; None for a cloud seen at rest."""

    def __post_init__(self) -> None:
        self._static = (self.points[~self.moving], self.features[~self.moving])
        self._moving = (self.points[self.moving], self.features[self.moving])

    def static_part(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Points and features that never move."""
        return self._static

    def moving_part(self, frames: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Moving points carried `frames` frames along their paths (negative: backwards), with their features."""
        points, features = self._moving
        if self.paths is None or frames == 0.0:
            return points, features
        return points + self.paths.at(frames), features


@dataclass
class Layer:
    """Unnormalised splat sums of one layer: features times weight, weight, and front depth."""

    weighted_features: torch.Tensor  # [H, W, C]
    weight: torch.Tensor  # [H, W]
    depth: torch.Tensor  # [H, W], inf where empty

    @staticmethod
    def from_render(render: PointRender) -> Layer:
        """Turn a normalised render back into sums that can be merged with other layers."""
        return Layer(render.features * render.weight[..., None], render.weight, render.depth)


def merge_layers(first: Layer, second: Layer, depth_tolerance: float = 0.03) -> Layer:
    """Per-pixel z-buffer of two layers: each contributes where it lies within the tolerance of the front."""
    front = torch.minimum(first.depth, second.depth)
    keep_first = (first.depth <= front * (1.0 + depth_tolerance)).to(first.weight.dtype)
    keep_second = (second.depth <= front * (1.0 + depth_tolerance)).to(second.weight.dtype)
    return Layer(
        weighted_features=first.weighted_features * keep_first[..., None]
        + second.weighted_features * keep_second[..., None],
        weight=first.weight * keep_first + second.weight * keep_second,
        depth=front,
    )


def render_layer(
    points: torch.Tensor, features: torch.Tensor, world_to_camera: torch.Tensor, intrinsics: Intrinsics
) -> Layer:
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
    """Renders the frames of one view's looping video; the static layer is splatted once.

    `colour_channels` are the features the contrast-preserving blend applies to (the others, such as masks, are
    mixed linearly).
    """

    def __init__(
        self,
        cloud: MovingCloud,
        world_to_camera: torch.Tensor,
        intrinsics: Intrinsics,
        num_frames: int,
        blend: LoopBlend = "linear",
        colour_channels: slice = slice(0, 3),
    ) -> None:
        if num_frames < 1:
            raise ValueError(f"a loop needs at least one frame, got {num_frames}")
        self.cloud = cloud
        self.world_to_camera = world_to_camera
        self.intrinsics = intrinsics
        self.num_frames = num_frames
        self.blend = blend
        self.colour_channels = colour_channels
        self.static_layer = render_layer(*cloud.static_part(), world_to_camera, intrinsics)

    def _layer_at(self, frames: float) -> Layer:
        moving_layer = render_layer(*self.cloud.moving_part(frames), self.world_to_camera, self.intrinsics)
        return merge_layers(self.static_layer, moving_layer)

    def frame(self, index: int) -> LoopFrame:
        """Frame `index`; any integer is taken modulo the loop length, so the video repeats seamlessly."""
        return self.frame_at(float(index % self.num_frames))

    def frame_at(self, t: float) -> LoopFrame:
        """The symmetric splat at time `t` in [0, N] frames; t = N gives back frame 0 exactly."""
        terms = loop_terms(t / self.num_frames, self.num_frames)
        colours, coverages = [], []
        for term in terms:
            layer = self._layer_at(term.frames)
            has_weight = layer.weight > 1e-6
            safe = torch.where(has_weight, layer.weight, torch.ones_like(layer.weight))
            colours.append(
                torch.where(
                    has_weight[..., None],
                    layer.weighted_features / safe[..., None],
                    torch.zeros_like(layer.weighted_features),
                )
            )
            coverages.append(layer.weight.clamp(max=1.0)[..., None])
        weights = [term.weight for term in terms]
        colour = self.colour_channels
        rest = [
            channel
            for channel in range(colours[0].shape[-1])
            if channel not in range(*colour.indices(colours[0].shape[-1]))
        ]
        blended = blend_copies([copy[..., colour] for copy in colours], coverages, weights, self.blend)
        features = torch.zeros_like(colours[0])
        features[..., colour] = blended.colour
        if rest:
            features[..., rest] = sum(share * copy[..., rest] for share, copy in zip(blended.shares, colours))
        covered = blended.coverage[..., 0] > 1e-6
        return LoopFrame(features=features * covered[..., None], coverage=blended.coverage[..., 0])
