"""Stage 6: the looping videos of the animated views and the static views, written as the dataset folder."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import torch

from dataparsers.dataset_format import INPAINTED_LEVEL, OBSERVED_LEVEL, PathTable, to_dataset_world
from mom_nerfstudio.progress import progress_bar
from mom_nerfstudio.synthesis.cameras import project_points, transform_points
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.dataset_writer import DatasetWriter
from mom_nerfstudio.synthesis.image_io import to_uint8
from mom_nerfstudio.synthesis.looping import LoopingView
from mom_nerfstudio.synthesis.motion.fit import sample_flow_at
from mom_nerfstudio.synthesis.motion.lift import lift_motion
from mom_nerfstudio.synthesis.motion.paths import VelocityField, trace_paths
from mom_nerfstudio.synthesis.motion.views import projected_point_motion
from mom_nerfstudio.synthesis.point_features import COVERAGE_THRESHOLD, OPAQUE, RGB
from mom_nerfstudio.synthesis.point_renderer import render_points
from mom_nerfstudio.synthesis.scene import Scene
from mom_nerfstudio.synthesis.scene_growth import InventedPoints

NAME = "dataset"
OPTIONS = ("num_frames", "animated_views", "motion_paths", "loop_blend")
INPUTS = ("scene", "invented", "views", "motion3d")

_ORBIT_VIEW_COUNT = 5


def active(config: SynthesisConfig) -> bool:
    """Always: the dataset is what the synthesis makes."""
    return True


def key_parts(config: SynthesisConfig, image_path: Path) -> dict[str, object]:
    """Nothing beyond the options and the earlier stages."""
    return {}


def velocity_of(scene: Scene, motion3d: dict[str, np.ndarray]) -> torch.Tensor:
    """[P, 3] the fitted velocity of the motion3d stage, world units per frame (synthesis frame), on the scene's device."""
    return torch.from_numpy(motion3d["velocity"]).to(scene.device)


def write(
    config: SynthesisConfig,
    folder: Path,
    scene: Scene,
    invented: InventedPoints,
    views: dict[str, np.ndarray],
    motion3d: dict[str, np.ndarray],
) -> None:
    """Write the dataset into `folder`: every view's static frame, the animated views' loops, the points."""
    num_frames = config.num_frames
    velocity = velocity_of(scene, motion3d)
    writer = DatasetWriter(folder, scene.intrinsics, num_frames)
    for index, view in enumerate(scene.views):
        writer.add_frame(view.name, index, 0, view.cam_to_world, views["rgb"][index], views["confidence"][index])
        writer.add_motion_mask(view.name, views["motion_masks"][index])
        writer.add_depth(view.name, views["depths"][index])
    animated = animated_view_indices(config, scene) if scene.moving.any() else []
    paths = motion_paths(config, scene, velocity)
    with progress_bar("Rendering looping videos", len(animated) * (num_frames - 1)) as advance:
        for index in animated:
            looping = looping_view(config, scene, views, index, velocity, paths)
            view = scene.views[index]
            for frame_index in range(1, num_frames):
                rgb, confidence = _loop_frame(looping, frame_index, views["rgb"][index], views["confidence"][index])
                writer.add_frame(view.name, index, frame_index, view.cam_to_world, rgb, confidence)
                advance()
    writer.finish(
        _points(scene, invented, velocity, paths),
        extra={
            "image": str(scene.image_path),
            "image_sha256": scene.image.content_hash,
            "motion_source": scene.motion.source,
            "velocity_units": "world units per frame",
            "input_view": scene.views[0].name,
            "animated_views": [scene.views[index].name for index in animated],
            "inconsistency_before": float(motion3d["inconsistency_before"]),
            "inconsistency_after": float(motion3d["inconsistency_after"]),
            "loop_blend": config.loop_blend,
            "config": config_summary(config),
        },
    )


def _loop_frame(
    looping: LoopingView, frame_index: int, static_rgb: np.ndarray, static_confidence: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One frame of a view's loop and its confidence; pixels neither splat reached keep the static view's."""
    frame = looping.frame(frame_index)
    covered = (frame.coverage >= COVERAGE_THRESHOLD).cpu().numpy()
    features = frame.features.cpu().numpy()
    rgb = np.where(covered[..., None], to_uint8(features[..., RGB]), static_rgb)
    opaque = features[..., OPAQUE] >= 0.5
    # The static view's (filled) colour is trusted as a guess at most.
    confidence = np.where(
        covered, np.where(opaque, OBSERVED_LEVEL, 0), np.minimum(static_confidence, INPAINTED_LEVEL)
    ).astype(np.uint8)
    return rgb, confidence


def _points(scene: Scene, invented: InventedPoints, velocity: torch.Tensor, paths: PathTable) -> dict[str, np.ndarray]:
    """points.npz: the photo's points and the invented (static) ones, in the dataset's world, with their paths."""
    num_invented = len(invented)
    moving = torch.cat([scene.moving, torch.zeros(num_invented, dtype=torch.bool, device=scene.device)])
    rows = torch.full(moving.shape, -1, dtype=torch.int32, device=scene.device)
    rows[moving] = torch.arange(int(moving.sum()), dtype=torch.int32, device=scene.device)
    padded_velocity = np.pad(velocity.cpu().numpy(), ((0, num_invented), (0, 0)))
    return {
        "xyz": to_dataset_world(torch.cat([scene.points, invented.points]).cpu().numpy()).astype(np.float32),
        "rgb": to_uint8(np.concatenate([scene.image.rgb.reshape(-1, 3), invented.rgb.cpu().numpy()])),
        "velocity": to_dataset_world(padded_velocity).astype(np.float32),
        "moving": moving.cpu().numpy().astype(np.float32),
        # Each point's row in the path table (-1: static), and the table.
        "path_rows": rows.cpu().numpy(),
        "path_times": paths.times.cpu().numpy().astype(np.float32),
        "path_offsets": to_dataset_world(paths.offsets.cpu().numpy()).astype(np.float16),
    }


def motion_paths(config: SynthesisConfig, scene: Scene, velocity: torch.Tensor) -> PathTable:
    """Where the moving points travel over the loop (`--motion-paths`): the table the videos and the model share."""
    moving = scene.moving
    height, width = scene.depth.shape
    field = VelocityField(
        velocity=velocity[: height * width].reshape(height, width, 3),
        region=scene.motion_region,
        world_to_input=torch.eye(4, device=scene.device),
        intrinsics=scene.intrinsics,
    )
    return trace_paths(scene.points[moving], velocity[moving], field, config.num_frames, config.motion_paths)


def _paths_in_view_plane(config: SynthesisConfig, scene: Scene, views: dict[str, np.ndarray], index: int) -> PathTable:
    """Without 3D motion: straight paths that move each point within view `index`'s depth plane by that view's
    own 2D motion (so that the view is animated in 2D, independently of the others)."""
    world_to_camera = scene.world_to_cameras[index]
    moving_points = scene.points[scene.moving]
    pixels, depth = project_points(transform_points(moving_points, world_to_camera), scene.intrinsics)
    flow = torch.from_numpy(views["flows"][index].astype(np.float32)).to(scene.device)
    camera_velocity = lift_motion(pixels, sample_flow_at(flow, pixels), depth, scene.intrinsics, "constant-depth")
    velocity = camera_velocity @ world_to_camera[:3, :3]  # rotated back into the world
    return trace_paths(moving_points, velocity, None, config.num_frames, "straight")


def animated_view_indices(config: SynthesisConfig, scene: Scene) -> list[int]:
    """Views that get a looping video (`--animated-views`)."""
    every = list(range(len(scene.views)))
    return {"input": [0], "orbit": every[:_ORBIT_VIEW_COUNT], "all": every}[config.animated_views]


def looping_view(
    config: SynthesisConfig,
    scene: Scene,
    views: dict[str, np.ndarray],
    index: int,
    velocity: torch.Tensor,
    paths: PathTable | None = None,
) -> LoopingView:
    """The looping-video renderer of view `index`; `paths` saves tracing the 3D motion's paths again."""
    if config.motion_solver == "none":
        paths = _paths_in_view_plane(config, scene, views, index)
    elif paths is None:
        paths = motion_paths(config, scene, velocity)
    return LoopingView(
        scene.cloud(paths), scene.world_to_cameras[index], scene.intrinsics, config.num_frames, config.loop_blend, RGB
    )


def animation_flow(
    config: SynthesisConfig, scene: Scene, views: dict[str, np.ndarray], velocity: torch.Tensor, index: int
) -> np.ndarray:
    """The 2D motion (px/frame, HxWx2) that animates view `index`'s video: the view's own motion without 3D motion
    (`--motion-solver none`), the fitted 3D velocity projected into the view otherwise; zero where the view does
    not move."""
    if config.motion_solver == "none":
        return views["flows"][index].astype(np.float32)
    world_to_camera = scene.world_to_cameras[index]
    points, intrinsics = scene.points, scene.intrinsics
    point_motion = projected_point_motion(points, velocity, intrinsics, world_to_camera)
    rendered = render_points(transform_points(points, world_to_camera), point_motion, intrinsics)
    return rendered.features.cpu().numpy() * views["motion_masks"][index][..., None]


def config_summary(config: SynthesisConfig) -> dict:
    """The synthesis options as JSON-ready values."""
    return {
        option.name: str(value) if isinstance(value, Path) else value
        for option in fields(SynthesisConfig)
        for value in [getattr(config, option.name)]
    }
