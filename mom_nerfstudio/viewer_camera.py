"""Where nerfstudio's viewer opens: looking at the scene from just behind the photo's camera.

viser starts every browser at a fixed camera looking at the world's origin; a mom4d scene lies in front of the
input camera instead, so that camera would see nothing. `OpeningViewControl` is a nerfstudio `ViewerControl`
held by the model: the viewer finds it, and it moves each browser that connects to the opening view and adds a
button that returns there.

The opening view is the input camera pulled back a little along its axis (so the training cameras show as small
frustums in front of it rather than covering the picture with their images), looking at the scene's pivot (the
median depth ahead), with a field of view narrowed so that at the pivot's depth it frames what the photo framed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from nerfstudio.viewer.viewer import VISER_NERFSTUDIO_SCALE_RATIO
from nerfstudio.viewer.viewer_elements import ViewerControl

from dataparsers.dataset_format import SKY_DEPTH, InputCamera

PULLBACK_FRACTION = 0.1
"""How far behind the input camera the viewer opens, as a fraction of the pivot's depth."""


@dataclass(frozen=True)
class OpeningView:
    """A viewer camera in nerfstudio's world: where it is, what it looks at, which way is up, its vertical fov."""

    position: np.ndarray  # [3]
    look_at: np.ndarray  # [3]
    up: np.ndarray  # [3]
    fov_y_radians: float


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


def opening_view(camera_to_world: np.ndarray, fov_y_degrees: float, pivot_depth: float) -> OpeningView:
    """The opening view for an input camera (nerfstudio/OpenGL camera-to-world, looking along -z) and its scene's pivot."""
    rotation = np.asarray(camera_to_world, dtype=np.float64)[:3, :3]
    centre = np.asarray(camera_to_world, dtype=np.float64)[:3, 3]
    forward, up = -rotation[:, 2], rotation[:, 1]
    pullback = PULLBACK_FRACTION * pivot_depth
    half_height = math.tan(math.radians(fov_y_degrees) / 2.0) * pivot_depth / (pivot_depth + pullback)
    return OpeningView(
        position=centre - pullback * forward,
        look_at=centre + pivot_depth * forward,
        up=up,
        fov_y_radians=2.0 * math.atan(half_height),
    )


class OpeningViewControl(ViewerControl):
    """Puts every browser that connects at the opening view; `place_all` brings every browser back there."""

    def __init__(self, view: OpeningView) -> None:
        self.view = view

    def _setup(self, viewer: Any) -> None:
        super()._setup(viewer)
        self.viser_server.on_client_connect(self._on_connect)

    def _on_connect(self, client: Any) -> None:
        # A client's camera can only be moved once the browser has reported it; do so at its first report.
        placed = False

        @client.camera.on_update
        def _place_once(_: Any) -> None:
            nonlocal placed
            if not placed:
                placed = True
                self.place(client)

    def place(self, client: Any) -> None:
        """Move one browser's camera to the opening view."""
        with client.atomic():
            client.camera.up_direction = self.view.up
            client.camera.position = self.view.position * VISER_NERFSTUDIO_SCALE_RATIO
            client.camera.look_at = self.view.look_at * VISER_NERFSTUDIO_SCALE_RATIO
            client.camera.fov = self.view.fov_y_radians

    def place_all(self) -> None:
        """Move every connected browser's camera to the opening view."""
        for client in self.viser_server.get_clients().values():
            self.place(client)
