"""The camera of the input photo in a mom4d dataset: where every view, path and viewer session starts from."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dataparsers.depth.convention import SKY_DEPTH
from dataparsers.errors import Mom4dInputError
from dataparsers.log import logger


@dataclass(frozen=True)
class InputCamera:
    """The camera of the input photo: nerfstudio (OpenGL) camera-to-world, image size and vertical field of view."""

    camera_to_world: np.ndarray  # [4, 4]
    width: int
    height: int
    fov_degrees: float

    @classmethod
    def from_transforms(cls, transforms: dict) -> "InputCamera":
        """The input view's camera from a mom4d dataset's transforms.json content."""
        input_view = transforms["mom4d"]["input_view"]
        frames = [frame for frame in transforms["frames"] if frame["view"] == input_view]
        if not frames:
            raise Mom4dInputError(
                f"The dataset has no frame of its input view {input_view!r}; synthesise it again (mom4d-synthesize --force True)."
            )
        width, height = int(transforms["w"]), int(transforms["h"])
        fl_x, fl_y = float(transforms["fl_x"]), float(transforms["fl_y"])
        if not math.isclose(fl_x, fl_y, rel_tol=1e-3):
            logger.warning("The dataset's focal lengths differ (fl_x %.2f, fl_y %.2f); camera paths use fl_y.", fl_x, fl_y)
        return cls(
            camera_to_world=np.asarray(frames[0]["transform_matrix"], dtype=np.float64),
            width=width,
            height=height,
            fov_degrees=math.degrees(2.0 * math.atan(height / (2.0 * fl_y))),
        )


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
