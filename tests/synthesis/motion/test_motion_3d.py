"""Tests of 3D-MOM: one 3D velocity per point fitted to the 2D motion of the 25 views."""

import pytest
import torch

from mom_nerfstudio.synthesis.cameras import (
    intrinsics_from_fov,
    paper_view_set,
    project_points,
    transform_points,
    unproject_pixels,
)
from mom_nerfstudio.synthesis.motion.fit import (
    MotionFitSettings,
    fit_3d_motion,
    image_grid_neighbours,
    sample_flow_at,
)
from mom_nerfstudio.synthesis.motion.lift import lift_motion
from mom_nerfstudio.synthesis.motion.views import projected_point_motion

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


NO_DAMPING = MotionFitSettings(ray_damping=0.0, smoothness=0.0)


def constant_depth_prior(flows: torch.Tensor) -> torch.Tensor:
    """The input view's motion at each point lifted within its depth plane."""
    pixels, depth = project_points(POINTS, INTRINSICS)
    return lift_motion(pixels, sample_flow_at(flows[0], pixels), depth, INTRINSICS, "constant-depth")


def fit(flows, visibility, prior, settings=MotionFitSettings(), moving=ALL_MOVE, neighbours=None):
    return fit_3d_motion(POINTS, moving, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility, prior, settings, neighbours)


def test_without_damping_irls_recovers_depth_motion_that_the_prior_lacks() -> None:
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    fitted = fit(flows, visibility, constant_depth_prior(flows), NO_DAMPING)
    assert torch.allclose(fitted.velocity, DEPTH_VELOCITY, rtol=1e-2, atol=2e-4)
    assert fitted.inconsistency_after < 1e-3
    assert fitted.inconsistency_after < 0.01 * fitted.inconsistency_before


def test_a_prior_that_agrees_with_the_views_is_kept() -> None:
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    fitted = fit(flows, visibility, DEPTH_VELOCITY)
    assert torch.allclose(fitted.velocity, DEPTH_VELOCITY, rtol=1e-3, atol=1e-5)
    assert fitted.inconsistency_before < 1e-3


def noisy(flows: torch.Tensor, scale: float) -> torch.Tensor:
    """Flows with independent noise in every view (per-view estimates disagree)."""
    noise = torch.randn(flows.shape, generator=torch.Generator().manual_seed(0))
    return flows + scale * noise * (flows.abs().sum(-1, keepdim=True) > 0)


def test_ray_damping_keeps_noisy_views_from_inventing_depth_motion() -> None:
    # The targets move in the depth plane, but every view's estimate is a little off.
    flows, visibility = views_of(POINTS, IN_PLANE_VELOCITY)
    flows = noisy(flows, 0.1)  # a tenth of a pixel per frame, a fifth of the motion
    prior = constant_depth_prior(flows)
    invented = fit(flows, visibility, prior, NO_DAMPING).velocity[:, 2].abs() / IN_PLANE_VELOCITY[:, 0].abs()
    damped = fit(flows, visibility, prior).velocity[:, 2].abs() / IN_PLANE_VELOCITY[:, 0].abs()
    assert invented.median() > 0.2  # without damping, view noise becomes depth motion (measured 0.35)
    assert damped.max() < 0.1  # measured 0.07
    assert damped.median() < 0.25 * invented.median()


def test_smoothness_pulls_neighbours_towards_one_motion() -> None:
    flows, visibility = views_of(POINTS, IN_PLANE_VELOCITY)
    flows = noisy(flows, 0.2)
    prior = constant_depth_prior(flows)
    pairs = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    settings = MotionFitSettings(smoothness=1.0)
    apart = fit(flows, visibility, prior, MotionFitSettings(smoothness=0.0), neighbours=pairs).velocity
    together = fit(flows, visibility, prior, settings, neighbours=pairs).velocity

    def spread(velocity: torch.Tensor) -> float:
        return float(
            (velocity[pairs[:, 0]] / DEPTHS[pairs[:, 0], None] - velocity[pairs[:, 1]] / DEPTHS[pairs[:, 1], None])
            .norm(dim=-1)
            .mean()
        )

    assert spread(together) < 0.6 * spread(apart)


def test_image_grid_neighbours_pair_moving_pixels_on_one_surface() -> None:
    moving = torch.tensor([[True, True, False], [True, True, True]])
    depth = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.05, 3.0]])
    pairs = {tuple(pair) for pair in image_grid_neighbours(moving, depth).tolist()}
    # Flat indices: row 0 is 0 1 2, row 1 is 3 4 5. 4-5 crosses a depth edge; 2 does not move.
    assert pairs == {(0, 1), (3, 4), (0, 3), (1, 4)}


def test_sgd_recovers_the_in_plane_components() -> None:
    flows, visibility = views_of(POINTS, IN_PLANE_VELOCITY)
    fitted = fit(flows, visibility, torch.zeros_like(POINTS), MotionFitSettings(solver="sgd", steps=200))
    in_plane_error = (fitted.velocity[:, :2] - IN_PLANE_VELOCITY[:, :2]).abs()
    assert (in_plane_error <= 0.05 * IN_PLANE_VELOCITY[:, :2].abs()).all()
    assert (fitted.velocity[:, 2].abs() <= 0.2 * IN_PLANE_VELOCITY[:, 0].abs()).all()
    assert fitted.inconsistency_after < 0.01


def test_sgd_with_depth_motion_matches_the_input_view_and_reduces_the_inconsistency() -> None:
    # Plain gradient steps recover depth motion only partly, but the input view's motion is matched.
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    fitted = fit(flows, visibility, constant_depth_prior(flows), MotionFitSettings(solver="sgd", steps=200))
    fitted_motion = projected_point_motion(POINTS, fitted.velocity, INTRINSICS, WORLD_TO_CAMERAS[0])
    target_motion = projected_point_motion(POINTS, DEPTH_VELOCITY, INTRINSICS, WORLD_TO_CAMERAS[0])
    assert torch.allclose(fitted_motion, target_motion, atol=0.01)
    assert (fitted.velocity[:, 2] > 0).all()  # towards the right sign at least
    assert fitted.inconsistency_after < 0.6 * fitted.inconsistency_before


def test_points_not_moving_keep_zero_velocity() -> None:
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    moving = torch.tensor([True, False, True, False, True, True])
    fitted = fit(flows, visibility, DEPTH_VELOCITY, moving=moving)
    assert torch.equal(fitted.velocity[~moving], torch.zeros(2, 3))
    assert torch.allclose(fitted.velocity[moving], DEPTH_VELOCITY[moving], rtol=1e-2, atol=2e-4)


def test_nothing_moving_gives_zero_motion_and_no_inconsistency() -> None:
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    fitted = fit(flows, visibility, DEPTH_VELOCITY, moving=torch.zeros_like(ALL_MOVE))
    assert torch.equal(fitted.velocity, torch.zeros_like(POINTS))
    assert fitted.inconsistency_before == 0.0 and fitted.inconsistency_after == 0.0


def test_a_view_that_hides_a_point_does_not_pull_it() -> None:
    # In the 20 turned views a static occluder stands in front of the points: their flow there is zero.
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    flows[5:] = 0.0
    hidden = visibility.clone()
    hidden[5:] = False
    prior = constant_depth_prior(flows)
    fitted = fit(flows, hidden, prior, NO_DAMPING)
    assert torch.allclose(fitted.velocity, DEPTH_VELOCITY, rtol=2e-2, atol=5e-4)
    # Counted as visible, the occluder's zero motion drags the fit towards standing still.
    pulled = fit(flows, visibility, prior, NO_DAMPING)
    assert (pulled.velocity.norm(dim=1) < 0.5 * DEPTH_VELOCITY.norm(dim=1)).all()


def test_a_point_seen_in_no_view_keeps_its_prior() -> None:
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    visibility[:, 2] = False
    prior = constant_depth_prior(flows)
    fitted = fit(flows, visibility, prior)
    torch.testing.assert_close(fitted.velocity[2], prior[2])
    assert torch.isfinite(fitted.velocity).all()


@pytest.mark.parametrize("solver", ["irls", "sgd"])
def test_on_step_is_called_once_per_step(solver: str) -> None:
    flows, visibility = views_of(POINTS, IN_PLANE_VELOCITY)
    steps = []
    settings = MotionFitSettings(solver=solver, steps=7)  # type: ignore[arg-type]
    fit_3d_motion(
        POINTS, ALL_MOVE, WORLD_TO_CAMERAS, INTRINSICS, flows, visibility, POINTS * 0, settings, None, steps.append
    )
    assert steps == list(range(7))


def test_sample_flow_at_pixel_centres_and_between_them() -> None:
    rows, cols = torch.meshgrid(torch.arange(6.0), torch.arange(8.0), indexing="ij")
    flow = torch.stack([cols, 10.0 * rows], dim=-1)  # dx = column, dy = 10 x row
    pixels = torch.tensor([[0.5, 0.5], [3.5, 2.5], [4.0, 2.5], [3.5, 4.25]])
    expected = torch.tensor([[0.0, 0.0], [3.0, 20.0], [3.5, 20.0], [3.0, 37.5]])
    assert torch.allclose(sample_flow_at(flow, pixels), expected, atol=1e-5)
    # Outside the image the flow fades to zero.
    assert torch.equal(sample_flow_at(flow, torch.tensor([[-3.0, 2.5], [20.0, 2.5]])), torch.zeros(2, 2))


def test_lift_solver_returns_the_prior() -> None:
    flows, visibility = views_of(POINTS, DEPTH_VELOCITY)
    prior = constant_depth_prior(flows)
    fitted = fit(flows, visibility, prior, MotionFitSettings(solver="lift"))
    assert torch.equal(fitted.velocity, prior)
    assert fitted.inconsistency_after == fitted.inconsistency_before > 0.01
