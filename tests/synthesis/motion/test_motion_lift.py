"""Lifting image motion into 3D: along the depth surface, or within each point's depth plane."""

from __future__ import annotations

import torch

from mom_nerfstudio.synthesis.cameras import (
    intrinsics_from_fov,
    pixel_grid,
    project_points,
    unproject_depth_map,
)
from mom_nerfstudio.synthesis.motion.lift import (
    SurfaceSlope,
    lift_motion,
    lift_motion_map,
)

WIDTH, HEIGHT = 96, 64
INTRINSICS = intrinsics_from_fov(WIDTH, HEIGHT, 50.0)
CAMERA_HEIGHT = 0.5
HORIZON = 16  # rows above are sky


def ground_and_sky_depth() -> torch.Tensor:
    """A level camera CAMERA_HEIGHT above flat ground, with sky (depth 50) above the horizon row."""
    rows = torch.arange(HEIGHT, dtype=torch.float32)[:, None] + 0.5
    # A ground point seen at row v below the principal point lies at depth f h / (v - cy).
    ground = INTRINSICS.fy * CAMERA_HEIGHT / (rows - INTRINSICS.cy).clamp(min=1e-3)
    depth = torch.where(rows < HORIZON, torch.full_like(ground, 50.0), ground.clamp(max=50.0))
    return depth.expand(HEIGHT, WIDTH).contiguous()


def test_water_flowing_toward_the_horizon_stays_on_the_ground() -> None:
    depth = ground_and_sky_depth()
    ground = torch.arange(HEIGHT)[:, None].expand(HEIGHT, WIDTH) >= 40  # well below the horizon
    motion = torch.zeros(HEIGHT, WIDTH, 2)
    motion[..., 0], motion[..., 1] = 0.3, -0.5  # up the image and a little to the right
    points = unproject_depth_map(depth, INTRINSICS)
    surface = lift_motion_map(motion, depth, ground, INTRINSICS, "surface")
    constant = lift_motion_map(motion, depth, ground, INTRINSICS, "constant-depth")
    moving = ground.reshape(-1)
    # The camera's y axis points down: the ground is the plane y = CAMERA_HEIGHT. Surface motion stays in it ...
    assert (points[moving, 1] + surface[moving, 1] - CAMERA_HEIGHT).abs().max() < 0.02 * surface[moving].norm(
        dim=-1
    ).max()
    assert (surface[moving, 2] > 0).all()  # receding
    # ... while motion within the depth plane rises off the ground and does not recede.
    assert (constant[moving, 1] < -0.1 * constant[moving].norm(dim=-1)).all()
    assert (constant[moving, 2] == 0).all()
    # Both move every point by its image motion in the input view.
    for velocity in (surface, constant):
        start, _ = project_points(points[moving], INTRINSICS)
        end, _ = project_points(points[moving] + velocity[moving], INTRINSICS)
        torch.testing.assert_close(end - start, motion.reshape(-1, 2)[moving], atol=2e-3, rtol=0)


def test_points_outside_the_region_do_not_move() -> None:
    depth = ground_and_sky_depth()
    region = torch.zeros(HEIGHT, WIDTH, dtype=torch.bool)
    region[45:, :40] = True
    velocity = lift_motion_map(torch.ones(HEIGHT, WIDTH, 2), depth, region, INTRINSICS, "surface")
    assert torch.equal(velocity[~region.reshape(-1)], torch.zeros(int((~region).sum()), 3))
    assert (velocity[region.reshape(-1)].norm(dim=-1) > 0).all()


def test_the_sky_keeps_its_depth() -> None:
    depth = ground_and_sky_depth()
    sky = torch.arange(HEIGHT)[:, None].expand(HEIGHT, WIDTH) < HORIZON
    motion = torch.zeros(HEIGHT, WIDTH, 2)
    motion[..., 0] = 0.5
    velocity = lift_motion_map(motion, depth, sky, INTRINSICS, "surface")
    assert velocity[sky.reshape(-1), 2].abs().max() < 1e-4


def test_a_depth_edge_does_not_tilt_the_surface_beside_it() -> None:
    # A flat wall of water at depth 4 with a rock at depth 1 in front of its middle: the water's slope stays zero.
    depth = torch.full((HEIGHT, WIDTH), 4.0)
    depth[20:40, 40:60] = 1.0
    water = depth > 2.0
    slope = SurfaceSlope.of(depth, water)
    assert slope.gradient[water].abs().max() < 1e-6
    pixels = pixel_grid(HEIGHT, WIDTH)[water]
    velocity = lift_motion(
        pixels, torch.tensor([[1.0, 0.0]]).expand(len(pixels), 2), depth[water], INTRINSICS, "surface", slope
    )
    assert velocity[:, 2].abs().max() < 1e-5
