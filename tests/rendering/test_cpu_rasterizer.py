"""The PyTorch Gaussian rasteriser: known renders, gradients, memory chunking and gsplat compatibility."""

import dataclasses
import inspect
import math
import subprocess
import sys

import pytest
import torch
from gsplat.rendering import rasterization as gsplat_rasterization
from gsplat.strategy import DefaultStrategy

from mom_nerfstudio.rendering import rasterization, rasterize_gaussians_torch
from mom_nerfstudio.rendering.cpu_rasterizer import RasterOptions
from mom_nerfstudio.rendering.rasterize import CUDA_ONLY_OPTIONS

FOCAL = 20.0


def camera(width: int, height: int, dtype: torch.dtype = torch.float32):
    """An identity view looking down +z, its principal point on the centre of a pixel."""
    intrinsics = torch.tensor(
        [[FOCAL, 0.0, width / 2 + 0.5], [0.0, FOCAL, height / 2 + 0.5], [0.0, 0.0, 1.0]], dtype=dtype
    )
    return torch.eye(4, dtype=dtype)[None], intrinsics[None]


def on_axis_gaussians(depths, scales, opacities, colors, dtype=torch.float32):
    """Isotropic Gaussians centred on the optical axis (they project onto the centre pixel)."""
    n = len(depths)
    means = torch.zeros(n, 3, dtype=dtype)
    means[:, 2] = torch.tensor(depths, dtype=dtype)
    quats = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=dtype).repeat(n, 1)
    scales = torch.tensor(scales, dtype=dtype)[:, None].repeat(1, 3)
    return means, quats, scales, torch.tensor(opacities, dtype=dtype), torch.tensor(colors, dtype=dtype)


def random_scene(n: int, seed: int, dtype: torch.dtype = torch.float32, spread: float = 0.6):
    """Random anisotropic Gaussians in front of the camera of `camera()`."""
    generator = torch.Generator().manual_seed(seed)
    extent = torch.tensor([spread, spread, 0.3], dtype=dtype)
    means = torch.randn(n, 3, generator=generator, dtype=dtype) * extent
    means[:, 2] += 3.0
    quats = torch.randn(n, 4, generator=generator, dtype=dtype)
    log_scales = torch.rand(n, 3, generator=generator, dtype=dtype) * 0.6 - 1.9
    opacities = torch.rand(n, generator=generator, dtype=dtype) * 0.5 + 0.3
    colors = torch.rand(n, 3, generator=generator, dtype=dtype)
    return means, quats, log_scales, opacities, colors


def test_single_gaussian_matches_the_analytic_projected_profile():
    width, height = 32, 24
    viewmats, intrinsics = camera(width, height)
    depth, scale, opacity = 4.0, 0.5, 0.7
    gaussians = on_axis_gaussians([depth], [scale], [opacity], [[0.2, 0.4, 0.6]])
    render, alpha, info = rasterize_gaussians_torch(*gaussians, viewmats, intrinsics, width, height)

    # On the optical axis the projection scales lengths by focal / depth; gsplat adds eps2d = 0.3.
    variance = (FOCAL * scale / depth) ** 2 + 0.3
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    squared_distance = (cols - width // 2) ** 2 + (rows - height // 2) ** 2
    expected = opacity * torch.exp(-0.5 * squared_distance / variance)
    expected = torch.where(expected >= 1 / 255, expected, 0.0)

    assert alpha[0, height // 2, width // 2, 0].item() == pytest.approx(opacity, rel=1e-5)
    torch.testing.assert_close(alpha[0, ..., 0], expected.float(), atol=1e-5, rtol=0)
    expected_render = expected[..., None].float() * torch.tensor([0.2, 0.4, 0.6])
    torch.testing.assert_close(render[0], expected_render, atol=1e-5, rtol=0)
    assert info["radii"][0, 0].item() == math.ceil(3 * math.sqrt(variance))


def test_antialiased_mode_scales_opacity_by_the_blur_compensation():
    width, height = 32, 24
    viewmats, intrinsics = camera(width, height)
    _, alpha, _ = rasterize_gaussians_torch(
        *on_axis_gaussians([4.0], [0.1], [0.8], [[1.0, 1.0, 1.0]]),
        viewmats,
        intrinsics,
        width,
        height,
        rasterize_mode="antialiased",
    )
    variance = (FOCAL * 0.1 / 4.0) ** 2
    compensation = math.sqrt(variance**2 / (variance + 0.3) ** 2)
    assert alpha[0, height // 2, width // 2, 0].item() == pytest.approx(0.8 * compensation, rel=1e-5)


def test_front_gaussian_occludes_the_one_behind_whatever_their_order():
    width, height = 16, 16
    viewmats, intrinsics = camera(width, height)
    red, blue = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    # Listed back to front: the renderer must sort by depth.
    gaussians = on_axis_gaussians([4.0, 2.0], [0.5, 0.5], [0.9, 0.8], [blue, red])
    render, alpha, _ = rasterize_gaussians_torch(*gaussians, viewmats, intrinsics, width, height)
    centre = render[0, height // 2, width // 2]
    torch.testing.assert_close(centre, torch.tensor([0.8, 0.0, 0.2 * 0.9]))
    assert alpha[0, height // 2, width // 2, 0].item() == pytest.approx(1 - 0.2 * 0.1)


def test_pixels_skip_faint_gaussians_and_stop_before_transmittance_runs_out():
    width, height = 16, 16
    viewmats, intrinsics = camera(width, height)
    gaussians = on_axis_gaussians(
        [1.0, 2.0, 3.0, 4.0],
        [0.3, 0.3, 0.3, 0.3],
        [0.003, 0.999, 0.99, 0.5],  # below 1/255: skipped; then T = 1e-3, and 1e-5 would be too low
        [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 1.0]],
    )
    render, alpha, _ = rasterize_gaussians_torch(*gaussians, viewmats, intrinsics, width, height)
    torch.testing.assert_close(render[0, height // 2, width // 2], torch.tensor([0.999, 0.0, 0.0]))
    assert alpha[0, height // 2, width // 2, 0].item() == pytest.approx(0.999)


def test_gaussians_at_the_near_plane_or_within_radius_clip_are_culled():
    width, height = 16, 16
    viewmats, intrinsics = camera(width, height)
    # At the camera centre, on the near plane, and well in front.
    means, *others = on_axis_gaussians([0.0, 0.01, 3.0], [0.001, 0.001, 0.3], [0.9] * 3, [[1.0] * 3] * 3)
    means.requires_grad_()
    _, alpha, info = rasterize_gaussians_torch(means, *others, viewmats, intrinsics, width, height)
    alpha.sum().backward()
    assert info["radii"][0, :2].tolist() == [0, 0] and info["radii"][0, 2] > 0
    assert torch.equal(means.grad[:2], torch.zeros(2, 3))  # not NaN at the camera centre
    assert means.grad[2].abs().sum() > 0

    small = on_axis_gaussians([3.0], [0.1], [0.9], [[1.0, 1.0, 1.0]])
    _, alpha, info = rasterize_gaussians_torch(*small, viewmats, intrinsics, width, height)
    radius = info["radii"][0, 0].item()
    assert radius > 0 and alpha.sum() > 0
    _, alpha, info = rasterize_gaussians_torch(*small, viewmats, intrinsics, width, height, radius_clip=float(radius))
    assert info["radii"].sum() == 0 and alpha.sum() == 0


def test_backgrounds_depth_modes_and_several_cameras():
    width, height = 24, 16
    viewmats, intrinsics = camera(width, height)
    viewmats, intrinsics = viewmats.repeat(2, 1, 1), intrinsics.repeat(2, 1, 1)
    backgrounds = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    gaussians = on_axis_gaussians([3.0], [0.3], [0.6], [[1.0, 0.0, 0.0]])

    render, alpha, info = rasterize_gaussians_torch(
        *gaussians, viewmats, intrinsics, width, height, backgrounds=backgrounds, render_mode="RGB+ED"
    )
    assert render.shape == (2, height, width, 4) and alpha.shape == (2, height, width, 1)
    assert info["means2d"].shape == (2, 1, 2) and info["radii"].dtype == torch.int32
    torch.testing.assert_close(render[:, 0, 0, :3], backgrounds)  # a corner the Gaussian never reaches
    centre = render[:, height // 2, width // 2]
    torch.testing.assert_close(centre[:, :3], 0.6 * torch.tensor([1.0, 0.0, 0.0]) + 0.4 * backgrounds)
    torch.testing.assert_close(centre[:, 3], torch.tensor([3.0, 3.0]))  # expected depth

    accumulated, _, _ = rasterize_gaussians_torch(*gaussians, viewmats, intrinsics, width, height, render_mode="D")
    assert accumulated.shape == (2, height, width, 1)
    assert accumulated[0, height // 2, width // 2, 0].item() == pytest.approx(0.6 * 3.0)


def test_matches_a_pixel_by_pixel_reference_on_a_crowded_scene():
    width, height = 28, 20
    viewmats, intrinsics = camera(width, height)
    means, quats, log_scales, opacities, colors = random_scene(150, seed=3, spread=0.7)
    opacities = opacities * 0.0625 + 0.95  # opaque enough for many pixels to stop early
    render, alpha, info = rasterize_gaussians_torch(
        means, quats, log_scales.exp(), opacities, colors, viewmats, intrinsics, width, height
    )
    expected_render, expected_alpha, stopped = composite_pixel_by_pixel(info, colors, width, height)
    assert stopped.float().mean() > 0.15
    torch.testing.assert_close(render[0], expected_render, atol=1e-5, rtol=0)
    torch.testing.assert_close(alpha[0, ..., 0], expected_alpha, atol=1e-5, rtol=0)


def composite_pixel_by_pixel(info: dict, colors: torch.Tensor, width: int, height: int):
    """gsplat's per-pixel loop, written plainly for one camera; also says which pixels stopped early."""
    tile = info["tile_size"]
    order = torch.argsort(info["depths"][0], stable=True).tolist()
    means2d, conics = info["means2d"][0].tolist(), info["conics"][0].tolist()
    opacities, radii = info["opacities"][0].tolist(), info["radii"][0].tolist()
    render = torch.zeros(height, width, colors.shape[1], dtype=torch.float64)
    alpha = torch.zeros(height, width, dtype=torch.float64)
    stopped = torch.zeros(height, width, dtype=torch.bool)
    for row in range(height):
        for col in range(width):
            transmittance = 1.0
            for g in order:
                (x, y), (a, b, c), radius = means2d[g], conics[g], radii[g]
                in_tile_range = math.floor((x - radius) / tile) <= col // tile < math.ceil(
                    (x + radius) / tile
                ) and math.floor((y - radius) / tile) <= row // tile < math.ceil((y + radius) / tile)
                if radius <= 0 or not in_tile_range:
                    continue
                dx, dy = x - (col + 0.5), y - (row + 0.5)
                sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                weight = min(0.999, opacities[g] * math.exp(-sigma))
                if weight < 1 / 255:
                    continue
                if transmittance * (1 - weight) <= 1e-4:
                    stopped[row, col] = True
                    break
                render[row, col] += colors[g].double() * weight * transmittance
                transmittance *= 1 - weight
            alpha[row, col] = 1 - transmittance
    return render.float(), alpha.float(), stopped


def test_gradients_match_finite_differences():
    width, height = 20, 16
    viewmats, intrinsics = camera(width, height, torch.float64)
    means, quats, log_scales, opacities, colors = random_scene(5, seed=0, dtype=torch.float64)
    backgrounds = torch.tensor([[0.1, 0.5, 0.9]], dtype=torch.float64)
    inputs = [t.clone().requires_grad_() for t in (means, quats, log_scales, opacities, colors, backgrounds)]

    def render(means, quats, log_scales, opacities, colors, backgrounds):
        image, alpha, _ = rasterize_gaussians_torch(
            means,
            quats,
            log_scales.exp(),
            opacities,
            colors,
            viewmats,
            intrinsics,
            width,
            height,
            backgrounds=backgrounds,
            render_mode="RGB+ED",
        )
        return image, alpha

    assert torch.autograd.gradcheck(render, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, fast_mode=True)


def test_gradients_match_finite_differences_where_pixels_stop():
    width, height = 16, 16
    viewmats, intrinsics = camera(width, height, torch.float64)
    means, quats, scales, opacities, colors = on_axis_gaussians(
        [2.0, 2.5, 3.0, 3.5],
        [0.4, 0.5, 0.6, 0.7],
        [0.95, 0.94, 0.93, 0.92],
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]],
        dtype=torch.float64,
    )
    means[:, 0] = torch.tensor([0.03, -0.05, 0.02, 0.06], dtype=torch.float64)
    inputs = [t.clone().requires_grad_() for t in (means, opacities, colors)]

    def render(means, opacities, colors):
        image, alpha, _ = rasterize_gaussians_torch(
            means, quats, scales, opacities, colors, viewmats, intrinsics, width, height
        )
        return image, alpha

    image, alpha = render(*inputs)
    assert alpha.max().item() > 1 - 1e-3  # the centre pixels stop before the last Gaussian
    assert torch.autograd.gradcheck(render, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, fast_mode=True)


def test_spherical_harmonics_gradients_match_finite_differences():
    width, height = 16, 16
    viewmats, intrinsics = camera(width, height, torch.float64)
    means, quats, log_scales, opacities, _ = random_scene(4, seed=1, dtype=torch.float64)
    coefficients = torch.randn(4, 4, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 0.3
    coefficients.requires_grad_()

    def render(coefficients):
        image, _, _ = rasterize_gaussians_torch(
            means,
            quats,
            log_scales.exp(),
            opacities,
            coefficients,
            viewmats,
            intrinsics,
            width,
            height,
            sh_degree=1,
        )
        return image

    assert torch.autograd.gradcheck(render, (coefficients,), eps=1e-6, atol=1e-6, rtol=1e-4, fast_mode=True)


def test_a_tiny_memory_budget_gives_the_same_image_and_gradients():
    width, height = 40, 24
    viewmats, intrinsics = camera(width, height, torch.float64)
    scene = random_scene(200, seed=4, dtype=torch.float64, spread=1.0)
    results = []
    for chunk_elements in (1 << 20, 3 * 256):
        means, quats, log_scales, opacities, colors = (t.clone().requires_grad_() for t in scene)
        render, alpha, _ = rasterize_gaussians_torch(
            means,
            quats,
            log_scales.exp(),
            opacities,
            colors,
            viewmats,
            intrinsics,
            width,
            height,
            chunk_elements=chunk_elements,
        )
        (render.square().sum() + alpha.sum()).backward()
        results.append((render, alpha, means.grad, opacities.grad, colors.grad))
    for large_budget, small_budget in zip(*results):
        torch.testing.assert_close(small_budget, large_budget, atol=1e-10, rtol=1e-10)


def test_absgrad_sums_absolute_per_pixel_gradients_of_the_2d_mean():
    width, height = 32, 32
    viewmats, intrinsics = camera(width, height, torch.float64)
    depth, scale, opacity = 4.0, 0.6, 0.5
    gaussians = on_axis_gaussians([depth], [scale], [opacity], [[1.0, 1.0, 1.0]], dtype=torch.float64)
    gaussians[0].requires_grad_()
    _, alpha, info = rasterize_gaussians_torch(*gaussians, viewmats, intrinsics, width, height, absgrad=True)
    info["means2d"].retain_grad()
    alpha.sum().backward()

    # d alpha_p / d mean_x = -alpha_p * dx / variance: opposite pixels cancel in the gradient, not in absgrad.
    variance = (FOCAL * scale / depth) ** 2 + 0.3
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    dx = (cols - width // 2).double()
    profile = opacity * torch.exp(-0.5 * (dx**2 + (rows - height // 2) ** 2) / variance)
    profile = torch.where(profile >= 1 / 255, profile, 0.0)
    expected = (profile * dx.abs() / variance).sum()
    assert info["means2d"].absgrad[0, 0, 0].item() == pytest.approx(expected.item(), rel=1e-6)
    assert abs(info["means2d"].grad[0, 0, 0].item()) < 1e-9


@pytest.mark.parametrize("absgrad", [False, True])
def test_info_feeds_gsplat_default_strategy(absgrad: bool):
    width, height = 32, 24
    viewmats, intrinsics = camera(width, height)
    means, quats, log_scales, opacities, colors = random_scene(30, seed=5)
    params = torch.nn.ParameterDict(
        {
            "means": means,
            "quats": quats,
            "scales": log_scales,
            "opacities": torch.logit(opacities),
            "colors": colors,
        }
    )
    optimizers = {name: torch.optim.Adam([param], lr=1e-3) for name, param in params.items()}
    # Statistics are gathered at step 1; at step 2 Gaussians are refined, all of them since grow_grad2d = 0.
    strategy = DefaultStrategy(refine_start_iter=1, refine_every=2, grow_grad2d=0.0, absgrad=absgrad)
    strategy.check_sanity(params, optimizers)
    state = strategy.initialize_state()

    for step in (1, 2):
        render, alpha, info = rasterization(
            params["means"],
            params["quats"],
            params["scales"].exp(),
            torch.sigmoid(params["opacities"]),
            params["colors"],
            viewmats,
            intrinsics,
            width,
            height,
            packed=False,
            absgrad=absgrad,
        )
        strategy.step_pre_backward(params, optimizers, state, step, info)
        (render - 0.5).abs().mean().backward()
        for optimizer in optimizers.values():
            optimizer.step()
        if step == 1:
            visible = info["radii"][0] > 0
            strategy.step_post_backward(params, optimizers, state, step, info, packed=False)
            assert visible.sum() > 10
            torch.testing.assert_close(state["count"], visible.float())
            assert torch.equal(state["grad2d"] > 0, visible)
            for optimizer in optimizers.values():
                optimizer.zero_grad()
        else:
            strategy.step_post_backward(params, optimizers, state, step, info, packed=False)
            assert len(params["means"]) == 30 + visible.sum().item()
            assert len(optimizers["means"].state[params["means"]]["exp_avg"]) == len(params["means"])


def test_dispatcher_renders_cpu_tensors_unpacked_only():
    width, height = 16, 16
    viewmats, intrinsics = camera(width, height)
    gaussians = on_axis_gaussians([3.0], [0.3], [0.6], [[1.0, 0.0, 0.0]])
    render, alpha, info = rasterization(*gaussians, viewmats, intrinsics, width, height, packed=False)
    expected, _, _ = rasterize_gaussians_torch(*gaussians, viewmats, intrinsics, width, height)
    torch.testing.assert_close(render, expected)
    assert info["gaussian_ids"] is None and info["n_cameras"] == 1
    with pytest.raises(ValueError, match="packed"):
        rasterization(*gaussians, viewmats, intrinsics, width, height)


def test_importing_the_package_loads_no_cuda_extension():
    code = (
        "import sys, mom_nerfstudio.rendering; "
        "print(any(name.startswith('gsplat.cuda._backend') for name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_inputs_of_the_wrong_shape_are_rejected_by_name():
    viewmats, intrinsics = camera(16, 16)
    means, quats, scales, opacities, colors = on_axis_gaussians([3.0], [0.3], [0.6], [[1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="opacities"):
        rasterize_gaussians_torch(means, quats, scales, opacities[None], colors, viewmats, intrinsics, 16, 16)
    with pytest.raises(ValueError, match="sh_degree 1 needs 4"):
        rasterize_gaussians_torch(
            means, quats, scales, opacities, colors[:, None], viewmats, intrinsics, 16, 16, sh_degree=1
        )


def test_dispatcher_has_gsplats_signature_and_routes_every_argument():
    def names_and_defaults(function):
        return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]

    ours = inspect.signature(rasterization).parameters
    assert names_and_defaults(rasterization) == names_and_defaults(gsplat_rasterization)
    options = {field.name: field.default for field in dataclasses.fields(RasterOptions)}
    del options["chunk_elements"]  # the PyTorch rasteriser's own memory budget, not a gsplat option
    assert options == {name: ours[name].default for name in options}
    tensors = [
        name
        for name, p in inspect.signature(rasterize_gaussians_torch).parameters.items()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    # Every argument of gsplat's reaches the PyTorch rasteriser, or is one the dispatcher handles itself.
    assert sorted(ours) == sorted([*tensors, *options, *CUDA_ONLY_OPTIONS])


def test_dispatcher_ignores_cuda_memory_options_and_refuses_distributed_rendering():
    width, height = 16, 16
    viewmats, intrinsics = camera(width, height)
    gaussians = random_scene(20, seed=6)
    expected, _, _ = rasterize_gaussians_torch(*gaussians, viewmats, intrinsics, width, height)
    render, _, _ = rasterization(
        *gaussians, viewmats, intrinsics, width, height, packed=False, sparse_grad=True, channel_chunk=1
    )
    assert torch.equal(render, expected)
    with pytest.raises(ValueError, match="distributed rendering needs CUDA tensors"):
        rasterization(*gaussians, viewmats, intrinsics, width, height, packed=False, distributed=True)


def test_options_the_rasteriser_does_not_know_or_accept_are_refused():
    viewmats, intrinsics = camera(16, 16)
    gaussians = on_axis_gaussians([3.0], [0.3], [0.6], [[1.0, 0.0, 0.0]])
    with pytest.raises(TypeError, match="packed"):
        rasterize_gaussians_torch(*gaussians, viewmats, intrinsics, 16, 16, packed=False)
    with pytest.raises(ValueError, match="render_mode"):
        rasterize_gaussians_torch(*gaussians, viewmats, intrinsics, 16, 16, render_mode="RGBD")
    with pytest.raises(ValueError, match="chunk_elements"):
        rasterize_gaussians_torch(*gaussians, viewmats, intrinsics, 16, 16, chunk_elements=0)
