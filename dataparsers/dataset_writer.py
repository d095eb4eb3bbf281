"""Writing the synthesised multi-view looping video as a nerfstudio dataset folder.

Layout of the folder:
- `images/<view>_t<frame>.png`: RGB; frame 0 of every view is its static image at t = 0;
- `confidence/<view>_t<frame>.png`: per-pixel trust, 255 where the point cloud was seen, `INPAINTED_LEVEL` where
  the pixel was filled in, 0 where it must never supervise (a hole left open, a transparent input pixel);
  nerfstudio reads it as a mask (nonzero = usable) and the mom4d model as weights;
- `motion_masks/<view>.png`: where the view's content moves;
- `depths.npz`: each view's z-depth at t = 0 (float16, one array per view name; 0 where no point landed);
- `points.npz`: the lifted point cloud (xyz, rgb, per-frame velocity, motion-mask value) in the dataset's world;
- `points3D.ply`: the same points for other methods' initialisation;
- `transforms.json`: nerfstudio's format (OpenGL camera convention, z-up world) with a `time` per frame.

World frame: synthesis works in the input camera's OpenCV frame (x right, y down, z forward); the dataset uses
x right, y forward, z up, so that viewers show the scene upright.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from dataparsers.cameras import Intrinsics
from dataparsers.ply import write_point_ply

INPAINTED_LEVEL = 128
OBSERVED_LEVEL = 255

# Rows map OpenCV-world coordinates (x right, y down, z forward) to (x right, y forward, z up).
OPENCV_TO_DATASET_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
_OPENCV_TO_OPENGL_CAMERA = np.diag([1.0, -1.0, -1.0])


def to_dataset_world(vectors: np.ndarray) -> np.ndarray:
    """Points or velocities [..., 3] from the synthesis frame to the dataset's world frame."""
    return vectors @ OPENCV_TO_DATASET_WORLD.T


def opengl_camera_to_world(opencv_camera_to_world: np.ndarray) -> np.ndarray:
    """A synthesis pose (OpenCV camera, OpenCV world) as nerfstudio's 4x4 OpenGL camera-to-world in our world."""
    pose = np.eye(4)
    pose[:3, :3] = OPENCV_TO_DATASET_WORLD @ opencv_camera_to_world[:3, :3] @ _OPENCV_TO_OPENGL_CAMERA
    pose[:3, 3] = OPENCV_TO_DATASET_WORLD @ opencv_camera_to_world[:3, 3]
    return pose


def frame_stem(view_name: str, frame: int) -> str:
    """File stem of one frame of one view."""
    return f"{view_name}_t{frame:03d}"


@dataclass
class DatasetWriter:
    """Writes frames in background threads (PNG encoding releases the GIL) and records them for transforms.json."""

    folder: Path
    intrinsics: Intrinsics
    num_frames: int
    frames: list[dict] = field(default_factory=list)
    depths: dict[str, np.ndarray] = field(default_factory=dict)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=4))
    _pending: list[Future] = field(default_factory=list)

    def __post_init__(self) -> None:
        for sub in ("images", "confidence", "motion_masks"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)

    def _write_png(self, relative: str, image: np.ndarray) -> None:
        path = self.folder / relative
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        self._pending.append(self._pool.submit(cv2.imwrite, str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 1]))

    def add_frame(
        self,
        view_name: str,
        view_index: int,
        frame: int,
        cam_to_world: torch.Tensor,
        rgb: np.ndarray,
        confidence: np.ndarray,
    ) -> None:
        """Queue one frame: `rgb` uint8 HxWx3, `confidence` uint8 HxW."""
        stem = frame_stem(view_name, frame)
        self._write_png(f"images/{stem}.png", rgb)
        self._write_png(f"confidence/{stem}.png", confidence)
        self.frames.append(
            {
                "file_path": f"images/{stem}.png",
                "mask_path": f"confidence/{stem}.png",
                "transform_matrix": opengl_camera_to_world(cam_to_world.cpu().double().numpy()).tolist(),
                "time": frame / self.num_frames,
                "view": view_name,
                "view_index": view_index,
                "frame": frame,
            }
        )

    def add_motion_mask(self, view_name: str, mask: np.ndarray) -> None:
        """Queue one view's motion mask (bool HxW)."""
        self._write_png(f"motion_masks/{view_name}.png", mask.astype(np.uint8) * 255)

    def add_depth(self, view_name: str, depth: np.ndarray) -> None:
        """Record one view's depth map at t = 0 (0 where no point landed)."""
        self.depths[view_name] = depth.astype(np.float16)

    def finish(self, points: dict[str, np.ndarray], extra: dict) -> None:
        """Wait for every image, then write the points and transforms.json."""
        for pending in self._pending:
            if not pending.result():
                raise OSError(f"could not write an image into {self.folder}")
        self._pool.shutdown()
        with open(self.folder / "points.npz", "wb") as handle:
            np.savez(handle, **points)
        with open(self.folder / "depths.npz", "wb") as handle:
            np.savez(handle, **self.depths)
        write_point_ply(self.folder / "points3D.ply", points["xyz"], points["rgb"])
        transforms = {
            "camera_model": "OPENCV",
            "fl_x": self.intrinsics.fx,
            "fl_y": self.intrinsics.fy,
            "cx": self.intrinsics.cx,
            "cy": self.intrinsics.cy,
            "w": self.intrinsics.width,
            "h": self.intrinsics.height,
            "ply_file_path": "points3D.ply",
            "frames": self.frames,
            "mom4d": {"num_frames": self.num_frames, **extra},
        }
        (self.folder / "transforms.json").write_text(json.dumps(transforms, indent=1))

