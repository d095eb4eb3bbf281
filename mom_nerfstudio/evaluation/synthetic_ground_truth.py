"""The ground truth of a landscape written by `write_scene`, in the form the benchmark's evaluation reads.

`LandscapeGroundTruth.load(folder)` reads the input view's true depth, velocity and masks from the folder and
rebuilds the scene from its parameters, so that it can render true frames for any cameras at any times.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from dataparsers.cameras import Intrinsics
from mom_nerfstudio.evaluation.synthetic_landscape import (
    DEPTH_FILE,
    MOTION_MASK_FILE,
    SKY_MASK_FILE,
    VELOCITY_FILE,
    build_scene,
    read_params,
)
from mom_nerfstudio.evaluation.synthetic_render import render
from mom_nerfstudio.evaluation.synthetic_scene import LandscapeScene


@dataclass(frozen=True)
class LandscapeGroundTruth:
    """What a landscape written by `write_scene` knows exactly, for its input view and for any other camera."""

    folder: Path
    scene: LandscapeScene
    supersampling: int = 2
    """Rays per pixel along each side for the true frames."""

    @classmethod
    def load(cls, folder: Path, device: torch.device | str = "cpu", supersampling: int = 2) -> "LandscapeGroundTruth":
        """The ground truth in `folder`, its scene rebuilt on `device`."""
        folder = Path(folder)
        return cls(folder=folder, scene=build_scene(read_params(folder), device), supersampling=supersampling)

    def input_depth(self) -> np.ndarray:
        """True z-depth of the input view, float32 [H, W], world units (the 1st percentile of non-sky depth is 1;
        the sky dome's depth, at most SKY_DEPTH, on the sky)."""
        return np.load(self.folder / DEPTH_FILE)

    def input_velocity(self) -> np.ndarray:
        """True 3D velocity of each input pixel's surface point, float32 [H, W, 3], world units per frame."""
        return np.load(self.folder / VELOCITY_FILE)

    def input_motion_mask(self) -> np.ndarray:
        """Where the input view moves (water and sky), bool [H, W]."""
        return _read_mask(self.folder / MOTION_MASK_FILE)

    def sky_mask(self) -> np.ndarray:
        """Where the input view sees the sky dome, bool [H, W]."""
        return _read_mask(self.folder / SKY_MASK_FILE)

    def frames(self, cameras: Any, time_frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """True RGB frames float32 [F, H, W, 3] and motion masks bool [F, H, W] for nerfstudio `Cameras` (OpenGL
        camera-to-world [F, 3, 4] in the dataset's world, with fx, fy, cx, cy, width, height) at times in frames."""
        rgbs, masks = [], []
        for index, time in enumerate(np.asarray(time_frames, dtype=np.float64).reshape(-1)):
            pose = torch.eye(4)
            pose[:3] = cameras.camera_to_worlds[index].detach().cpu().float()
            intrinsics = Intrinsics(
                fx=float(cameras.fx[index]), fy=float(cameras.fy[index]),
                cx=float(cameras.cx[index]), cy=float(cameras.cy[index]),
                width=int(cameras.width[index]), height=int(cameras.height[index]),
            )
            view = render(self.scene, pose, intrinsics, float(time), supersampling=self.supersampling)
            rgbs.append(view.rgb.cpu().numpy())
            masks.append(view.motion_mask.cpu().numpy())
        return np.stack(rgbs).astype(np.float32), np.stack(masks)


def _read_mask(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise FileNotFoundError(f"{path} is missing or not an image; write the scene again with write_scene")
    return mask > 0
