"""The mom4d dataset format: what a synthesised dataset folder holds, and how it is read.

A dataset folder (what `mom4d-synthesize` writes and `ns-train mom4d` trains on):
- `images/<view>_t<frame>.png`: RGB; frame 0 of every view is its static image at t = 0;
- `confidence/<view>_t<frame>.png`: per-pixel trust, OBSERVED_LEVEL where the point cloud was seen, INPAINTED_LEVEL
  where the pixel was filled in, 0 where it must never supervise (a hole left open, a transparent input pixel);
  nerfstudio reads it as a mask (nonzero = usable) and the mom4d model as weights;
- `motion_masks/<view>.png`: where the view's content moves;
- `depths.npz`: each view's z-depth at t = 0 (float16, one array per view name; 0 where no point landed);
- `points.npz`: the lifted point cloud in the dataset's world: `xyz`, `rgb`, `velocity` (per frame), `moving`
  (motion-mask value), and the moving points' paths over the loop (`path_rows`: each point's row, -1 when static;
  `path_times`; `path_offsets`, see `mom_nerfstudio.synthesis.motion.paths`);
- `points3D.ply`: the same points, for other methods' initialisation;
- `transforms.json`: nerfstudio's format (OpenGL camera convention) with a `time` per frame, and a `mom4d` block
  that describes the synthesis (its `input_view`, `num_frames`, `loop_blend`, the options, ...).

World frame: the synthesis works in the input camera's OpenCV frame (x right, y down, z forward); the dataset uses x
right, y forward, z up, so that viewers show the scene upright. The input camera sits at the origin.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mom_nerfstudio.atomic import atomic_folder
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger
from mom_nerfstudio.synthesis.depth.convention import SKY_DEPTH

TRANSFORMS_FILE = "transforms.json"
POINTS_FILE = "points.npz"
DEPTHS_FILE = "depths.npz"
POINT_CLOUD_FILE = "points3D.ply"
RUN_DATASET = "dataset"
"""The folder of a training run that holds its own copy of the dataset."""

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


INPUT_CAMERA_TO_WORLD = opengl_camera_to_world(np.eye(4))
"""The input view's camera in the dataset's world: at the origin, looking along +y, z up (OpenGL convention)."""


def frame_stem(view_name: str, frame: int) -> str:
    """File stem of one frame of one view."""
    return f"{view_name}_t{frame:03d}"


@dataclass(frozen=True)
class InputCamera:
    """The camera of the input photo: nerfstudio (OpenGL) camera-to-world, image size and vertical field of view."""

    camera_to_world: np.ndarray  # [4, 4]
    width: int
    height: int
    fov_degrees: float


@dataclass(frozen=True)
class SynthesizedDataset:
    """A dataset folder and its transforms.json."""

    folder: Path
    transforms: dict

    @classmethod
    def read(cls, folder: Path) -> SynthesizedDataset:
        """The dataset in `folder`; Mom4dInputError when it is not a complete mom4d dataset."""
        folder = Path(folder)
        path = folder / TRANSFORMS_FILE
        if not path.is_file():
            raise Mom4dInputError(
                f"{folder} holds no {TRANSFORMS_FILE}: it is not a mom4d dataset. Synthesise one from the photo "
                "with `mom4d-synthesize photo.jpg -o folder` (or let `ns-train mom4d --data photo.jpg` do it)."
            )
        transforms = json.loads(path.read_text())
        if "mom4d" not in transforms or not (folder / POINTS_FILE).is_file():
            raise Mom4dInputError(
                f"{folder} is not a dataset mom4d synthesised (its {TRANSFORMS_FILE} has no 'mom4d' block or "
                f"{POINTS_FILE} is missing); synthesise it again with `mom4d-synthesize photo.jpg -o folder`."
            )
        return cls(folder=folder, transforms=transforms)

    @property
    def summary(self) -> dict:
        """The `mom4d` block: how the dataset was synthesised."""
        return self.transforms["mom4d"]

    @property
    def num_frames(self) -> int:
        """Frames per loop."""
        return int(self.summary["num_frames"])

    @property
    def input_view(self) -> str:
        """The name of the view the photo was taken from."""
        return str(self.summary["input_view"])

    def frames_of(self, view: str) -> list[dict]:
        """The frames of one view, in loop order."""
        return sorted((frame for frame in self.transforms["frames"] if frame["view"] == view), key=lambda f: f["frame"])

    def points(self) -> dict[str, np.ndarray]:
        """The arrays of points.npz."""
        with np.load(self.folder / POINTS_FILE) as points:
            return {name: points[name] for name in points.files}

    def input_camera(self) -> InputCamera:
        """The input view's camera."""
        frames = self.frames_of(self.input_view)
        if not frames:
            raise Mom4dInputError(
                f"The dataset {self.folder} has no frame of its input view {self.input_view!r}; synthesise it again "
                "(mom4d-synthesize --force True)."
            )
        width, height = int(self.transforms["w"]), int(self.transforms["h"])
        fl_x, fl_y = float(self.transforms["fl_x"]), float(self.transforms["fl_y"])
        if not math.isclose(fl_x, fl_y, rel_tol=1e-3):
            logger.warning("The dataset's focal lengths differ (fl_x %.2f, fl_y %.2f); fl_y is used.", fl_x, fl_y)
        return InputCamera(
            camera_to_world=np.asarray(frames[0]["transform_matrix"], dtype=np.float64),
            width=width,
            height=height,
            fov_degrees=math.degrees(2.0 * math.atan(height / (2.0 * fl_y))),
        )

    def pivot_depth(self) -> float:
        """The scene's pivot (`pivot_depth`) seen from the input camera."""
        return pivot_depth(self.points()["xyz"], self.input_camera())


def pivot_depth(points: np.ndarray, camera: InputCamera) -> float:
    """Median depth, along the input camera's axis, of the scene in front of it, leaving out the sky.

    `points` [P, 3] are in the dataset's world, like `camera`; the sky sits at SKY_DEPTH and is left out unless it
    is all there is.
    """
    rotation, centre = camera.camera_to_world[:3, :3], camera.camera_to_world[:3, 3]
    depths = (np.asarray(points, dtype=np.float64) - centre) @ -rotation[:, 2]
    ahead = depths[depths > 0]
    if ahead.size == 0:
        return 1.0
    scene = ahead[ahead < SKY_DEPTH * (1.0 - 1e-3)]
    return float(np.median(scene if scene.size else ahead))


def link_dataset(source: Path, destination: Path) -> SynthesizedDataset:
    """Give `destination` its own copy of the dataset in `source`: hard links where both lie on one file system (no
    extra space, and the copy outlives the source), copies elsewhere. Atomic: a failure leaves nothing."""
    source = Path(source)
    with atomic_folder(Path(destination)) as temporary:
        for path in sorted(source.rglob("*")):
            target = temporary / path.relative_to(source)
            if path.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
    return SynthesizedDataset.read(destination)
