"""Tests of the looping video by symmetric splatting of a moving point cloud."""

import pytest
import torch

from mom_nerfstudio.synthesis import looping
from mom_nerfstudio.synthesis.cameras import intrinsics_from_fov, unproject_depth_map
from mom_nerfstudio.synthesis.looping import (
    Layer,
    LoopingView,
    MovingCloud,
    merge_layers,
    render_layer,
)
from mom_nerfstudio.synthesis.motion.paths import trace_paths

WIDTH, HEIGHT = 48, 32
INTRINSICS = intrinsics_from_fov(WIDTH, HEIGHT, 60.0)
IDENTITY = torch.eye(4)
NUM_FRAMES = 6
WATER_TOP = 20
WATER_DEPTH = 3.0
ROCK = (slice(22, 28), slice(30, 37))  # a static rock in front of the water


def scene_depth() -> torch.Tensor:
    """A far backdrop above, water below, and a near rock standing in the water."""
    depth = torch.full((HEIGHT, WIDTH), 6.0)
    depth[WATER_TOP:] = WATER_DEPTH
    depth[ROCK] = 2.0
    return depth


def water_mask() -> torch.Tensor:
    moving = torch.zeros(HEIGHT, WIDTH, dtype=torch.bool)
    moving[WATER_TOP:] = True
    moving[ROCK] = False
    return moving


def texture() -> torch.Tensor:
    """An [H, W, 3] image whose every column differs, so that motion shows."""
    rows = torch.arange(HEIGHT, dtype=torch.float32)[:, None]
    cols = torch.arange(WIDTH, dtype=torch.float32)[None, :]
    wave = 0.5 + 0.4 * torch.sin(0.7 * cols + 0.9 * rows)
    return torch.stack([wave, 1.0 - wave, torch.full_like(wave, 0.3)], dim=-1)


def moving_cloud(points: torch.Tensor, velocity: torch.Tensor, moving: torch.Tensor) -> MovingCloud:
    """The cloud with its moving points on straight paths along `velocity`."""
    paths = trace_paths(points[moving], velocity[moving], None, NUM_FRAMES, "straight")
    return MovingCloud(points=points, features=texture().reshape(-1, 3), moving=moving, paths=paths)


def water_velocity(pixels_per_frame: float) -> torch.Tensor:
    """The scene's velocities, the water moving right by `pixels_per_frame` in the input view."""
    velocity = torch.zeros(HEIGHT * WIDTH, 3)
    velocity[water_mask().reshape(-1), 0] = pixels_per_frame * WATER_DEPTH / INTRINSICS.fx
    return velocity


def water_cloud(pixels_per_frame: float) -> MovingCloud:
    """The scene's points, the water moving right by `pixels_per_frame` in the input view."""
    points = unproject_depth_map(scene_depth(), INTRINSICS)
    return moving_cloud(points, water_velocity(pixels_per_frame), water_mask().reshape(-1))


def looping_view(pixels_per_frame: float) -> LoopingView:
    return LoopingView(water_cloud(pixels_per_frame), IDENTITY, INTRINSICS, NUM_FRAMES)


def test_frame_0_reproduces_the_scene() -> None:
    frame = looping_view(1.0).frame(0)
    assert torch.allclose(frame.features, texture(), atol=1e-5)
    assert torch.allclose(frame.coverage, torch.ones(HEIGHT, WIDTH), atol=1e-5)


def test_frame_n_equals_frame_0_exactly() -> None:
    view = looping_view(1.0)
    start, end = view.frame_at(0.0), view.frame_at(float(NUM_FRAMES))
    assert torch.equal(start.features, end.features)
    assert torch.equal(start.coverage, end.coverage)


def test_frames_repeat_with_the_loop_length() -> None:
    view = looping_view(1.0)
    for index in (0, 2, 5):
        assert torch.equal(view.frame(index).features, view.frame(index + NUM_FRAMES).features)
    assert torch.equal(view.frame(-1).features, view.frame(NUM_FRAMES - 1).features)
    # ...and the frames within one loop do differ.
    assert not torch.allclose(view.frame(1).features, view.frame(3).features, atol=0.05)


def test_consecutive_frames_differ_little_for_small_motion() -> None:
    slow, fast = looping_view(0.1), looping_view(1.0)
    water = water_mask()
    for index in range(NUM_FRAMES):
        slow_change = (slow.frame(index + 1).features - slow.frame(index).features).abs()[water]
        fast_change = (fast.frame(index + 1).features - fast.frame(index).features).abs()[water]
        assert slow_change.max() < 0.05
        assert fast_change.max() > 0.3


def test_static_points_are_identical_in_every_frame() -> None:
    view = looping_view(1.0)
    static = ~water_mask()
    first = view.frame(0)
    for index in range(1, NUM_FRAMES):
        frame = view.frame(index)
        assert torch.allclose(frame.features[static], first.features[static], atol=1e-6)
        assert torch.allclose(frame.coverage[static], first.coverage[static], atol=1e-6)
    # The rock stays in front of the water flowing behind it.
    assert torch.allclose(view.frame(3).features[ROCK], texture()[ROCK], atol=1e-6)


def test_water_moves_one_pixel_per_frame() -> None:
    # Mid-loop both renders weigh 1/2: the water is the mean of its colours 3 px to the left and 3 px to the right.
    frame = looping_view(1.0).frame(3)
    image = texture()
    rows = slice(WATER_TOP, HEIGHT)
    expected = 0.5 * (image[rows, 3:7] + image[rows, 9:13])
    assert torch.allclose(frame.features[rows, 6:10], expected, atol=1e-4)


def test_backward_render_fills_the_hole_the_forward_render_leaves() -> None:
    cloud = water_cloud(1.0)
    view = LoopingView(cloud, IDENTITY, INTRINSICS, NUM_FRAMES)
    middle = NUM_FRAMES // 2
    rows = slice(WATER_TOP, HEIGHT)
    # Pushed forward by 3 px, the water leaves the first 3 columns empty...
    forward = render_layer(*cloud.moving_part(float(middle)), IDENTITY, INTRINSICS)
    assert (forward.weight[rows, :3] < 1e-3).all()
    # ...where the backward render, pulled back by 3 px, brings the water that was 3 px to the right.
    frame = view.frame(middle)
    assert (frame.coverage[rows] >= 0.5 - 1e-4).all()
    assert torch.allclose(frame.features[rows, :3], texture()[rows, 3:6], atol=1e-4)


def test_static_layer_is_rendered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    rendered_sizes = []
    real_render = looping.render_points

    def counting_render(points, features, intrinsics, *args, **kwargs):
        rendered_sizes.append(points.shape[0])
        return real_render(points, features, intrinsics, *args, **kwargs)

    monkeypatch.setattr(looping, "render_points", counting_render)
    view = looping_view(1.0)
    for index in range(NUM_FRAMES):
        view.frame(index)
    num_static = int((~water_mask()).sum())
    num_moving = int(water_mask().sum())
    assert rendered_sizes.count(num_static) == 1
    # Frame 0 needs the forward render only; every other frame needs both.
    assert rendered_sizes.count(num_moving) == 1 + 2 * (NUM_FRAMES - 1)


def test_a_cloud_without_static_points_still_loops() -> None:
    points = unproject_depth_map(torch.full((HEIGHT, WIDTH), 3.0), INTRINSICS)
    velocity = torch.zeros_like(points)
    velocity[:, 1] = WATER_DEPTH / INTRINSICS.fy
    view = LoopingView(
        moving_cloud(points, velocity, torch.ones(points.shape[0], dtype=torch.bool)), IDENTITY, INTRINSICS, NUM_FRAMES
    )
    assert torch.equal(view.frame_at(0.0).features, view.frame_at(float(NUM_FRAMES)).features)
    assert torch.allclose(view.frame(0).features, texture(), atol=1e-5)


def test_moving_part_is_displaced_by_whole_frames() -> None:
    cloud = water_cloud(1.0)
    points, features = cloud.moving_part(-2.0)
    moving = cloud.moving
    assert torch.allclose(points, cloud.points[moving] - 2.0 * water_velocity(1.0)[moving], atol=1e-6)
    assert torch.equal(features, cloud.features[moving])
    static_points, _ = cloud.static_part()
    assert torch.equal(static_points, cloud.points[~moving])


def test_merge_layers_keeps_the_front_surface() -> None:
    def layer(depth: float, colour: float) -> Layer:
        return Layer(
            weighted_features=torch.full((1, 2, 1), colour),
            weight=torch.ones(1, 2),
            depth=torch.full((1, 2), depth),
        )

    near, far, close_behind = layer(2.0, 1.0), layer(5.0, 0.0), layer(2.02, 0.5)
    merged = merge_layers(far, near)
    assert torch.equal(merged.weighted_features, near.weighted_features)
    assert torch.equal(merged.depth, near.depth)
    # Within the tolerance the layers are one surface and add up.
    blended = merge_layers(near, close_behind)
    assert torch.allclose(blended.weight, torch.full((1, 2), 2.0))
    assert torch.allclose(blended.weighted_features, torch.full((1, 2, 1), 1.5))
    # An empty layer (infinitely far) leaves the other untouched.
    empty = Layer(torch.zeros(1, 2, 1), torch.zeros(1, 2), torch.full((1, 2), float("inf")))
    assert torch.equal(merge_layers(empty, far).weighted_features, far.weighted_features)


def test_a_loop_needs_a_frame() -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        LoopingView(water_cloud(1.0), IDENTITY, INTRINSICS, 0)
