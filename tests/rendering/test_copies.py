"""The loop's copies rasterised together give what each copy gives rasterised alone."""

import pytest
import torch
from rendering.test_rasterizer_gpu import HEIGHT, SH_DEGREE, WIDTH, camera, random_scene

from mom_nerfstudio.rendering import rasterization
from mom_nerfstudio.rendering.copies import View, rasterize_copies


def copies_of_a_scene(device: str) -> tuple[list[dict[str, torch.Tensor]], torch.Tensor, torch.Tensor]:
    """Two copies of a random scene whose first half moves and turns between them; shared opacities and SH."""
    scene = random_scene(n=1500)
    moved = scene["means"].clone()
    moved[:750] += torch.tensor([0.3, -0.2, 0.4])
    turned = scene["quats"].clone()
    turned[:750] += 0.3
    copies = [
        {"means": scene["means"], "quats": scene["quats"], "scales": scene["log_scales"].exp()},
        {"means": moved, "quats": turned, "scales": (scene["log_scales"] + 0.2).exp()},
    ]
    copies = [{name: values.to(device) for name, values in copy.items()} for copy in copies]
    return copies, torch.sigmoid(scene["opacity_logits"]).to(device), scene["sh"].to(device)


def renders_alone_and_together(
    device: str, sh_degree: int | None, with_depth: bool, rasterize_mode: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    copies, opacities, sh = copies_of_a_scene(device)
    colors = sh if sh_degree is not None else torch.sigmoid(sh[:, 0])
    viewmat, intrinsics = (tensor.to(device) for tensor in camera())
    centre = torch.linalg.inv(viewmat[0])[:3, 3]
    alone = [
        rasterization(
            **copy,
            opacities=opacities,
            colors=colors,
            viewmats=viewmat,
            Ks=intrinsics,
            width=WIDTH,
            height=HEIGHT,
            packed=False,
            sh_degree=sh_degree,
            render_mode="RGB+ED" if with_depth else "RGB",
            rasterize_mode=rasterize_mode,
        )
        for copy in copies
    ]
    view = View(viewmat, intrinsics, centre, WIDTH, HEIGHT, with_depth)
    renders, alphas = rasterize_copies(copies, opacities, colors, sh_degree, view, rasterize_mode)
    return (
        torch.cat([render for render, _, _ in alone]),
        torch.cat([alpha for _, alpha, _ in alone]),
        renders,
        alphas,
    )


def assert_same_renders(device: str, sh_degree: int | None, with_depth: bool, rasterize_mode: str) -> None:
    expected, expected_alpha, renders, alphas = renders_alone_and_together(
        device, sh_degree, with_depth, rasterize_mode
    )
    assert renders.shape == (2, HEIGHT, WIDTH, 4 if with_depth else 3)
    assert alphas.shape == (2, HEIGHT, WIDTH, 1)
    # The copies differ, so a mixed-up order or a shared projection would show.
    assert (expected[0] - expected[1]).abs().max() > 0.1
    assert torch.allclose(renders[..., :3], expected[..., :3], atol=1e-4)
    assert torch.allclose(alphas, expected_alpha, atol=1e-5)
    if with_depth:
        covered = expected_alpha[..., 0] > 0.5
        assert torch.allclose(renders[..., 3][covered], expected[..., 3][covered], rtol=1e-4)


@pytest.mark.parametrize("sh_degree", [None, SH_DEGREE])
def test_copies_rendered_together_on_a_cpu_are_the_copies_rendered_alone(sh_degree: int | None) -> None:
    assert_same_renders("cpu", sh_degree, with_depth=True, rasterize_mode="classic")


@pytest.mark.gpu
@pytest.mark.parametrize("sh_degree", [None, SH_DEGREE])
@pytest.mark.parametrize("rasterize_mode", ["classic", "antialiased"])
@pytest.mark.parametrize("with_depth", [False, True])
def test_copies_rendered_together_on_cuda_are_the_copies_rendered_alone(
    sh_degree: int | None, rasterize_mode: str, with_depth: bool
) -> None:
    assert_same_renders("cuda", sh_degree, with_depth, rasterize_mode)
