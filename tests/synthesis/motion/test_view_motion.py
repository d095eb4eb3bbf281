"""Tests of the per-view 2D motion: hint arrows and point motion carried into the synthesised views.

Hint starts follow the project's pixel convention (pixel centres at integer coordinates), as `motion_input` gives
them and `dense_hint_field` reads them; the cameras put pixel centres at half-integers.
"""

import numpy as np
import torch

from mom_nerfstudio.synthesis.cameras import (
    intrinsics_from_fov,
    look_around_pose,
    orbit_pose,
    project_points,
    transform_points,
    unproject_pixels,
)
from mom_nerfstudio.synthesis.motion.fields import dense_hint_field
from mom_nerfstudio.synthesis.motion.lift import lift_motion
from mom_nerfstudio.synthesis.motion.views import (
    hint_field_in_view,
    project_hints,
    projected_point_motion,
    sample_depth,
)

WIDTH, HEIGHT = 96, 64
INTRINSICS = intrinsics_from_fov(WIDTH, HEIGHT, 50.0)
IDENTITY = torch.eye(4)
YAW_VIEW = torch.linalg.inv(look_around_pose(20.0, 0.0))
ORBIT_VIEW = torch.linalg.inv(orbit_pose(5.0, 0.0, 4.0))
STARTS = torch.tensor([[40.0, 30.0], [70.0, 50.0], [55.25, 12.3]])
VELOCITIES = torch.tensor([[0.5, 0.2], [-0.3, 0.4], [1.0, 0.0]])


def ramp_depth() -> torch.Tensor:
    """Depth growing from 2 at the bottom row to 6 at the top, like a ground plane."""
    rows = torch.arange(HEIGHT, dtype=torch.float32)[:, None]
    return (6.0 - 4.0 * rows / (HEIGHT - 1)).expand(HEIGHT, WIDTH).contiguous()


def project_pixel_to_view(pixels: torch.Tensor, depth: torch.Tensor, world_to_camera: torch.Tensor) -> torch.Tensor:
    """Where the points at input pixels (integer-centre convention) at `depth` appear in a view (same convention).

    Computed in double precision, so that finite differences of it are exact enough to test against.
    """
    points = unproject_pixels(pixels.double() + 0.5, depth.double(), INTRINSICS)
    projected, _ = project_points(transform_points(points, world_to_camera.double()), INTRINSICS)
    return (projected - 0.5).float()


def depth_under(pixels: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """The depth of the pixel each point (integer-centre convention) lies in."""
    cols = pixels[:, 0].round().long()
    rows = pixels[:, 1].round().long()
    return depth[rows, cols]


def test_hints_in_the_identity_view_are_unchanged() -> None:
    starts, velocities, in_front = project_hints(
        STARTS, VELOCITIES, ramp_depth(), INTRINSICS, IDENTITY, lift="constant-depth"
    )
    assert torch.allclose(starts, STARTS, atol=1e-4)
    assert torch.allclose(velocities, VELOCITIES, atol=1e-4)
    assert in_front.all()


def test_hint_starts_land_where_their_scene_point_appears() -> None:
    depth = ramp_depth()
    start_depth = depth_under(STARTS, depth)
    for view in (YAW_VIEW, ORBIT_VIEW):
        starts, _, _ = project_hints(STARTS, VELOCITIES, depth, INTRINSICS, view, lift="constant-depth")
        assert torch.allclose(starts, project_pixel_to_view(STARTS, start_depth, view), atol=1e-3)


def test_a_hint_takes_the_depth_of_the_pixel_it_lies_in() -> None:
    # A depth edge between columns 40 and 41: a hint at x = 40.7 lies in column 41, on the far side.
    depth = torch.full((HEIGHT, WIDTH), 2.0)
    depth[:, 41:] = 8.0
    start = torch.tensor([[40.7, 30.0]])
    starts, _, _ = project_hints(
        start, torch.tensor([[0.5, 0.0]]), depth, INTRINSICS, ORBIT_VIEW, lift="constant-depth"
    )
    assert torch.allclose(starts, project_pixel_to_view(start, torch.tensor([8.0]), ORBIT_VIEW), atol=1e-3)


def test_velocity_in_a_turned_view_matches_a_finite_difference_projection() -> None:
    # Slow hints, so that the projection is close to linear over the arrow's lift.
    slow = 0.1 * VELOCITIES
    depth = ramp_depth()
    start_depth = depth_under(STARTS, depth)
    _, velocities, in_front = project_hints(STARTS, slow, depth, INTRINSICS, YAW_VIEW, lift="constant-depth")
    step = 1e-3
    points = unproject_pixels(STARTS.double() + 0.5, start_depth.double(), INTRINSICS)
    moved = unproject_pixels(STARTS.double() + 0.5 + step * slow.double(), start_depth.double(), INTRINSICS)
    before, _ = project_points(transform_points(points, YAW_VIEW.double()), INTRINSICS)
    after, _ = project_points(transform_points(moved, YAW_VIEW.double()), INTRINSICS)
    expected = ((after - before) / step).float()
    assert in_front.all()
    assert torch.allclose(velocities, expected, rtol=5e-3, atol=1e-4)
    # Turning the camera changes the motion on screen: it is not the input's.
    assert not torch.allclose(velocities, slow, atol=2e-3)


def test_hints_behind_the_camera_are_flagged_and_ignored() -> None:
    turned_around = torch.linalg.inv(look_around_pose(180.0, 0.0))
    _, _, in_front = project_hints(STARTS, VELOCITIES, ramp_depth(), INTRINSICS, turned_around, lift="constant-depth")
    assert not in_front.any()
    mask = np.ones((HEIGHT, WIDTH), bool)
    field = hint_field_in_view(
        mask, STARTS, VELOCITIES, ramp_depth(), INTRINSICS, turned_around, sigma=None, lift="constant-depth"
    )
    assert not field.any()


def test_hint_field_in_view_is_nonzero_only_inside_the_mask() -> None:
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[35:60, 10:80] = True
    field = hint_field_in_view(
        mask, STARTS[:1], VELOCITIES[:1], ramp_depth(), INTRINSICS, YAW_VIEW, sigma=None, lift="constant-depth"
    )
    assert field.shape == (HEIGHT, WIDTH, 2) and field.dtype == np.float32
    assert not field[~mask].any()
    # One hint: every masked pixel moves with its projected velocity.
    _, velocities, _ = project_hints(
        STARTS[:1], VELOCITIES[:1], ramp_depth(), INTRINSICS, YAW_VIEW, lift="constant-depth"
    )
    assert np.allclose(field[mask], velocities[0].numpy(), atol=1e-5)


def test_hint_field_in_the_identity_view_is_the_input_hint_field() -> None:
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[20:60, 5:90] = True
    field = hint_field_in_view(
        mask, STARTS, VELOCITIES, ramp_depth(), INTRINSICS, IDENTITY, sigma=15.0, lift="constant-depth"
    )
    expected = dense_hint_field(mask, STARTS.numpy(), VELOCITIES.numpy(), sigma=15.0)
    assert np.allclose(field, expected, atol=1e-4)


def test_point_motion_in_the_identity_view_is_the_lifted_flow() -> None:
    pixels = torch.tensor([[10.5, 20.5], [50.5, 40.5], [80.5, 5.5]])
    points = unproject_pixels(pixels, torch.tensor([2.0, 4.0, 7.0]), INTRINSICS)
    flow = torch.tensor([[1.0, 0.0], [-0.5, 0.25], [0.0, 2.0]])
    velocity = lift_motion(pixels, flow, points[:, 2], INTRINSICS, "constant-depth")
    assert torch.allclose(projected_point_motion(points, velocity, INTRINSICS, IDENTITY), flow, atol=1e-4)


def test_point_motion_shrinks_with_distance_from_a_moved_camera() -> None:
    # From a camera 2 units further back, the same in-plane motion covers proportionally fewer pixels.
    points = torch.tensor([[0.0, 0.0, 2.0]])
    velocity = torch.tensor([[0.02, 0.0, 0.0]])
    backed_off = torch.eye(4)
    backed_off[2, 3] = 2.0  # world-to-camera: the world moves 2 units further from the camera
    near = projected_point_motion(points, velocity, INTRINSICS, IDENTITY)
    far = projected_point_motion(points, velocity, INTRINSICS, backed_off)
    assert torch.allclose(far, near / 2.0, atol=1e-5)


def test_sample_depth_reads_the_pixel_a_camera_coordinate_lies_in() -> None:
    depth = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    pixels = torch.tensor([[0.5, 0.5], [3.9, 2.1], [1.0, 1.99], [-3.0, 9.0]])
    assert torch.equal(sample_depth(depth, pixels), torch.tensor([0.0, 11.0, 5.0, 8.0]))
