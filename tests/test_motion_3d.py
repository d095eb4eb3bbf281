"""Tests of 3D-MOM: one 3D velocity per point fitted to the 2D motion of the 25 views."""

import pytest
import torch

from dataparsers.cameras import intrinsics_from_fov, paper_view_set, project_points, transform_points, unproject_pixels
from dataparsers.motion_3d import MotionFitSettings, fit_3d_motion, lift_flow_at_constant_depth, sample_flow_at
from dataparsers.view_motion import projected_point_motion

WIDTH, HEIGHT = 160, 120
INTRINSICS = intrinsics_from_fov(WIDTH, HEIGHT, 60.0)
VIEWS = paper_view_set(4.0)
WORLD_TO_CAMERAS = torch.stack([torch.linalg.inv(view.cam_to_world) for view in VIEWS])
NUM_VIEWS = len(VIEWS)

# Six points spread over the input view at depths 3 to 5, far enough apart that their flow patches never touch.
PIXELS = torch.tensor([[60.5, 40.5], [100.5, 40.5], [80.5, 60.5], [60.5, 80.5], [100.5, 80.5], [80.5, 30.5]])
DEPTHS = torch.tensor([3.0, 4.0, 5.0, 3.5, 4.5, 4.0])
POINTS = unproject_pixels(PIXELS, DEPTHS, INTRINSICS)
# World units per frame, growing with depth so that every point moves about half a pixel per frame on screen.
IN_PLANE_VELOCITY = torch.tensor([0.01, -0.005, 0.0]) * DEPTHS[:, None] / 3.0
DEPTH_VELOCITY = torch.tensor([0.01, -0.005, 0.03]) * DEPTHS[:, None] / 3.0
ALL_MOVE = torch.ones(POINTS.shape[0], dtype=torch.bool)


def views_of(points: torch.Tensor, velocity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-view flows consistent with `velocity`, and where each point is in view.

    Each point's projected motion is painted on the 3 x 3 pixels around its projection, so that bilinear
    sampling at the projection returns it exactly; a point within two pixels of the border counts as out of view.
    """
    flows = torch.zeros(NUM_VIEWS, HEIGHT, WIDTH, 2)
    visibility = torch.zeros(NUM_VIEWS, points.shape[0], dtype=torch.bool)
    for view in range(NUM_VIEWS):
        pixels, depth = project_points(transform_points(points, WORLD_TO_CAMERAS[view]), INTRINSICS)
        motion = projected_point_motion(points, velocity, INTRINSICS, WORLD_TO_CAMERAS[view])
        for index in range(points.shape[0]):
            col, row = int(pixels[index, 0].floor()), int(pixels[index, 1].floor())
            if depth[index] > 0 and 2 <= col < WIDTH - 2 and 2 <= row < HEIGHT - 2:
                flows[view, row - 1 : row + 2, col - 1 : col + 2] = motion[index]
                visibility[view, index] = True
    return flows, visibility


def test_views_of_sees_every_point_in_most_views() -> None:
    _, visibility = views_of(POINTS, DEPTH_VELOCITY)
    assert visibility[:5].all()  # the straight-ahead views see every point
    assert (visibility.sum(0) >= 15).all()


def test_irls_recovers_a_3d_velocity_with_depth_motion_precisely() -> None:
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    fit = fit_3d_motion(POINTS, ALL_MOVE, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility)
    assert torch.allclose(fit.velocity, DEPTH_VELOCITY, rtol=1e-2, atol=2e-4)
    assert fit.inconsistency_after < 1e-3


def test_irls_recovers_an_in_plane_velocity_exactly() -> None:
    flows, visibility = views_of(POINTS, IN_PLANE_VELOCITY)
    fit = fit_3d_motion(POINTS, ALL_MOVE, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility)
    assert torch.allclose(fit.velocity, IN_PLANE_VELOCITY, atol=1e-5)


def test_sgd_recovers_the_in_plane_components() -> None:
    flows, visibility = views_of(POINTS, IN_PLANE_VELOCITY)
    settings = MotionFitSettings(solver="sgd", steps=200)
    fit = fit_3d_motion(POINTS, ALL_MOVE, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility, settings)
    in_plane_error = (fit.velocity[:, :2] - IN_PLANE_VELOCITY[:, :2]).abs()
    assert (in_plane_error <= 0.05 * IN_PLANE_VELOCITY[:, :2].abs()).all()
    assert (fit.velocity[:, 2].abs() <= 0.2 * IN_PLANE_VELOCITY[:, 0].abs()).all()
    assert fit.inconsistency_after < 0.01


def test_sgd_with_depth_motion_matches_the_input_view_and_reduces_the_inconsistency() -> None:
    # Plain gradient steps recover depth motion only partly, but the input view's motion is matched.
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    settings = MotionFitSettings(solver="sgd", steps=200)
    fit = fit_3d_motion(POINTS, ALL_MOVE, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility, settings)
    fitted_motion = projected_point_motion(POINTS, fit.velocity, INTRINSICS, WORLD_TO_CAMERAS[0])
    target_motion = projected_point_motion(POINTS, DEPTH_VELOCITY, INTRINSICS, WORLD_TO_CAMERAS[0])
    assert torch.allclose(fitted_motion, target_motion, atol=0.01)
    assert (fit.velocity[:, 2] > 0).all()  # towards the right sign at least
    assert fit.inconsistency_after < 0.6 * fit.inconsistency_before


def test_inconsistency_drops_when_the_targets_have_depth_motion() -> None:
    # Motion lifted from the input view alone stays in the depth plane, so the other views disagree with it.
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    fit = fit_3d_motion(POINTS, ALL_MOVE, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility)
    assert fit.inconsistency_before > 0.05
    assert fit.inconsistency_after < 0.01 * fit.inconsistency_before


def test_points_not_moving_keep_zero_velocity() -> None:
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    moving = torch.tensor([True, False, True, False, True, True])
    fit = fit_3d_motion(POINTS, moving, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility)
    assert torch.equal(fit.velocity[~moving], torch.zeros(2, 3))
    assert torch.allclose(fit.velocity[moving], DEPTH_VELOCITY[moving], rtol=1e-2, atol=2e-4)


def test_nothing_moving_gives_zero_motion_and_no_inconsistency() -> None:
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    fit = fit_3d_motion(POINTS, torch.zeros_like(ALL_MOVE), WORLD_TO_CAMERAS, INTRINSICS, flows, visibility)
    assert torch.equal(fit.velocity, torch.zeros_like(POINTS))
    assert fit.inconsistency_before == 0.0 and fit.inconsistency_after == 0.0


def test_a_view_that_hides_a_point_does_not_pull_it() -> None:
    # In the 20 turned views a static occluder stands in front of the points: their flow there is zero.
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    flows[5:] = 0.0
    hidden = visibility.clone()
    hidden[5:] = False
    fit = fit_3d_motion(POINTS, ALL_MOVE, WORLD_TO_CAMERAS, INTRINSICS, flows, hidden)
    assert torch.allclose(fit.velocity, DEPTH_VELOCITY, rtol=2e-2, atol=5e-4)
    # Counted as visible, the occluder's zero motion drags the fit towards standing still.
    pulled = fit_3d_motion(POINTS, ALL_MOVE, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility)
    assert (pulled.velocity.norm(dim=1) < 0.5 * DEPTH_VELOCITY.norm(dim=1)).all()


def test_a_point_seen_in_no_view_stays_still() -> None:
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    visibility[:, 2] = False
    fit = fit_3d_motion(POINTS, ALL_MOVE, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility)
    assert torch.equal(fit.velocity[2], torch.zeros(3))
    assert torch.isfinite(fit.velocity).all()


@pytest.mark.parametrize("solver", ["irls", "sgd"])
def test_on_step_is_called_once_per_step(solver: str) -> None:
    flows, visibility = views_of(POINTS, IN_PLANE_VELOCITY)
    steps = []
    settings = MotionFitSettings(solver=solver, steps=7)  # type: ignore[arg-type]
    fit_3d_motion(POINTS, ALL_MOVE, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility, settings, steps.append)
    assert steps == list(range(7))


def test_sample_flow_at_pixel_centres_and_between_them() -> None:
    rows, cols = torch.meshgrid(torch.arange(6.0), torch.arange(8.0), indexing="ij")
    flow = torch.stack([cols, 10.0 * rows], dim=-1)  # dx = column, dy = 10 x row
    pixels = torch.tensor([[0.5, 0.5], [3.5, 2.5], [4.0, 2.5], [3.5, 4.25]])
    expected = torch.tensor([[0.0, 0.0], [3.0, 20.0], [3.5, 20.0], [3.0, 37.5]])
    assert torch.allclose(sample_flow_at(flow, pixels), expected, atol=1e-5)
    # Outside the image the flow fades to zero.
    assert torch.equal(sample_flow_at(flow, torch.tensor([[-3.0, 2.5], [20.0, 2.5]])), torch.zeros(2, 2))


def test_lifted_flow_moves_points_in_their_depth_plane_by_the_flow() -> None:
    flow = torch.tensor([[1.5, -0.5], [0.0, 2.0], [-1.0, 0.25], [0.3, 0.3], [2.0, 0.0], [0.0, 0.0]])
    velocity = lift_flow_at_constant_depth(POINTS, flow, INTRINSICS)
    assert torch.equal(velocity[:, 2], torch.zeros(POINTS.shape[0]))
    moved, _ = project_points(POINTS + velocity, INTRINSICS)
    assert torch.allclose(moved - PIXELS, flow, atol=1e-4)


def test_lift_keeps_the_input_view_motion_in_the_depth_plane() -> None:
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    fit = fit_3d_motion(POINTS, ALL_MOVE, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility, MotionFitSettings(solver="lift"))
    input_pixels, _ = project_points(POINTS, INTRINSICS)
    expected = lift_flow_at_constant_depth(POINTS, sample_flow_at(flows[0], input_pixels), INTRINSICS)
    assert torch.allclose(fit.velocity, expected)
    assert (fit.velocity[:, 2] == 0).all()
    assert fit.inconsistency_after == fit.inconsistency_before > 0.01
