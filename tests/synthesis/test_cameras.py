"""Tests of the pinhole cameras: intrinsics, the 25-view set, projection and lifting."""

import math

import pytest
import torch

from mom_nerfstudio.synthesis.cameras import (
    intrinsics_from_fov,
    look_around_pose,
    orbit_pose,
    paper_view_set,
    pixel_grid,
    project_points,
    rotation_yaw_pitch,
    transform_points,
    unproject_depth_map,
    unproject_pixels,
)

PIVOT_DEPTH = 4.0


def test_intrinsics_focal_and_principal_point() -> None:
    # A 90 degree field of view over 96 px: the focal length is half the width.
    intrinsics = intrinsics_from_fov(96, 64, 90.0)
    assert intrinsics.fx == pytest.approx(48.0)
    assert intrinsics.fy == pytest.approx(48.0)
    assert (intrinsics.cx, intrinsics.cy) == (48.0, 32.0)
    assert (intrinsics.width, intrinsics.height) == (96, 64)


def test_intrinsics_field_of_view_is_along_the_long_side() -> None:
    landscape = intrinsics_from_fov(120, 80, 60.0)
    portrait = intrinsics_from_fov(80, 120, 60.0)
    expected = 60.0 / math.tan(math.radians(30.0))
    assert landscape.fx == pytest.approx(expected)
    assert portrait.fx == pytest.approx(expected)
    # The ray through the right edge of the landscape image is 30 degrees off the axis.
    edge = torch.tensor([[landscape.width, landscape.cy]])
    ray = unproject_pixels(edge, torch.ones(1), landscape)[0]
    assert math.degrees(math.atan2(ray[0], ray[2])) == pytest.approx(30.0)


def test_intrinsics_matrix() -> None:
    intrinsics = intrinsics_from_fov(96, 64, 50.0)
    expected = torch.tensor([[intrinsics.fx, 0, 48.0], [0, intrinsics.fy, 32.0], [0, 0, 1]], dtype=torch.float32)
    assert torch.allclose(intrinsics.matrix(), expected)


@pytest.mark.parametrize("fov", [0.5, 171.0])
def test_intrinsics_reject_impossible_fields_of_view(fov: float) -> None:
    with pytest.raises(ValueError, match="field of view"):
        intrinsics_from_fov(96, 64, fov)


def test_view_set_has_25_views_and_view_0_is_the_input_camera() -> None:
    views = paper_view_set(PIVOT_DEPTH)
    assert len(views) == 25
    assert len({view.name for view in views}) == 25
    assert torch.allclose(views[0].cam_to_world, torch.eye(4))
    assert (views[0].yaw_degrees, views[0].pitch_degrees) == (0.0, 0.0)


def test_view_set_angles() -> None:
    views = paper_view_set(PIVOT_DEPTH, yaw_degrees=20.0, pitch_degrees=22.5, orbit_degrees=5.0)
    rotations = {(view.yaw_degrees, view.pitch_degrees) for view in views}
    orbits = {(view.orbit_yaw_degrees, view.orbit_pitch_degrees) for view in views}
    assert rotations == {(0.0, 0.0), (20.0, 0.0), (-20.0, 0.0), (0.0, 22.5), (0.0, -22.5)}
    assert orbits == {(0.0, 0.0), (5.0, 0.0), (-5.0, 0.0), (0.0, 5.0), (0.0, -5.0)}
    # Rotation-major order: the first five views look straight ahead.
    assert all((view.yaw_degrees, view.pitch_degrees) == (0.0, 0.0) for view in views[:5])


def test_view_poses_are_rigid() -> None:
    for view in paper_view_set(PIVOT_DEPTH):
        rotation = view.cam_to_world[:3, :3]
        assert torch.allclose(rotation @ rotation.T, torch.eye(3), atol=1e-6)
        assert torch.det(rotation) == pytest.approx(1.0, abs=1e-6)
        assert torch.equal(view.cam_to_world[3], torch.tensor([0.0, 0.0, 0.0, 1.0]))


def test_orbit_views_look_at_the_pivot() -> None:
    intrinsics = intrinsics_from_fov(96, 64, 50.0)
    pivot = torch.tensor([[0.0, 0.0, PIVOT_DEPTH]])
    for view in paper_view_set(PIVOT_DEPTH)[:5]:
        world_to_camera = torch.linalg.inv(view.cam_to_world)
        pixel, depth = project_points(transform_points(pivot, world_to_camera), intrinsics)
        assert torch.allclose(pixel[0], torch.tensor([48.0, 32.0]), atol=1e-4), view.name
        # The pivot stays at its distance: the orbit is a sphere about it.
        camera_centre = view.cam_to_world[:3, 3]
        assert torch.linalg.norm(pivot[0] - camera_centre) == pytest.approx(PIVOT_DEPTH, rel=1e-5)
        assert depth[0] == pytest.approx(PIVOT_DEPTH, rel=1e-5)


def test_orbits_move_the_camera_and_rotations_do_not() -> None:
    views = paper_view_set(PIVOT_DEPTH)
    for view in views:
        moved = not torch.allclose(view.cam_to_world[:3, 3], torch.zeros(3))
        assert moved == ((view.orbit_yaw_degrees, view.orbit_pitch_degrees) != (0.0, 0.0)), view.name


def test_positive_yaw_turns_right() -> None:
    forward = look_around_pose(20.0, 0.0)[:3, :3] @ torch.tensor([0.0, 0.0, 1.0])
    assert forward[0] > 0.3 and abs(forward[1]) < 1e-6
    # A point straight ahead of the input camera moves to the left of the turned view's image.
    intrinsics = intrinsics_from_fov(96, 64, 50.0)
    ahead = torch.tensor([[0.0, 0.0, 5.0]])
    pixel, _ = project_points(transform_points(ahead, torch.linalg.inv(look_around_pose(20.0, 0.0))), intrinsics)
    assert pixel[0, 0] < intrinsics.cx - 10
    assert pixel[0, 1] == pytest.approx(intrinsics.cy, abs=1e-4)
    expected_x = intrinsics.cx - intrinsics.fx * math.tan(math.radians(20.0))
    assert pixel[0, 0] == pytest.approx(expected_x, abs=1e-3)


def test_positive_pitch_looks_up() -> None:
    # The camera frame has y down, so looking up turns the forward axis towards -y.
    forward = look_around_pose(0.0, 22.5)[:3, :3] @ torch.tensor([0.0, 0.0, 1.0])
    assert forward[1] < -0.3 and abs(forward[0]) < 1e-6
    intrinsics = intrinsics_from_fov(96, 64, 50.0)
    ahead = torch.tensor([[0.0, 0.0, 5.0]])
    pixel, _ = project_points(transform_points(ahead, torch.linalg.inv(look_around_pose(0.0, 22.5))), intrinsics)
    # Looking up, what was straight ahead appears lower in the image.
    assert pixel[0, 1] > intrinsics.cy + 10


def test_rotation_composes_yaw_then_pitch() -> None:
    rotation = rotation_yaw_pitch(30.0, 10.0)
    assert torch.allclose(rotation, rotation_yaw_pitch(30.0, 0.0) @ rotation_yaw_pitch(0.0, 10.0), atol=1e-6)
    assert not torch.allclose(rotation, rotation_yaw_pitch(0.0, 10.0) @ rotation_yaw_pitch(30.0, 0.0), atol=1e-4)


def test_orbit_pose_keeps_the_pivot_fixed() -> None:
    pose = orbit_pose(5.0, -5.0, PIVOT_DEPTH)
    pivot = torch.tensor([[0.0, 0.0, PIVOT_DEPTH]])
    assert torch.allclose(transform_points(pivot, pose), pivot, atol=1e-6)
    # A positive orbit yaw swings the camera to the left of the pivot, still looking at it.
    assert pose[0, 3] < 0


def test_pixel_grid_has_centres_at_half_integers() -> None:
    grid = pixel_grid(3, 4)
    assert grid.shape == (3, 4, 2)
    assert torch.equal(grid[0, 0], torch.tensor([0.5, 0.5]))
    assert torch.equal(grid[2, 3], torch.tensor([3.5, 2.5]))


def test_unproject_then_project_round_trip() -> None:
    intrinsics = intrinsics_from_fov(96, 64, 50.0)
    generator = torch.Generator().manual_seed(0)
    pixels = torch.rand(200, 2, generator=generator) * torch.tensor([96.0, 64.0])
    depth = 1.0 + 9.0 * torch.rand(200, generator=generator)
    points = unproject_pixels(pixels, depth, intrinsics)
    assert torch.allclose(points[:, 2], depth)
    projected, z = project_points(points, intrinsics)
    assert torch.allclose(projected, pixels, atol=1e-4)
    assert torch.allclose(z, depth)


def test_round_trip_through_another_view() -> None:
    view = paper_view_set(PIVOT_DEPTH)[7]
    points = torch.tensor([[0.3, -0.2, 3.0], [-0.5, 0.4, 6.0]])
    in_view = transform_points(points, torch.linalg.inv(view.cam_to_world))
    assert torch.allclose(transform_points(in_view, view.cam_to_world), points, atol=1e-5)


def test_unproject_depth_map_is_row_major() -> None:
    intrinsics = intrinsics_from_fov(8, 6, 60.0)
    depth = torch.arange(48, dtype=torch.float32).reshape(6, 8) + 1.0
    points = unproject_depth_map(depth, intrinsics)
    assert points.shape == (48, 3)
    assert torch.equal(points[:, 2], depth.reshape(-1))
    # The point of row 2, column 5 projects back onto that pixel's centre.
    pixel, _ = project_points(points[2 * 8 + 5], intrinsics)
    assert torch.allclose(pixel, torch.tensor([5.5, 2.5]), atol=1e-5)
