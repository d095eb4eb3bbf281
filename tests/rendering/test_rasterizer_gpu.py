"""The PyTorch rasteriser against gsplat's CUDA kernels on the same scene (run with `pytest -m gpu`)."""

import math

import pytest
import torch

from mom_nerfstudio.rendering import rasterization

pytestmark = pytest.mark.gpu

WIDTH = HEIGHT = 256
SH_DEGREE = 3


def random_scene(n: int = 3000, seed: int = 0) -> dict[str, torch.Tensor]:
    """Gaussians of assorted sizes, shapes and opacities filling the view of `camera()`."""
    generator = torch.Generator().manual_seed(seed)
    depth = 2.0 + 4.0 * torch.rand(n, generator=generator)
    # Spread a little beyond the field of view so that some Gaussians are culled at the borders.
    xy = (torch.rand(n, 2, generator=generator) - 0.5) * 2.0 * depth[:, None]
    sh = torch.randn(n, (SH_DEGREE + 1) ** 2, 3, generator=generator) * 0.15
    sh[:, 0] = torch.randn(n, 3, generator=generator) * 0.6
    return {
        "means": torch.cat([xy, depth[:, None]], dim=-1),
        "quats": torch.randn(n, 4, generator=generator),
        "log_scales": torch.rand(n, 3, generator=generator) * 2.0 - 4.0,
        "opacity_logits": torch.randn(n, generator=generator) * 1.5,
        "sh": sh,
    }


def camera() -> tuple[torch.Tensor, torch.Tensor]:
    """A slightly rotated and shifted pinhole camera looking down +z."""
    angle = 0.05
    viewmat = torch.eye(4)
    viewmat[:3, :3] = torch.tensor(
        [[math.cos(angle), 0.0, math.sin(angle)], [0.0, 1.0, 0.0], [-math.sin(angle), 0.0, math.cos(angle)]]
    )
    viewmat[:3, 3] = torch.tensor([0.05, -0.03, 0.1])
    focal = 0.6 * WIDTH
    intrinsics = torch.tensor([[focal, 0.0, WIDTH / 2], [0.0, focal, HEIGHT / 2], [0.0, 0.0, 1.0]])
    return viewmat[None], intrinsics[None]


def render_and_backpropagate(device: str, rasterize_mode: str) -> dict[str, torch.Tensor]:
    """Render the scene on `device` through the dispatcher, back-propagate a fixed loss, return all."""
    params = {name: value.to(device).requires_grad_() for name, value in random_scene().items()}
    viewmats, intrinsics = (t.to(device) for t in camera())
    render, alpha, info = rasterization(
        means=params["means"],
        quats=params["quats"],
        scales=params["log_scales"].exp(),
        opacities=torch.sigmoid(params["opacity_logits"]),
        colors=params["sh"],
        viewmats=viewmats,
        Ks=intrinsics,
        width=WIDTH,
        height=HEIGHT,
        packed=False,
        sh_degree=SH_DEGREE,
        render_mode="RGB+ED",
        rasterize_mode=rasterize_mode,
        absgrad=True,
    )
    info["means2d"].retain_grad()
    target = torch.rand(HEIGHT, WIDTH, 3, generator=torch.Generator().manual_seed(1)).to(device)
    loss = (render[0, ..., :3] - target).square().mean() + 0.1 * alpha.mean()
    loss.backward()
    results = {"rgb": render[0, ..., :3], "depth": render[0, ..., 3], "alpha": alpha[0, ..., 0]}
    means2d = info["means2d"]
    results.update(radii=info["radii"][0], means2d_grad=means2d.grad[0], means2d_absgrad=means2d.absgrad[0])
    results.update({f"grad_{name}": param.grad for name, param in params.items()})
    return {name: value.detach().cpu().float() for name, value in results.items()}


@pytest.fixture(scope="module", params=["classic", "antialiased"])
def renders(request) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The same scene rendered by gsplat (CUDA) and by the PyTorch rasteriser (CPU)."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    return render_and_backpropagate("cuda", request.param), render_and_backpropagate("cpu", request.param)


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine of the angle between two tensors seen as flat vectors."""
    return torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0).item()


def test_images_and_alphas_match_gsplat(renders):
    gsplat, ours = renders
    assert (ours["radii"] == gsplat["radii"]).float().mean() > 0.999
    assert 0.3 < gsplat["alpha"].mean() < 0.99  # the scene covers much of the image, not all of it
    mse = (ours["rgb"] - gsplat["rgb"]).square().mean().item()
    assert 10 * math.log10(1.0 / mse) > 60.0
    assert (ours["alpha"] - gsplat["alpha"]).abs().max() < 1e-3
    assert (ours["alpha"] - gsplat["alpha"]).abs().mean() < 1e-5
    covered = gsplat["alpha"] > 0.5
    torch.testing.assert_close(ours["depth"][covered], gsplat["depth"][covered], rtol=1e-3, atol=1e-3)


GRADIENTS = ["grad_sh", "grad_means", "grad_quats", "grad_log_scales", "grad_opacity_logits"]


@pytest.mark.parametrize("name", GRADIENTS + ["means2d_grad", "means2d_absgrad"])
def test_gradients_match_gsplat(renders, name: str):
    gsplat, ours = renders
    assert gsplat[name].abs().sum() > 0
    assert cosine_similarity(ours[name], gsplat[name]) > 0.999
