"""Tests of the 3D motion metrics: velocity errors against the truth and the multi-view consistency error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evaluation.motion_metrics import multiview_consistency, velocity_errors
from mom_nerfstudio.synthesis.cameras import (
    intrinsics_from_fov,
    paper_view_set,
    pixel_grid,
    project_points,
    transform_points,
)

WIDTH, HEIGHT = 64, 48
INTRINSICS = intrinsics_from_fov(WIDTH, HEIGHT, 50.0)
GROUND = 0.5  # the ground plane y = 0.5 below the input camera (OpenCV world: y down)


# Velocity errors ---------------------------------------------------------------------------------------------------


def test_velocity_errors_score_the_truth_no_motion_and_wrong_motion():
    rng = np.random.default_rng(0)
    true = rng.normal(size=(50, 3))
    exact = velocity_errors(true, true)
    assert exact.median_relative_error == 0.0 and exact.median_cosine == pytest.approx(1.0)
    still = velocity_errors(np.zeros_like(true), true)
    assert (still.median_relative_error, still.median_cosine) == (1.0, 0.0)
    backwards = velocity_errors(-true, true)
    assert backwards.median_relative_error == pytest.approx(2.0) and backwards.median_cosine == pytest.approx(-1.0)
    doubled = velocity_errors(2.0 * true, true)
    assert doubled.median_relative_error == pytest.approx(1.0) and doubled.median_cosine == pytest.approx(1.0)
    turned = np.stack([-true[:, 1], true[:, 0], np.zeros(len(true))], axis=1)  # perpendicular in the xy plane
    flat = true * [1.0, 1.0, 0.0]
    sideways = velocity_errors(turned, flat)
    assert sideways.median_relative_error == pytest.approx(math.sqrt(2.0)) and abs(sideways.median_cosine) < 1e-12


def test_velocity_errors_take_the_median_and_refuse_points_that_do_not_move():
    true = np.tile([1.0, 0.0, 0.0], (5, 1))
    estimated = true.copy()
    estimated[:2] = 0.0  # two of five points still: the median point is right
    assert velocity_errors(estimated, true).median_relative_error == 0.0
    estimated[:3] = 0.0  # three of five still
    assert velocity_errors(estimated, true).median_relative_error == 1.0
    with pytest.raises(ValueError, match="zero"):
        velocity_errors(true, np.zeros_like(true))
    with pytest.raises(ValueError, match=r"\[N, 3\]"):
        velocity_errors(true[:, :2], true[:, :2])


# Multi-view consistency --------------------------------------------------------------------------------------------


def ground_views(velocity_of) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The input view and its four orbit neighbours looking at a ground plane whose points move by
    `velocity_of(points [N, 3]) -> [N, 3]` (world units per frame): each view's true flow [5, H, W, 2] (the
    projection of that one 3D motion), z-depth [5, H, W] (0 where the plane is not seen) and world-to-camera
    [5, 4, 4]."""
    flows, depths, world_to_cameras = [], [], []
    pixels = pixel_grid(HEIGHT, WIDTH).reshape(-1, 2)
    rays = torch.stack(
        [
            (pixels[:, 0] - INTRINSICS.cx) / INTRINSICS.fx,
            (pixels[:, 1] - INTRINSICS.cy) / INTRINSICS.fy,
            torch.ones(len(pixels)),
        ],
        dim=-1,
    )
    for view in paper_view_set(pivot_depth=3.0)[:5]:
        camera_to_world = view.cam_to_world.float()
        world_to_camera = torch.linalg.inv(camera_to_world)
        directions = rays @ camera_to_world[:3, :3].T
        origin = camera_to_world[:3, 3]
        depth = (GROUND - origin[1]) / directions[:, 1]  # z-depth: the rays have z = 1 in the camera
        seen = (directions[:, 1] > 1e-6) & (depth > 0)
        points = origin + depth[:, None] * directions
        start, _ = project_points(transform_points(points, world_to_camera), INTRINSICS)
        end, _ = project_points(transform_points(points + velocity_of(points), world_to_camera), INTRINSICS)
        flows.append(torch.where(seen[:, None], end - start, torch.zeros_like(start)).reshape(HEIGHT, WIDTH, 2))
        depths.append(torch.where(seen, depth, torch.zeros_like(depth)).reshape(HEIGHT, WIDTH))
        world_to_cameras.append(world_to_camera)
    return torch.stack(flows).numpy(), torch.stack(depths).numpy(), torch.stack(world_to_cameras).numpy()


def drifting(points: torch.Tensor) -> torch.Tensor:
    """A current along the ground, sideways and towards the camera, faster in places."""
    sideways = 0.02 + 0.01 * torch.sin(points[:, 0])
    return torch.stack([sideways, torch.zeros_like(sideways), torch.full_like(sideways, -0.03)], dim=-1)


def towards_the_camera(points: torch.Tensor) -> torch.Tensor:
    """Along the ground straight at the camera: nearly all of it along the viewing rays."""
    return torch.tensor([0.0, 0.0, -0.05]).expand_as(points)


@pytest.mark.parametrize("velocity_of", [drifting, towards_the_camera])
def test_flows_projected_from_one_3d_motion_are_consistent(velocity_of):
    flows, depths, world_to_cameras = ground_views(velocity_of)
    speed = np.linalg.norm(flows[0], axis=-1)[depths[0] > 0].mean()
    assert speed > 0.3  # px/frame: a motion well above the errors below
    consistency = multiview_consistency(flows, depths, world_to_cameras, INTRINSICS)
    assert sorted(consistency.per_view) == [1, 2, 3, 4]
    assert max(consistency.per_view.values()) < 0.01 * speed
    assert consistency.mean < 0.005
    # The synthesis stores flows and depths as float16: still consistent.
    rounded = multiview_consistency(flows.astype(np.float16), depths.astype(np.float16), world_to_cameras, INTRINSICS)
    assert rounded.mean < 0.005


def test_a_perturbed_view_scores_its_perturbation():
    flows, depths, world_to_cameras = ground_views(drifting)
    consistent = multiview_consistency(flows, depths, world_to_cameras, INTRINSICS).per_view
    sideways = flows.copy()
    sideways[2][depths[2] > 0] += [0.3, 0.0]
    per_view = multiview_consistency(sideways, depths, world_to_cameras, INTRINSICS).per_view
    assert per_view[2] == pytest.approx(0.3, rel=0.03)  # along the rows of a level ground: its own length
    assert {view: per_view[view] for view in (1, 3, 4)} == {view: consistent[view] for view in (1, 3, 4)}
    # Up or down the image the ground is foreshortened differently from the two viewpoints: about its length.
    upwards = flows.copy()
    upwards[2][depths[2] > 0] += [0.0, 0.3]
    upwards_error = multiview_consistency(upwards, depths, world_to_cameras, INTRINSICS).per_view[2]
    assert upwards_error == pytest.approx(0.3, rel=0.2)


def test_per_view_motions_copied_from_the_input_view_are_inconsistent():
    # Without a 3D motion fit, each view gets the input view's 2D motion as it stands (the orbit views look at
    # the plane from 5 degrees away, so the same 3D motion projects differently there).
    flows, depths, world_to_cameras = ground_views(towards_the_camera)
    copied = np.where(depths[:, :, :, None] > 0, flows[:1], 0.0)
    speed = np.linalg.norm(flows[0], axis=-1)[depths[0] > 0].mean()
    assert multiview_consistency(copied, depths, world_to_cameras, INTRINSICS).mean > 0.05 * speed


def test_a_view_whose_points_are_all_hidden_or_still_has_no_score():
    flows, depths, world_to_cameras = ground_views(drifting)
    still = flows.copy()
    still[:] = 0.0
    assert math.isnan(multiview_consistency(still, depths, world_to_cameras, INTRINSICS, views=[3]).per_view[3])
    with pytest.raises(ValueError, match="same"):
        multiview_consistency(flows[:4], depths, world_to_cameras, INTRINSICS)
