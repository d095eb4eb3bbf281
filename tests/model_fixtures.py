"""Small Mom4dModel instances built directly from synthetic seed points, for fast model tests."""

from __future__ import annotations

import torch
from nerfstudio.cameras.cameras import Cameras, CameraType
from nerfstudio.data.scene_box import SceneBox

from mom_nerfstudio.model import Mom4dModel, Mom4dModelConfig
from mom_nerfstudio.synthesis.motion.paths import trace_paths

IMAGE_SIZE = (24, 32)  # height, width
FOCAL = 30.0


def seed_metadata(num_frames: int = 8) -> dict:
    """A fronto-parallel grid of points 2 units ahead (dataset world: y forward, z up); the left half moves up."""
    height, width = IMAGE_SIZE
    rows, cols = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    depth = 2.0
    x = (cols - width / 2) / FOCAL * depth
    z = -(rows - height / 2) / FOCAL * depth
    xyz = torch.stack([x, torch.full_like(x, depth), z], dim=-1).reshape(-1, 3)
    moving = (cols < width / 2).float().reshape(-1)
    velocity = torch.zeros_like(xyz)
    velocity[moving > 0, 2] = 0.05
    rgb = (
        torch.stack([cols / width * 255, rows / height * 255, torch.full_like(cols, 128.0)], dim=-1)
        .reshape(-1, 3)
        .to(torch.uint8)
    )
    return {
        "points3D_xyz": xyz,
        "points3D_rgb": rgb,
        "points3D_moving": moving,
        "points3D_footprint": torch.full((xyz.shape[0],), depth / FOCAL),
        **straight_path_metadata(xyz, velocity, moving > 0, num_frames),
        "num_frames": num_frames,
        "loop_blend": "linear",
    }


def straight_path_metadata(xyz: torch.Tensor, velocity: torch.Tensor, moving: torch.Tensor, num_frames: int) -> dict:
    """The path entries of the dataparser's metadata for seeds moving in straight lines at `velocity` (units/frame)."""
    paths = trace_paths(xyz[moving], velocity[moving], None, num_frames, "straight")
    rows = torch.full((xyz.shape[0],), -1, dtype=torch.int32)
    rows[moving] = torch.arange(int(moving.sum()), dtype=torch.int32)
    return {"points3D_path_rows": rows, "path_times": paths.times, "path_offsets": paths.offsets}


def tiny_model(metadata: dict | None = None, **config_overrides) -> Mom4dModel:
    """A Mom4dModel on the synthetic seeds, in eval mode."""
    metadata = metadata or seed_metadata()
    config = Mom4dModelConfig(
        sh_degree=0,
        grid_spatial_resolution=8,
        grid_time_resolution=8,
        grid_components=4,
        deformation_width=8,
        background_color="black",
        num_downscales=0,
        **config_overrides,
    )
    model = Mom4dModel(
        config=config,
        scene_box=SceneBox(aabb=torch.tensor([[-2.0, -2.0, -2.0], [2.0, 4.0, 2.0]])),
        num_train_data=4,
        metadata=metadata,
        device="cpu",
    )
    return model.eval()


def input_camera(time: float | None = 0.0) -> Cameras:
    """The camera the seeds were lifted from (OpenGL convention, looking along +y with z up)."""
    height, width = IMAGE_SIZE
    # Columns: camera x -> world x, camera y (up) -> world z, camera z (backwards) -> world -y.
    camera_to_world = torch.tensor([[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, 0.0]]])
    return Cameras(
        camera_to_worlds=camera_to_world,
        fx=FOCAL,
        fy=FOCAL,
        cx=width / 2,
        cy=height / 2,
        width=width,
        height=height,
        camera_type=CameraType.PERSPECTIVE,
        times=None if time is None else torch.tensor([[time]]),
    )
