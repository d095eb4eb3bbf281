"""What the synthesis stages share: the photo lifted into 3D with its motion, and the views it is seen from.

`Scene` is a plain value, made once the depth is known; the stages after the depth receive it (see
`mom_nerfstudio.synthesis.stages`). Coordinates are the synthesis frame: the input camera's OpenCV frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mom_nerfstudio.synthesis.cameras import (
    Intrinsics,
    ViewPose,
    intrinsics_from_fov,
    paper_view_set,
    transform_points,
    unproject_depth_map,
)
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.image_io import LoadedImage
from mom_nerfstudio.synthesis.looping import LoopingView, MovingCloud
from mom_nerfstudio.synthesis.motion.fields import dense_hint_field
from mom_nerfstudio.synthesis.motion.lift import lift_motion_map
from mom_nerfstudio.synthesis.motion.network import LearnedViewMotion
from mom_nerfstudio.synthesis.motion.paths import PathTable
from mom_nerfstudio.synthesis.motion.sources import MotionInput
from mom_nerfstudio.synthesis.point_features import MOVING, NUM_FEATURES, OPAQUE, RGB, moving_pixels
from mom_nerfstudio.synthesis.point_renderer import render_points
from mom_nerfstudio.synthesis.scene_growth import ViewRender


@dataclass(frozen=True)
class SeenView:
    """The photo's points seen from one view at t = 0: what they show, their splatted features, their visibility."""

    render: ViewRender
    features: torch.Tensor  # [H, W, NUM_FEATURES] (`point_features`)
    visible: torch.Tensor  # [P] bool


@dataclass(frozen=True, eq=False)
class Scene:
    """The photo, its motion, one point per pixel lifted along the depth, and the views the dataset is made of."""

    image_path: Path
    """The photo, as it was named."""
    image: LoadedImage
    motion: MotionInput
    depth: np.ndarray
    """Depth of the input view, HxW in the project's convention."""
    sky: np.ndarray
    """Sky mask of the input view, bool HxW."""
    intrinsics: Intrinsics
    """Intrinsics of every view (the working image's size and the configured field of view)."""
    views: list[ViewPose]
    """The synthesised views (`cameras.paper_view_set`); the pivot is the median depth of the non-sky scene."""
    world_to_cameras: torch.Tensor
    """[V, 4, 4] world-to-camera transforms of the views."""
    points: torch.Tensor
    """One world point per input pixel, [P, 3]."""
    point_features: torch.Tensor
    """[P, NUM_FEATURES] (`point_features`): RGB, motion-mask value and opacity of the pixel each point came from."""
    moving: torch.Tensor
    """[P] bool, the points that the motion mask lets move."""
    motion_region: torch.Tensor
    """[H, W] bool, where the input view moves."""

    @classmethod
    def build(
        cls,
        image_path: Path,
        image: LoadedImage,
        motion: MotionInput,
        depth_arrays: dict[str, np.ndarray],
        config: SynthesisConfig,
        device: torch.device,
    ) -> Scene:
        """The scene of a photo with its motion and the depth stage's arrays, on `device`."""
        depth_map, sky = depth_arrays["depth"], depth_arrays["sky"]
        height, width = image.rgb.shape[:2]
        intrinsics = intrinsics_from_fov(width, height, config.fov_degrees)
        scene_depths = depth_map[~sky] if (~sky).any() else depth_map.reshape(-1)
        views = paper_view_set(
            float(np.median(scene_depths)), config.yaw_degrees, config.pitch_degrees, config.orbit_degrees
        )
        features = torch.ones((height * width, NUM_FEATURES))
        features[:, RGB] = torch.from_numpy(image.rgb).reshape(-1, 3)
        features[:, MOVING] = torch.from_numpy(moving_pixels(motion.mask).astype(np.float32)).reshape(-1)
        if image.opacity_mask is not None:
            features[:, OPAQUE] = torch.from_numpy(image.opacity_mask.astype(np.float32)).reshape(-1)
        features = features.to(device)
        return cls(
            image_path=Path(image_path),
            image=image,
            motion=motion,
            depth=depth_map,
            sky=sky,
            intrinsics=intrinsics,
            views=views,
            world_to_cameras=torch.stack([torch.linalg.inv(view.cam_to_world) for view in views]).to(device),
            points=unproject_depth_map(torch.from_numpy(depth_map).to(device), intrinsics),
            point_features=features,
            moving=features[:, MOVING] > 0.5,
            motion_region=torch.from_numpy(motion.mask).to(device),
        )

    @property
    def device(self) -> torch.device:
        """Where the scene's tensors lie."""
        return self.points.device

    def cloud(self, paths: PathTable | None = None) -> MovingCloud:
        """The point cloud; its moving points follow `paths` (at rest without them)."""
        return MovingCloud(points=self.points, features=self.point_features, moving=self.moving, paths=paths)

    def seen_view(self, still_cloud: MovingCloud, index: int) -> SeenView:
        """The photo's points (`still_cloud`, at rest) seen from view `index` (before any hole is filled)."""
        world_to_camera = self.world_to_cameras[index]
        # At rest the loop shows one copy, whatever its length.
        frame = LoopingView(still_cloud, world_to_camera, self.intrinsics, num_frames=1).frame_at(0.0)
        front = render_points(
            transform_points(self.points, world_to_camera), self.point_features[:, :1], self.intrinsics
        )
        return SeenView(
            ViewRender(frame.features[..., RGB], front.depth, frame.coverage), frame.features, front.visible
        )


def input_view_motion(scene: Scene, hint_sigma: float | None, network: LearnedViewMotion | None) -> np.ndarray:
    """The input view's dense 2D motion (px/frame, HxWx2): the given flow, or the hints spread over the mask (by the
    motion network when there is one)."""
    motion = scene.motion
    if motion.flow is not None:
        return motion.flow
    field = dense_hint_field(motion.mask, motion.hint_starts, motion.hint_velocities, sigma=hint_sigma)
    if network is not None:
        field = network.predict_view_flow(scene.image.rgb, motion.mask, field)
    return field


def lifted_motion(scene: Scene, config: SynthesisConfig, network: LearnedViewMotion | None) -> torch.Tensor:
    """[P, 3] velocity of every photo point from the input view's motion alone, lifted by `--motion-lift`: the
    motion every view shares (`--view-motion shared`), and 3D-MOM's prior."""
    motion = torch.from_numpy(input_view_motion(scene, config.hint_sigma, network)).float().to(scene.device)
    depth_map = torch.from_numpy(scene.depth).to(scene.device)
    return lift_motion_map(motion, depth_map, scene.motion_region, scene.intrinsics, config.motion_lift)
