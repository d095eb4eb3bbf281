"""Tests of the z-buffered point splatting."""

import torch

from mom_nerfstudio.synthesis.cameras import (
    intrinsics_from_fov,
    pixel_grid,
    unproject_depth_map,
    unproject_pixels,
)
from mom_nerfstudio.synthesis.point_renderer import render_points

WIDTH, HEIGHT = 32, 24
INTRINSICS = intrinsics_from_fov(WIDTH, HEIGHT, 60.0)


def random_colours(count: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(count, 3, generator=torch.Generator().manual_seed(seed))


def fronto_parallel_plane(depth: float) -> torch.Tensor:
    """One point per pixel centre of the view, all at z-depth `depth`, [H * W, 3] in row-major order."""
    return unproject_depth_map(torch.full((HEIGHT, WIDTH), depth), INTRINSICS)


def test_plane_from_the_identity_view_reproduces_colours_depth_and_coverage() -> None:
    points = fronto_parallel_plane(2.5)
    colours = random_colours(points.shape[0])
    render = render_points(points, colours, INTRINSICS)
    assert torch.allclose(render.features, colours.reshape(HEIGHT, WIDTH, 3), atol=1e-5)
    assert torch.allclose(render.depth, torch.full((HEIGHT, WIDTH), 2.5), atol=1e-5)
    assert torch.allclose(render.weight, torch.ones(HEIGHT, WIDTH), atol=1e-5)
    assert render.coverage().all()
    assert render.visible.all()


def test_lifted_points_of_a_tilted_plane_lie_on_it_and_render_back_to_its_depth() -> None:
    # The plane n . X = c, tilted towards the camera at the bottom like the ground of a landscape.
    normal = torch.tensor([0.0, -0.8, -0.6])
    offset = -3.0
    rays = unproject_pixels(pixel_grid(HEIGHT, WIDTH), torch.ones(HEIGHT, WIDTH), INTRINSICS)
    depth = offset / (rays @ normal)
    assert (depth > 0).all()
    points = unproject_depth_map(depth, INTRINSICS)
    assert torch.allclose(points @ normal, torch.full((HEIGHT * WIDTH,), offset), atol=1e-5)
    render = render_points(points, random_colours(points.shape[0]), INTRINSICS)
    assert torch.allclose(render.depth, depth, rtol=1e-5)


def test_nearer_square_occludes_the_far_plane() -> None:
    far = fronto_parallel_plane(6.0)
    square_pixels = pixel_grid(HEIGHT, WIDTH)[8:14, 10:18].reshape(-1, 2)
    near = unproject_pixels(square_pixels, torch.full((square_pixels.shape[0],), 2.0), INTRINSICS)
    red, green = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    points = torch.cat([far, near])
    colours = torch.cat([red.expand(far.shape[0], 3), green.expand(near.shape[0], 3)])
    # The order of the points must not matter to a z-buffer: render both orders.
    for order in (torch.arange(points.shape[0]), torch.arange(points.shape[0]).flip(0)):
        render = render_points(points[order], colours[order], INTRINSICS)
        visible = torch.empty_like(render.visible)
        visible[order] = render.visible
        inside = torch.zeros(HEIGHT, WIDTH, dtype=torch.bool)
        inside[8:14, 10:18] = True
        assert torch.allclose(render.features[inside], green.expand(int(inside.sum()), 3), atol=1e-6)
        assert torch.allclose(render.features[~inside], red.expand(int((~inside).sum()), 3), atol=1e-6)
        assert torch.allclose(render.depth[inside], torch.tensor(2.0))
        assert torch.allclose(render.depth[~inside], torch.tensor(6.0))
        far_visible = visible[: far.shape[0]].reshape(HEIGHT, WIDTH)
        assert torch.equal(far_visible, ~inside)
        assert visible[far.shape[0] :].all()


def test_points_within_the_depth_tolerance_blend() -> None:
    # Two coincident layers 1 % apart in depth are one surface: both contribute.
    points = torch.cat([fronto_parallel_plane(3.0), fronto_parallel_plane(3.03)])
    colours = torch.cat([torch.zeros(HEIGHT * WIDTH, 3), torch.ones(HEIGHT * WIDTH, 3)])
    render = render_points(points, colours, INTRINSICS, depth_tolerance=0.03)
    assert torch.allclose(render.features, torch.full((HEIGHT, WIDTH, 3), 0.5), atol=1e-5)
    assert render.visible.all()
    # With a tighter tolerance the farther layer is hidden.
    render = render_points(points, colours, INTRINSICS, depth_tolerance=0.001)
    assert torch.allclose(render.features, torch.zeros(HEIGHT, WIDTH, 3), atol=1e-6)
    assert render.visible[: HEIGHT * WIDTH].all() and not render.visible[HEIGHT * WIDTH :].any()


def test_a_point_moved_by_one_pixel_lands_one_pixel_over() -> None:
    depth = 3.0
    points = fronto_parallel_plane(depth)
    colours = random_colours(points.shape[0])
    # One pixel to the right at depth z is z / f world units along x.
    shifted = points + torch.tensor([depth / INTRINSICS.fx, 0.0, 0.0])
    render = render_points(shifted, colours, INTRINSICS)
    image = colours.reshape(HEIGHT, WIDTH, 3)
    assert torch.allclose(render.features[:, 1:], image[:, :-1], atol=1e-4)
    # Nothing lands in the first column: a hole, reported as such.
    # (rounding may leave a sliver of weight there, far below the coverage threshold).
    assert (render.weight[:, 0] < 1e-3).all()
    assert not render.coverage()[:, 0].any()
    assert render.coverage()[:, 1:].all()
    # The last column's points fell off the image: not visible.
    visible = render.visible.reshape(HEIGHT, WIDTH)
    assert not visible[:, -1].any() and visible[:, :-1].all()


def test_single_point_splats_bilinearly() -> None:
    # A point a quarter pixel right of the centre of pixel (row 5, column 7).
    point = unproject_pixels(torch.tensor([[7.75, 5.5]]), torch.tensor([2.0]), INTRINSICS)
    render = render_points(point, torch.ones(1, 1), INTRINSICS)
    assert torch.allclose(render.weight[5, 7], torch.tensor(0.75), atol=1e-5)
    assert torch.allclose(render.weight[5, 8], torch.tensor(0.25), atol=1e-5)
    assert torch.allclose(render.weight.sum(), torch.tensor(1.0))
    assert render.coverage()[5, 7] and not render.coverage()[5, 8]
    assert render.visible[0]


def test_holes_where_no_point_lands() -> None:
    points = fronto_parallel_plane(2.0).reshape(HEIGHT, WIDTH, 3)
    kept = torch.ones(HEIGHT, WIDTH, dtype=torch.bool)
    kept[5:12, 6:20] = False
    render = render_points(points[kept], torch.ones(int(kept.sum()), 3), INTRINSICS)
    coverage = render.coverage()
    assert torch.equal(coverage, kept)
    assert (render.weight[~kept] == 0).all()
    assert torch.isinf(render.depth[~kept]).all()


def test_points_behind_the_camera_or_outside_the_view_are_ignored() -> None:
    behind = torch.tensor([[0.0, 0.0, -2.0]])
    outside = unproject_pixels(torch.tensor([[-5.0, 3.0], [WIDTH + 4.0, 3.0]]), torch.tensor([2.0, 2.0]), INTRINSICS)
    render = render_points(torch.cat([behind, outside]), torch.ones(3, 3), INTRINSICS)
    assert render.weight.sum() == 0
    assert not render.visible.any()
