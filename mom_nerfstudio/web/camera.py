"""The camera a web page opens at (the input view's pinhole camera) and how far its user may move it: the range the
scene's training views covered."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from nerfstudio.cameras.cameras import Cameras, CameraType

from dataparsers.dataset_format import SynthesizedDataset
from mom_nerfstudio.viewer_camera import pivot_depth

DEFAULT_ORBIT_DEGREES = 5.0
"""Orbit allowed about the pivot when the views say nothing (a dataset with one view): the paper's orbit amplitude."""
DEFAULT_PAN_FRACTION = 0.05
"""Pan allowed then, as a fraction of the pivot's depth."""
MAX_ZOOM = 3.0
"""How far the user may zoom in (a longer focal length shows a part of what the input view shows). The page never
zooms out past the input view: a wider frame shows, at its corners, what no view saw (the views turn along the
image's axes, not diagonally), and what the photo never showed is only filled in."""


@dataclass(frozen=True)
class WebCamera:
    """A pinhole camera in nerfstudio's world (OpenGL camera-to-world, looking along -z), with the depth of the point
    the page orbits about."""

    camera_to_world: np.ndarray  # [4, 4]
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    pivot_depth: float

    def cameras(self, width: int | None = None, time: float | None = 0.0) -> Cameras:
        """The camera as nerfstudio's Cameras, scaled to `width` pixels across (default: its own), at loop time `time`."""
        scale = 1.0 if width is None else width / self.width
        return Cameras(
            camera_to_worlds=torch.as_tensor(self.camera_to_world[:3, :4], dtype=torch.float32)[None],
            fx=self.fx * scale,
            fy=self.fy * scale,
            cx=self.cx * scale,
            cy=self.cy * scale,
            width=round(self.width * scale),
            height=round(self.height * scale),
            camera_type=CameraType.PERSPECTIVE,
            times=None if time is None else torch.tensor([[time]], dtype=torch.float32),
        )

    def header(self) -> dict:
        """The camera as the page's header stores it."""
        return {
            "camera_to_world": np.asarray(self.camera_to_world, dtype=float).tolist(),
            "fx": self.fx,
            "fy": self.fy,
            "cx": self.cx,
            "cy": self.cy,
            "width": self.width,
            "height": self.height,
            "pivot_depth": self.pivot_depth,
        }


@dataclass(frozen=True)
class ViewLimits:
    """How far the page lets its camera move from the input view: an orbit about the pivot (degrees), a pan in the
    image plane (scene units) and a zoom (focal-length factors)."""

    orbit_degrees: float
    pan: float
    zoom: tuple[float, float]

    def header(self) -> dict:
        """The limits as the page's header stores them."""
        return {"orbit_degrees": self.orbit_degrees, "pan": self.pan, "zoom": list(self.zoom)}


def input_web_camera(dataset: SynthesizedDataset) -> WebCamera:
    """The input view's camera of a dataset, with the intrinsics its transforms.json gives the model."""
    camera = dataset.input_camera()
    transforms = dataset.transforms
    return WebCamera(
        camera_to_world=camera.camera_to_world,
        fx=float(transforms["fl_x"]),
        fy=float(transforms["fl_y"]),
        cx=float(transforms.get("cx", camera.width / 2)),
        cy=float(transforms.get("cy", camera.height / 2)),
        width=camera.width,
        height=camera.height,
        pivot_depth=pivot_depth(dataset.points()["xyz"], camera),
    )


def default_limits(camera: WebCamera) -> ViewLimits:
    """Limits for a scene whose views are unknown."""
    return ViewLimits(DEFAULT_ORBIT_DEGREES, DEFAULT_PAN_FRACTION * camera.pivot_depth, (1.0, MAX_ZOOM))


def view_limits(camera: WebCamera, camera_to_worlds: list[np.ndarray]) -> ViewLimits:
    """The range the training views cover, seen from the input camera: the largest angle between any view's centre
    and the input camera's about the pivot, and the largest sideways offset of a view's centre."""
    pose = np.asarray(camera.camera_to_world, dtype=np.float64)
    centre, forward = pose[:3, 3], -pose[:3, 2]
    pivot = centre + forward * camera.pivot_depth
    orbit, pan = 0.0, 0.0
    for other in camera_to_worlds:
        other_centre = np.asarray(other, dtype=np.float64)[:3, 3]
        a, b = centre - pivot, other_centre - pivot
        cosine = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
        orbit = max(orbit, math.degrees(math.acos(min(max(cosine, -1.0), 1.0))))
        offset = other_centre - centre
        pan = max(pan, float(np.linalg.norm(offset - (offset @ forward) * forward)))
    if orbit == 0.0 and pan == 0.0:
        return default_limits(camera)
    return ViewLimits(orbit_degrees=orbit, pan=pan, zoom=(1.0, MAX_ZOOM))


def dataset_view_limits(dataset: SynthesizedDataset, camera: WebCamera) -> ViewLimits:
    """The limits of a dataset's views (every frame's camera)."""
    poses = [np.asarray(frame["transform_matrix"], dtype=np.float64) for frame in dataset.transforms["frames"]]
    return view_limits(camera, poses)
