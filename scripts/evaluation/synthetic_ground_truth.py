"""The ground truth of a landscape written by `write_scene`, in the form the benchmark's evaluation reads.

`LandscapeGroundTruth.load(folder)` reads the input view's true depth, velocity, flow and masks from the folder and
rebuilds the scene from its parameters, so that it can render true frames, motion masks and image flows for any
cameras at any times.

True frames are seen through the photo's own lens: a camera's pose and image size with the scene's true focal
length, whatever field of view the method assumed. So the truth at the input pose is the photo, and a method that
assumed another field of view is judged by what its guess does to the novel views, not by a zoom of the photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from evaluation.synthetic_landscape import (
    DEPTH_FILE,
    FLOW_FILE,
    MOTION_MASK_FILE,
    SKY_MASK_FILE,
    VELOCITY_FILE,
    build_scene,
    read_params,
)
from evaluation.synthetic_render import image_flow, render
from evaluation.synthetic_scene import LandscapeScene
from mom_nerfstudio.synthesis.cameras import Intrinsics, intrinsics_from_fov


@dataclass(frozen=True)
class TrueViews:
    """What a set of cameras truly sees at given times."""

    rgb: np.ndarray
    """float32 [F, H, W, 3] in [0, 1]."""
    motion_mask: np.ndarray
    """bool [F, H, W]: water or sky."""
    flow: np.ndarray
    """float32 [F, H, W, 2]: the true image motion (dx, dy) in pixels per frame, zero where nothing moves."""


@dataclass(frozen=True)
class LandscapeGroundTruth:
    """What a landscape written by `write_scene` knows exactly, for its input view and for any other camera."""

    folder: Path
    scene: LandscapeScene
    supersampling: int = 2
    """Rays per pixel along each side for the true frames."""

    @classmethod
    def load(cls, folder: Path, device: torch.device | str = "cpu", supersampling: int = 2) -> LandscapeGroundTruth:
        """The ground truth in `folder`, its scene rebuilt on `device`."""
        folder = Path(folder)
        return cls(folder=folder, scene=build_scene(read_params(folder), device), supersampling=supersampling)

    @property
    def fov_degrees(self) -> float:
        """The photo's true field of view along its long side."""
        return self.scene.params.fov_degrees

    @property
    def depth_file(self) -> Path:
        """The input view's true z-depth as a file that `--depth file` reads (float32 .npy)."""
        return self.folder / DEPTH_FILE

    def input_depth(self) -> np.ndarray:
        """True z-depth of the input view, float32 [H, W], world units (the 1st percentile of non-sky depth is 1;
        the sky dome's depth, up to DOME_RADIUS, on the sky)."""
        return np.load(self.depth_file)

    def input_velocity(self) -> np.ndarray:
        """True 3D velocity of each input pixel's surface point, float32 [H, W, 3], world units per frame."""
        return np.load(self.folder / VELOCITY_FILE)

    def input_flow(self) -> np.ndarray:
        """True image motion of the input view, float32 [H, W, 2], pixels per frame (zero where nothing moves)."""
        return np.load(self.folder / FLOW_FILE)

    def input_motion_mask(self) -> np.ndarray:
        """Where the input view moves (water and sky), bool [H, W]."""
        return _read_mask(self.folder / MOTION_MASK_FILE)

    def sky_mask(self) -> np.ndarray:
        """Where the input view sees the sky dome, bool [H, W]."""
        return _read_mask(self.folder / SKY_MASK_FILE)

    def true_intrinsics(self, width: int, height: int, cx: float, cy: float) -> Intrinsics:
        """The photo's lens at an image of `width` x `height` pixels with its principal point at (cx, cy)."""
        focal = intrinsics_from_fov(width, height, self.fov_degrees).fx
        return Intrinsics(fx=focal, fy=focal, cx=cx, cy=cy, width=width, height=height)

    def frames(self, cameras: Any, time_frames: np.ndarray) -> TrueViews:
        """What nerfstudio `Cameras` (OpenGL camera-to-world [F, 3, 4] in the dataset's world, with width, height,
        cx and cy) truly see at times in frames (any real number, negative too), through the photo's lens: the
        true focal length at each camera's size."""
        rgbs, masks, flows = [], [], []
        for index, time in enumerate(np.asarray(time_frames, dtype=np.float64).reshape(-1)):
            pose = torch.eye(4)
            pose[:3] = cameras.camera_to_worlds[index].detach().cpu().float()
            width, height = int(cameras.width[index]), int(cameras.height[index])
            intrinsics = self.true_intrinsics(width, height, float(cameras.cx[index]), float(cameras.cy[index]))
            view = render(self.scene, pose, intrinsics, float(time), supersampling=self.supersampling)
            rgbs.append(view.rgb.cpu().numpy())
            masks.append(view.motion_mask.cpu().numpy())
            flows.append(image_flow(view, pose, intrinsics).cpu().numpy())
        return TrueViews(rgb=np.stack(rgbs).astype(np.float32), motion_mask=np.stack(masks), flow=np.stack(flows))


def _read_mask(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise FileNotFoundError(f"{path} is missing or not an image; write the scene again with write_scene")
    return mask > 0
