"""The mom4d dataset format: what a synthesised dataset folder holds, how it is read, and what its reader hands the model.

It sits at the bottom of the project and imports nothing of it: the synthesis writes datasets in this format, the
`mom4d-data` DataParser and the model read them, and nothing else passes between those parts.

A dataset folder (what `mom4d-synthesize` writes and `ns-train mom4d` trains on):
- `images/<view>_t<frame>.png`: RGB; frame 0 of every view is its static image at t = 0;
- `confidence/<view>_t<frame>.png`: per-pixel trust, OBSERVED_LEVEL where the point cloud was seen, INPAINTED_LEVEL
  where the pixel was filled in, 0 where it must never supervise (a hole left open, a transparent input pixel);
  nerfstudio reads it as a mask (nonzero = usable) and the mom4d model as weights;
- `motion_masks/<view>.png`: where the view's content moves;
- `depths.npz`: each view's z-depth at t = 0 (float16, one array per view name; 0 where no point landed);
- `points.npz`: the lifted point cloud in the dataset's world: `xyz`, `rgb`, `velocity` (per frame), `moving`
  (motion-mask value), and the moving points' paths over the loop (`path_rows`: each point's row, -1 when static;
  `path_times` and `path_offsets`: a `PathTable`);
- `points3D.ply`: the same points, for other methods' initialisation;
- `transforms.json`: nerfstudio's format (OpenGL camera convention) with a `time` per frame, and a `mom4d` block
  that describes the synthesis (its `input_view`, `num_frames`, `loop_blend`, the options, ...).

World frame: the synthesis works in the input camera's OpenCV frame (x right, y down, z forward); the dataset uses x
right, y forward, z up, so that viewers show the scene upright. The input camera sits at the origin. Lengths are in
the project's depth convention (`mom_nerfstudio.synthesis.depth.convention`): the nearest scene lies at about 1 from
the input camera, the sky at SKY_DEPTH.

The DataParser hands the model the dataset's points as seeds (under SEED_KEYS), the loop they were animated with and
the input camera: `scene_metadata`.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

TRANSFORMS_FILE = "transforms.json"
POINTS_FILE = "points.npz"
DEPTHS_FILE = "depths.npz"
POINT_CLOUD_FILE = "points3D.ply"
RUN_DATASET = "dataset"
"""The folder of a training run that holds its own copy of the dataset."""

INPAINTED_LEVEL = 128
OBSERVED_LEVEL = 255

SKY_DEPTH = 50.0
"""Depth of the sky, and the upper bound of every depth.

Why 50: with the nearest point at 1 and camera moves of about 0.1, a point at 50 moves 1/50 as much as the
foreground (about 2 px at 1024 px), which reads as "at infinity", while the scene still fits in a bounded box
for the Gaussians that are later fitted to it.
"""

# Rows map OpenCV-world coordinates (x right, y down, z forward) to (x right, y forward, z up).
OPENCV_TO_DATASET_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
_OPENCV_TO_OPENGL_CAMERA = np.diag([1.0, -1.0, -1.0])

SEED_KEYS = (
    "points3D_xyz",
    "points3D_rgb",
    "points3D_moving",
    "points3D_footprint",
    "points3D_path_rows",
    "path_times",
    "path_offsets",
)
"""The dataparser's metadata keys the seeds travel under (the first two are nerfstudio's own, which splatfacto reads)."""

# The project's logger, named here rather than imported, so that this module imports nothing of the project.
_logger = logging.getLogger("mom4d")


class DatasetError(ValueError):
    """A folder that is not a complete mom4d dataset: the message names it and says how to make one.

    A ValueError, like the project's other input errors, which the command lines report in one line alongside it.
    """


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


@dataclass
class PathTable:
    """Offsets [M, K, 3] of M moving points from their rest positions at K times [K] (frames, -N to N, evenly spaced).

    Offsets between two sample times are interpolated linearly; the synthesised videos and the model's motion
    prior read the table the same way, so they move the same points the same way.
    """

    times: torch.Tensor
    offsets: torch.Tensor
    span: tuple[float, float] = field(init=False)
    """The first and last sample times, read once (reading a GPU tensor waits for the GPU)."""

    def __post_init__(self) -> None:
        first, last = self.times[[0, -1]].tolist()
        self.span = (float(first), float(last))

    def at(self, frames: float) -> torch.Tensor:
        """Every point's offset [M, 3] after `frames` frames of motion (clamped to the table's span)."""
        first, last = self.span
        position = (min(max(frames, first), last) - first) / (last - first) * (len(self.times) - 1)
        lower = min(int(math.floor(position)), len(self.times) - 2)
        weight = position - lower
        return self.offsets[:, lower] * (1.0 - weight) + self.offsets[:, lower + 1] * weight


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
        """The dataset in `folder`; DatasetError when it is not a complete mom4d dataset."""
        folder = Path(folder)
        path = folder / TRANSFORMS_FILE
        if not path.is_file():
            raise DatasetError(
                f"{folder} holds no {TRANSFORMS_FILE}: it is not a mom4d dataset. Synthesise one from the photo "
                "with `mom4d-synthesize photo.jpg -o folder` (or let `ns-train mom4d --data photo.jpg` do it)."
            )
        transforms = json.loads(path.read_text())
        if "mom4d" not in transforms or not (folder / POINTS_FILE).is_file():
            raise DatasetError(
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
            raise DatasetError(
                f"The dataset {self.folder} has no frame of its input view {self.input_view!r}; synthesise it again "
                "(mom4d-synthesize --force True)."
            )
        width, height = int(self.transforms["w"]), int(self.transforms["h"])
        fl_x, fl_y = float(self.transforms["fl_x"]), float(self.transforms["fl_y"])
        if not math.isclose(fl_x, fl_y, rel_tol=1e-3):
            _logger.warning("The dataset's focal lengths differ (fl_x %.2f, fl_y %.2f); fl_y is used.", fl_x, fl_y)
        return InputCamera(
            camera_to_world=np.asarray(frames[0]["transform_matrix"], dtype=np.float64),
            width=width,
            height=height,
            fov_degrees=math.degrees(2.0 * math.atan(height / (2.0 * fl_y))),
        )


def seed_metadata(dataset: SynthesizedDataset) -> dict[str, torch.Tensor]:
    """The dataset's points as seeds, under SEED_KEYS: each with the width of the pixel it was lifted from, and the
    moving points' rows of the path table and the table."""
    points = dataset.points()
    camera = dataset.input_camera()
    xyz = torch.from_numpy(points["xyz"])
    forward = torch.from_numpy(-camera.camera_to_world[:3, 2]).float()
    distance = (xyz - torch.from_numpy(camera.camera_to_world[:3, 3]).float()) @ forward
    values = (
        xyz,
        torch.from_numpy(points["rgb"]),
        torch.from_numpy(points["moving"]),
        distance / float(dataset.transforms["fl_x"]),
        torch.from_numpy(points["path_rows"]).long(),
        torch.from_numpy(points["path_times"]).float(),
        torch.from_numpy(points["path_offsets"]).float(),
    )
    return dict(zip(SEED_KEYS, values))


def scene_metadata(dataset: SynthesizedDataset) -> dict[str, Any]:
    """What the DataParser hands the model of a dataset: its seeds (`seed_metadata`), the loop the videos were made
    with (`num_frames`, `loop_blend`), which the model renders the same way, and the `input_camera`."""
    return {
        **seed_metadata(dataset),
        "num_frames": dataset.num_frames,
        "loop_blend": dataset.summary["loop_blend"],
        "input_camera": dataset.input_camera(),
    }
