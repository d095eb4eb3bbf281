"""3D-MOM: one 3D velocity per point, fitted so that its projection matches every view's 2D motion.

The objective is the paper's: for each moving point X with velocity D (world units per frame),
`sum_i | F_i(pi_i(X)) - (pi_i(X + D) - pi_i(X)) |_1` over the views i in which the point is visible, F_i being
view i's 2D motion in px/frame. Unlike the released code, a view counts only when its z-buffer shows the
point there, so occluders do not pull hidden points towards their own motion.

Solvers:
- "irls" (default): per-point Gauss-Newton with iteratively reweighted least squares, which minimises the L1
  objective in about twenty batched 3x3 solves, made well posed by two regularisers. The views are a few degrees
  apart, so motion along a point's viewing ray is seen with a tenth of the sensitivity of lateral motion (a
  hundredth for the sky): along the ray the fit is damped towards the prior (the input view's motion lifted along
  the surface, `mom_nerfstudio.synthesis.motion.lift`), so depth motion that the views do not support is not invented. And
  neighbouring points (4-neighbours of the input image, not across a depth edge) are pulled towards each other's
  motion, so that they do not drift apart over the loop.
- "sgd": the paper's schedule (SGD, learning rate 0.5, decay 0.97, 200 full-batch steps, from zero, without
  regularisers). Plain gradient steps crawl along the weakly observed directions.
- "lift" fits nothing: every point keeps the prior (the "without 3D-MOM" ablation).

Both solvers work on the velocity parameterised as D = (z / f) * p, with z the point's depth in the input view and
f the focal length, so that one unit of p moves the point by about one pixel in the input view: step sizes and
regulariser weights then mean the same thing for every image and scene scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from mom_nerfstudio.synthesis.cameras import (
    Intrinsics,
    project_points,
    transform_points,
)

MotionSolver = Literal["irls", "sgd", "lift"]


@dataclass
class MotionFitSettings:
    """Which solver minimises the multi-view L1 objective, and its schedule."""

    solver: MotionSolver = "irls"
    """"lift" skips the fit: each point keeps the prior (an ablation)."""
    steps: int = 20
    """Gauss-Newton iterations for "irls"; gradient steps for "sgd" (the paper used PAPER_SGD_STEPS)."""
    learning_rate: float = 0.5
    """SGD only."""
    decay: float = 0.97
    """SGD only: learning-rate decay per step."""
    ray_damping: float = 0.1
    """IRLS only: pull of the motion along each point's viewing ray towards the prior, relative to the point's data."""
    smoothness: float = 0.1
    """IRLS only: pull of each point's motion towards its neighbours', relative to the point's data."""
    residual_floor: float = 0.01
    """IRLS only: px/frame under which a residual counts as zero when reweighting."""


PAPER_SGD_STEPS = 200
"""The paper's schedule for the "sgd" solver."""


def fit_settings(solver: MotionSolver, steps: int | None, ray_damping: float, smoothness: float) -> MotionFitSettings:
    """The settings of `solver` with these regularisers: `steps` iterations, or the solver's own schedule when None
    (the paper's for "sgd"); "lift" takes no step."""
    settings = MotionFitSettings(solver=solver, ray_damping=ray_damping, smoothness=smoothness)
    if solver == "lift":
        settings.steps = 0
    elif steps is not None:
        settings.steps = steps
    elif solver == "sgd":
        settings.steps = PAPER_SGD_STEPS
    return settings


# Isotropic pull towards the prior, relative to a point's data: it only decides points that no view sees.
_PRIOR_FLOOR = 1e-6


@dataclass
class MotionFit:
    """Fitted 3D motion and the multi-view flow inconsistency before and after the fit."""

    velocity: torch.Tensor  # [P, 3] world units per frame; zero for points that do not move
    inconsistency_before: float  # px/frame, mean L1 residual of the prior (the input view's motion lifted alone)
    inconsistency_after: float  # px/frame, the same with the fitted motion


def sample_flow_at(flow: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """Bilinearly sample a [H, W, 2] flow at pixel coordinates [N, 2] (pixel centres at +0.5); zero outside."""
    height, width = flow.shape[:2]
    grid = torch.stack([pixels[:, 0] / width * 2 - 1, pixels[:, 1] / height * 2 - 1], dim=-1)
    sampled = torch.nn.functional.grid_sample(
        flow.permute(2, 0, 1)[None], grid[None, None], mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return sampled[0, :, 0].T


class _ViewTargets:
    """Per-view projections, targets and visibility of the moving points, computed once."""

    def __init__(
        self,
        points: torch.Tensor,
        world_to_cameras: torch.Tensor,
        intrinsics: Intrinsics,
        flows: torch.Tensor,
        visibility: torch.Tensor,
    ) -> None:
        self.world_to_cameras = world_to_cameras
        self.intrinsics = intrinsics
        base_pixels = []
        targets = []
        for view_index in range(world_to_cameras.shape[0]):
            pixels, _ = project_points(transform_points(points, world_to_cameras[view_index]), intrinsics)
            base_pixels.append(pixels)
            targets.append(sample_flow_at(flows[view_index], pixels))
        self.base_pixels = torch.stack(base_pixels)  # [V, M, 2]
        self.targets = torch.stack(targets)  # [V, M, 2]
        self.weights = visibility.float()  # [V, M]
        self.views_per_point = self.weights.sum(0).clamp(min=1.0)  # [M]

    def moved_camera_points(self, points: torch.Tensor, velocity: torch.Tensor) -> torch.Tensor:
        """The moved points in every view's camera frame, [V, M, 3]."""
        rotations = self.world_to_cameras[:, :3, :3]
        translations = self.world_to_cameras[:, :3, 3]
        return torch.einsum("vij,mj->vmi", rotations, points + velocity) + translations[:, None, :]

    def signed_residuals(self, points: torch.Tensor, velocity: torch.Tensor) -> torch.Tensor:
        """Per-view, per-point residual [V, M, 2]: projected motion minus target motion."""
        moved_pixels, _ = project_points(self.moved_camera_points(points, velocity), self.intrinsics)
        return moved_pixels - self.base_pixels - self.targets

    def residuals(self, points: torch.Tensor, velocity: torch.Tensor) -> torch.Tensor:
        """Per-view, per-point L1 residual [V, M] between the projected motion and the target."""
        return self.signed_residuals(points, velocity).abs().sum(-1)

    def projection_jacobians(self, points: torch.Tensor, velocity: torch.Tensor) -> torch.Tensor:
        """d(pixel)/d(velocity) of every moved point in every view, [V, M, 2, 3]."""
        camera_points = self.moved_camera_points(points, velocity)
        x, y, z = camera_points.unbind(-1)
        z = z.clamp(min=1e-6)
        fx, fy = self.intrinsics.fx, self.intrinsics.fy
        zeros = torch.zeros_like(z)
        d_pixel_d_camera = torch.stack(
            [
                torch.stack([fx / z, zeros, -fx * x / z**2], dim=-1),
                torch.stack([zeros, fy / z, -fy * y / z**2], dim=-1),
            ],
            dim=-2,
        )
        return d_pixel_d_camera @ self.world_to_cameras[:, None, :3, :3]

    def mean_residual(self, points: torch.Tensor, velocity: torch.Tensor) -> float:
        """The multi-view flow inconsistency: mean L1 residual over visible (view, point) pairs, in px/frame."""
        total_weight = self.weights.sum()
        if total_weight == 0:
            return 0.0
        return float((self.residuals(points, velocity) * self.weights).sum() / total_weight)


def image_grid_neighbours(moving: torch.Tensor, depth: torch.Tensor, discontinuity: float = 0.1) -> torch.Tensor:
    """Pairs [E, 2] of flat pixel indices of 4-neighbours that both move and lie on one surface.

    `moving` and `depth` are [H, W] maps of the input view; two neighbours whose depths differ by more than
    `discontinuity` of the nearer one are on different surfaces (a rock in the stream) and are not paired.
    """
    height, width = moving.shape
    index = torch.arange(height * width, device=moving.device).reshape(height, width)
    pairs = []
    for first, second in (
        ((slice(None), slice(0, -1)), (slice(None), slice(1, None))),
        ((slice(0, -1), slice(None)), (slice(1, None), slice(None))),
    ):
        nearer = torch.minimum(depth[first], depth[second])
        keep = moving[first] & moving[second] & ((depth[first] - depth[second]).abs() <= discontinuity * nearer)
        pairs.append(torch.stack([index[first][keep], index[second][keep]], dim=-1))
    return torch.cat(pairs)


def fit_3d_motion(
    points: torch.Tensor,
    moving: torch.Tensor,
    world_to_cameras: torch.Tensor,
    intrinsics: Intrinsics,
    flows: torch.Tensor,
    visibility: torch.Tensor,
    prior: torch.Tensor,
    settings: MotionFitSettings = MotionFitSettings(),
    neighbours: torch.Tensor | None = None,
    on_step: Callable[[int], None] | None = None,
) -> MotionFit:
    """Fit one 3D velocity per moving point to the 2D motion of every view.

    Args:
        points: [P, 3] world points (the world frame is the input camera's frame).
        moving: [P] bool, points that may move; the others keep zero velocity.
        world_to_cameras: [V, 4, 4] view poses; view 0 is the input view.
        intrinsics: shared by all views.
        flows: [V, H, W, 2] each view's 2D motion in px/frame.
        visibility: [V, P] bool, the point is on the front surface of view i.
        prior: [P, 3] the input view's motion lifted into 3D: where "irls" starts, what it is damped towards along
            the viewing rays, and the "lift" solver's answer.
        settings: the solver and its schedule.
        neighbours: [E, 2] pairs of point indices that "irls" smooths between (see `image_grid_neighbours`).
        on_step: called after every step with the step index (for progress bars).
    """
    velocity = torch.zeros_like(points)
    moving_index = torch.nonzero(moving, as_tuple=False).squeeze(1)
    if moving_index.numel() == 0:
        return MotionFit(velocity=velocity, inconsistency_before=0.0, inconsistency_after=0.0)

    moving_points = points[moving_index]
    moving_prior = prior[moving_index]
    views = _ViewTargets(moving_points, world_to_cameras, intrinsics, flows, visibility[:, moving_index])
    inconsistency_before = views.mean_residual(moving_points, moving_prior)

    pixel_scale = (moving_points[:, 2] / intrinsics.fx)[:, None]
    if settings.solver == "lift":
        fitted = moving_prior
    elif settings.solver == "sgd":
        fitted = _solve_sgd(views, moving_points, pixel_scale, settings, on_step)
    else:
        local_pairs = _local_pairs(neighbours, moving, moving_index) if neighbours is not None else None
        fitted = _solve_irls(views, moving_points, pixel_scale, moving_prior, local_pairs, settings, on_step)
    velocity[moving_index] = fitted
    return MotionFit(
        velocity=velocity,
        inconsistency_before=inconsistency_before,
        inconsistency_after=views.mean_residual(moving_points, fitted),
    )


def _local_pairs(neighbours: torch.Tensor, moving: torch.Tensor, moving_index: torch.Tensor) -> torch.Tensor:
    """Neighbour pairs between moving points, re-indexed into the moving points' order."""
    position = torch.full((moving.shape[0],), -1, dtype=torch.long, device=moving.device)
    position[moving_index] = torch.arange(moving_index.numel(), device=moving.device)
    pairs = position[neighbours]
    return pairs[(pairs >= 0).all(dim=1)]


def _solve_sgd(
    views: _ViewTargets,
    points: torch.Tensor,
    pixel_scale: torch.Tensor,
    settings: MotionFitSettings,
    on_step: Callable[[int], None] | None,
) -> torch.Tensor:
    """The paper's solver: full-batch SGD with exponential learning-rate decay, from zero motion."""
    parameters = torch.zeros_like(points, requires_grad=True)
    optimizer = torch.optim.SGD([parameters], lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=settings.decay)
    for step in range(settings.steps):
        optimizer.zero_grad(set_to_none=True)
        residuals = views.residuals(points, pixel_scale * parameters)
        loss = ((residuals * views.weights).sum(0) / views.views_per_point).sum()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if on_step is not None:
            on_step(step)
    return (pixel_scale * parameters).detach()


def _solve_irls(
    views: _ViewTargets,
    points: torch.Tensor,
    pixel_scale: torch.Tensor,
    prior: torch.Tensor,
    pairs: torch.Tensor | None,
    settings: MotionFitSettings,
    on_step: Callable[[int], None] | None,
) -> torch.Tensor:
    """Per-point Gauss-Newton on the L1 objective through iteratively reweighted least squares, regularised.

    The smoothness term couples neighbours; it is solved Jacobi-style, each point pulled towards its neighbours'
    motion of the previous iteration.
    """
    prior_parameters = prior / pixel_scale
    parameters = prior_parameters.clone()
    rays = torch.nn.functional.normalize(points, dim=-1)  # the input camera sits at the world's origin
    along_ray = rays[:, :, None] * rays[:, None, :]  # [M, 3, 3]
    identity = torch.eye(3, device=points.device)
    degree = torch.zeros(points.shape[0], device=points.device)
    if pairs is not None and pairs.numel():
        ones = torch.ones(pairs.shape[0], device=points.device)
        degree.index_add_(0, pairs[:, 0], ones).index_add_(0, pairs[:, 1], ones)
    for step in range(settings.steps):
        velocity = pixel_scale * parameters
        residuals = views.signed_residuals(points, velocity)  # [V, M, 2]
        # d(pixel)/d(parameters) = d(pixel)/d(velocity) * (z / f).
        jacobians = views.projection_jacobians(points, velocity) * pixel_scale[None, :, None, :]
        # L1 as reweighted least squares: each component weighted by 1 / |its residual|.
        weights = views.weights[..., None] / residuals.abs().clamp(min=settings.residual_floor)  # [V, M, 2]
        normal = torch.einsum("vmci,vmc,vmcj->mij", jacobians, weights, jacobians)
        gradient = torch.einsum("vmci,vmc,vmc->mi", jacobians, weights, residuals)
        strength = torch.diagonal(normal, dim1=-2, dim2=-1).sum(-1) / 3.0 + 1e-12
        from_prior = parameters - prior_parameters
        ray_weight = (settings.ray_damping * strength)[:, None, None]
        normal = normal + ray_weight * along_ray + (_PRIOR_FLOOR * strength)[:, None, None] * identity
        gradient = (
            gradient
            + (ray_weight * along_ray @ from_prior[:, :, None])[..., 0]
            + _PRIOR_FLOOR * strength[:, None] * from_prior
        )
        if pairs is not None and pairs.numel():
            smooth = settings.smoothness * strength
            pull = torch.zeros_like(parameters)
            difference = parameters[pairs[:, 0]] - parameters[pairs[:, 1]]
            pull.index_add_(0, pairs[:, 0], difference).index_add_(0, pairs[:, 1], -difference)
            normal = normal + (smooth * degree)[:, None, None] * identity
            gradient = gradient + smooth[:, None] * pull
        parameters = parameters - torch.linalg.solve(normal, gradient)
        if on_step is not None:
            on_step(step)
    return pixel_scale * parameters
