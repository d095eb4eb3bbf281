"""Where the viewer opens: behind the photo's camera, looking at the scene, framing what the photo framed."""

from __future__ import annotations

import contextlib
import math
from types import SimpleNamespace

import numpy as np
import pytest
from model_fixtures import input_camera as model_input_camera
from model_fixtures import seed_metadata, tiny_model

from dataparsers.dataset_format import INPUT_CAMERA_TO_WORLD, InputCamera
from mom_nerfstudio.viewer_camera import (
    PULLBACK_FRACTION,
    OpeningViewControl,
    opening_view,
    pivot_depth,
)

# The dataset world: the input camera at (1, 2, 3) looks along +y with z up (OpenGL camera-to-world).
CAMERA_TO_WORLD = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, -1.0, 2.0], [0.0, 1.0, 0.0, 3.0], [0.0, 0.0, 0.0, 1.0]])


def test_opening_view_is_behind_the_camera_looking_at_the_pivot() -> None:
    view = opening_view(CAMERA_TO_WORLD, fov_y_degrees=40.0, pivot_depth=5.0)
    centre, forward = CAMERA_TO_WORLD[:3, 3], np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(view.position, centre - PULLBACK_FRACTION * 5.0 * forward)
    np.testing.assert_allclose(view.look_at, centre + 5.0 * forward)
    np.testing.assert_allclose(view.up, [0.0, 0.0, 1.0])
    # At the pivot's depth the opening view frames exactly the photo's height.
    distance = np.linalg.norm(view.look_at - view.position)
    assert math.isclose(distance * math.tan(view.fov_y_radians / 2), 5.0 * math.tan(math.radians(20.0)), rel_tol=1e-9)


def test_pivot_depth_leaves_out_the_sky_and_what_is_behind() -> None:
    camera = InputCamera(CAMERA_TO_WORLD, width=64, height=48, fov_degrees=40.0)
    centre = CAMERA_TO_WORLD[:3, 3]
    ground = centre + np.array([[0.0, depth, -1.0] for depth in (2.0, 3.0, 4.0)])
    sky = centre + np.array([[0.0, 50.0, 5.0]] * 4)  # at the sky depth: more sky points than ground points
    behind = centre + np.array([[0.0, -3.0, 0.0]])
    assert pivot_depth(np.concatenate([ground, sky, behind]), camera) == pytest.approx(3.0)
    assert pivot_depth(sky, camera) == pytest.approx(50.0)  # a photo of sky alone


class FakeCamera:
    """What OpeningViewControl uses of a viser client's camera: settable pose fields and update callbacks."""

    def __init__(self) -> None:
        self.callbacks = []
        self.assignments = []

    def on_update(self, callback):
        self.callbacks.append(callback)
        return callback

    def __setattr__(self, name, value):
        if name in ("up_direction", "position", "look_at", "fov"):
            self.assignments.append((name, value))
        super().__setattr__(name, value)

    def report(self) -> None:
        """The browser reports its camera (as it does on connecting and after every move)."""
        for callback in list(self.callbacks):
            callback(self)


def fake_client() -> SimpleNamespace:
    return SimpleNamespace(camera=FakeCamera(), atomic=contextlib.nullcontext)


def test_a_browser_is_placed_once_when_it_first_reports_its_camera() -> None:
    view = opening_view(CAMERA_TO_WORLD, fov_y_degrees=40.0, pivot_depth=5.0)
    control = OpeningViewControl(view)
    client = fake_client()
    control._on_connect(client)
    assert client.camera.assignments == []  # nothing can be set before the browser reports its camera
    client.camera.report()
    placed = dict(client.camera.assignments)
    np.testing.assert_allclose(placed["position"], view.position * 10.0)  # viser's world is 10x nerfstudio's
    np.testing.assert_allclose(placed["look_at"], view.look_at * 10.0)
    assert placed["fov"] == view.fov_y_radians
    client.camera.report()  # the user moves the camera: it is not pulled back
    assert len(client.camera.assignments) == 4


def test_the_model_offers_the_opening_view_to_the_viewer() -> None:
    camera = InputCamera(INPUT_CAMERA_TO_WORLD, width=64, height=48, fov_degrees=40.0)
    model = tiny_model({**seed_metadata(), "input_camera": camera})
    assert isinstance(model.opening_view, OpeningViewControl)
    np.testing.assert_allclose(model.opening_view.view.look_at, [0.0, 2.0, 0.0])  # the seeds' pivot, 2 ahead
    assert tiny_model().opening_view is None  # seeds without an input camera: the viewer keeps its default


def test_empty_renders_report_a_far_depth() -> None:
    camera = model_input_camera(0.0)
    camera.camera_to_worlds[..., 1, 3] = 100.0  # far beyond the scene, looking away from it: nothing renders
    outputs = tiny_model().get_outputs_for_camera(camera)
    assert outputs["accumulation"].max() == 0
    assert outputs["depth"].min() >= 1e3
    # A render with content keeps the farthest rendered depth in its empty pixels.
    outputs = tiny_model().get_outputs_for_camera(model_input_camera(0.0))
    assert outputs["depth"].max() < 10.0
