"""The paths moving points travel over the loop: along the velocity field, or in straight lines."""

from __future__ import annotations

import torch

from mom_nerfstudio.synthesis.cameras import (
    intrinsics_from_fov,
    project_points,
    unproject_depth_map,
)
from mom_nerfstudio.synthesis.motion.paths import (
    PathTable,
    VelocityField,
    path_times,
    trace_paths,
)

WIDTH, HEIGHT = 48, 32
INTRINSICS = intrinsics_from_fov(WIDTH, HEIGHT, 50.0)
DEPTH = 3.0
NUM_FRAMES = 12
SPEED = 1.0  # px per frame, to the right


def stream() -> tuple[torch.Tensor, torch.Tensor, VelocityField]:
    """A flat scene whose left 30 columns flow right at SPEED px/frame; the rest stands still."""
    region = torch.zeros(HEIGHT, WIDTH, dtype=torch.bool)
    region[:, :30] = True
    points = unproject_depth_map(torch.full((HEIGHT, WIDTH), DEPTH), INTRINSICS)
    velocity = torch.zeros(HEIGHT, WIDTH, 3)
    velocity[region, 0] = SPEED * DEPTH / INTRINSICS.fx
    field = VelocityField(velocity=velocity, region=region, world_to_input=torch.eye(4), intrinsics=INTRINSICS)
    return points[region.reshape(-1)], velocity[region], field


def test_straight_paths_are_time_times_velocity_and_interpolate() -> None:
    points, velocity, _ = stream()
    table = trace_paths(points, velocity, None, NUM_FRAMES, "straight")
    torch.testing.assert_close(table.at(-5.0), -5.0 * velocity)
    torch.testing.assert_close(table.at(2.5), 2.5 * velocity)
    torch.testing.assert_close(table.at(0.0), torch.zeros_like(velocity))


def test_field_paths_stay_inside_the_region_where_straight_ones_leak() -> None:
    points, velocity, field = stream()
    for name, table in (
        ("field", trace_paths(points, velocity, field, NUM_FRAMES, "field")),
        ("straight", trace_paths(points, velocity, None, NUM_FRAMES, "straight")),
    ):
        columns, _ = project_points(points + table.at(float(NUM_FRAMES)), INTRINSICS)
        leaked = (columns[:, 0] > 30.5).float().mean()
        if name == "field":
            assert leaked == 0.0
        else:
            assert leaked > 0.3  # 12 px of travel carry the right 12 of 30 columns over the edge
    # Far from the region's border the field path is the straight one.
    columns = columns_of(points)
    far = (columns > 8) & (columns < 20)
    field_table = trace_paths(points, velocity, field, NUM_FRAMES, "field")
    torch.testing.assert_close(field_table.at(6.0)[far], 6.0 * velocity[far], atol=1e-4, rtol=0)
    torch.testing.assert_close(field_table.at(-6.0)[far], -6.0 * velocity[far], atol=1e-4, rtol=0)
    # Backwards, points stop where the motion region (here the image's left edge) ends.
    edge = columns < 3
    assert (columns_of(points[edge] + field_table.at(-6.0)[edge]) > -0.5).all()


def columns_of(points: torch.Tensor) -> torch.Tensor:
    pixels, _ = project_points(points, INTRINSICS)
    return pixels[:, 0]


def test_the_field_is_zero_outside_the_region_and_behind_the_camera() -> None:
    _, _, field = stream()
    outside = torch.tensor([[2.0 * DEPTH / INTRINSICS.fx * 20, 0.0, DEPTH], [0.0, 0.0, -DEPTH]])
    assert torch.equal(field(outside), torch.zeros(2, 3))


def test_path_times_span_the_loop_in_both_directions() -> None:
    assert path_times(12).tolist() == [float(s) for s in range(-12, 13)]
    long = path_times(60)
    assert long[0] == -60 and long[-1] == 60 and len(long) == 33
    table = PathTable(times=path_times(4), offsets=torch.arange(9.0)[None, :, None].expand(1, 9, 3))
    assert float(table.at(100.0)[0, 0]) == 8.0  # clamped to the span
