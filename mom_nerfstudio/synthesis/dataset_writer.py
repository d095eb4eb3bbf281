"""Writing the synthesised multi-view looping video as a dataset folder (its layout: `dataparsers.dataset_format`)."""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from dataparsers.dataset_format import (
    DEPTHS_FILE,
    POINT_CLOUD_FILE,
    POINTS_FILE,
    TRANSFORMS_FILE,
    frame_stem,
    opengl_camera_to_world,
)
from mom_nerfstudio.ply import write_point_ply
from mom_nerfstudio.synthesis.cameras import Intrinsics


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
        with open(self.folder / POINTS_FILE, "wb") as handle:
            np.savez(handle, **points)
        with open(self.folder / DEPTHS_FILE, "wb") as handle:
            np.savez(handle, **self.depths)
        write_point_ply(self.folder / POINT_CLOUD_FILE, points["xyz"], points["rgb"])
        transforms = {
            "camera_model": "OPENCV",
            "fl_x": self.intrinsics.fx,
            "fl_y": self.intrinsics.fy,
            "cx": self.intrinsics.cx,
            "cy": self.intrinsics.cy,
            "w": self.intrinsics.width,
            "h": self.intrinsics.height,
            "ply_file_path": POINT_CLOUD_FILE,
            "frames": self.frames,
            "mom4d": {"num_frames": self.num_frames, **extra},
        }
        (self.folder / TRANSFORMS_FILE).write_text(json.dumps(transforms, indent=1))
